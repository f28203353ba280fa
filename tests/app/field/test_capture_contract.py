"""One contract for the camera and the recorder, run on the fake the panel tests use and on the
Flet-backed adapter's Python side (its plugins replaced by stand-ins that answer as the
flet-camera, flet-audio-recorder and flet-permission-handler 1.0.5 Python APIs do)."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable
from typing import Any

import flet as ft
import flet_audio_recorder as far
import flet_camera as fc
import flet_permission_handler as fph
import pytest

from app.field.capture import CapturePort, CaptureUnavailable, FakeCapture, FletCapture

PHOTO = b"\xff\xd8\xff\xe0 a photo \xff\xd9"
VIDEO = b"\x00\x00\x00\x18ftypmp42 a video"
CHUNKS = (b"\x01\x00" * 10, b"\x02\x00" * 10, b"\x03\x00" * 10)


class StubCamera:
    """Answers like `flet_camera.Camera`'s methods."""

    def __init__(self, cameras: list[Any], error: str = "") -> None:
        self.cameras, self.error = cameras, error
        self.initialized: tuple[Any, ...] | None = None
        self.filming = False

    async def get_available_cameras(self) -> list[Any]:
        if self.error:
            raise RuntimeError(self.error)
        return self.cameras

    async def initialize(self, description: Any, preset: Any, enable_audio: bool = True) -> None:
        self.initialized = (description, preset, enable_audio)

    async def take_picture(self) -> bytes:
        assert self.initialized is not None, "the plugin refuses a picture before initialize"
        return PHOTO

    async def start_video_recording(self) -> None:
        assert self.initialized is not None
        self.filming = True

    async def stop_video_recording(self) -> bytes:
        assert self.filming
        self.filming = False
        return VIDEO


class StubRecorder:
    """Answers like `flet_audio_recorder.AudioRecorder`: streams when `on_stream` is set."""

    def __init__(self) -> None:
        self.on_stream: Callable[[Any], None] | None = None
        self.started_with: dict[str, Any] = {}

    async def start_recording(
        self, output_path: str | None = None, configuration: Any = None, upload: Any = None
    ) -> bool:
        self.started_with = {"output_path": output_path, "configuration": configuration}
        assert self.on_stream is not None and output_path is None
        for sequence, chunk in enumerate(CHUNKS):
            self.on_stream(types.SimpleNamespace(chunk=chunk, sequence=sequence))
        return True

    async def stop_recording(self) -> None:
        return None

    async def cancel_recording(self) -> None:
        return None


class StubPermissions:
    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.asked: list[str] = []

    async def request(self, permission: Any) -> Any:
        self.asked.append(permission.name)
        if permission.name in self.refused:
            return fph.PermissionStatus.DENIED
        return fph.PermissionStatus.GRANTED


BACK = fc.CameraDescription(
    name="0", lens_direction=fc.CameraLensDirection.BACK, sensor_orientation=90
)
FRONT = fc.CameraDescription(
    name="1", lens_direction=fc.CameraLensDirection.FRONT, sensor_orientation=270
)


def make_fake(*, cameras: bool = True, refused: frozenset[str] = frozenset()) -> FakeCapture:
    return FakeCapture(
        photo=PHOTO,
        video=VIDEO,
        chunks=CHUNKS,
        unavailable="no_camera" if not cameras else "camera_denied" if "CAMERA" in refused else "",
        audio_unavailable="microphone_denied" if "MICROPHONE" in refused else "",
    )


def make_flet(*, cameras: bool = True, refused: frozenset[str] = frozenset()) -> FletCapture:
    camera = StubCamera([FRONT, BACK] if cameras else [])
    return FletCapture(
        platform=ft.PagePlatform.ANDROID,
        web=False,
        camera=lambda: camera,
        recorder=StubRecorder,
        permissions=lambda: StubPermissions(set(refused)),
    )


MAKERS: dict[str, Callable[..., CapturePort]] = {"fake": make_fake, "flet": make_flet}


@pytest.fixture(params=sorted(MAKERS))
def make(request: pytest.FixtureRequest) -> Callable[..., CapturePort]:
    return MAKERS[request.param]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_photo_comes_back_as_the_bytes_the_camera_took(make: Callable[..., CapturePort]) -> None:
    capture = make()
    assert capture.can_capture()
    assert capture.preview() is not None

    async def go() -> bytes:
        await capture.open_camera(video=False)
        photo = await capture.take_photo()
        await capture.close_camera()
        return photo

    assert run(go()) == PHOTO


def test_a_video_comes_back_when_it_is_stopped(make: Callable[..., CapturePort]) -> None:
    capture = make()
    capture.preview()

    async def go() -> bytes:
        await capture.open_camera(video=True)
        await capture.start_video()
        return await capture.stop_video()

    assert run(go()) == VIDEO


