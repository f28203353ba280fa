"""The passphrase screen shown when the app is locked and not disguised.

Wrong passphrases are counted by the vault toward the wipe threshold; the screen says how many
attempts are left. Reaching the threshold wipes, and the app returns to its first-run state.
The panic control is here too, in its immediate mode (`app.field.panic`): before unlock nobody
has shown they are the owner, so nothing counts down and nothing can cancel it.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from app.field.context import FieldContext, Screen, wiped_by
from app.field.panic import PanicControl, panic_corner
from app.field.widgets import big_button, button_of, heading, passphrase_field
from app.ui.banner import ErrorBanner


class UnlockScreen:
    def __init__(self, ctx: FieldContext) -> None:
        self.ctx = ctx
        self.banner = ErrorBanner()
        self.busy = False
        self.panic = PanicControl(ctx, immediate=True)

    def build(self) -> Screen:
        t = self.ctx.t
        self.field = passphrase_field(
            self.ctx,
            "unlock.passphrase",
            "unlock-passphrase",
            on_submit=self.unlock,
            autofocus=True,
        )
        self.button_row = big_button(t("unlock.button"), self.unlock, data="unlock-button")
        body: list[ft.Control] = [
            panic_corner(self.panic),
            heading(t("unlock.title")),
            self.banner,
            self.field,
            self.button_row,
        ]
        return Screen(t("app.title"), body, chrome=False)

    async def unlock(self, _e: Any = None) -> None:
        if self.busy:
            return
        passphrase = str(self.field.value or "")
        self.field.value = ""
        if not passphrase:
            return
        self.busy = True
        button_of(self.button_row).disabled = True
        try:
            failure = await self.ctx.unlock(passphrase)
        finally:
            self.busy = False
            button_of(self.button_row).disabled = False
        if failure is not None:
            if not wiped_by(failure):
                self.banner.show(self.ctx.error(failure))
            return
        self.banner.clear()
        self.ctx.nav.unlocked()
