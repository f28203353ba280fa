"""The panic control: on every unlocked screen, on the lock screen and on the join screen.

`PanicControl.button` is a large target; a long-press wipes (keys first, then files, the app's
cache and temporary files too) and the app then opens as a calculator, as on a phone never set
up. A tap only says, in a neutral hint, that holding it erases the data. Two modes:

- **immediate** (`Settings.panic_immediate`; chosen at setup, on by default when the app is
  disguised as a calculator, and always used before unlock, when the owner's choice is sealed
  in the vault and whoever holds the phone has not proved to be the owner): the long-press
  wipes at once. Nothing is shown while it runs and nothing can stop it. Afterwards the
  calculator shows the owner's sign (`OWNER_SIGN` on its display until the first key, and a
  vibration where the phone has one): nothing red, nothing that says what happened.
- **countdown**: a `PANIC_SECONDS` countdown in `banner` with a Cancel button, then the wipe.

The calculator has its own gesture (hold "C"), always immediate: see `app.field.calculator`.
What the wipe covers is written in docs/field-app.md and in the settings screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from app.field.context import FieldContext
from app.field.widgets import refresh

PANIC_SECONDS = 3
OWNER_SIGN = "0."  # what the calculator shows after an owner's panic wipe, until a key


def panic_is_immediate(ctx: FieldContext) -> bool:
    """The owner's choice when unlocked; immediate before unlock (and if settings fail)."""
    if not ctx.service.unlocked:
        return True
    try:
        return ctx.service.settings().panic_immediate
    except Exception:
        return True


async def wipe_now(ctx: FieldContext) -> None:
    """Wipe, then open the calculator: with the owner's sign when the wipe completed."""
    try:
        await ctx.nav.run(ctx.service.wipe)
    except Exception:
        ctx.nav.wiped()  # no sign: the owner knows to try again
        return
    ctx.nav.panicked()


class PanicControl:
    def __init__(
        self,
        ctx: FieldContext,
        *,
        immediate: bool | None = None,
        seconds: int = PANIC_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.ctx = ctx
        self.immediate = panic_is_immediate(ctx) if immediate is None else immediate
        self.seconds = seconds
        self.sleep = sleep
        self.counting = False
        self.wiping = False
        t = ctx.t
        self.button = ft.IconButton(
            icon=ft.Icon(ft.Icons.WARNING_ROUNDED, semantics_label=t("panic.tooltip")),
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
        self.text = ft.Text("", size=16, expand=True)
        self.cancel_button = ft.FilledButton(
            t("panic.cancel"),
            on_click=self.cancel,
            data="panic-cancel",
            height=48,
            style=ft.ButtonStyle(bgcolor=ft.Colors.WHITE, color=ft.Colors.RED_800),
        )
        self.banner = ft.Container(
            ft.Row([self.text, self.cancel_button]),
            padding=12,
            border_radius=8,
            visible=False,
        )

    def explain(self, _e: Any = None) -> None:
        """A tap: a neutral hint (the countdown's red banner is only for a countdown)."""
        if self.counting or self.wiping:
            return
        self.text.value = self.ctx.t("panic.hold_hint")
        self.text.color = ft.Colors.ON_SURFACE
        self.banner.bgcolor = ft.Colors.SURFACE_CONTAINER_HIGHEST
        self.cancel_button.visible = False
        self.banner.visible = True

    async def start(self, _e: Any = None) -> None:
        if self.counting or self.wiping:
            return
        if self.immediate:
            self.wiping = True
            self.banner.visible = False
            await wipe_now(self.ctx)
            return
        self.counting = True
        self.text.color = ft.Colors.WHITE
        self.banner.bgcolor = ft.Colors.RED_800
        self.cancel_button.visible = True
        self.banner.visible = True
        for remaining in range(self.seconds, 0, -1):
            self.text.value = self.ctx.t("panic.countdown", seconds=remaining)
            refresh(self.banner)
            await self.sleep(1)
            if not self.counting:
                return
        self.counting = False
        self.wiping = True
        self.text.value = self.ctx.t("panic.wiping")
        refresh(self.banner)
        await wipe_now(self.ctx)

    def cancel(self, _e: Any = None) -> None:
        self.counting = False
        self.banner.visible = False
        self.text.value = ""


def panic_corner(control: PanicControl) -> ft.Control:
    """The panic button at the top right of a screen without an app bar (lock, join), with
    its hint and countdown below it."""
    return ft.Column(
        [ft.Row([control.button], alignment=ft.MainAxisAlignment.END), control.banner],
        spacing=6,
    )
