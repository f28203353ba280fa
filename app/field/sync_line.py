"""The sync status line: last sync, items waiting, the last failure, upload progress, Sync now.

After a failure that goes away by itself (no signal, a slow or cut link) with something still to
send, the line says it is waiting for a better connection and how much is left to send.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from app.errors_text import reason_key
from app.field.context import FieldContext
from app.field.widgets import size_text, when
from app.services.field_types import SyncStatus

PASSING_TROUBLE = ("offline", "timeout", "server_unavailable", "upload_busy")


class SyncLine:
    def __init__(self, ctx: FieldContext) -> None:
        self.ctx = ctx
        self.text = ft.Text("", size=14, data="sync-status", expand=True)
        self.error = ft.Text("", size=14, color=ft.Colors.RED_800, visible=False, data="sync-error")
        self.progress = ft.ProgressBar(value=0, visible=False, height=6)
        self.button = ft.OutlinedButton(
            ctx.t("sync.now"),
            icon=ft.Icons.SYNC,
            on_click=self.sync_now,
            data="sync-now",
            height=48,
        )
        self.control = ft.Container(
            ft.Column([ft.Row([self.text, self.button]), self.progress, self.error], spacing=4),
            padding=ft.Padding.symmetric(horizontal=4, vertical=4),
        )
        self.running = False

    def show(self, status: SyncStatus) -> None:
        t = self.ctx.t
        if not status.enrolled and status.last_sync is None:
            line = t("sync.not_connected")
        elif status.last_sync is None:
            line = t("sync.never")
        else:
            line = t("sync.last", time=when(status.last_sync))
        if status.last_error in PASSING_TROUBLE and (status.waiting or status.bytes_left):
            line = t("sync.waiting_connection")
        if status.waiting:
            line = f"{line} · {t('sync.waiting', count=status.waiting)}"
        if status.bytes_left:
            line = f"{line} · {t('sync.bytes_left', size=size_text(self.ctx, status.bytes_left))}"
        if self.running:
            line = t("sync.running")
        self.text.value = line
        self.error.value = t(reason_key(status.last_error)) if status.last_error else ""
        self.error.visible = bool(status.last_error)
        if status.progress and status.progress[1]:
            sent, total = status.progress
            self.progress.value = sent / total
            self.progress.visible = True
        else:
            self.progress.visible = False
        self.button.disabled = self.running or status.revoked

    def sync_now(self, _e: Any = None) -> None:
        self.ctx.nav.sync_now()
