"""Settings: language (switches at once), organisation facts, the referral directory,
timestamping authorities, post-quantum keys, root key backup, lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.coordinator.referrals_card import ReferralsCard
from app.coordinator.settings_keys import PostQuantumCard, TimestampsCard
from app.i18n import LANGUAGES
from app.ui.language import ENDONYMS
from sync.keys import format_fingerprint


class SettingsView:
    def __init__(
        self, ctx: ViewContext, on_language: Callable[[str], None], on_lock: Callable[[], None]
    ) -> None:
        self.ctx, self.on_language, self.on_lock = ctx, on_language, on_lock
        t = ctx.t
        self.languages = ft.Row(
            [
                (ft.FilledButton if lang == ctx.lang else ft.OutlinedButton)(
                    ENDONYMS[lang],
                    on_click=lambda _e, lg=lang: self.on_pick(lg),
                    key=f"lang-{lang}",
                )
                for lang in LANGUAGES
            ],
            wrap=True,
        )
        self.facts = ft.Column([], spacing=6)
        self.backup_passphrase = w.secret_field(
            t("settings.backup_passphrase"), t("secret.reveal"), width=340, key="backup-passphrase"
        )
        self.backup_status = w.banner("")
        self.join_code = ft.TextField(
            label=t("settings.join_code"), read_only=True, multiline=True, key="join-code"
        )
        self.pending = w.hint_card(
            t("settings.pending_title"),
            t("settings.pending_hint"),
            self.join_code,
        )
        self.pending.visible = False
        self.add_code = w.sensitive_field(
            t("settings.add_code"),
            multiline=True,
            min_lines=2,
            max_lines=3,
            width=520,
            key="add-coordinator-code",
        )
        self.add_status = w.banner("")
        self.post_quantum = PostQuantumCard(ctx)
        self.timestamps = TimestampsCard(ctx)
        self.referrals = ReferralsCard(ctx)
        self.control = w.screen_column(
            w.title(t("settings.title")),
            self.pending,
            w.card(w.heading(t("settings.language")), self.languages),
            w.card(w.heading(t("settings.organisation")), self.facts),
            self._add_coordinator_card(),
            self.referrals.control,
            self.timestamps.control,
            self.post_quantum.control,
            self._backup_card(),
            self._session_card(),
        )

    def _add_coordinator_card(self) -> ft.Control:
        """Add a coordinator by the code they sent."""
        t = self.ctx.t
        return w.hint_card(
            t("settings.add_title"),
            t("settings.add_hint"),
            self.add_code,
            w.button(
                "outlined",
                t("settings.add_button"),
                self.on_add_coordinator,
                "add-coordinator",
                ft.Icons.PERSON_ADD,
            ),
            self.add_status,
        )

    def _backup_card(self) -> ft.Control:
        """Back up the keys under a passphrase."""
        t = self.ctx.t
        return w.hint_card(
            t("settings.backup"),
            t("settings.backup_hint"),
            w.actions(
                self.backup_passphrase,
                w.button(
                    "outlined",
                    t("settings.backup_button"),
                    self.on_backup,
                    "backup",
                    ft.Icons.KEY,
                ),
            ),
            self.backup_status,
        )

    def _session_card(self) -> ft.Control:
        """Lock the workspace."""
        t = self.ctx.t
        return w.hint_card(
            t("settings.session"),
            t("settings.lock_hint"),
            w.button(
                "filled", t("settings.lock"), lambda _e: self.on_lock(), "lock", ft.Icons.LOCK
            ),
        )

    def load(self) -> None:
        t = self.ctx.t
        try:
            info = self.ctx.service.info()
        except Exception as exc:
            self.facts.controls = [ft.Text(self.ctx.error(exc))]
            return
        if not info.listed:
            self.pending.visible = True
            self.join_code.value = self.ctx.service.join_request()
        rows = [
            ("settings.org", info.org),
            ("settings.server", info.server_url),
            ("settings.root", format_fingerprint(info.root_fingerprint)),
            ("settings.me", f"{info.coordinator_name} · {format_fingerprint(info.coordinator_id)}"),
            ("settings.org_version", str(info.org_version)),
            ("settings.coordinators", ", ".join(info.coordinators)),
        ]
        self.facts.controls = [
            ft.Row(
                [
                    ft.Text(t(k), width=220, weight=ft.FontWeight.W_500),
                    ft.Text(v or "—"),
                ]
            )
            for k, v in rows
        ]
        self.post_quantum.load()
        self.timestamps.load()
        self.referrals.load()

    def on_add_coordinator(self, _e: Any = None) -> None:
        ctx = self.ctx
        code = (self.add_code.value or "").strip()
        if not code:
            return

        def show(text: str, ok: bool) -> None:
            w.show_banner(self.add_status, text, error=not ok)

        def done(version: int) -> None:
            self.add_code.value = ""
            show(ctx.t("settings.added", version=version), True)
            self.load()

        def yes() -> None:
            ctx.port.run(
                lambda: ctx.service.add_coordinator(code), done, lambda e: show(ctx.error(e), False)
            )

        ctx.port.confirm(
            ctx.t("settings.add_confirm_title"),
            ctx.t("settings.add_confirm"),
            ctx.t("settings.add_button"),
            ctx.t("cancel"),
            yes,
        )

    def on_pick(self, lang: str) -> None:
        self.on_language(lang)

    def on_backup(self, _e: Any = None) -> None:
        ctx = self.ctx
        passphrase = self.backup_passphrase.value or ""
        self.backup_passphrase.value = ""

        def done(data: bytes) -> None:
            w.show_banner(self.backup_status, ctx.t("settings.backup_done"), error=False)
            ctx.port.save("fieldvault-root-key.age", data)

        def failed(exc: BaseException) -> None:
            w.show_banner(self.backup_status, ctx.error(exc))

        ctx.port.run(lambda: ctx.service.backup_root(passphrase), done, failed)
