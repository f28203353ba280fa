"""The sync status line: last sync, items waiting, the last failure, upload progress, Sync now."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.errors_text import reason_key
from app.field.context import FieldContext
from app.field.widgets import when
from app.services.field_types import SyncStatus


class SyncLine:
    def __init__(self, ctx: FieldContext) -> None:
        self.ctx = ctx
        self.text = ft.Text("", size=14, data="sync-status", expand=True)
        self.error = ft.Text("", size=14, color=ft.Colors.RED_800, visible=False)
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
        if status.waiting:
            line = f"{line} · {t('sync.waiting', count=status.waiting)}"
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
