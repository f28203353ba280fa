"""An inline error/info banner: `ErrorBanner().show(text)` / `.clear()`; hidden when empty."""

from __future__ import annotations

import flet as ft


class ErrorBanner(ft.Container):
    def __init__(self) -> None:
        self.text = ft.Text("", color=ft.Colors.ON_ERROR_CONTAINER, size=15)
        super().__init__(
            content=self.text,
            bgcolor=ft.Colors.ERROR_CONTAINER,
            padding=12,
            border_radius=8,
            visible=False,
        )

    def show(self, message: str) -> None:
        self.text.value = message
        self.visible = True

    def clear(self) -> None:
        self.text.value = ""
        self.visible = False

    @property
    def message(self) -> str:
        return str(self.text.value or "") if self.visible else ""
