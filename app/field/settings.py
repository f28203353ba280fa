"""Settings: language (switches at once), auto-lock, wipe threshold, duress passphrase,
disguise, send and forget, proxy, the organisation (server, root fingerprint, this device), what
the panic wipe covers, and the versions of the app, `cryptography` and OpenSSL on this device."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.field.context import FieldContext, Screen
from app.field.widgets import big_button, heading, hint, passphrase_field, toggle_row
from app.services.field_types import AUTO_LOCK_CHOICES, WIPE_THRESHOLD_CHOICES, Settings
from app.ui.banner import ErrorBanner
from app.ui.fields import list_arrow, sensitive_field
from app.ui.language import language_picker


class SettingsScreen:
    def __init__(self, ctx: FieldContext) -> None:
        self.ctx = ctx
        self.banner = ErrorBanner()
        self.notice = ft.Text("", color=ft.Colors.GREEN_800, visible=False, data="settings-notice")
        self.proxy = ""
        self.current = ""
        self.duress = ""

    def build(self) -> Screen:
        t = self.ctx.t
        s = self.ctx.service.settings()
        self.proxy = s.proxy
        self._make_inputs(s)
        body: list[ft.Control] = [
            self.banner,
            self.notice,
            heading(t("settings.language")),
            language_picker(self.ctx.tr.lang, self.pick_language),
            *self._security_section(),
            *self._duress_section(s),
            *self._wipe_section(s),
            *self._sync_section(),
            heading(t("settings.org")),
            *self._org(self.ctx.service.org_info()),
            *self._about_section(),
        ]
        return Screen(t("settings.title"), body)

    def _picker(
        self, label: str, value: int, options: list[tuple[int, str]], on_select: Any, data: str
    ) -> ft.Dropdown:
        return ft.Dropdown(
            editable=True,  # a named text field for screen readers
            enable_filter=False,
            trailing_icon=list_arrow(self.ctx.t("list.open")),
            label=label,
            value=str(value),
            options=[ft.DropdownOption(key=str(v), text=text) for v, text in options],
            on_select=on_select,
            data=data,
            expand=True,
        )

    def _make_inputs(self, s: Settings) -> None:
        """The controls whose values the handlers read back."""
        t = self.ctx.t
        self.auto_lock = self._picker(
            t("settings.auto_lock"),
            s.auto_lock_seconds,
            [(v, self._duration(v)) for v in AUTO_LOCK_CHOICES],
            self.on_auto_lock,
            "settings-auto-lock",
        )
        self.threshold = self._picker(
            t("settings.wipe_threshold"),
            s.wipe_threshold,
            [(v, t("settings.never") if v == 0 else str(v)) for v in WIPE_THRESHOLD_CHOICES],
            self.on_threshold,
            "settings-threshold",
        )
        self.forget = ft.Switch(
            value=s.send_and_forget, on_change=self.on_forget, data="settings-forget"
        )
        self.disguise = ft.Switch(
            value=s.disguise, on_change=self.on_disguise, data="settings-disguise"
        )
        self.proxy_field = sensitive_field(
            label=t("settings.proxy"),
            value=s.proxy,
            hint_text="socks5h://127.0.0.1:9050",
            on_change=self.on_proxy,
            data="settings-proxy",
        )
        self.current_field = passphrase_field(
            self.ctx, "settings.current_passphrase", "settings-current", on_change=self.on_current
        )
        self.duress_field = passphrase_field(
            self.ctx, "settings.new_duress", "settings-duress", on_change=self.on_duress
        )

    def _security_section(self) -> list[ft.Control]:
        t = self.ctx.t
        return [
            heading(t("settings.security")),
            ft.Row([self.auto_lock]),
            ft.Row([self.threshold]),
            hint(t("settings.wipe_threshold_hint")),
            toggle_row(self.disguise, t("settings.disguise")),
            hint(t("settings.disguise_hint")),
            big_button(
                t("settings.lock_now"),
                self.lock_now,
                data="settings-lock",
                filled=False,
                icon=ft.Icons.LOCK,
            ),
            big_button(
                t("checkin.screen"),
                lambda _e: self.ctx.nav.go("checkin"),
                data="settings-checkin",
                filled=False,
                icon=ft.Icons.TIMER_OUTLINED,
            ),
        ]

    def _duress_section(self, s: Settings) -> list[ft.Control]:
        t = self.ctx.t
        return [
            heading(t("settings.duress")),
            hint(t("settings.duress_on") if s.has_duress else t("settings.duress_off")),
            self.current_field,
            self.duress_field,
            big_button(
                t("settings.set_duress"), self.set_duress, data="settings-set-duress", filled=False
            ),
        ]

    def _wipe_section(self, s: Settings) -> list[ft.Control]:
        t = self.ctx.t
        immediate = ft.Switch(
            value=s.panic_immediate,
            on_change=self.on_panic_mode,
            data="settings-panic-immediate",
        )
        return [
            heading(t("settings.wipe_title")),
            hint(t("settings.wipe_covers")),
            toggle_row(immediate, t("setup.panic_immediate")),
            hint(t("setup.panic_immediate_hint")),
        ]

    def _sync_section(self) -> list[ft.Control]:
        t = self.ctx.t
        return [
            heading(t("settings.sync")),
            toggle_row(self.forget, t("settings.send_and_forget")),
            hint(t("settings.send_and_forget_hint")),
            self.proxy_field,
            big_button(
                t("settings.save_proxy"), self.save_proxy, data="settings-save-proxy", filled=False
            ),
        ]

    def _about_section(self) -> list[ft.Control]:
        t = self.ctx.t
        about = self.ctx.service.about()
        return [
            heading(t("settings.about")),
            ft.Text(t("settings.version", version=about.app_version), data="about-app"),
            ft.Text(t("settings.crypto", version=about.cryptography_version), data="about-crypto"),
            ft.Text(t("settings.openssl", version=about.openssl_version), data="about-openssl"),
        ]

    def _duration(self, seconds: int) -> str:
        if seconds < 60:
            return self.ctx.t("unit.seconds", n=seconds)
        return self.ctx.t("unit.minutes", n=seconds // 60)

    def _org(self, org: Any) -> list[ft.Control]:
        t = self.ctx.t
        if org is None:
            return [
                hint(t("settings.no_org")),
                big_button(t("settings.join"), self.join, data="settings-join", filled=False),
            ]
        return [
            hint(t("setup.server")),
            ft.Text(org.server, selectable=True),
            hint(t("settings.fingerprint")),
            ft.Text(
                org.fingerprint_groups,
                font_family="monospace",
                size=16,
                data="settings-fingerprint",
            ),
            hint(t("settings.device")),
            ft.Text(  # in groups of four, as the coordinator's "Verify" dialog shows it
                org.device_fingerprint_groups or org.device_id,
                font_family="monospace",
                size=13,
                selectable=True,
                data="settings-device",
            ),
            hint(t("settings.enrolled") if org.enrolled else t("settings.not_enrolled_yet")),
        ]

    # ---- handlers
    def _apply(self, **changes: Any) -> Settings | None:
        self.banner.clear()
        try:
            result = self.ctx.service.update_settings(**changes)
        except Exception as exc:
            self.banner.show(self.ctx.error(exc))
            return None
        self.notice.value = self.ctx.t("settings.saved")
        self.notice.visible = True
        return result

    def pick_language(self, lang: str) -> None:
        self.ctx.service.set_language(lang)
        self.ctx.nav.language_changed()

    def on_auto_lock(self, e: Any) -> None:
        self._apply(auto_lock_seconds=int(e.control.value))

    def on_threshold(self, e: Any) -> None:
        self._apply(wipe_threshold=int(e.control.value))

    def on_forget(self, e: Any) -> None:
        self._apply(send_and_forget=bool(e.control.value))

    def on_panic_mode(self, e: Any) -> None:
        if self._apply(panic_immediate=bool(e.control.value)) is not None:
            self.ctx.nav.refresh()  # the panic control in the app bar follows at once
        else:
            e.control.value = not bool(e.control.value)

    def on_disguise(self, e: Any) -> None:
        if self._apply(disguise=bool(e.control.value)) is None:
            self.disguise.value = not bool(e.control.value)

    def on_proxy(self, e: Any) -> None:
        self.proxy = str(e.control.value or "")

    def save_proxy(self, _e: Any = None) -> None:
        self._apply(proxy=self.proxy.strip())

    def on_current(self, e: Any) -> None:
        self.current = str(e.control.value or "")

    def on_duress(self, e: Any) -> None:
        self.duress = str(e.control.value or "")

    async def set_duress(self, _e: Any = None) -> None:
        self.banner.clear()
        current, duress = self.current, self.duress or None
        self.current = self.duress = ""
        self.current_field.value = self.duress_field.value = ""
        if not await self.ctx.attempt_off_ui(
            self.banner, self.ctx.service.set_duress, current, duress
        ):
            return
        self.ctx.nav.refresh()

    def join(self, _e: Any = None) -> None:
        self.ctx.nav.go("join")

    def lock_now(self, _e: Any = None) -> None:
        self.ctx.nav.locked()

    def on_lock(self) -> None:
        self.current = self.duress = ""
