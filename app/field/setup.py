"""First run: language, passphrase (with strength and short-PIN warning), optional duress
passphrase and calculator disguise, then joining the organisation with an invite code: the
long code (pasted), or the short code a coordinator reads aloud (12 characters) with the server
address, which fetches the sealed invite from the server (`sync.invite_drop`) and then shows it
exactly like a long code.

The passphrase must clear `core.strength`'s floor (about 40 bits of guessing work; a code of
12 or more digits for the calculator): `check_new_passphrase` refuses a weaker one, and the
refusal's reason becomes a sentence saying why (`app.errors_text`). The
strength bar shows the same estimate, so a refused passphrase never looks "Good".

The `join` step is also reachable later from settings (`SetupScreen(ctx, step="org")`).
The root fingerprint is shown in groups of four so it can be read aloud with a coordinator.

The passphrase step also chooses the panic mode (`Settings.panic_immediate`): erase at once,
with no countdown and nothing to cancel, is on by default when the calculator disguise is on
(the high-risk choice) until the owner sets it. A refused passphrase scrolls to the field to
fix, puts the cursor in it and says why beside the Create button as well as at the top. The
join step carries the panic control once a vault exists, and a refused invite code gets the
cursor back.
"""

from __future__ import annotations

import contextlib
from typing import Any

import flet as ft

from app.field.context import FieldContext, Screen
from app.field.panic import PanicControl, panic_corner
from app.field.widgets import big_button, button_of, heading, hint, passphrase_field, toggle_row
from app.services.field_types import (
    FieldServiceError,
    InvitePreview,
    check_new_passphrase,
    passphrase_strength,
)
from app.ui.banner import ErrorBanner
from app.ui.fields import sensitive_field
from app.ui.language import language_picker
from core.strength import MIN_CODE_DIGITS, assess
from sync.shortcode import looks_like_code

STRENGTH_COLOURS = (
    ft.Colors.RED_700,
    ft.Colors.ORANGE_700,
    ft.Colors.AMBER_700,
    ft.Colors.LIGHT_GREEN_700,
    ft.Colors.GREEN_700,
)


