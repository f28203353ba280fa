"""Exports of the filtered cases (CSV, statistics, PDF, evidence bundle, Uwazi import) and
bundle checking.

An export holding identifying data shows a warning and is age-encrypted to the coordinators'
recipients (or a passphrase, typed twice). Saving it in clear needs an explicit choice and a
confirmation. PDF reports carry the photos and leave out internal comments unless asked
("include internal comments", off by default); evidence bundles carry the attachments.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.coordinator.open_export_view import OpenExportSection
from app.exports.protect import needs_protection
from app.services.coordinator_types import ExportResult

KINDS = ("csv", "stats", "pdf", "bundle", "uwazi")
WITH_IDENTIFYING_CHOICE = ("csv", "uwazi")
PROTECTIONS = ("recipients", "passphrase", "none")


class ExportsView:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.last: ExportResult | None = None
        self.scope = w.muted("")
        self.kind = w.radio_choice(
            [(k, t(f"exports.kind_{k}"), f"kind-{k}") for k in KINDS],
            "csv",
            on_change=self.on_options,
        )
        self.identifying = ft.Checkbox(
            height=48,
            label=t("exports.identifying"),
            value=False,
            on_change=self.on_options,
            key="identifying",
        )
        self.comments = ft.Checkbox(
            height=48,
            label=t("exports.comments"),
            value=False,
            visible=False,
            key="include-comments",
        )
        self.uwazi_consent = w.muted(t("exports.uwazi_consent"))
        self.uwazi_consent.visible = False
        self._build_protection()
        self.warning = w.banner(t("exports.warning"))
        self.button = w.button(
            "filled", t("exports.export"), self.on_export, "export", ft.Icons.SAVE_ALT
        )
        self.busy = ft.ProgressRing(visible=False, width=24, height=24)
        self.result = w.muted("")
        self.error = w.banner("")
        self.verify_button = w.button(
            "outlined",
            t("exports.verify_pick"),
            self.on_verify_pick,
            "verify-pick",
            ft.Icons.VERIFIED,
        )
        self.verdict = ft.Column([], spacing=4)
        self.opener = OpenExportSection(ctx)  # "Open an encrypted export"
        self.control = w.screen_column(
            w.title(t("exports.title")),
            self.scope,
            self._options_row(),
            self.warning,
            ft.Row([self.button, self.busy]),
            self.result,
            self.error,
            ft.Divider(),
            w.heading(t("exports.verify_title")),
            w.muted(t("exports.verify_hint")),
            self.verify_button,
            self.verdict,
            ft.Divider(),
            self.opener.control,
        )
        self.on_options()

    def _build_protection(self) -> None:
        """How an export is protected: to the coordinators' keys, a passphrase, or not at all."""
        t = self.ctx.t
        self.protection = w.radio_choice(
            [(p, t(f"exports.protect_{p}"), f"protect-{p}") for p in PROTECTIONS],
            "recipients",
            on_change=self.on_options,
        )
        self.passphrase, self.passphrase_again = (
            w.secret_field(t(label), t("secret.reveal"), width=320, visible=False, key=key)
            for label, key in (
                ("exports.passphrase", "export-passphrase"),
                ("exports.passphrase_again", "export-passphrase-again"),
            )
        )
        self.protect_box = ft.Column(
            [
                w.muted(t("exports.protection")),
                self.protection,
                self.passphrase,
                self.passphrase_again,
            ]
        )

    def _options_row(self) -> ft.Row:
        """What to export, and how to protect it."""
        return ft.Row(
            [
                w.card(
                    w.heading(self.ctx.t("exports.what")),
                    self.kind,
                    self.identifying,
                    self.comments,
                    self.uwazi_consent,
                ),
                w.card(self.protect_box),
            ],
            vertical_alignment=ft.CrossAxisAlignment.START,
            wrap=True,
        )

    def load(self) -> None:
        try:
            count = len(self.ctx.service.cases(self.ctx.filters))
        except Exception as exc:
            self.show_error(exc)
            return
        self.scope.value = self.ctx.t("exports.scope", count=count)

    def show_error(self, exc: BaseException) -> None:
        self.busy.visible, self.button.disabled = False, False
        self.error.content.value = self.ctx.error(exc)  # type: ignore[union-attr]
        self.error.visible = True

    @property
    def is_identifying(self) -> bool:
        kind = self.kind.value or "csv"
        return needs_protection(kind, bool(self.identifying.value)) or (
            kind in WITH_IDENTIFYING_CHOICE and bool(self.identifying.value)
        )

    def on_options(self, _e: Any = None) -> None:
        kind = self.kind.value or "csv"
        self.identifying.visible = kind in WITH_IDENTIFYING_CHOICE
        self.uwazi_consent.visible = kind == "uwazi"
        self.comments.visible = kind == "pdf"
        identifying = self.is_identifying
        self.warning.visible = identifying
        self.protect_box.visible = identifying
        asks = identifying and self.protection.value == "passphrase"
        self.passphrase.visible = self.passphrase_again.visible = asks

    def on_export(self, _e: Any = None) -> None:
        ctx = self.ctx
        kind = self.kind.value or "csv"
        protection = self.protection.value or "recipients"
        if (
            self.is_identifying
            and protection == "passphrase"
            and (self.passphrase.value or "") != (self.passphrase_again.value or "")
        ):
            self.error.content.value = ctx.t("exports.passphrase_mismatch")  # type: ignore[union-attr]
            self.error.visible = True
            return
        if self.is_identifying and protection == "none":
            ctx.port.confirm(
                ctx.t("exports.clear_title"),
                ctx.t("exports.clear_text"),
                ctx.t("exports.clear_yes"),
                ctx.t("cancel"),
                lambda: self._export(kind, "none"),
            )
            return
        self._export(kind, protection if self.is_identifying else "none")

    def _export(self, kind: str, protection: str) -> None:
        ctx = self.ctx
        passphrase = self.passphrase.value or ""
        identifying = bool(self.identifying.value)
        comments = kind == "pdf" and bool(self.comments.value)
        self.error.visible = False
        self.busy.visible, self.button.disabled = True, True

        def work() -> ExportResult:
            return ctx.service.export(
                kind,
                ctx.filters,
                identifying=identifying,
                lang=ctx.lang,
                protection=protection,
                passphrase=passphrase,
                t=lambda key: ctx.t(key),
                comments=comments,
            )

        def done(result: ExportResult) -> None:
            self.busy.visible, self.button.disabled = False, False
            self.last = result
            key = "exports.done_protected" if result.protected else "exports.done"
            self.result.value = ctx.t(key, name=result.filename, size=len(result.data))
            if result.left_out:  # consent kept cases out (`app.exports.consent`)
                self.result.value += "\n" + ctx.t("exports.left_out", count=len(result.left_out))
            ctx.port.save(result.filename, result.data)

        ctx.port.run(work, done, self.show_error)

    def on_verify_pick(self, _e: Any = None) -> None:
        self.ctx.port.pick(self.verify)

    def verify(self, name: str, data: bytes) -> None:
        ctx, t = self.ctx, self.ctx.t
        verdict = ctx.service.verify_bundle(data)
        lines: list[ft.Control] = [
            w.verdict_pill(
                verdict.ok, t("exports.bundle_valid" if verdict.ok else "exports.bundle_invalid")
            ),
            w.muted(
                t(
                    "exports.bundle_summary",
                    name=name,
                    cases=verdict.cases,
                    envelopes=verdict.envelopes,
                )
            ),
        ]
        lines.extend(
            ft.Text(f"• {t(f'bundle.{p.code}')}: {p.detail}", size=13, key=f"problem-{p.code}")
            for p in verdict.problems
        )
        self.verdict.controls = lines
