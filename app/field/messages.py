"""Messages from coordinators on a case, and replies. Only this device can read them: they are
encrypted to its own key on the coordinator's laptop and stored encrypted here."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.field.context import FieldContext, Screen
from app.field.widgets import big_button, hint, when
from app.services.field_types import Message
from app.ui.banner import ErrorBanner
from app.ui.fields import sensitive_field


class MessagesScreen:
    def __init__(self, ctx: FieldContext, incident_id: str | None = None) -> None:
        self.ctx = ctx
        self.incident_id = incident_id
        self.draft = ""
        self.banner = ErrorBanner()

    def build(self) -> Screen:
        t = self.ctx.t
        self.items = self.ctx.service.messages(self.incident_id)
        self.ctx.service.mark_read(self.incident_id)
        body: list[ft.Control] = [self.banner]
        body += [self._bubble(m) for m in self.items] or [hint(t("msg.empty"), data="msg-empty")]
        if self.incident_id is not None:
            self.reply_field = sensitive_field(
                label=t("msg.reply"),
                value=self.draft,
                multiline=True,
                min_lines=2,
                max_lines=6,
                on_change=self.on_draft,
                data="msg-reply",
            )
            body += [self.reply_field, big_button(t("msg.send"), self.send, data="msg-send")]
        if self.incident_id is None:
            return Screen(t("msg.title"), body)
        return Screen(t("msg.title"), body, back="incident", back_params={"id": self.incident_id})

    def _bubble(self, message: Message) -> ft.Control:
        t = self.ctx.t
        mine = not message.from_coordinator
        who = t("msg.you") if mine else t("msg.coordinator")
        bubble = ft.Container(
            ft.Column(
                [
                    hint(f"{who} · {when(message.created_at)}"),
                    ft.Text(message.text, size=15),
                ],
                spacing=2,
            ),
            bgcolor=ft.Colors.PRIMARY_CONTAINER if mine else ft.Colors.SURFACE_CONTAINER_HIGH,
            padding=10,
            border_radius=10,
            width=280,
            on_click=None if self.incident_id else self._open(message.incident_id),
            data=f"msg-{message.id}",
        )
        align = ft.MainAxisAlignment.END if mine else ft.MainAxisAlignment.START
        return ft.Row([bubble], alignment=align)

    def _open(self, incident_id: str) -> Any:
        return lambda _e=None: self.ctx.nav.go("messages", id=incident_id)

    def on_draft(self, e: Any) -> None:
        self.draft = str(e.control.value or "")
        self.ctx.nav.touch()

    async def send(self, _e: Any = None) -> None:
        if self.incident_id is None or not self.draft.strip():
            return
        reply = self.ctx.service.reply
        if not await self.ctx.attempt_off_ui(self.banner, reply, self.incident_id, self.draft):
            return
        self.draft = ""
        self.ctx.nav.refresh()
        self.ctx.nav.sync_now()

    def on_lock(self) -> None:
        self.draft = ""
        self.items = []