class SetupScreen:
    STEPS = ("language", "passphrase", "org")

    def __init__(self, ctx: FieldContext, step: str = "language") -> None:
        self.ctx = ctx
        self.step = step
        self.passphrase = ""
        self.confirm = ""
        self.duress_on = False
        self.duress = ""
        self.disguise = False
        self.invite = ""
        self.server = ""
        self.preview: InvitePreview | None = None
        self.busy = False
        self.banner = ErrorBanner()
        self.create_banner = ErrorBanner()  # the same error, beside the Create button
        self.problem: ft.TextField | None = None  # the field the last refusal sent the owner to
        self.invite_refused = False
        self.panic_immediate: bool | None = None  # None: follow the disguise switch

    # ------------------------------------------------------------ build
    def build(self) -> Screen:
        t = self.ctx.t
        body = {"language": self._language, "passphrase": self._passphrase, "org": self._org}[
            self.step
        ]()
        back = "settings" if self.step == "org" and self.ctx.service.unlocked else None
        head: list[ft.Control] = [self.banner]
        if self.step == "org" and self.ctx.service.has_vault():
            head.insert(0, panic_corner(PanicControl(self.ctx)))
        return Screen(t("setup.title"), [*head, *body], back=back, chrome=False)

    def _language(self) -> list[ft.Control]:
        t = self.ctx.t
        return [
            heading(t("setup.welcome")),
            hint(t("setup.language_hint")),
            language_picker(self.ctx.tr.lang, self.pick_language),
            big_button(t("common.next"), self.to_passphrase, data="setup-next"),
        ]

    def _passphrase(self) -> list[ft.Control]:
        t = self.ctx.t
        self.pass_field, self.confirm_field = (
            passphrase_field(self.ctx, label, data, value=value, on_change=on_change)
            for label, data, value, on_change in (
                ("setup.passphrase", "setup-passphrase", self.passphrase, self.on_passphrase),
                ("setup.confirm", "setup-confirm", self.confirm, self.on_confirm),
            )
        )
        self.strength_bar = ft.ProgressBar(value=0, height=8, border_radius=4)
        self.strength_text = ft.Text("", size=14)
        self.warnings = ft.Column([], spacing=2)
        self.disguise_switch = ft.Switch(value=self.disguise, on_change=self.on_disguise)
        self.duress_switch = ft.Switch(value=self.duress_on, on_change=self.on_duress_switch)
        self.duress_field = passphrase_field(
            self.ctx,
            "setup.duress_passphrase",
            "setup-duress",
            value=self.duress,
            on_change=self.on_duress,
            visible=self.duress_on,
        )
        self.panic_switch = ft.Switch(value=self.immediate, on_change=self.on_panic_mode)
        self.create_row = big_button(t("setup.create"), self.create, data="setup-create")
        self._update_strength()
        return [
            heading(t("setup.passphrase_title")),
            hint(t("setup.passphrase_hint")),
            self.pass_field,
            self.strength_bar,
            self.strength_text,
            self.warnings,
            self.confirm_field,
            toggle_row(self.disguise_switch, t("setup.disguise"), data="setup-disguise"),
            hint(t("setup.disguise_hint")),
            toggle_row(self.duress_switch, t("setup.duress"), data="setup-duress-switch"),
            hint(t("setup.duress_hint")),
            self.duress_field,
            toggle_row(self.panic_switch, t("setup.panic_immediate"), data="setup-panic"),
            hint(t("setup.panic_immediate_hint")),
            self.create_banner,
            self.create_row,
        ]

    def _org(self) -> list[ft.Control]:
        t = self.ctx.t
        self.invite_field = sensitive_field(
            label=t("setup.invite"),
            value=self.invite,
            autofocus=self.invite_refused,  # a refused code: the cursor goes back to it
            multiline=True,
            min_lines=2,
            max_lines=4,
            on_change=self.on_invite,
            data="setup-invite",
        )
        short = looks_like_code(self.invite)
        self.server_field = sensitive_field(
            label=t("setup.server_address"),
            value=self.server,
            keyboard_type=ft.KeyboardType.URL,
            on_change=self.on_server,
            visible=short,
            data="setup-server",
        )
        self.short_hint = hint(t("setup.short_hint"))
        self.short_hint.visible = short
        self.check_row = big_button(t("setup.check_invite"), self.check_invite, data="setup-check")
        controls: list[ft.Control] = [
            heading(t("setup.org_title")),
            hint(t("setup.org_hint")),
            self.invite_field,
            self.short_hint,
            self.server_field,
            self.check_row,
        ]
        if self.preview is not None:
            controls += [
                hint(t("setup.server")),
                ft.Text(self.preview.server, size=15, selectable=True),
                hint(t("setup.fingerprint_hint")),
                ft.Text(
                    self.preview.fingerprint_groups,
                    size=22,
                    weight=ft.FontWeight.BOLD,
                    font_family="monospace",
                    data="setup-fingerprint",
                ),
                big_button(t("setup.join"), self.join, data="setup-join"),
            ]
        controls.append(big_button(t("setup.skip"), self.skip, data="setup-skip", filled=False))
        return controls

    # ------------------------------------------------------------ handlers
    def pick_language(self, lang: str) -> None:
        self.ctx.service.set_language(lang)
        self.ctx.nav.language_changed()

    def to_passphrase(self, _e: Any = None) -> None:
        self.step = "passphrase"
        self.banner.clear()
        self.ctx.nav.refresh()

    def on_passphrase(self, e: Any) -> None:
        self.passphrase = str(e.control.value or "")
        self._update_strength()

    def on_confirm(self, e: Any) -> None:
        self.confirm = str(e.control.value or "")

    def on_duress(self, e: Any) -> None:
        self.duress = str(e.control.value or "")

    def on_duress_switch(self, e: Any) -> None:
        self.duress_on = bool(e.control.value)
        self.duress_field.visible = self.duress_on

    def on_disguise(self, e: Any) -> None:
        self.disguise = bool(e.control.value)
        self.panic_switch.value = self.immediate
        self._update_strength()

    @property
    def immediate(self) -> bool:
        """Erase at once on panic: the owner's choice, else on with the disguise."""
        return self.disguise if self.panic_immediate is None else self.panic_immediate

    def on_panic_mode(self, e: Any) -> None:
        self.panic_immediate = bool(e.control.value)

    def _update_strength(self) -> None:
        t = self.ctx.t
        score = assess(self.passphrase).score
        self.strength_bar.value = (score + 1) / 5 if self.passphrase else 0
        self.strength_bar.color = STRENGTH_COLOURS[score]
        self.strength_text.value = t(f"setup.strength.{score}") if self.passphrase else ""
        warnings = [
            w for w in passphrase_strength(self.passphrase).warnings if w != "setup.warn_short_pin"
        ]
        if not self.passphrase:
            warnings = []
        elif self.passphrase.isdigit() and len(self.passphrase) < MIN_CODE_DIGITS:
            warnings.append("setup.warn_short_pin")
        if self.disguise and self.passphrase and not self.passphrase.isdigit():
            warnings.append("setup.warn_digits_for_disguise")
        self.warnings.controls = [
            ft.Text(t(w), color=ft.Colors.RED_800, size=14, data=w) for w in warnings
        ]

    async def _refuse(self, message: str, field: ft.TextField) -> None:
        """Say what is wrong at the top and beside Create, then put the cursor in the field to
        fix (focusing a text field scrolls it into view; a scroll key on the field itself would
        stop Flet 1.0.5 from focusing it)."""
        self.banner.show(message)
        self.create_banner.show(message)
        self.problem = field
        with contextlib.suppress(Exception):  # not on a page (tests)
            await field.focus()

    async def create(self, _e: Any = None) -> None:
        if self.busy:
            return
        self.banner.clear()
        self.create_banner.clear()
        if self.passphrase != self.confirm:
            await self._refuse(self.ctx.t("error.passphrase_mismatch"), self.confirm_field)
            return
        duress = self.duress if self.duress_on else None
        try:
            check_new_passphrase(self.passphrase, duress, disguise=self.disguise)
        except FieldServiceError as exc:
            wrong = self.pass_field
            if duress is not None and exc.reason == "duress_same_as_passphrase":
                wrong = self.duress_field
            elif duress is not None:
                with contextlib.suppress(FieldServiceError):
                    check_new_passphrase(self.passphrase, None, disguise=self.disguise)
                    wrong = self.duress_field  # the passphrase is fine: the duress one is not
            await self._refuse(self.ctx.error(exc), wrong)
            return
        self.busy = True
        button_of(self.create_row).disabled = True
        button_of(self.create_row).content = self.ctx.t("setup.creating")
        try:
            await self.ctx.nav.run(
                self._create, self.passphrase, duress, self.ctx.tr.lang, self.disguise
            )
        except Exception as exc:
            self.banner.show(self.ctx.error(exc))
            self.create_banner.show(self.ctx.error(exc))
            button_of(self.create_row).disabled = False
            button_of(self.create_row).content = self.ctx.t("setup.create")
            return
        finally:
            self.busy = False
        self.passphrase = self.confirm = self.duress = ""
        self.step = "org"
        self.ctx.nav.refresh()

    def _create(self, passphrase: str, duress: str | None, lang: str, disguise: bool) -> None:
        self.ctx.service.create(passphrase, duress=duress, language=lang, disguise=disguise)
        self.ctx.service.update_settings(panic_immediate=self.immediate)

    def on_invite(self, e: Any) -> None:
        self.invite = str(e.control.value or "")
        self.preview = None
        short = looks_like_code(self.invite)
        self.server_field.visible = short
        self.short_hint.visible = short

    def on_server(self, e: Any) -> None:
        self.server = str(e.control.value or "")

    async def check_invite(self, _e: Any = None) -> None:
        """A long code is read at once; a short one first fetches the sealed invite (scrypt
        and the network, off the UI thread), which then shows like a long one."""
        if self.busy:
            return
        self.banner.clear()
        self.preview = None
        try:
            if looks_like_code(self.invite):
                self.busy = True
                button_of(self.check_row).content = self.ctx.t("setup.fetching")
                button_of(self.check_row).disabled = True
                try:
                    self.invite = await self.ctx.nav.run(
                        self.ctx.service.fetch_short_invite, self.server, self.invite
                    )
                finally:
                    self.busy = False
            self.preview = self.ctx.service.preview_invite(self.invite)
        except Exception as exc:
            self.banner.show(self.ctx.error(exc))
        self.invite_refused = self.preview is None and bool(self.banner.message)
        self.ctx.nav.refresh()

    async def join(self, _e: Any = None) -> None:
        self.banner.clear()
        if not await self.ctx.attempt_off_ui(self.banner, self.ctx.service.join, self.invite):
            return
        self.invite = ""
        self.ctx.nav.unlocked()
        self.ctx.nav.sync_now()

    def skip(self, _e: Any = None) -> None:
        self.invite = ""
        self.ctx.nav.unlocked()
