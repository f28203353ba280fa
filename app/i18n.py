"""Translation catalogues for both apps: `Translator(lang, namespace).t(key, **params)`.

Catalogues are flat JSON objects `{key: text}` in `assets/i18n/<namespace>/<lang>.json`; the
`common` namespace (error messages, language names) is loaded under every other namespace.
Parameters use `str.format` names: `"{count} waiting"`.

Fallback chain for a key: the chosen language, then Russian (Kyrgyz and Kazakh speakers read it),
then English; a key missing everywhere comes back as the key itself, so a gap is visible on
screen and caught by the catalogue completeness test, never a crash.

Danger: never pass secrets (passphrases, keys) or case content as parameters of a message that
could be logged; these strings are for the screen only.
"""

from __future__ import annotations

import functools
import json
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "ru", "ky", "kk")
DEFAULT_LANGUAGE = "ru"
ASSETS = Path(__file__).resolve().parent.parent / "assets"
I18N_DIR = ASSETS / "i18n"
COMMON = "common"

_FALLBACK: Mapping[str, tuple[str, ...]] = {
    "en": ("en",),
    "ru": ("ru", "en"),
    "ky": ("ky", "ru", "en"),
    "kk": ("kk", "ru", "en"),
}


class CatalogueError(ValueError):
    """A catalogue file is not a flat JSON object of non-empty strings."""


@functools.cache
def load_catalogue(namespace: str, lang: str) -> Mapping[str, str]:
    """The catalogue for one namespace and language ({} when the file does not exist)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    path = I18N_DIR / namespace / f"{lang}.json"
    if not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise CatalogueError(f"{namespace}/{lang}.json must map keys to strings")
    return raw


def placeholders(text: str) -> set[str]:
    """The `{name}` parameters a catalogue string uses."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Translator:
    """Looks up user-facing text for one language; cheap to create, switch by making a new one."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE, namespace: str = "field") -> None:
        if lang not in LANGUAGES:
            lang = DEFAULT_LANGUAGE
        self.lang = lang
        self.namespace = namespace
        self._chain = [
            load_catalogue(ns, candidate)
            for candidate in _FALLBACK[lang]
            for ns in (namespace, COMMON)
        ]

    def has(self, key: str) -> bool:
        return any(key in catalogue for catalogue in self._chain)

    def t(self, key: str, **params: Any) -> str:
        for catalogue in self._chain:
            text = catalogue.get(key)
            if text:
                if not params:
                    return text
                try:
                    return text.format(**params)
                except (KeyError, IndexError, ValueError):
                    return text
        return key

    __call__ = t
