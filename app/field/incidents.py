"""The incident list: newest first, each with its sync state (draft, queued, sent, failed and
why), the sync status line, the button for a new incident, and the unsaved drafts of forms
left without saving (*Continue* or *Discard*, see `app.field.drafts`).

Sent-and-forgotten incidents show only their status: the readable copy is gone from the phone.
A report that has left the phone (its stub too) offers *Withdraw consent* (`app.field.withdraw`);
the button at the end opens the organisation's referral directory (`app.field.directory`).
The first list after an unlock says so when the vault found saved changes missing (its files
were cut short or an older copy was put back: `FieldService.take_unlock_notice`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.field.context import FieldContext, Screen
from app.field.drafts import discard_draft, draft_tiles
from app.field.sync_line import SyncLine
from app.field.widgets import big_button, hint, status_chip, when
from app.services.field_types import Draft, IncidentSummary
from app.ui.banner import ErrorBanner
from core.cases import case_reference


class IncidentListScreen:
    def __init__(self, ctx: FieldContext) -> None:
        self.ctx = ctx
        self.sync_line = SyncLine(ctx)
        self.notice = ErrorBanner()
        if ctx.service.unlocked and ctx.service.take_unlock_notice() == "rolled_back":
            self.notice.show(ctx.t("unlock.rolled_back"))

    def build(self) -> Screen:
        t = self.ctx.t
        self.items = self.ctx.service.list_incidents()
        self.sync_line.show(self.ctx.service.sync_status())
        self.tiles = [self._tile(item) for item in self.items]
        body: list[ft.Control] = [
            self.notice,
            self.sync_line.control,
            big_button(t("list.new"), self.new, data="incident-new", icon=ft.Icons.ADD),
        ]
        body += draft_tiles(
            self.ctx, self.ctx.service.list_drafts("incident"), self.resume, self.discard
        )
        body += self.tiles or [hint(t("list.empty"), data="incident-empty")]
        body.append(
            big_button(
                t("list.directory"),
                lambda _e=None: self.ctx.nav.go("directory"),
                data="open-directory",
                filled=False,
                icon=ft.Icons.CONTACT_PHONE_OUTLINED,
            )
        )
        return Screen(t("list.title"), body)

    def refresh_sync(self) -> None:
        self.sync_line.show(self.ctx.service.sync_status())

    def _tile(self, item: IncidentSummary) -> ft.Control:
        t = self.ctx.t
        title = t("list.stub_title") if item.stub else (item.title or t("list.untitled"))
        if item.stub:  # the reference the organisation's case shows too
            title = f"{title} · {case_reference(item.id)}"
        details = [when(item.created_at)]
        if item.attachments:
            details.append(t("list.attachments", count=item.attachments))
        if item.messages:
            details.append(t("list.messages", count=item.messages))
        if item.status == "sent":
            details.append(t("list.confirmed" if item.confirmed else "list.awaiting_receipt"))
        if item.withdrawn:
            details.append(t("list.withdrawn"))
        lines: list[ft.Control] = [
            ft.Text(title, size=16, weight=ft.FontWeight.W_500, max_lines=2),
            ft.Row([status_chip(self.ctx, item.status, item.status_reason)], wrap=True),
            hint(" · ".join(d for d in details if d)),
        ]
        if item.status in ("queued", "sent"):  # consent can be withdrawn once it has left
            lines.append(
                ft.TextButton(
                    t("list.withdraw"),
                    on_click=lambda _e=None, i=item.id: self.ctx.nav.go("withdraw", id=i),
                    data=f"withdraw-{item.id}",
                )
            )
        return ft.Container(
            ft.Column(lines, spacing=6),
            padding=12,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=10,
            on_click=None if item.stub else self._open(item.id),
            data=f"incident-{item.id}",
        )

    def _open(self, incident_id: str) -> Callable[[], None]:
        def handler() -> None:
            self.ctx.nav.go("incident", id=incident_id)

        return handler

    def new(self, _e: Any = None) -> None:
        self.ctx.nav.go("incident")

    def resume(self, draft: Draft) -> None:
        self.ctx.nav.go("incident", draft=draft.id)

    def discard(self, draft: Draft) -> None:
        self.ctx.attempt(self.notice, discard_draft, self.ctx, draft)
        self.ctx.nav.refresh()
