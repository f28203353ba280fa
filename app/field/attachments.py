"""Attachments on an incident: pick files, encrypt them at once, preview from memory, remove.

Files come from the platform's file picker (on the web with their bytes, so nothing is uploaded
to a server directory). On phones the picker hands back a cached plaintext copy: it is deleted
once imported, and also when the import fails or is refused. Metadata is removed before
encryption: EXIF, GPS and camera model from photos, location, device and times from videos and
recordings (`storage.media_meta`). A file whose metadata cannot be removed (HEIC, Ogg, ...) is
not added: the panel says so and offers two choices, *add it with its metadata* (explicit, one
file at a time) or *do not add*; the picker's copy is kept only until the owner chooses, and is
deleted if the form is left or the app locks first. Previews are decrypted into memory and
shown with `ft.Image(src=bytes)`; nothing decrypted is ever written to disk.

Capture happens here too, through `ctx.capture` (`app.field.capture`): a photo or a video is
encrypted the moment its bytes arrive and the camera plugin's leftovers in the cache and temp
directories are wiped right after (`FieldService.clear_capture_leftovers`); a voice recording
streams PCM16 chunks that are sealed in memory as they arrive (`SealedRecording`) and becomes a
WAV file only when it is attached. Nothing captured goes to the Gallery. Where the camera or the
microphone cannot be used, a translated message says why and the file picker still works.

After a picked file is imported the panel says that the original is still outside the app, and
why that matters (its location and device details, cloud backups). On a computer it offers to
delete the original (overwritten first); a phone's Gallery item cannot be deleted by the app
(Flet 1.0.5 gives only a cached copy, never the Gallery item), so it says how to delete it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import flet as ft

from app.field.capture import CapturePort, CaptureUnavailable
from app.field.context import FieldContext, PickedFile
from app.field.widgets import hint, refresh, size_text
from app.services.field_capture import SAMPLE_RATE, SealedRecording, capture_name
from app.services.field_types import AttachmentInfo, AttachmentRefused
from app.ui.banner import ErrorBanner

WEBM = b"\x1aE\xdf\xa3"
PREVIEW_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp")


Handler = Callable[..., Awaitable[None]]


def _updates(handler: Handler) -> Handler:
    """For a handler that updates part of the screen while it runs (the camera preview must be
    on the page before the camera is opened): Flet then skips its own update at the end of the
    handler, so the end state is sent here."""

    @functools.wraps(handler)
    async def wrapped(self: AttachmentsPanel, *args: Any) -> None:
        try:
            await handler(self, *args)
        finally:
            refresh(self.control)

    return wrapped


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
        self.capture: CapturePort | None = ctx.capture
        self.mode = ""  # "", "photo", "video", "filming" or "voice": what is being captured
        self.recording: SealedRecording | None = None
        self.since = 0.0  # when the capture in progress began (its leftovers are wiped)
        self.originals: list[PickedFile] = []  # imported: the owner is told about the original
        self._stopping: asyncio.Task[None] | None = None
        self.add_button = ft.OutlinedButton(
            t("att.choose_file"),
            icon=ft.Icons.ATTACH_FILE,
            on_click=self.add,
            data="att-add",
            height=48,
        )
        can = self.capture is not None and self.capture.can_capture()
        self.photo_button = self._button("att.take_photo", ft.Icons.PHOTO_CAMERA, self.open_photo)
        self.video_button = self._button("att.record_video", ft.Icons.VIDEOCAM, self.open_video)
        self.voice_button = self._button("att.record_voice", ft.Icons.MIC, self.start_voice)
        for button in (self.photo_button, self.video_button, self.voice_button):
            button.visible = can
        self.status = hint("")
        self.status.data = "att-capture-status"
        self.stage = ft.Column([], spacing=6, data="att-capture")
        self.notice = ft.Column([], spacing=6)
        self.control = ft.Column(
            [
                ft.Row(
                    [
                        self.photo_button,
                        self.video_button,
                        self.voice_button,
                        self.add_button,
                        self.busy,
                    ],
                    wrap=True,
                ),
                hint(t("att.capture_hint")),
                self.banner,
                self.stage,
                self.status,
                self.question,
                self.notice,
                self.list,
            ],
            spacing=6,
        )
        self._render()

    def _button(
        self, key: str, icon: ft.IconData, handler: Callable[..., Any]
    ) -> ft.OutlinedButton:
        return ft.OutlinedButton(
            self.ctx.t(key), icon=icon, on_click=handler, data=key.replace(".", "-"), height=48
        )

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
                if await self._import(picked, keep_metadata=False):
                    self.originals.append(picked)
        finally:
            self.busy.visible = False
        self.on_change(list(self.ids))
        self._render_notice()
        self._render()

    async def _import(self, picked: PickedFile, *, keep_metadata: bool) -> bool:
        """Encrypt one picked file; whatever happens, the picker's copy does not outlive it,
        unless it waits for the owner's choice about its metadata. True once it is stored."""
        waiting = False
        try:
            if picked.data is None and not picked.path:
                return False
            info = await self.ctx.nav.run(self._attach, picked, keep_metadata)
        except AttachmentRefused as exc:
            if exc.reason == "metadata_not_removable" and not keep_metadata:
                waiting = picked.data is None  # bytes in memory need no copy on disk
                self._ask(picked)
            else:
                self.banner.show(self.ctx.error(exc))
            return False
        except Exception as exc:
            self.banner.show(self.ctx.error(exc))
            return False
        finally:
            if picked.copy and picked.path and not waiting:
                await self.ctx.nav.run(self._discard, picked.path)
        self.ids.append(info.id)
        self.added.append(info.id)
        return True

    # ------------------------------------------------------------ capture
    def _unavailable(self, exc: CaptureUnavailable) -> None:
        self.banner.show(self.ctx.t(f"att.unavailable_{exc.reason}"))
        self.banner.data = "att-unavailable"

    def _stage(self, *controls: ft.Control) -> None:
        self.stage.controls = list(controls)
        refresh(self.control)  # the camera preview must be on the page before it is opened

    async def _open_camera(self, mode: str) -> None:
        capture = self.capture
        if capture is None or self.mode:
            return
        self.banner.clear()
        self.status.value = self.ctx.t("att.camera_starting")
        try:
            preview = capture.preview()
            self.mode = mode
            t = self.ctx.t
            if mode == "photo":
                action = ft.FilledButton(
                    t("att.shoot"), icon=ft.Icons.CAMERA, on_click=self.shoot, data="att-shoot"
                )
            else:
                action = ft.FilledButton(
                    t("att.start_video"),
                    icon=ft.Icons.FIBER_MANUAL_RECORD,
                    on_click=self.film,
                    data="att-film",
                )
            close = ft.TextButton(t("att.close_camera"), on_click=self.close, data="att-close")
            row = ft.Row([action, close], wrap=True)
            self._stage(*([preview] if preview is not None else []), row)
            await capture.open_camera(video=mode == "video")
        except CaptureUnavailable as exc:
            await self._close_camera()
            self._unavailable(exc)
            return
        self.status.value = ""

    @_updates
    async def open_photo(self, _e: Any = None) -> None:
        await self._open_camera("photo")

    @_updates
    async def open_video(self, _e: Any = None) -> None:
        await self._open_camera("video")

    @_updates
    async def shoot(self, _e: Any = None) -> None:
        if self.capture is None or self.mode != "photo":
            return
        self.since = time.time()
        try:
            data = await self.capture.take_photo()
        except CaptureUnavailable as exc:
            await self._wipe_leftovers()
            self._unavailable(exc)
            return
        await self._store(data, capture_name("photo"))

    @_updates
    async def film(self, e: Any = None) -> None:
        """Start a video; the same button then stops it and adds it."""
        capture = self.capture
        if capture is None or self.mode not in ("video", "filming"):
            return
        button = e.control if e is not None and hasattr(e, "control") else None
        try:
            if self.mode == "video":
                self.since = time.time()
                await capture.start_video()
                self.mode = "filming"
                self.status.value = self.ctx.t("att.filming")
                if button is not None:
                    button.content = self.ctx.t("att.stop_and_add")
                    button.icon = ft.Icons.STOP
                return
            data = await capture.stop_video()
        except CaptureUnavailable as exc:
            await self._wipe_leftovers()
            await self._close_camera()
            self._unavailable(exc)
            return
        self.mode = "video"
        self.status.value = ""
        if button is not None:
            button.content = self.ctx.t("att.start_video")
            button.icon = ft.Icons.FIBER_MANUAL_RECORD
        name = capture_name("video")
        if data.startswith(WEBM):  # a browser records WebM, a phone MP4
            name = name.removesuffix(".mp4") + ".webm"
        await self._store(data, name)

    @_updates
    async def start_voice(self, _e: Any = None) -> None:
        capture = self.capture
        if capture is None or self.mode:
            return
        self.banner.clear()
        self.recording = SealedRecording(sample_rate=SAMPLE_RATE)
        self.mode = "voice"
        t = self.ctx.t
        self.status.value = t("att.recording", seconds=0)
        self._stage(
            ft.Row(
                [
                    ft.FilledButton(
                        t("att.stop_and_add"),
                        icon=ft.Icons.STOP,
                        on_click=self.stop_voice,
                        data="att-stop-voice",
                    ),
                    ft.TextButton(t("common.cancel"), on_click=self.close, data="att-close"),
                ],
                wrap=True,
            )
        )
        self.since = time.time()
        try:
            await capture.start_recording(self._chunk, sample_rate=SAMPLE_RATE)
        except CaptureUnavailable as exc:
            self._end_voice()
            self._unavailable(exc)

    def _chunk(self, chunk: bytes) -> None:
        recording = self.recording
        if recording is None:
            return
        before = int(recording.seconds)
        recording.add(chunk)
        if int(recording.seconds) != before:
            self.status.value = self.ctx.t("att.recording", seconds=int(recording.seconds))
            refresh(self.status)

    @_updates
    async def stop_voice(self, _e: Any = None) -> None:
        if self.capture is None or self.mode != "voice" or self.recording is None:
            return
        recording = self.recording
        try:
            await self.capture.stop_recording()
        except Exception:
            self._end_voice()
            self._unavailable(CaptureUnavailable("failed"))
            return
        data = recording.wav() if recording.size else b""
        self._end_voice()
        if data:
            await self._store(data, capture_name("recording"))

    def _end_voice(self) -> None:
        if self.recording is not None:
            self.recording.discard()  # the key goes: nothing recorded can be read any more
        self.recording = None
        if self.mode == "voice":
            self.mode = ""
            self.stage.controls = []
        self.status.value = ""

    async def _store(self, data: bytes, name: str) -> None:
        """Encrypt what was captured at once, then wipe what the plugin left on disk."""
        self.busy.visible = True
        refresh(self.busy)
        try:
            if await self._import(PickedFile(name, data, None), keep_metadata=False):
                self.status.value = self.ctx.t("att.captured", name=name)
        finally:
            del data
            await self._wipe_leftovers()
            self.busy.visible = False
        self.on_change(list(self.ids))
        self._render()

    async def _wipe_leftovers(self) -> None:
        with contextlib.suppress(Exception):  # the vault is already safe; this is tidying
            await self.ctx.nav.run(self.ctx.service.clear_capture_leftovers, self.since)

    async def _close_camera(self) -> None:
        if self.mode in ("photo", "video", "filming") and self.capture is not None:
            with contextlib.suppress(Exception):
                await self.capture.close_camera()
        if self.mode != "voice":
            self.mode = ""
            self.stage.controls = []
            self.status.value = ""

    @_updates
    async def close(self, _e: Any = None) -> None:
        """Close the camera, or cancel a recording (nothing of it is kept)."""
        if self.mode == "voice" and self.capture is not None:
            with contextlib.suppress(Exception):
                await self.capture.cancel_recording()
            self._end_voice()
            return
        filming = self.mode == "filming"
        await self._close_camera()
        if filming:
            await self._wipe_leftovers()

    def stop_capture(self) -> None:
        """Stop whatever is being captured, at once (the form is left, the app locks or is
        wiped): a recording's key is dropped and the camera is released."""
        if not self.mode:
            return
        capture, mode = self.capture, self.mode
        self._end_voice()
        self.mode = ""
        self.stage.controls = []
        if capture is None:
            return
        stop = capture.cancel_recording if mode == "voice" else capture.close_camera
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop: nothing is running
            return
        self._stopping = loop.create_task(stop())

    # ------------------------------------------------------------ originals outside the app
    def _render_notice(self) -> None:
        """Show the notice for the first original still outside the app, if any (one at a time)."""
        self.notice.controls = [self._original_notice(picked) for picked in self.originals[:1]]

    def _original_notice(self, picked: PickedFile) -> ft.Control:
        t = self.ctx.t
        desktop = picked.data is None and bool(picked.path) and not picked.copy
        text = t("att.original_desktop" if desktop else "att.original_gallery", name=picked.name)
        buttons: list[ft.Control] = []
        if desktop:
            buttons.append(
                ft.TextButton(
                    t("att.delete_original"),
                    on_click=self.delete_original,
                    data="att-delete-original",
                )
            )
        buttons.append(
            ft.TextButton(
                t("att.keep_original" if desktop else "att.understood"),
                on_click=self.dismiss_original,
                data="att-dismiss-original",
            )
        )
        return _choice_box(
            ft.Text(text, size=15, data="att-original"), buttons, ft.Colors.SECONDARY_CONTAINER
        )

    async def delete_original(self, _e: Any = None) -> None:
        if not self.originals:
            return
        picked = self.originals.pop(0)
        try:
            if picked.path and not picked.copy and picked.data is None:
                await self.ctx.nav.run(self.ctx.service.delete_original, Path(picked.path))
                self.status.value = self.ctx.t("att.original_deleted")
        except Exception as exc:
            self.banner.show(self.ctx.error(exc))
        self._render_notice()

    def dismiss_original(self, _e: Any = None) -> None:
        if self.originals:
            self.originals.pop(0)
        self._render_notice()

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
        """Ask about the first file waiting for a choice, if any (one at a time)."""
        self.question.controls = [self._metadata_question(picked) for picked in self.pending[:1]]

    def _metadata_question(self, picked: PickedFile) -> ft.Control:
        t = self.ctx.t
        question = ft.Text(
            t("att.metadata_stays", name=picked.name),
            color=ft.Colors.ON_ERROR_CONTAINER,
            size=15,
            data="att-metadata-question",
        )
        answers: list[ft.Control] = [
            ft.TextButton(
                t("att.keep_metadata"), on_click=self.keep_metadata, data="att-keep-metadata"
            ),
            ft.TextButton(t("att.do_not_add"), on_click=self.do_not_add, data="att-do-not-add"),
        ]
        return _choice_box(question, answers, ft.Colors.ERROR_CONTAINER)

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
        """Delete every copy still waiting for a choice (the form is left, or the app locks);
        stop any capture in progress."""
        self.stop_capture()
        self.originals = []
        self._render_notice()
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
            self.ctx.attempt(self.banner, self.ctx.service.remove_attachment, attachment_id)
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


def _choice_box(text: ft.Text, answers: list[ft.Control], colour: str) -> ft.Container:
    """A coloured box asking the owner something: the sentence, then its answers."""
    return ft.Container(
        ft.Column([text, ft.Row(answers, wrap=True)], spacing=6),
        bgcolor=colour,
        padding=12,
        border_radius=8,
    )
