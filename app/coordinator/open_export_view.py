""" "Open an encrypted export", a section of the exports screen.

Every encrypted export this app makes (`.age`: the recommended one, to the coordinators' keys,
or one protected by a passphrase) opens here: the coordinator chooses the file, the app tries
its own identity, asks for the passphrase when the file was protected with one, says what is
inside (an evidence bundle is also checked, as "Check an evidence bundle" does) and saves the
opened file, in clear, under its name without `.age`.

Danger: the saved file is not encrypted; the section says so where it saves it.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.exports.identity import ExportOpenError
from app.exports.opened import OpenedExport

OPEN_ERRORS = (
    "not_encrypted",
    "needs_identity",
    "needs_passphrase",
    "not_addressed_to_identity",
    "wrong_passphrase",
    "damaged",
)


class OpenExportSection:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.picked: tuple[str, bytes] | None = None
        self.last: OpenedExport | None = None
        self.pick_button = w.button(
            "outlined", t("exports.open_pick"), self.on_pick, "open-export-pick", ft.Icons.LOCK_OPEN
        )
        self.passphrase = w.secret_field(
            t("exports.open_passphrase"),
            t("secret.reveal"),
            width=320,
            visible=False,
            on_submit=self.on_open,
            key="open-export-passphrase",
        )
        self.open_button = ft.FilledButton(
            t("exports.open_button"), on_click=self.on_open, visible=False, key="open-export"
        )
        self.result = ft.Column([], spacing=4)
        self.error = w.banner("")
        self.control = ft.Column(
            [
                w.heading(t("exports.open_title")),
                w.muted(t("exports.open_hint")),
                self.pick_button,
                w.actions(self.passphrase, self.open_button),
                self.error,
                self.result,
            ],
            spacing=8,
        )

    def _show_error(self, text: str) -> None:
        self.error.content.value = text  # type: ignore[union-attr]
        self.error.visible = True

    def on_pick(self, _e: Any = None) -> None:
        self.ctx.port.pick(self.picked_file)

    def picked_file(self, name: str, data: bytes) -> None:
        self.picked = (name, data)
        self.passphrase.value = ""
        self.passphrase.visible = self.open_button.visible = False
        self.result.controls = []
        self._open("")

    def on_open(self, _e: Any = None) -> None:
        self._open(self.passphrase.value or "")

    def _open(self, passphrase: str) -> None:
        ctx = self.ctx
        if self.picked is None:
            return
        name, data = self.picked
        self.error.visible = False

        def work() -> OpenedExport:
            return ctx.service.open_export(name, data, passphrase=passphrase)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ExportOpenError) and exc.reason in OPEN_ERRORS:
                asks = exc.reason in ("needs_passphrase", "wrong_passphrase")
                self.passphrase.visible = self.open_button.visible = asks
                self._show_error(ctx.t(f"exports.open_error_{exc.reason}"))
            else:
                self._show_error(ctx.error(exc))

        ctx.port.run(work, self.done, failed)

    def done(self, result: OpenedExport) -> None:
        ctx, t = self.ctx, self.ctx.t
        self.last, self.picked = result, None
        self.passphrase.value = ""
        self.passphrase.visible = self.open_button.visible = False
        lines: list[ft.Control] = [
            w.verdict_pill(True, t("exports.opened_pill")),
            ft.Text(
                t(
                    "exports.opened",
                    kind=t(f"exports.opened_kind_{result.kind}"),
                    name=result.name,
                    size=result.size,
                ),
                key="open-export-result",
            ),
            w.muted(t("exports.opened_clear")),
        ]
        if result.kind == "bundle":
            verdict = ctx.service.verify_bundle(result.data)
            lines.append(
                w.verdict_pill(
                    verdict.ok,
                    t("exports.bundle_valid" if verdict.ok else "exports.bundle_invalid"),
                )
            )
        self.result.controls = lines
        ctx.port.save(result.name, result.data)
