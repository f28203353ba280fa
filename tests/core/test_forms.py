"""Form definitions: strict parsing, conditional fields and validation message keys."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import forms
from core.forms import FormDefinitionError, parse_form, validate

DEFAULT = Path(__file__).resolve().parents[2] / "assets" / "forms" / "default.json"


def en(text: str) -> dict[str, str]:
    return {"en": text}


def small_form() -> dict[str, Any]:
    return {
        "id": "t",
        "version": 1,
        "label": en("Test"),
        "sections": [
            {
                "id": "s",
                "label": en("S"),
                "fields": [
                    {"id": "name", "type": "text", "label": en("Name"), "required": True},
                    {"id": "paid", "type": "yes_no", "label": en("Paid?")},
                    {
                        "id": "amount",
                        "type": "number",
                        "label": en("Amount"),
                        "min": 0,
                        "max": 100,
                        "required": True,
                        "show_if": {"field": "paid", "in": [True]},
                    },
                    {
                        "id": "kinds",
                        "type": "multi_choice",
                        "label": en("Kinds"),
                        "options": [
                            {"value": "a", "label": en("A")},
                            {"value": "b", "label": en("B")},
                        ],
                    },
                    {"id": "when", "type": "datetime", "label": en("When")},
                    {
                        "id": "ok",
                        "type": "consent",
                        "label": en("Consent"),
                        "required": True,
                        "options": [
                            {"value": "org", "label": en("Org")},
                            {"value": "stats", "label": en("Stats")},
                        ],
                    },
                ],
            }
        ],
    }


def test_default_form_parses_and_has_every_label_in_all_four_languages() -> None:
    raw = json.loads(DEFAULT.read_text(encoding="utf-8"))
    form = parse_form(raw)
    assert {"occurred_at", "region", "violation_types", "perpetrator_types", "consent"} <= {
        f.id for f in form.fields
    }

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("label", "help"):
                    assert set(value) == set(forms.LANGUAGES), value
                    assert all(text.strip() for text in value.values())
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(raw)


def test_default_form_covers_the_abuses_documenters_meet() -> None:
    form = parse_form(json.loads(DEFAULT.read_text(encoding="utf-8")))
    violations = {o.value for o in form.field("violation_types").options}
    assert {
        "entrapment",
        "detention",
        "beating",
        "extortion",
        "outing_threat",
        "raid",
    } <= violations
    perpetrators = {o.value for o in form.field("perpetrator_types").options}
    assert {"police", "officials", "family", "organised_group", "individual", "unknown"} <= (
        perpetrators
    )
    regions = form.field("region").options
    assert {o.group for o in regions} >= {"kg", "kz"}
    assert {o.value for o in form.field("needs").options} >= {
        "legal",
        "medical",
        "psychological",
        "shelter",
    }


def test_extortion_amount_appears_only_when_extortion_is_chosen() -> None:
    form = parse_form(json.loads(DEFAULT.read_text(encoding="utf-8")))
    shown = {f.id for f in forms.visible_fields(form, {"violation_types": ["beating"]})}
    assert "extortion_amount" not in shown
    shown = {f.id for f in forms.visible_fields(form, {"violation_types": ["extortion"]})}
    assert "extortion_amount" in shown


def test_required_and_conditional_fields_produce_catalogue_keys() -> None:
    form = parse_form(small_form())
    errors = validate(form, {"paid": True})
    assert errors == {
        "name": forms.ERROR_REQUIRED,
        "amount": forms.ERROR_REQUIRED,
        "ok": forms.ERROR_REQUIRED,
    }
    errors = validate(form, {"name": "A1", "paid": False, "ok": {"org": True, "stats": False}})
    assert errors == {}


def test_consent_needs_every_option_answered_explicitly() -> None:
    form = parse_form(small_form())
    errors = validate(form, {"name": "A1", "ok": {"org": True}})
    assert errors == {"ok": forms.ERROR_REQUIRED}


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("amount", 101, forms.ERROR_TOO_LARGE),
        ("amount", -1, forms.ERROR_TOO_SMALL),
        ("amount", "12", forms.ERROR_NOT_A_NUMBER),
        ("amount", True, forms.ERROR_NOT_A_NUMBER),
        ("kinds", ["c"], forms.ERROR_BAD_CHOICE),
        ("kinds", ["a", "a"], forms.ERROR_BAD_CHOICE),
        ("when", "2026-13-01T10:00", forms.ERROR_BAD_DATE),
        ("when", "2026-11-01", forms.ERROR_BAD_DATE),
        ("name", "x" * 501, forms.ERROR_TOO_LONG),
    ],
)
def test_bad_answers_are_named_by_message_key(field: str, value: Any, key: str) -> None:
    form = parse_form(small_form())
    answers: dict[str, Any] = {"name": "A1", "paid": True, "amount": 5, "ok": {}}
    answers["ok"] = {"org": False, "stats": False}
    answers[field] = value
    assert validate(form, answers) == {field: key}


def test_hidden_answers_are_dropped_before_saving() -> None:
    form = parse_form(small_form())
    cleaned = forms.clean_answers(form, {"name": "A1", "paid": False, "amount": 7, "ghost": 1})
    assert cleaned == {"name": "A1", "paid": False}


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda f: f.update(extra=1), "form"),
        (lambda f: f["sections"][0]["fields"][0].update(type="colour"), "fields[0].type"),
        (lambda f: f["sections"][0]["fields"][1].update(id="name"), "fields[1].id"),
        (lambda f: f["sections"][0]["fields"][0].update(label={"ru": "Имя"}), "fields[0].label"),
        (lambda f: f["sections"][0]["fields"][3].update(options=[]), "fields[3].options"),
        (lambda f: f["sections"][0]["fields"][2]["show_if"].update(field="kinds"), "show_if"),
        (lambda f: f["sections"][0]["fields"][2]["show_if"].update(**{"in": ["yes"]}), "in"),
        (lambda f: f["sections"][0]["fields"][0].update(min=1), "fields[0]"),
        (lambda f: f.update(version=0), "form.version"),
        (lambda f: f["sections"][0]["fields"][0].update(label={"en": "x", "de": "y"}), "de"),
        (lambda f: f["sections"][0]["fields"][0].update(id="bad id"), "fields[0].id"),
    ],
)
def test_malformed_definitions_are_refused_naming_the_place(mutate: Any, where: str) -> None:
    raw = copy.deepcopy(small_form())
    mutate(raw)
    with pytest.raises(FormDefinitionError) as caught:
        parse_form(raw)
    assert where in caught.value.where


def test_labels_fall_back_from_kyrgyz_to_russian_to_english() -> None:
    assert forms.label({"en": "E", "ru": "Р", "ky": "К"}, "ky") == "К"
    assert forms.label({"en": "E", "ru": "Р"}, "ky") == "Р"
    assert forms.label({"en": "E"}, "kk") == "E"


@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_typed_numbers_parse_back_to_the_same_integer(n: int) -> None:
    assert forms.parse_number(f"{n:,}".replace(",", " ")) == n


@pytest.mark.parametrize("text", ["", "1.5", "12a", "١٢", "--1", "1e3"])
def test_typed_numbers_that_are_not_integers_are_refused(text: str) -> None:
    assert forms.parse_number(text) is None
