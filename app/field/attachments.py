"""Attachments on an incident: pick files, encrypt them at once, preview from memory, remove.

Files come from the platform's file picker (`with_data=True`, so on the web nothing is uploaded
to a server directory). On phones the picker hands back a cached plaintext copy; the service
encrypts it and deletes that copy. Photo metadata (EXIF, GPS, camera model) is stripped before
encryption. Previews are decrypted into memory and shown with `ft.Image(src=bytes)`; nothing
decrypted is ever written to disk. Camera and voice recorder capture are not part of this
version: the screen says so and offers the picker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flet as ft

from app.field.context import FieldContext
from app.field.widgets import hint, size_text
from app.services.field_types import AttachmentInfo
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
                try:
                    if picked.data is not None:
                        info = await self.ctx.nav.run(self._attach_bytes, picked.data, picked.name)
                    elif picked.path:
                        info = await self.ctx.nav.run(self._attach_path, picked.path, picked.name)
                    else:
                        continue
                except Exception as exc:
                    self.banner.show(self.ctx.error(exc))
                    continue
                self.ids.append(info.id)
                self.added.append(info.id)
        finally:
            self.busy.visible = False
        self.on_change(list(self.ids))
        self._render()

    def _attach_bytes(self, data: bytes, name: str) -> AttachmentInfo:
        return self.ctx.service.attach_bytes(data, name=name)

    def _attach_path(self, path: str, name: str) -> AttachmentInfo:
        return self.ctx.service.attach_path(Path(path), name=name, remove_source=True)

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
        for attachment_id in self.added:
            with contextlib.suppress(Exception):  # already gone
                self.ctx.service.remove_attachment(attachment_id)
        self.added.clear()

    def forget_previews(self) -> None:
        self.previews.clear()
        self._render()
