"""The camera and the voice recorder, behind one small port the attachments panel uses.

Use `FletCapture(page)` in the app (the shell keeps it referenced for the session) and
`FakeCapture` in tests; both follow `CapturePort`, and one contract suite runs on both
(tests/app/field/test_capture_contract.py). The panel never imports a plugin.

What the plugins do, and what this module does about it:
- **Photos and videos** (`flet-camera`, the `Camera` control): the platform's camera plugin
  writes each photo (JPEG) and each video (MP4) to the app's cache or temp directory, reads
  the bytes back for us, and never deletes the file. The panel encrypts the bytes at once and
  then asks the service to wipe those directories (`FieldService.clear_capture_leftovers`);
  the panic wipe removes them whole. Nothing is saved to the Gallery.
- **Voice** (`flet-audio-recorder`, the `AudioRecorder` service): always streaming PCM16
  (`on_stream`), never `output_path`, so no file is written at all; each chunk goes to the
  `on_chunk` callback, which seals it in memory (`app.services.field_capture.SealedRecording`).
- **Permissions** (`flet-permission-handler`): asked right before the camera or microphone is
  first used, on Android and iOS. In a browser the browser itself asks.

Every way capture cannot happen (no camera, permission refused, a desktop without the plugins)
is a `CaptureUnavailable` with a `reason` the panel turns into a translated message
(`att.unavailable_<reason>`); the file picker works in every case.

Danger: the camera preview is the `Camera` control itself: it must be on the page (shown by the
panel) before `open_camera` is awaited, and closed (`close_camera`) when the panel goes away,
or the camera stays on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import flet as ft

REASONS = (
    "no_camera",
    "camera_denied",
    "no_microphone",
    "microphone_denied",
    "unsupported",
    "failed",
)
CAPTURE_PLATFORMS = (ft.PagePlatform.ANDROID, ft.PagePlatform.IOS)
PREVIEW_WIDTH = 320
PREVIEW_HEIGHT = 240
# How long a plugin call may take before the panel gives up and says so (a browser or phone
# that never answers must not leave the documenter waiting): opening waits for the system's
# permission question, a video may take a while to finish writing.
OPEN_TIMEOUT = 60.0
PHOTO_TIMEOUT = 30.0
STOP_TIMEOUT = 120.0


class CaptureUnavailable(Exception):
    """The camera or the microphone cannot be used now; `reason` is one of `REASONS`."""

    def __init__(self, reason: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown capture reason {reason!r}")
        super().__init__(reason)
        self.reason = reason


OnChunk = Callable[[bytes], None]
T = TypeVar("T")


async def _within(call: Awaitable[T], seconds: float) -> T:
    try:
        return await asyncio.wait_for(call, seconds)
    except TimeoutError:
        raise CaptureUnavailable("failed") from None


async def _plugin(call: Callable[[], Awaitable[T]], seconds: float, reason: str) -> T:
    """`call()` within `seconds`: our own refusals pass unchanged, whatever the plugin raises
    becomes `reason`, a denial or "failed" (see `_failed`)."""
    try:
        return await _within(call(), seconds)
    except CaptureUnavailable:
        raise
    except Exception as exc:
        raise _failed(exc, reason) from None


class CapturePort(Protocol):
    """What the attachments panel needs from a camera and a recorder."""

    def can_capture(self) -> bool:
        """False where the plugins cannot run at all (a desktop window): hide the buttons."""
        ...

    def preview(self) -> ft.Control | None:
        """The control that shows what the camera sees (None for none)."""
        ...

    async def open_camera(self, *, video: bool) -> None: ...
    async def take_photo(self) -> bytes: ...
    async def start_video(self) -> None: ...
    async def stop_video(self) -> bytes: ...
    async def close_camera(self) -> None: ...
    async def start_recording(self, on_chunk: OnChunk, *, sample_rate: int) -> None: ...
    async def stop_recording(self) -> None: ...
    async def cancel_recording(self) -> None: ...


# ---------------------------------------------------------------- the plugins
def _camera() -> Any:
    import flet_camera

    return flet_camera.Camera(width=PREVIEW_WIDTH, height=PREVIEW_HEIGHT, data="camera-preview")


def _recorder() -> Any:
    import flet_audio_recorder

    return flet_audio_recorder.AudioRecorder()


def _permissions() -> Any:
    import flet_permission_handler

    return flet_permission_handler.PermissionHandler()


def _failed(exc: BaseException, reason: str) -> CaptureUnavailable:
    """A plugin's error as ours. Browsers say "NotAllowedError" for a refused permission and
    "NotFoundError" when there is no device."""
    text = str(exc)
    if "NotAllowed" in text or "Permission" in text or "denied" in text.lower():
        return CaptureUnavailable(reason.replace("no_", "") + "_denied")
    if "NotFound" in text or "no camera" in text.lower() or "not found" in text.lower():
        return CaptureUnavailable(reason)
    return CaptureUnavailable("failed")


class FletCapture:
    """`CapturePort` on flet-camera, flet-audio-recorder and flet-permission-handler.

    `camera`, `recorder` and `permissions` build the plugin objects; tests hand stand-ins that
    answer like the plugins' Python side. `platform`/`web` say where the app runs."""

    def __init__(
        self,
        page: ft.Page | None = None,
        *,
        web: bool | None = None,
        platform: ft.PagePlatform | None = None,
        camera: Callable[[], Any] = _camera,
        recorder: Callable[[], Any] = _recorder,
        permissions: Callable[[], Any] = _permissions,
    ) -> None:
        self.web = bool(page.web) if web is None and page is not None else bool(web)
        self.platform = platform if platform is not None or page is None else page.platform
        self._make_camera = camera
        self._make_recorder = recorder
        self._make_permissions = permissions
        self.camera: Any = None  # the preview control, while the camera is open
        self._on_chunk: OnChunk | None = None
        # Services, made with the page (not in a handler, so the client has them before the
        # first call) and kept referenced for the session (FLET.md 0.4).
        self.recorder: Any = recorder() if self.can_capture() else None
        self.permissions: Any = permissions() if self.mobile else None

    @property
    def mobile(self) -> bool:
        return not self.web and self.platform in CAPTURE_PLATFORMS

    def can_capture(self) -> bool:
        return self.web or self.mobile

    def _need_platform(self) -> None:
        if not self.can_capture():
            raise CaptureUnavailable("unsupported")

    async def _allowed(self, permission_name: str, denied: str) -> None:
        """Ask the system for a permission on a phone; the browser asks by itself."""
        if not self.mobile:
            return
        import flet_permission_handler as fph

        if self.permissions is None:
            self.permissions = self._make_permissions()
        status = await self.permissions.request(getattr(fph.Permission, permission_name))
        if status != fph.PermissionStatus.GRANTED:
            raise CaptureUnavailable(denied)

    # ------------------------------------------------------------ camera
    def preview(self) -> ft.Control | None:
        self._need_platform()
        if self.camera is None:
            self.camera = self._make_camera()
        control: ft.Control = self.camera
        return control

    async def open_camera(self, *, video: bool) -> None:
        import flet_camera

        self._need_platform()
        await self._allowed("CAMERA", "camera_denied")
        if video:
            await self._allowed("MICROPHONE", "microphone_denied")
        if self.camera is None:
            self.preview()
        camera: Any = self.camera
        cameras = await _plugin(camera.get_available_cameras, OPEN_TIMEOUT, "no_camera")
        if not cameras:
            raise CaptureUnavailable("no_camera")
        back = [c for c in cameras if c.lens_direction == flet_camera.CameraLensDirection.BACK]
        high = flet_camera.ResolutionPreset.HIGH
        await _plugin(
            lambda: camera.initialize((back or cameras)[0], high, enable_audio=video),
            OPEN_TIMEOUT,
            "no_camera",
        )

    def _open(self) -> Any:
        if self.camera is None:
            raise CaptureUnavailable("failed")
        return self.camera

    async def take_photo(self) -> bytes:
        photo = await _plugin(lambda: self._open().take_picture(), PHOTO_TIMEOUT, "no_camera")
        return bytes(photo)

    async def start_video(self) -> None:
        await _plugin(lambda: self._open().start_video_recording(), OPEN_TIMEOUT, "no_camera")

    async def stop_video(self) -> bytes:
        video = await _plugin(
            lambda: self._open().stop_video_recording(), STOP_TIMEOUT, "no_camera"
        )
        return bytes(video)

    async def close_camera(self) -> None:
        self.camera = None  # dropping the control from the page releases the camera

    # ------------------------------------------------------------ voice
    async def start_recording(self, on_chunk: OnChunk, *, sample_rate: int) -> None:
        import flet_audio_recorder as far

        self._need_platform()
        await self._allowed("MICROPHONE", "microphone_denied")
        if self.recorder is None:
            self.recorder = self._make_recorder()
        self._on_chunk = on_chunk
        self.recorder.on_stream = self._stream
        config = far.AudioRecorderConfiguration(
            encoder=far.AudioEncoder.PCM16BITS, channels=1, sample_rate=sample_rate
        )
        try:
            started = await _within(
                self.recorder.start_recording(configuration=config), OPEN_TIMEOUT
            )
        except CaptureUnavailable:
            self._on_chunk = None
            raise
        except Exception as exc:
            raise _failed(exc, "no_microphone") from None
        if started is False:
            raise CaptureUnavailable("microphone_denied")

    def _stream(self, e: Any) -> None:
        if self._on_chunk is not None and e.chunk:
            self._on_chunk(bytes(e.chunk))

    async def stop_recording(self) -> None:
        if self.recorder is None:
            return
        try:
            await _within(self.recorder.stop_recording(), STOP_TIMEOUT)
        finally:
            self._on_chunk = None

    async def cancel_recording(self) -> None:
        self._on_chunk = None
        if self.recorder is not None:
            with contextlib.suppress(Exception):
                await self.recorder.cancel_recording()


