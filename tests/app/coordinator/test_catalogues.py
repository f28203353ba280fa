"""The coordinator catalogues are complete in every language, and every key the code uses exists."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from app.coordinator.cases_view import COLUMNS
from app.coordinator.context import ViewContext
from app.coordinator.filters_view import FACETS
from app.coordinator.shell import SCREENS
from app.i18n import I18N_DIR, LANGUAGES, Translator, placeholders
from app.services.coordinator_fake import FakeCoordinatorService
from app.services.coordinator_types import REASONS, CoordinatorError, reason_of
from core.cases import STATUSES
from tests.app.coordinator.fakes import FakePort

ROOT = Path(__file__).resolve().parents[3]
CATALOGUES = {
    lang: json.loads((I18N_DIR / "coordinator" / f"{lang}.json").read_text(encoding="utf-8"))
    for lang in LANGUAGES
}
PREFIXES = (
    "nav.",
    "status.",
    "type.",
    "chain.",
    "setup.",
    "unlock.",
    "devices.",
    "cases.",
    "filters.",
    "custody.",
    "case.",
    "dashboard.",
    "exports.",
    "bundle.",
    "forms.",
    "settings.",
    "pdf.",
    "error.",
    "date.",
    "answer.",
    "names.",
)
# keys built at run time from a value (f-strings in the views)
DYNAMIC = {
    *(f"nav.{s}" for s in SCREENS),
    *(f"cases.col_{c}" for c in COLUMNS),
    *(f"filters.{f}" for f in FACETS),
    *(
        f"devices.col_{c}"
        for c in (
            "device",
            "label",
            "last_seen",
            "envelopes",
            "chain",
            "state",
            "actions",
        )
    ),
    *(f"status.{s}" for s in STATUSES),
    *(f"chain.{c}" for c in ("ok", "gap", "fork", "reordered")),
    *(f"custody.chain_{c}" for c in ("ok", "gap", "fork", "reordered")),
    *(f"custody.signature_{s}" for s in ("valid", "invalid")),
    *(f"type.{t}" for t in ("incident", "note")),
    *(f"exports.kind_{k}" for k in ("csv", "stats", "pdf", "bundle")),
    *(f"exports.protect_{p}" for p in ("recipients", "passphrase", "none")),
    *(f"devices.wipe_{w}" for w in ("pending", "done")),
    *(f"devices.expires_{s}" for s in (3600, 86400, 604800, 2592000)),
    *(f"devices.confirm_{a}{s}" for a in ("revoke", "wipe") for s in ("", "_title")),
    *(
        f"bundle.{c}"
        for c in (
            "not_a_bundle",
            "manifest_signature",
            "missing_file",
            "file_altered",
            "unexpected_file",
            "malformed_envelope",
            "envelope_mismatch",
            "wrong_author",
            "payload_mismatch",
            "bad_signature",
            "reordered",
            "chain_broken",
            "attachment_mismatch",
            "attachment_altered",
        )
    ),
    *(
        f"error.{r}"
        for r in (
            "locked",
            "not_set_up",
            "already_set_up",
            "wrong_passphrase",
            "weak_passphrase",
            "not_found",
            "invalid_event",
            "form_invalid",
            "empty_message",
            "needs_passphrase",
            "no_recipients",
            "unknown_device",
            "unsupported",
        )
    ),
}


def literal_keys() -> set[str]:
    keys: set[str] = set()
    files = [
        *(ROOT / "app" / "coordinator").glob("*.py"),
        ROOT / "app" / "exports" / "pdf_report.py",
        ROOT / "app" / "casebook" / "dates.py",
        ROOT / "app" / "services" / "coordinator_api.py",
    ]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                plain = text.replace(".", "").replace("_", "").isalnum()
                if text.startswith(PREFIXES) and plain and not text.endswith((".", "_")):
                    keys.add(text)
    return keys


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_every_key_non_empty_with_the_same_placeholders(lang) -> None:
    english = CATALOGUES["en"]
    catalogue = CATALOGUES[lang]
    assert set(catalogue) == set(english), set(english) ^ set(catalogue)
    for key, text in catalogue.items():
        assert text.strip(), f"{lang}:{key} is empty"
        assert placeholders(text) == placeholders(english[key]), f"{lang}:{key} placeholders"


def test_every_key_the_code_uses_is_in_the_catalogues() -> None:
    used = literal_keys() | DYNAMIC
    assert len(used) > 150
    missing = sorted(used - set(CATALOGUES["en"]))
    assert not missing, missing


def test_the_pdf_headings_are_all_translated() -> None:
    from app.exports.pdf_report import ENGLISH

    assert set(ENGLISH) <= set(CATALOGUES["kk"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_coordinator_reason_has_its_sentence_in_every_language(lang) -> None:
    translator = Translator(lang, "coordinator")
    missing = sorted(r for r in REASONS if not translator.has(f"error.{r}"))
    assert not missing, missing


def test_a_lower_layers_reason_is_taken_over_only_when_the_boundary_knows_it() -> None:
    assert reason_of("bad_signature") == "bad_signature"
    assert reason_of("something_new") == "unexpected"


def test_a_coordinator_error_is_shown_as_its_reasons_sentence() -> None:
    ctx = ViewContext(FakeCoordinatorService(), FakePort(), Translator("en", "coordinator"))
    expected = CATALOGUES["en"]["error.no_devices"]
    assert ctx.error(CoordinatorError("no_devices", "detail")) == expected
