"""Attachments on an incident: pick files, encrypt them at once, preview from memory, remove.

Files come from the platform's file picker (on the web with their bytes, so nothing is uploaded
to a server directory). On phones the picker hands back a cached plaintext copy: it is deleted
once imported, and also when the import fails or is refused. Metadata is removed before
encryption: EXIF, GPS and camera model from photos, location, device and times from videos and
recordings (`storage.media_meta`). A file whose metadata cannot be removed (HEIC, Ogg, ...) is
not added: the panel says so and offers two choices, *add it with its metadata* (explicit, one
file at a time) or *do not add*; the picker's copy is kept only until the owner chooses, and is
deleted if the form is left or the app locks first. Previews are decrypted into memory and
shown with `ft.Image(src=bytes)`; nothing decrypted is ever written to disk. Camera and voice
recorder capture are not part of this version: the screen says so and offers the picker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flet as ft

from app.field.context import FieldContext, PickedFile
from app.field.widgets import hint, size_text
from app.services.field_types import AttachmentInfo, AttachmentRefused
from app.ui.banner import ErrorBanner

PREVIEW_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp")


class AttachmentsPanel:
    def __init__(
        self,
        ctx: FieldContext,
        ids: list[str],
        on_change: Callable[[list[str]], None],
    ) -> None:
        self.ctx = ctx
        self.ids = list(ids)
        self.added: list[str] = []  # attached during this edit: removed if the edit is abandoned
        self.on_change = on_change
        self.previews: dict[str, bytes] = {}
        self.banner = ErrorBanner()
        self.pending: list[PickedFile] = []  # refused for metadata: waiting for the owner
        self.question = ft.Column([], spacing=6)
        self.list = ft.Column([], spacing=6)
        self.busy = ft.ProgressRing(visible=False, width=24, height=24)
        t = ctx.t
        self.add_button = ft.OutlinedButton(
            t("att.add"), icon=ft.Icons.ATTACH_FILE, on_click=self.add, data="att-add", height=48
        )
        self.control = ft.Column(
            [
                ft.Row([self.add_button, self.busy], wrap=True),
                hint(t("att.no_camera")),
                self.banner,
                self.question,
                self.list,
            ],
            spacing=6,
        )
        self._render()

    def _info(self, attachment_id: str) -> AttachmentInfo | None:
        try:
            return self.ctx.service.attachment(attachment_id)
        except Exception:
            return None

    def _render(self) -> None:
        tiles: list[ft.Control] = []
        for attachment_id in self.ids:
            info = self._info(attachment_id)
            if info is None:
                continue
            preview: ft.Control
            data = self.previews.get(attachment_id)
            if data is not None:
                preview = ft.Image(src=data, width=56, height=56, fit=ft.BoxFit.COVER)
            else:
                preview = ft.Icon(
                    ft.Icons.AUDIOTRACK
                    if info.media_type.startswith("audio/")
                    else ft.Icons.IMAGE
                    if info.media_type.startswith("image/")
                    else ft.Icons.DESCRIPTION,
                    size=40,
                )
            tiles.append(
                ft.Row(
                    [
                        preview,
                        ft.Column(
                            [
                                ft.Text(info.name, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS),
                                hint(size_text(self.ctx, info.size)),
                            ],
                            spacing=2,
                            expand=True,
                        ),
                        ft.IconButton(
                            ft.Icons.VISIBILITY,
                            tooltip=self.ctx.t("att.preview"),
                            on_click=self._preview(attachment_id),
                            data=f"att-preview-{info.id}",
                            visible=info.media_type in PREVIEW_TYPES and data is None,
                        ),
                        ft.IconButton(
                            ft.Icons.DELETE_OUTLINE,
                            tooltip=self.ctx.t("att.remove"),
                            on_click=self._remove(attachment_id),
                            data=f"att-remove-{info.id}",
                        ),
                    ],
                    data=f"att-{info.id}",
                )
            )
        self.list.controls = tiles

    async def add(self, _e: Any = None) -> None:
        self.banner.clear()
        files = await self.ctx.nav.pick_files()
        self.busy.visible = True
        try:
            for picked in files:
                await self._import(picked, keep_metadata=False)
        finally:
            self.busy.visible = False
        self.on_change(list(self.ids))
        self._render()

    async def _import(self, picked: PickedFile, *, keep_metadata: bool) -> None:
        """Encrypt one picked file; whatever happens, the picker's copy does not outlive it,
        unless it waits for the owner's choice about its metadata."""
        waiting = False
        try:
            if picked.data is None and not picked.path:
                return
            info = await self.ctx.nav.run(self._attach, picked, keep_metadata)
        except AttachmentRefused as exc:
            if exc.reason == "metadata_not_removable" and not keep_metadata:
                waiting = picked.data is None  # bytes in memory need no copy on disk
                self._ask(picked)
            else:
                self.banner.show(self.ctx.error(exc))
            return
        except Exception as exc:
            self.banner.show(self.ctx.error(exc))
            return
        finally:
            if picked.copy and picked.path and not waiting:
                await self.ctx.nav.run(self._discard, picked.path)
        self.ids.append(info.id)
        self.added.append(info.id)

    def _attach(self, picked: PickedFile, keep_metadata: bool) -> AttachmentInfo:
        if picked.data is not None:
            return self.ctx.service.attach_bytes(
                picked.data, name=picked.name, keep_metadata=keep_metadata
            )
        assert picked.path
        return self.ctx.service.attach_path(
            Path(picked.path), name=picked.name, remove_source=False, keep_metadata=keep_metadata
        )

    def _discard(self, path: str) -> None:
        with contextlib.suppress(OSError):
            self.ctx.service.discard_copy(Path(path))

    # ------------------------------------------------------------ metadata that stays
    def _ask(self, picked: PickedFile) -> None:
        self.pending.append(picked)
        self._render_question()

    def _render_question(self) -> None:
        t = self.ctx.t
        if not self.pending:
            self.question.controls = []
            return
        picked = self.pending[0]
        self.question.controls = [
            ft.Container(
                ft.Column(
                    [
                        ft.Text(
                            t("att.metadata_stays", name=picked.name),
                            color=ft.Colors.ON_ERROR_CONTAINER,
                            size=15,
                            data="att-metadata-question",
                        ),
                        ft.Row(
                            [
                                ft.TextButton(
                                    t("att.keep_metadata"),
                                    on_click=self.keep_metadata,
                                    data="att-keep-metadata",
                                ),
                                ft.TextButton(
                                    t("att.do_not_add"),
                                    on_click=self.do_not_add,
                                    data="att-do-not-add",
                                ),
                            ],
                            wrap=True,
                        ),
                    ],
                    spacing=6,
                ),
                bgcolor=ft.Colors.ERROR_CONTAINER,
                padding=12,
                border_radius=8,
            )
        ]

    async def keep_metadata(self, _e: Any = None) -> None:
        """The owner chose, for this one file, to add it with its metadata."""
        if not self.pending:
            return
        picked = self.pending.pop(0)
        await self._import(picked, keep_metadata=True)
        self.on_change(list(self.ids))
        self._render_question()
        self._render()

    async def do_not_add(self, _e: Any = None) -> None:
        if not self.pending:
            return
        picked = self.pending.pop(0)
        if picked.copy and picked.path:
            await self.ctx.nav.run(self._discard, picked.path)
        self._render_question()

    def drop_pending(self) -> None:
        """Delete every copy still waiting for a choice (the form is left, or the app locks)."""
        pending, self.pending = self.pending, []
        for picked in pending:
            if picked.copy and picked.path:
                self._discard(picked.path)
        self._render_question()

    def _preview(self, attachment_id: str) -> Callable[[Any], None]:
        def handler(_e: Any = None) -> None:
            try:
                self.previews[attachment_id] = self.ctx.service.attachment_bytes(attachment_id)
            except Exception as exc:
                self.banner.show(self.ctx.error(exc))
            self._render()

        return handler

    def _remove(self, attachment_id: str) -> Callable[[Any], None]:
        def handler(_e: Any = None) -> None:
            try:
                self.ctx.service.remove_attachment(attachment_id)
            except Exception as exc:
                self.banner.show(self.ctx.error(exc))
            self.ids = [a for a in self.ids if a != attachment_id]
            self.previews.pop(attachment_id, None)
            self.on_change(list(self.ids))
            self._render()

        return handler

    def abandon(self) -> None:
        """Remove what was attached in an edit that is being discarded."""
        self.drop_pending()
        for attachment_id in self.added:
            with contextlib.suppress(Exception):  # already gone
                self.ctx.service.remove_attachment(attachment_id)
        self.added.clear()

    def forget_previews(self) -> None:
        self.drop_pending()
        self.previews.clear()
        self._render()
