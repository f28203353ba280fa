"""A language switcher: each language named in itself, so anyone can find their own."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from app.i18n import LANGUAGES

ENDONYMS = {"en": "English", "ru": "Русский", "ky": "Кыргызча", "kk": "Қазақша"}


def language_picker(current: str, on_pick: Callable[[str], object]) -> ft.Column:
    """Four large buttons, the current one filled; `on_pick(lang)` is called on a tap."""

    def handler(lang: str) -> Callable[[], object]:
        return lambda: on_pick(lang)

    buttons: list[ft.Control] = []
    for lang in LANGUAGES:
        kind = ft.FilledButton if lang == current else ft.OutlinedButton
        buttons.append(
            kind(
                ENDONYMS[lang], data=f"lang-{lang}", on_click=handler(lang), height=48, expand=True
            )
        )
    return ft.Column([ft.Row([b]) for b in buttons], spacing=8)
