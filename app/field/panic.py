"""The panic control present on every unlocked screen: long-press, a short countdown, a wipe.

`PanicControl.button` sits in the app bar (a large red target); a tap only explains itself, a
long-press starts a `PANIC_SECONDS` countdown shown in `banner` with a Cancel button. When it
reaches zero the service wipes (keys first, then files) and the shell returns to first run, or
to the calculator when disguised. What the wipe covers is written in docs/field-app.md and in
the settings screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from app.field.context import FieldContext
from app.field.widgets import refresh

PANIC_SECONDS = 3


class PanicControl:
    def __init__(
        self,
        ctx: FieldContext,
        *,
        seconds: int = PANIC_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.ctx = ctx
        self.seconds = seconds
        self.sleep = sleep
        self.counting = False
        t = ctx.t
        self.button = ft.IconButton(
            icon=ft.Icons.WARNING_ROUNDED,
            icon_color=ft.Colors.WHITE,
            bgcolor=ft.Colors.RED_700,
            icon_size=28,
            tooltip=t("panic.tooltip"),
            on_click=self.explain,
            on_long_press=self.start,
            data="panic",
            width=52,
            height=52,
        )
        self.text = ft.Text("", color=ft.Colors.WHITE, size=16, expand=True)
        self.cancel_button = ft.FilledButton(
            t("panic.cancel"),
            on_click=self.cancel,
            data="panic-cancel",
            height=48,
            style=ft.ButtonStyle(bgcolor=ft.Colors.WHITE, color=ft.Colors.RED_800),
        )
        self.banner = ft.Container(
            ft.Row([self.text, self.cancel_button]),
            bgcolor=ft.Colors.RED_800,
            padding=12,
            border_radius=8,
            visible=False,
        )

    def explain(self, _e: Any = None) -> None:
        if self.counting:
            return
        self.text.value = self.ctx.t("panic.hold_hint")
        self.cancel_button.visible = False
        self.banner.visible = True

    async def start(self, _e: Any = None) -> None:
        if self.counting:
            return
        self.counting = True
        self.cancel_button.visible = True
        self.banner.visible = True
        for remaining in range(self.seconds, 0, -1):
            self.text.value = self.ctx.t("panic.countdown", seconds=remaining)
            refresh(self.banner)
            await self.sleep(1)
            if not self.counting:
                return
        self.counting = False
        self.text.value = self.ctx.t("panic.wiping")
        refresh(self.banner)
        await self.ctx.nav.run(self.ctx.service.wipe)
        self.ctx.nav.wiped()

    def cancel(self, _e: Any = None) -> None:
        self.counting = False
        self.banner.visible = False
        self.text.value = ""