class FakeCapture:
    """`CapturePort` for tests: a camera that returns `photo`/`video` bytes and a microphone
    that streams `chunks`, or refuses with `unavailable` (a reason) or `audio_unavailable`."""

    def __init__(
        self,
        *,
        photo: bytes = b"\xff\xd8\xff\xe0 fake photo \xff\xd9",
        video: bytes = b"\x00\x00\x00\x18ftypmp42 fake video",
        chunks: tuple[bytes, ...] = (b"\x01\x00" * 800, b"\x02\x00" * 800),
        unavailable: str = "",
        audio_unavailable: str = "",
        supported: bool = True,
    ) -> None:
        self.photo, self.video, self.chunks = photo, video, chunks
        self.unavailable, self.audio_unavailable = unavailable, audio_unavailable
        self.supported = supported
        self.camera_open = False
        self.filming = False
        self.on_chunk: OnChunk | None = None
        self.calls: list[str] = []

    def can_capture(self) -> bool:
        return self.supported

    def preview(self) -> ft.Control | None:
        if not self.supported:
            raise CaptureUnavailable("unsupported")
        return ft.Container(width=PREVIEW_WIDTH, height=PREVIEW_HEIGHT, data="camera-preview")

    async def open_camera(self, *, video: bool) -> None:
        self.calls.append("open_camera")
        if not self.supported:
            raise CaptureUnavailable("unsupported")
        if self.unavailable:
            raise CaptureUnavailable(self.unavailable)
        if video and self.audio_unavailable:
            raise CaptureUnavailable(self.audio_unavailable)
        self.camera_open = True

    def _open(self) -> None:
        if not self.camera_open:
            raise CaptureUnavailable("failed")

    async def take_photo(self) -> bytes:
        self._open()
        self.calls.append("take_photo")
        return self.photo

    async def start_video(self) -> None:
        self._open()
        self.filming = True

    async def stop_video(self) -> bytes:
        self._open()
        if not self.filming:
            raise CaptureUnavailable("failed")
        self.filming = False
        return self.video

    async def close_camera(self) -> None:
        self.calls.append("close_camera")
        self.camera_open = self.filming = False

    async def start_recording(self, on_chunk: OnChunk, *, sample_rate: int) -> None:
        if not self.supported:
            raise CaptureUnavailable("unsupported")
        if self.audio_unavailable:
            raise CaptureUnavailable(self.audio_unavailable)
        self.on_chunk = on_chunk
        for chunk in self.chunks:
            on_chunk(chunk)

    async def stop_recording(self) -> None:
        self.on_chunk = None

    async def cancel_recording(self) -> None:
        self.on_chunk = None
