"""Catalogues are complete in all four languages, every key the field app uses exists, no
user-facing literal hides in the views, and errors map to sentences."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from app import errors_text
from app.i18n import I18N_DIR, LANGUAGES, Translator, load_catalogue, placeholders
from app.services.field_types import UnlockFailed, passphrase_strength
from core import forms
from storage import errors as storage_errors
from sync import errors as sync_errors

REPO = Path(__file__).resolve().parents[3]
FIELD_CODE = [*sorted((REPO / "app" / "field").glob("*.py")), *(REPO / "app" / "ui").glob("*.py")]
NAMESPACES = ("field", "common")


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_key_exists_and_is_filled_in_all_four_languages(namespace: str) -> None:
    catalogues = {lang: load_catalogue(namespace, lang) for lang in LANGUAGES}
    keys = set().union(*catalogues.values())
    assert keys
    for lang, catalogue in catalogues.items():
        missing = sorted(keys - set(catalogue))
        empty = sorted(k for k, v in catalogue.items() if not v.strip())
        assert not missing, f"{namespace}/{lang}.json lacks {missing}"
        assert not empty, f"{namespace}/{lang}.json has empty {empty}"


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_parameters_are_the_same_in_every_language(namespace: str) -> None:
    english = load_catalogue(namespace, "en")
    for lang in LANGUAGES:
        catalogue = load_catalogue(namespace, lang)
        for key, text in english.items():
            assert placeholders(catalogue[key]) == placeholders(text), (lang, key)


def test_catalogue_files_are_plain_json_objects_of_strings() -> None:
    for path in I18N_DIR.glob("*/*.json"):
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values()), path


def literal_keys() -> set[str]:
    keys: set[str] = set()
    for path in FIELD_CODE:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute | ast.Name)
                and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "t"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                keys.add(node.args[0].value)
    return keys


def dynamic_keys() -> set[str]:
    keys = {f"status.{s}" for s in ("draft", "queued", "sent", "failed", "local")}
    keys |= {f"setup.strength.{n}" for n in range(5)}
    keys |= {f"country.{c}" for c in ("kg", "kz", "other")}
    keys |= {f"nav.{n}" for n in ("incidents", "notes", "messages", "settings")}
    keys |= set(forms.ERROR_KEYS) | set(errors_text.ALL_KEYS) | {"error.wrong_passphrase_left"}
    for sample in ("1", "12345", "aaaaaaaaaa", "letters"):
        keys |= set(passphrase_strength(sample).warnings)
    keys.add("setup.warn_digits_for_disguise")
    keys.add("sync.waiting")
    return keys


def test_every_key_the_field_app_uses_is_in_the_catalogue() -> None:
    translator = Translator("en", "field")
    used = literal_keys() | dynamic_keys()
    assert len(used) > 100
    missing = sorted(k for k in used if not translator.has(k))
    assert not missing


USER_FACING_KWARGS = {"label", "tooltip", "hint_text", "text", "value", "content", "title"}
VALUE_IS_A_KEY = {"Radio", "DropdownOption", "Segment"}  # `value` is a machine key there
ALLOWED_LITERALS = {"socks5h://127.0.0.1:9050", "monospace"}


def test_no_user_facing_literal_is_written_inline_in_the_views() -> None:
    offenders = []
    for path in FIELD_CODE:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            kwargs = USER_FACING_KWARGS - ({"value"} if name in VALUE_IS_A_KEY else set())
            candidates = [kw.value for kw in node.keywords if kw.arg in kwargs]
            if name in {"Text", "Button", "FilledButton", "OutlinedButton", "TextButton"}:
                candidates += node.args[:1]
            for value in candidates:
                if (
                    isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                    and re.search(r"[^\W\d_]{2}", value.value)
                    and value.value not in ALLOWED_LITERALS
                ):
                    offenders.append(f"{path.name}:{node.lineno}: {value.value!r}")
    assert not offenders


def test_kyrgyz_falls_back_to_russian_then_english_then_the_key() -> None:
    translator = Translator("ky", "field")
    assert translator.t("nav.settings") == "Жөндөөлөр"
    assert translator.t("no.such.key") == "no.such.key"
    assert Translator("xx").lang == "ru"
    assert Translator("en").t("sync.waiting", count=3) == "3 waiting"


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (storage_errors.WrongPassphrase(None), "error.wrong_passphrase"),
        (storage_errors.VaultCorrupt("journal"), "error.vault_corrupt"),
        (storage_errors.StorageFull(), "error.storage_full"),
        (sync_errors.Offline(), "error.offline"),
        (sync_errors.DeviceRevoked(), "error.device_revoked"),
        (sync_errors.ServerRefused("invalid_token", status=403), "error.invalid_token"),
        (sync_errors.ServerRefused("something_new", status=400), "error.server_refused"),
        (sync_errors.ServerKeyChanged(), "error.server_key_changed"),
        (UnlockFailed("vault_in_use"), "error.vault_in_use"),
        (RuntimeError("boom"), "error.unexpected"),
    ],
)
def test_errors_map_to_catalogue_keys(error: Exception, key: str) -> None:
    assert errors_text.error_key(error) == key


def test_attempts_left_appear_in_the_sentence_in_every_language() -> None:
    for lang in LANGUAGES:
        text = errors_text.error_text(UnlockFailed(attempts_left=4), Translator(lang))
        assert "4" in text and "{" not in text