def test_a_recording_streams_its_chunks_in_order_to_the_callback(
    make: Callable[..., CapturePort],
) -> None:
    capture = make()
    got: list[bytes] = []

    async def go() -> None:
        await capture.start_recording(got.append, sample_rate=16_000)
        await capture.stop_recording()

    run(go())
    assert got == list(CHUNKS)


def test_a_device_without_a_camera_says_so(make: Callable[..., CapturePort]) -> None:
    capture = make(cameras=False)
    capture.preview()
    with pytest.raises(CaptureUnavailable) as caught:
        run(capture.open_camera(video=False))
    assert caught.value.reason == "no_camera"


def test_a_refused_camera_permission_is_reported_as_refused(
    make: Callable[..., CapturePort],
) -> None:
    capture = make(refused=frozenset({"CAMERA"}))
    capture.preview()
    with pytest.raises(CaptureUnavailable) as caught:
        run(capture.open_camera(video=False))
    assert caught.value.reason == "camera_denied"


def test_a_refused_microphone_stops_recordings_and_videos_but_not_photos(
    make: Callable[..., CapturePort],
) -> None:
    capture = make(refused=frozenset({"MICROPHONE"}))
    with pytest.raises(CaptureUnavailable) as caught:
        run(capture.start_recording(lambda _c: None, sample_rate=16_000))
    assert caught.value.reason == "microphone_denied"
    capture.preview()
    with pytest.raises(CaptureUnavailable) as caught:
        run(capture.open_camera(video=True))
    assert caught.value.reason == "microphone_denied"
    run(capture.open_camera(video=False))
    assert run(capture.take_photo()) == PHOTO


def test_a_photo_before_the_camera_is_open_is_a_clear_failure(
    make: Callable[..., CapturePort],
) -> None:
    capture = make()
    with pytest.raises(CaptureUnavailable):
        run(capture.take_photo())


def test_the_adapter_streams_pcm16_and_never_names_an_output_file() -> None:
    recorder = StubRecorder()
    capture = FletCapture(
        platform=ft.PagePlatform.ANDROID,
        web=False,
        recorder=lambda: recorder,
        permissions=lambda: StubPermissions(set()),
    )
    run(capture.start_recording(lambda _c: None, sample_rate=16_000))
    config = recorder.started_with["configuration"]
    assert recorder.started_with["output_path"] is None
    assert config.encoder == far.AudioEncoder.PCM16BITS
    assert (config.channels, config.sample_rate) == (1, 16_000)


def test_the_adapter_prefers_the_back_camera_and_asks_for_sound_only_for_video() -> None:
    camera = StubCamera([FRONT, BACK])
    permissions = StubPermissions(set())
    capture = FletCapture(
        platform=ft.PagePlatform.ANDROID,
        web=False,
        camera=lambda: camera,
        permissions=lambda: permissions,
    )
    capture.preview()
    run(capture.open_camera(video=False))
    assert camera.initialized is not None
    assert camera.initialized[0] is BACK and camera.initialized[2] is False
    assert permissions.asked == ["CAMERA"]


def test_in_a_browser_the_browser_asks_and_its_refusal_is_reported() -> None:
    camera = StubCamera([], error="NotAllowedError: Permission denied")
    asked: list[str] = []
    capture = FletCapture(web=True, camera=lambda: camera, permissions=lambda: asked.append("x"))
    capture.preview()
    with pytest.raises(CaptureUnavailable) as caught:
        run(capture.open_camera(video=False))
    assert caught.value.reason == "camera_denied"
    assert asked == []  # no permission plugin call in a browser


def test_a_desktop_window_offers_no_capture_and_says_why() -> None:
    capture = FletCapture(platform=ft.PagePlatform.LINUX, web=False)
    assert not capture.can_capture()
    with pytest.raises(CaptureUnavailable) as caught:
        run(capture.start_recording(lambda _c: None, sample_rate=16_000))
    assert caught.value.reason == "unsupported"
    assert not FakeCapture(supported=False).can_capture()


class SilentCamera(StubCamera):
    """A camera whose picture never comes back (as flet-camera 1.0.5 in headless Chromium)."""

    async def take_picture(self) -> bytes:
        await asyncio.sleep(3600)
        return b""


def test_a_camera_that_never_answers_is_given_up_on_with_a_clear_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.field import capture as capture_module

    monkeypatch.setattr(capture_module, "PHOTO_TIMEOUT", 0.05)
    camera = SilentCamera([BACK])
    capture = FletCapture(web=True, camera=lambda: camera)
    capture.preview()
    run(capture.open_camera(video=False))
    with pytest.raises(CaptureUnavailable) as caught:
        run(capture.take_photo())
    assert caught.value.reason == "failed"
