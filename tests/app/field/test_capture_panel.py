"""Capture into the vault from the incident form's attachments panel: a photo, a video or a
voice recording is encrypted at once and what the camera plugin left in the cache is wiped; a
camera that cannot be used says why in the user's language and the file picker still works;
after a picked file is imported the owner is told about the original outside the app."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

import pytest
from PIL import Image

from app.field.attachments import AttachmentsPanel
from app.field.capture import REASONS, FakeCapture
from app.field.context import FieldContext, PickedFile, RecordingNavigator
from app.i18n import LANGUAGES, Translator
from app.services.field import VaultFieldService
from app.services.field_capture import SealedRecording
from tests.forensics.conftest import disk_hits

PASS = "walnut orchard lantern 1987"
MARKER = "QXCAPTURE-Ош-8812"


def jpeg_with_marker() -> bytes:
    """A JPEG whose EXIF (camera model) carries the marker, as a phone camera writes it."""
    image = Image.new("RGB", (8, 8), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0110] = MARKER  # Model
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def make_panel(
    tmp_path: Path,
    capture: FakeCapture | None,
    files: list[PickedFile] | None = None,
    lang: str = "en",
) -> AttachmentsPanel:
    cache = tmp_path / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    service = VaultFieldService(tmp_path / "vault", kdf_log_n=15, extra_dirs=(cache,))
    service.create(PASS, language=lang)
    ctx = FieldContext(service, Translator(lang, "field"), RecordingNavigator(files), capture)
    return AttachmentsPanel(ctx, [], lambda _ids: None)


class PluginLeavesAFile(FakeCapture):
    """A camera that, like the platform plugin, writes each photo into the cache first."""

    def __init__(self, cache: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.cache = cache

    async def take_photo(self) -> bytes:
        photo = await super().take_photo()
        (self.cache / "CAP1234567.jpg").write_bytes(photo)
        return photo


def test_a_photo_taken_in_the_app_is_encrypted_and_the_plugins_copy_is_wiped(
    tmp_path: Path,
) -> None:
    photo = jpeg_with_marker()
    capture = PluginLeavesAFile(tmp_path / "cache", photo=photo)
    panel = make_panel(tmp_path, capture)
    (tmp_path / "cache").mkdir(exist_ok=True)
    asyncio.run(panel.open_photo())
    assert panel.mode == "photo" and panel.stage.controls  # preview and buttons are shown
    asyncio.run(panel.shoot())
    assert len(panel.ids) == 1
    info = panel.ctx.service.attachment(panel.ids[0])
    assert info.name.startswith("photo-") and info.media_type == "image/jpeg"
    assert MARKER.encode() not in panel.ctx.service.attachment_bytes(panel.ids[0])  # EXIF gone
    assert not (tmp_path / "cache" / "CAP1234567.jpg").exists()
    assert disk_hits(tmp_path, MARKER) == []
    asyncio.run(panel.close())
    assert panel.mode == "" and panel.stage.controls == []
    assert "close_camera" in capture.calls


def test_a_video_is_added_when_it_is_stopped(tmp_path: Path) -> None:
    from tests.forensics import media_samples as samples

    panel = make_panel(tmp_path, FakeCapture(video=samples.mp4()))
    asyncio.run(panel.open_video())
    asyncio.run(panel.film())
    assert panel.mode == "filming"
    asyncio.run(panel.film())
    assert panel.mode == "video" and len(panel.ids) == 1
    assert panel.ctx.service.attachment(panel.ids[0]).media_type == "video/mp4"
    assert disk_hits(tmp_path, samples.MARKER) == []  # the video's GPS and tags are removed


def test_a_voice_recording_becomes_a_playable_wav_in_the_vault(tmp_path: Path) -> None:
    chunks = (b"\x10\x00" * 16_000, b"\x20\x00" * 16_000)  # two seconds at 16 kHz mono
    panel = make_panel(tmp_path, FakeCapture(chunks=chunks))
    asyncio.run(panel.start_voice())
    assert panel.mode == "voice" and panel.recording is not None
    assert panel.status.value == Translator("en", "field").t("att.recording", seconds=2)
    asyncio.run(panel.stop_voice())
    assert panel.mode == "" and panel.recording is None and len(panel.ids) == 1
    stored = panel.ctx.service.attachment_bytes(panel.ids[0])
    with wave.open(io.BytesIO(stored)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 16_000, 2)
        assert wav.readframes(wav.getnframes()) == b"".join(chunks)
    samples = b"\x10\x00" * 64
    on_disk = [f for f in tmp_path.rglob("*") if f.is_file() and samples in f.read_bytes()]
    assert on_disk == []  # no plaintext samples anywhere on disk


def test_a_recording_in_progress_is_dropped_when_the_form_is_left(tmp_path: Path) -> None:
    panel = make_panel(tmp_path, FakeCapture())
    asyncio.run(panel.start_voice())
    recording = panel.recording
    assert recording is not None and recording.size
    panel.drop_pending()  # the shell calls this when the form is left or the app locks
    assert panel.mode == "" and panel.recording is None and panel.ids == []
    with pytest.raises(Exception):  # noqa: B017 - its key is gone
        recording.wav()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("reason", ["no_camera", "camera_denied"])
def test_a_camera_that_cannot_be_used_says_why_and_the_picker_still_works(
    tmp_path: Path, lang: str, reason: str
) -> None:
    picked = PickedFile("statement.txt", b"a typed statement", None)
    panel = make_panel(tmp_path, FakeCapture(unavailable=reason), [picked], lang)
    asyncio.run(panel.open_photo())
    expected = Translator(lang, "field").t(f"att.unavailable_{reason}")
    assert panel.banner.message == expected and "att." not in expected
    assert panel.mode == "" and panel.stage.controls == []
    asyncio.run(panel.add())
    assert len(panel.ids) == 1


def test_every_reason_capture_can_fail_has_a_message_in_every_language() -> None:
    for lang in LANGUAGES:
        translator = Translator(lang, "field")
        for reason in REASONS:
            text = translator.t(f"att.unavailable_{reason}")
            assert text != f"att.unavailable_{reason}", (lang, reason)


def test_without_a_camera_port_only_the_picker_is_offered(tmp_path: Path) -> None:
    panel = make_panel(tmp_path, None)
    assert not panel.photo_button.visible and not panel.voice_button.visible
    assert panel.add_button.visible
    panel = make_panel(tmp_path / "desk", FakeCapture(supported=False))
    assert not panel.video_button.visible


@pytest.mark.parametrize("lang", LANGUAGES)
def test_after_a_gallery_pick_the_owner_is_told_to_delete_the_original_and_why(
    tmp_path: Path, lang: str
) -> None:
    copy = tmp_path / "cache" / "file_picker" / "IMG_0042.jpg"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(jpeg_with_marker())
    picked = PickedFile("IMG_0042.jpg", None, str(copy), copy=True)
    panel = make_panel(tmp_path, FakeCapture(), [picked], lang)
    asyncio.run(panel.add())
    text = panel.notice.controls[0].content.controls[0].value  # type: ignore[attr-defined]
    assert text == Translator(lang, "field").t("att.original_gallery", name="IMG_0042.jpg")
    assert "Google" in text  # the cloud backup is named
    buttons = panel.notice.controls[0].content.controls[1].controls  # type: ignore[attr-defined]
    assert [b.data for b in buttons] == ["att-dismiss-original"]  # the app cannot delete it
    panel.dismiss_original()
    assert panel.notice.controls == []


def test_on_a_computer_the_original_can_be_deleted_from_the_app(tmp_path: Path) -> None:
    own = tmp_path / "Pictures" / "IMG_0042.jpg"
    own.parent.mkdir()
    own.write_bytes(jpeg_with_marker())
    panel = make_panel(tmp_path, None, [PickedFile("IMG_0042.jpg", None, str(own))])
    asyncio.run(panel.add())
    assert own.exists()  # never without the owner's word
    text = panel.notice.controls[0].content.controls[0].value  # type: ignore[attr-defined]
    assert text == Translator("en", "field").t("att.original_desktop", name="IMG_0042.jpg")
    asyncio.run(panel.delete_original())
    assert not own.exists() and panel.notice.controls == []
    assert panel.status.value == Translator("en", "field").t("att.original_deleted")
    assert disk_hits(tmp_path, MARKER) == []


def test_a_sealed_recording_keeps_no_sample_in_clear_until_it_is_finished() -> None:
    recording = SealedRecording()
    recording.add(MARKER.encode() * 10)
    assert recording.chunks == 1
    assert all(MARKER.encode() not in sealed for sealed in recording._sealed)
    assert MARKER.encode() in recording.wav()


def test_a_browsers_webm_video_is_named_as_webm_and_asks_before_keeping_its_details(
    tmp_path: Path,
) -> None:
    webm = b"\x1aE\xdf\xa3" + b"\x00" * 64
    panel = make_panel(tmp_path, FakeCapture(video=webm))
    asyncio.run(panel.open_video())
    asyncio.run(panel.film())
    asyncio.run(panel.film())
    assert panel.ids == []  # WebM's details cannot be removed: the owner is asked first
    assert panel.pending and panel.pending[0].name.endswith(".webm")
    asyncio.run(panel.keep_metadata())
    assert len(panel.ids) == 1
