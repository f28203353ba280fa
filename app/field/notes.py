"""Quick notes: private by default (they never leave the phone), or shared with the
organisation (sent like an incident). Encrypted at rest like everything else.

What is typed in the editor is autosaved as an encrypted draft (`app.field.drafts`) after a
pause, when leaving the screen and when locking; the screen reopens with the newest draft in
the editor and lists the others to continue. Saving the note or *Cancel* forgets the draft.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.field.context import FieldContext, Screen
from app.field.drafts import DraftKeeper, discard_draft, draft_tiles
from app.field.widgets import big_button, hint, status_chip, toggle_row, when
from app.services.field_types import Draft, Note
from app.ui.banner import ErrorBanner
from app.ui.fields import sensitive_field


class NotesScreen:
    def __init__(self, ctx: FieldContext) -> None:
        self.ctx = ctx
        self.editing: str | None = None
        self.text = ""
        self.shared = False
        self.banner = ErrorBanner()
        self.drafts = self._keeper()
        newest = next(iter(ctx.service.list_drafts("note")), None)
        if newest is not None:
            self._load_draft(newest)

    def _keeper(self, draft_id: str | None = None) -> DraftKeeper:
        return DraftKeeper(
            self.ctx,
            "note",
            lambda: {"text": self.text, "shared": self.shared},
            target=self.editing or "",
            draft_id=draft_id,
        )

    def _load_draft(self, draft: Draft) -> None:
        self.editing = draft.target or None
        self.text = str(draft.content.get("text") or "")
        self.shared = bool(draft.content.get("shared"))
        self.drafts = self._keeper(draft.id)

    def build(self) -> Screen:
        t = self.ctx.t
        self.notes = self.ctx.service.list_notes()
        self.editor = sensitive_field(
            label=t("notes.text"),
            value=self.text,
            multiline=True,
            min_lines=3,
            max_lines=8,
            on_change=self.on_text,
            data="note-text",
        )
        self.share_switch = ft.Switch(value=self.shared, on_change=self.on_share, data="note-share")
        body: list[ft.Control] = [
            hint(t("notes.hint")),
            self.banner,
            self.editor,
            toggle_row(self.share_switch, t("notes.share")),
            big_button(t("notes.save"), self.save, data="note-save"),
        ]
        if self.editing:
            body.append(
                big_button(t("common.cancel"), self.cancel, data="note-cancel", filled=False)
            )
        others = [d for d in self.ctx.service.list_drafts("note") if d.id != self.drafts.draft_id]
        body += draft_tiles(self.ctx, others, self.resume, self.discard)
        body += [self._tile(n) for n in self.notes] or [hint(t("notes.empty"))]
        return Screen(t("notes.title"), body)

    def _tile(self, note: Note) -> ft.Control:
        t = self.ctx.t
        label = t("notes.shared") if note.shared else t("notes.private")
        return ft.Container(
            ft.Column(
                [
                    ft.Text(note.text, max_lines=3, overflow=ft.TextOverflow.ELLIPSIS, size=15),
                    hint(when(note.updated_at)),
                    ft.Row(
                        [
                            status_chip(self.ctx, note.status, note.status_reason)
                            if note.shared
                            else hint(label),
                            ft.Container(expand=True),
                            ft.IconButton(
                                ft.Icons.EDIT,
                                tooltip=t("notes.edit"),
                                on_click=self._edit(note),
                                data=f"note-edit-{note.id}",
                            ),
                            ft.IconButton(
                                ft.Icons.DELETE_OUTLINE,
                                tooltip=t("notes.delete"),
                                on_click=self._delete(note.id),
                                data=f"note-delete-{note.id}",
                            ),
                        ],
                    ),
                ],
                spacing=4,
            ),
            padding=10,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=10,
            data=f"note-{note.id}",
        )

    def on_text(self, e: Any) -> None:
        self.text = str(e.control.value or "")
        self.ctx.nav.touch()
        self.drafts.changed()

    def on_share(self, e: Any) -> None:
        self.shared = bool(e.control.value)
        self.drafts.changed()

    def resume(self, draft: Draft) -> None:
        """Continue another draft; what the editor held is kept as a draft first."""
        self.drafts.flush()
        self._load_draft(draft)
        self.ctx.nav.refresh()

    def discard(self, draft: Draft) -> None:
        self.ctx.attempt(self.banner, discard_draft, self.ctx, draft)
        self.ctx.nav.refresh()

    async def save(self, _e: Any = None) -> None:
        self.banner.clear()
        if not self.text.strip():
            self.banner.show(self.ctx.t("notes.empty_text"))
            return
        if not await self.ctx.attempt_off_ui(self.banner, self._save):
            return
        shared = self.shared
        self.editing, self.text, self.shared = None, "", False
        self.drafts = self._keeper()
        self.ctx.nav.refresh()
        if shared:
            self.ctx.nav.sync_now()

    def _save(self) -> str:
        note_id = self.ctx.service.save_note(self.editing, self.text, shared=self.shared)
        self.drafts.discard()
        return note_id

    def cancel(self, _e: Any = None) -> None:
        """Drop what the editor holds (the owner asked to): its draft too."""
        self.drafts.discard()
        self.editing, self.text, self.shared = None, "", False
        self.drafts = self._keeper()
        self.ctx.nav.refresh()

    def _edit(self, note: Note) -> Callable[[Any], None]:
        def handler(_e: Any = None) -> None:
            self.drafts.flush()
            existing = next(
                (d for d in self.ctx.service.list_drafts("note") if d.target == note.id), None
            )
            if existing is not None:
                self._load_draft(existing)
            else:
                self.editing, self.text, self.shared = note.id, note.text, note.shared
                self.drafts = self._keeper()
            self.ctx.nav.refresh()

        return handler

    def _delete(self, note_id: str) -> Callable[[Any], None]:
        def handler(_e: Any = None) -> None:
            self.ctx.attempt(self.banner, self.ctx.service.delete_note, note_id)
            if self.editing == note_id:  # its draft went with it
                self.drafts.stop()
                self.editing, self.text = None, ""
                self.drafts = self._keeper()
            self.ctx.nav.refresh()

        return handler

    def leave(self) -> None:
        """Navigating away (Back, a tab): keep what the editor holds as a draft."""
        self.drafts.flush()

    def on_lock(self) -> None:
        self.drafts.flush()
        self.drafts.stop()
        self.text = ""
        self.notes = []
