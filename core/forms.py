"""Form definitions and answer validation: pure data, no I/O, no UI.

Use:
- `parse_form(raw)` turns a JSON-shaped definition (from the signed org document or
  `assets/forms/default.json`) into a frozen `FormDefinition`, strictly: unknown keys, unknown
  field types, duplicate ids, missing English labels, choices without options and `show_if`
  pointing at a later or unknown field all raise `FormDefinitionError` naming the place.
- `visible_fields(form, answers)` lists the fields shown for the current answers (conditional
  fields appear when their `show_if` holds).
- `validate(form, answers)` returns `{field_id: message_key}` for every problem; message keys
  are catalogue keys (`form.error.*`), never text. An empty dict means the answers are valid.
- `clean_answers(form, answers)` drops answers to hidden or unknown fields before saving.
- `label(labels, lang)` picks a label from a `{lang: text}` map with the fallback chain
  `lang -> ru -> en` (documenters who read Kyrgyz or Kazakh read Russian too).

Answer values by field type: `text`/`long_text` str; `number` int (canonical JSON has no
floats); `date` "YYYY-MM-DD"; `datetime` "YYYY-MM-DDTHH:MM"; `single_choice`/`region` one option
value; `multi_choice` list of option values; `yes_no` bool; `attachments` list of attachment
ids; `consent` {option value: bool}, every option answered explicitly; `pseudonym` a name or
phone number as typed, which the phone replaces with the organisation's keyed pseudonym before
anything is stored (`core.links.pseudonymise_answers`), so only `vh1:…` is ever kept.

Danger: answers hold what victims said. Never log them or put them in an exception message.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

FIELD_TYPES = (
    "text",
    "long_text",
    "number",
    "date",
    "datetime",
    "single_choice",
    "multi_choice",
    "yes_no",
    "region",
    "attachments",
    "consent",
    "pseudonym",
)
CHOICE_TYPES = frozenset({"single_choice", "multi_choice", "region", "consent"})
LANGUAGES = ("en", "ru", "ky", "kk")

ERROR_REQUIRED = "form.error.required"
ERROR_NOT_A_NUMBER = "form.error.not_a_number"
ERROR_TOO_SMALL = "form.error.too_small"
ERROR_TOO_LARGE = "form.error.too_large"
ERROR_TOO_LONG = "form.error.too_long"
ERROR_BAD_DATE = "form.error.bad_date"
ERROR_BAD_CHOICE = "form.error.bad_choice"
ERROR_WRONG_TYPE = "form.error.wrong_type"
ERROR_NO_PSEUDONYM = "form.error.no_pseudonym"  # a pseudonym field the phone cannot hash
ERROR_KEYS = (
    ERROR_REQUIRED,
    ERROR_NOT_A_NUMBER,
    ERROR_TOO_SMALL,
    ERROR_TOO_LARGE,
    ERROR_TOO_LONG,
    ERROR_BAD_DATE,
    ERROR_BAD_CHOICE,
    ERROR_WRONG_TYPE,
    ERROR_NO_PSEUDONYM,
)

_MAX_ID = 64
_DEFAULT_MAX_LENGTH = {"text": 500, "long_text": 20_000, "pseudonym": 200}


class FormDefinitionError(ValueError):
    """A form definition is malformed. `where` is a path like `sections[2].fields[0].type`."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"invalid form definition at {where}: {reason}")
        self.where = where
        self.reason = reason


Labels = Mapping[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Option:
    value: str
    labels: Labels
    group: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class ShowIf:
    """Show a field when the answer to `field` is (or, for lists, contains) one of `values`."""

    field: str
    values: tuple[Any, ...]

    def holds(self, answer: Any) -> bool:
        if isinstance(answer, list):
            return any(item in self.values for item in answer)
        if isinstance(answer, bool):
            return any(isinstance(v, bool) and v is answer for v in self.values)
        return answer is not None and answer in self.values


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    id: str
    type: str
    labels: Labels
    help: Labels = dataclasses.field(default_factory=dict)
    required: bool = False
    options: tuple[Option, ...] = ()
    show_if: ShowIf | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    sensitive: bool = False

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclasses.dataclass(frozen=True, slots=True)
class Section:
    id: str
    labels: Labels
    fields: tuple[Field, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class FormDefinition:
    id: str
    version: int
    labels: Labels
    sections: tuple[Section, ...]
    title_field: str = ""

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for s in self.sections for f in s.fields)

    def field(self, field_id: str) -> Field:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)


