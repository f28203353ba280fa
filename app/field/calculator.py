"""The calculator disguise: a working calculator that is also the lock screen.

Typing the (digits-only) passphrase and "=" unlocks. The "=" answer is on the screen before
the passphrase is tried (off the UI thread), so the code is answered as fast as any sum, and
the service makes every unlock attempt take the same time, right or wrong. Any digits-only
entry of at least `MIN_PASSPHRASE` digits followed by "=" is an unlock attempt and, when wrong,
counts toward the wipe threshold; the display then shows the number, exactly as a calculator
would, so an observer sees nothing. Ordinary sums (with an operator) are never attempts.

Long-press "C" wipes at once (the panic control's immediate mode, `app.field.panic`): no
countdown, nothing to cancel, and the display only shows "0", as "C" would. After an owner's
panic wipe the calculator opens showing `OWNER_SIGN` until the first key: a sign only the
owner knows to look for. With no vault (first use, or after a wipe), long-press "=" opens the
first-run setup; long-press "C" then does nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from app.field import calc_engine
from app.field.calc_engine import Calculator
from app.field.context import FieldContext, Screen
from app.field.panic import OWNER_SIGN, wipe_now
from app.field.widgets import refresh
from app.services.field_types import MIN_PASSPHRASE

ROWS = (
    ("C", "⌫", "%", "÷"),
    ("7", "8", "9", "×"),
    ("4", "5", "6", "−"),
    ("1", "2", "3", "+"),
    ("00", "0", ".", "="),
)


class CalculatorScreen:
    def __init__(self, ctx: FieldContext, *, sign: bool = False) -> None:
        self.ctx = ctx
        self.calc = Calculator()
        self.sign = sign  # show the owner's sign until the first key
        self.wiping = False
        self.busy = False
        self.buttons: dict[str, ft.Control] = {}

    def build(self) -> Screen:
        self.display = ft.Text(
            OWNER_SIGN if self.sign and self.calc.display == "0" else self.calc.display,
            size=44,
            text_align=ft.TextAlign.RIGHT,
            data="calc-display",
            max_lines=1,
            no_wrap=True,
        )
        rows: list[ft.Control] = [
            ft.Container(self.display, alignment=ft.Alignment.CENTER_RIGHT, padding=16, height=110)
        ]
        for row in ROWS:
            cells: list[ft.Control] = []
            for key in row:
                button = ft.Button(
                    # the bundled font has no "⌫" glyph: draw the backspace key as an icon
                    ft.Icon(
                        ft.Icons.BACKSPACE_OUTLINED, semantics_label=self.ctx.t("calc.backspace")
                    )
                    if key == "⌫"
                    else key,
                    data=f"calc-{key}",
                    on_click=self._press_handler(key),
                    on_long_press=self._long_press_handler(key),
                    expand=True,
                    height=68,
                    style=ft.ButtonStyle(
                        text_style=ft.TextStyle(size=24),
                        shape=ft.RoundedRectangleBorder(radius=12),
                    ),
                )
                self.buttons[key] = button
                cells.append(button)
            rows.append(ft.Row(cells, spacing=8))
        return Screen(self.ctx.t("calc.title"), rows, chrome=False)

    def _press_handler(self, key: str) -> Callable[[Any], Awaitable[None]]:
        async def handler(_e: Any = None) -> None:
            await self.press(key)

        return handler

    def _long_press_handler(self, key: str) -> Callable[[Any], Awaitable[None]] | None:
        if key == "C":
            return self.panic
        if key == "%" and self.ctx.alarm is not None:
            return self.ctx.alarm.fire  # the silent alarm (app.field.alarm)
        if key == "=":

            async def setup(_e: Any = None) -> None:
                if not self.ctx.service.has_vault():
                    self.ctx.nav.go("setup")

            return setup
        return None

    async def press(self, key: str) -> None:
        self.sign = False
        for k in ("0", "0") if key == "00" else (key,):
            typed = self.calc.press(k)
        self._show()
        if key != "=":
            return
        # Every "=" answer goes to the screen now, before any key derivation starts, so the
        # unlock code is answered exactly as fast as any sum; the attempt then runs off the
        # UI thread while the calculator keeps working.
        refresh(self.display)
        if typed and self._is_attempt(typed):
            await self._try_unlock(typed)

    def _is_attempt(self, typed: str) -> bool:
        return typed.isdigit() and len(typed) >= MIN_PASSPHRASE and self.ctx.service.has_vault()

    async def _try_unlock(self, digits: str) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            failure = await self.ctx.unlock(digits)
        finally:
            self.busy = False
        if failure is not None:
            return  # a calculator shows no errors; the number stays on the display
        self.calc.press("C")
        self.ctx.nav.unlocked()

    async def panic(self, _e: Any = None) -> None:
        """Hold "C": wipe at once; the display shows "0" as after "C"."""
        if not self.ctx.service.has_vault() or self.wiping:
            return
        self.wiping = True
        self.calc.press("C")
        self._show()
        try:
            await wipe_now(self.ctx)
        finally:
            self.wiping = False

    def _show(self) -> None:
        shown = self.calc.display
        if self.sign and shown == "0":
            shown = OWNER_SIGN
        self.display.value = self.ctx.t("calc.error") if shown == calc_engine.ERROR else shown