def label(labels: Labels, lang: str) -> str:
    """The label in `lang`, else Russian, else English, else any; "" when there is none."""
    for candidate in (lang, "ru", "en"):
        text = labels.get(candidate)
        if text:
            return text
    return next((t for t in labels.values() if t), "")


# ---------------------------------------------------------------- parsing


def _keys(raw: Any, where: str, required: set[str], optional: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise FormDefinitionError(where, "expected an object")
    unknown = set(raw) - required - optional
    if unknown:
        raise FormDefinitionError(where, f"unknown keys {sorted(unknown)}")
    missing = required - set(raw)
    if missing:
        raise FormDefinitionError(where, f"missing keys {sorted(missing)}")
    return raw


def _ident(raw: Any, where: str) -> str:
    ok = isinstance(raw, str) and 0 < len(raw) <= _MAX_ID
    if not ok or not all(c.isascii() and (c.isalnum() or c in "_.-") for c in raw):
        raise FormDefinitionError(where, "expected an identifier of [A-Za-z0-9_.-], 1-64 long")
    return str(raw)


def _labels(raw: Any, where: str, *, need_english: bool = True) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise FormDefinitionError(where, "expected an object of language -> text")
    out: dict[str, str] = {}
    for lang, text in raw.items():
        if lang not in LANGUAGES:
            raise FormDefinitionError(f"{where}.{lang}", "unknown language")
        if not isinstance(text, str) or not text.strip():
            raise FormDefinitionError(f"{where}.{lang}", "expected non-empty text")
        out[lang] = text
    if need_english and "en" not in out:
        raise FormDefinitionError(where, "an English label is required")
    return out


def _int(raw: Any, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise FormDefinitionError(where, "expected an integer")
    return raw


def _bool(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        raise FormDefinitionError(where, "expected true or false")
    return raw


def _option(raw: Any, where: str) -> Option:
    m = _keys(raw, where, {"value", "label"}, {"group"})
    group = m.get("group", "")
    if not isinstance(group, str):
        raise FormDefinitionError(f"{where}.group", "expected text")
    return Option(
        _ident(m["value"], f"{where}.value"), _labels(m["label"], f"{where}.label"), group
    )


def _field(raw: Any, where: str, earlier: Mapping[str, Field]) -> Field:
    m = _keys(
        raw,
        where,
        {"id", "type", "label"},
        {"help", "required", "options", "show_if", "min", "max", "max_length", "sensitive"},
    )
    fid = _ident(m["id"], f"{where}.id")
    ftype = m["type"]
    if ftype not in FIELD_TYPES:
        raise FormDefinitionError(f"{where}.type", f"unknown field type {ftype!r}")
    options: tuple[Option, ...] = ()
    if ftype in CHOICE_TYPES:
        raw_opts = m.get("options")
        if not isinstance(raw_opts, list) or not raw_opts:
            raise FormDefinitionError(f"{where}.options", "a choice field needs options")
        options = tuple(_option(o, f"{where}.options[{i}]") for i, o in enumerate(raw_opts))
        values = [o.value for o in options]
        if len(set(values)) != len(values):
            raise FormDefinitionError(f"{where}.options", "duplicate option values")
    elif "options" in m:
        raise FormDefinitionError(f"{where}.options", f"a {ftype} field has no options")
    show_if = None
    if "show_if" in m:
        s = _keys(m["show_if"], f"{where}.show_if", {"field", "in"}, set())
        target = earlier.get(str(s["field"]))
        if target is None:
            raise FormDefinitionError(f"{where}.show_if.field", "must name an earlier field")
        values = s["in"]
        if not isinstance(values, list) or not values:
            raise FormDefinitionError(f"{where}.show_if.in", "expected a non-empty list")
        for v in values:
            if target.options and target.option(str(v)) is None:
                raise FormDefinitionError(f"{where}.show_if.in", "names an unknown option")
            if target.type == "yes_no" and not isinstance(v, bool):
                raise FormDefinitionError(f"{where}.show_if.in", "yes/no answers are booleans")
        show_if = ShowIf(target.id, tuple(values))
    minimum = _int(m["min"], f"{where}.min") if "min" in m else None
    maximum = _int(m["max"], f"{where}.max") if "max" in m else None
    if (minimum is not None or maximum is not None) and ftype != "number":
        raise FormDefinitionError(where, "min/max apply to number fields only")
    max_length = _int(m["max_length"], f"{where}.max_length") if "max_length" in m else None
    if max_length is not None and ftype not in ("text", "long_text"):
        raise FormDefinitionError(where, "max_length applies to text fields only")
    return Field(
        id=fid,
        type=ftype,
        labels=_labels(m["label"], f"{where}.label"),
        help=_labels(m["help"], f"{where}.help") if "help" in m else {},
        required=_bool(m.get("required", False), f"{where}.required"),
        options=options,
        show_if=show_if,
        minimum=minimum,
        maximum=maximum,
        max_length=max_length,
        sensitive=_bool(m.get("sensitive", False), f"{where}.sensitive"),
    )


def parse_form(raw: Any) -> FormDefinition:
    """Parse a form definition strictly; raises `FormDefinitionError`."""
    m = _keys(raw, "form", {"id", "version", "label", "sections"}, {"title_field"})
    seen: dict[str, Field] = {}
    sections: list[Section] = []
    raw_sections = m["sections"]
    if not isinstance(raw_sections, list) or not raw_sections:
        raise FormDefinitionError("form.sections", "expected a non-empty list")
    section_ids: set[str] = set()
    for si, raw_section in enumerate(raw_sections):
        where = f"sections[{si}]"
        s = _keys(raw_section, where, {"id", "label", "fields"}, set())
        sid = _ident(s["id"], f"{where}.id")
        if sid in section_ids:
            raise FormDefinitionError(f"{where}.id", "duplicate section id")
        section_ids.add(sid)
        raw_fields = s["fields"]
        if not isinstance(raw_fields, list) or not raw_fields:
            raise FormDefinitionError(f"{where}.fields", "expected a non-empty list")
        fields = []
        for fi, raw_field in enumerate(raw_fields):
            f = _field(raw_field, f"{where}.fields[{fi}]", seen)
            if f.id in seen:
                raise FormDefinitionError(f"{where}.fields[{fi}].id", "duplicate field id")
            seen[f.id] = f
            fields.append(f)
        sections.append(Section(sid, _labels(s["label"], f"{where}.label"), tuple(fields)))
    version = _int(m["version"], "form.version")
    if version < 1:
        raise FormDefinitionError("form.version", "must be at least 1")
    title_field = m.get("title_field", "")
    if title_field and (not isinstance(title_field, str) or title_field not in seen):
        raise FormDefinitionError("form.title_field", "must name a field")
    return FormDefinition(
        id=_ident(m["id"], "form.id"),
        version=version,
        labels=_labels(m["label"], "form.label"),
        sections=tuple(sections),
        title_field=str(title_field),
    )


# ---------------------------------------------------------------- answers


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return len(value) == 0
    return False


def is_visible(field: Field, answers: Mapping[str, Any], form: FormDefinition) -> bool:
    if field.show_if is None:
        return True
    target = form.field(field.show_if.field)
    if not is_visible(target, answers, form):
        return False
    return field.show_if.holds(answers.get(field.show_if.field))


def visible_fields(form: FormDefinition, answers: Mapping[str, Any]) -> list[Field]:
    return [f for f in form.fields if is_visible(f, answers, form)]


def _check(field: Field, value: Any) -> str | None:
    t = field.type
    if t in ("text", "long_text", "pseudonym"):
        if not isinstance(value, str):
            return ERROR_WRONG_TYPE
        limit = field.max_length or _DEFAULT_MAX_LENGTH[t]
        return ERROR_TOO_LONG if len(value) > limit else None
    if t == "number":
        if isinstance(value, bool) or not isinstance(value, int):
            return ERROR_NOT_A_NUMBER
        if field.minimum is not None and value < field.minimum:
            return ERROR_TOO_SMALL
        if field.maximum is not None and value > field.maximum:
            return ERROR_TOO_LARGE
        return None
    if t in ("date", "datetime"):
        return None if parse_when(value, with_time=t == "datetime") else ERROR_BAD_DATE
    if t in ("single_choice", "region"):
        return None if isinstance(value, str) and field.option(value) else ERROR_BAD_CHOICE
    if t == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return ERROR_WRONG_TYPE
        ok = all(field.option(v) for v in value) and len(set(value)) == len(value)
        return None if ok else ERROR_BAD_CHOICE
    if t == "yes_no":
        return None if isinstance(value, bool) else ERROR_WRONG_TYPE
    if t == "attachments":
        ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        return None if ok else ERROR_WRONG_TYPE
    if t == "consent":
        if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
            return ERROR_WRONG_TYPE
        return None if all(field.option(str(k)) for k in value) else ERROR_BAD_CHOICE
    return ERROR_WRONG_TYPE  # pragma: no cover - parse_form admits only known types


def parse_when(value: Any, *, with_time: bool) -> _dt.datetime | _dt.date | None:
    """Parse a `date` ("YYYY-MM-DD") or `datetime` ("YYYY-MM-DDTHH:MM") answer; None if bad."""
    if not isinstance(value, str):
        return None
    try:
        if with_time:
            if len(value) != 16 or value[10] != "T":
                return None
            return _dt.datetime.strptime(value, "%Y-%m-%dT%H:%M")
        if len(value) != 10:
            return None
        return _dt.datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None


def validate(form: FormDefinition, answers: Mapping[str, Any]) -> dict[str, str]:
    """Problems with `answers` as `{field_id: message_key}`; hidden fields are not checked."""
    errors: dict[str, str] = {}
    for field in visible_fields(form, answers):
        value = answers.get(field.id)
        if field.type == "consent" and isinstance(value, dict):
            unanswered = any(field.option(o.value) and o.value not in value for o in field.options)
            if field.required and unanswered:
                errors[field.id] = ERROR_REQUIRED
                continue
        if is_empty(value):
            if field.required:
                errors[field.id] = ERROR_REQUIRED
            continue
        problem = _check(field, value)
        if problem:
            errors[field.id] = problem
    return errors


def clean_answers(form: FormDefinition, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Only the answers to visible fields, without empty ones."""
    keep = {f.id for f in visible_fields(form, answers)}
    return {k: v for k, v in answers.items() if k in keep and not is_empty(v)}


def parse_number(text: str) -> int | None:
    """Parse what a person typed into a number field: digits, optional sign and spaces."""
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if cleaned.startswith(("-", "+")):
        sign, digits = cleaned[0], cleaned[1:]
    else:
        sign, digits = "", cleaned
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 15:
        return None
    return int(sign + digits)


def summary(form: FormDefinition, answers: Mapping[str, Any], lang: str) -> str:
    """A short line naming the incident for the list: the title field, else the first choice."""
    if form.title_field and isinstance(answers.get(form.title_field), str | list):
        value = answers[form.title_field]
        field = form.field(form.title_field)
        values: Sequence[Any] = value if isinstance(value, list) else [value]
        if field.options:
            return ", ".join(label(o.labels, lang) for v in values if (o := field.option(v)))
        return ", ".join(str(v) for v in values)[:80]
    return ""
