"""Attack: a documenter photographs, films and records inside the app; an examiner later images
the phone's data, cache and temp directories (and gets the passphrase). The platform's camera
plugin wrote each photo (JPEG, with the camera's EXIF) and each video (MP4, with GPS) into the
cache or temp directory before handing the bytes over, and never deletes them. After each
capture and after a panic wipe no plaintext JPEG, MP4 or WAV, and no marker, is left on disk;
with the passphrase the decrypted photo holds no EXIF marker either."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path

from PIL import Image

from app.field.attachments import AttachmentsPanel
from app.field.capture import FakeCapture
from app.field.context import FieldContext, RecordingNavigator
from app.i18n import Translator
from app.services.field import VaultFieldService
from tests.forensics import examiner
from tests.forensics import media_samples as samples
from tests.forensics.conftest import FAST_LOG_N, PASSPHRASE, disk_hits, hits

MARKER = "QXCAPTURE-Бишкек-3093"
SAMPLES = b"\x51\x58\x43\x41" * 4000  # a recording's samples, recognisable on disk


def photo_with_exif() -> bytes:
    image = Image.new("RGB", (16, 16), (10, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = MARKER  # Make
    exif[0x0110] = MARKER  # Model
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


class PlatformCamera(FakeCapture):
    """Behaves as the platform plugins do on a phone: the camera writes CAP*.jpg and REC*.mp4
    into the cache before returning their bytes and never deletes them; the recorder (in
    streaming mode, as the app uses it) writes nothing."""

    def __init__(self, cache: Path, temp: Path) -> None:
        super().__init__(photo=photo_with_exif(), video=samples.mp4(), chunks=(SAMPLES,))
        self.cache, self.temp = cache, temp
        self.n = 0

    async def take_photo(self) -> bytes:
        data = await super().take_photo()
        self.n += 1
        (self.cache / f"CAP{self.n:06d}.jpg").write_bytes(data)
        return data

    async def stop_video(self) -> bytes:
        data = await super().stop_video()
        self.n += 1
        (self.temp / f"REC{self.n:06d}.mp4").write_bytes(data)
        return data


def plaintext_media(root: Path) -> list[str]:
    """Files under `root` that start as a JPEG, an MP4 or a WAV does (in clear)."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        head = path.read_bytes()[:12]
        if head.startswith(b"\xff\xd8\xff") or head[4:8] == b"ftyp" or head[8:12] == b"WAVE":
            found.append(str(path.relative_to(root)))
    return found


def test_nothing_captured_is_left_in_clear_after_capture_and_nothing_at_all_after_panic(
    tmp_path: Path,
) -> None:
    phone = tmp_path / "phone"
    data, cache, temp = phone / "data" / "vault", phone / "cache", phone / "temp"
    cache.mkdir(parents=True)
    temp.mkdir()
    (cache / "fonts.bin").write_bytes(b"an unrelated cache file")
    os.utime(cache / "fonts.bin", (time.time() - 3600, time.time() - 3600))  # from before
    service = VaultFieldService(data, kdf_log_n=FAST_LOG_N, extra_dirs=(cache, temp))
    service.create(PASSPHRASE, language="ky")
    capture = PlatformCamera(cache, temp)
    ctx = FieldContext(service, Translator("ky", "field"), RecordingNavigator(), capture)
    panel = AttachmentsPanel(ctx, [], lambda _ids: None)

    async def capture_everything() -> None:
        await panel.open_photo()
        await panel.shoot()
        await panel.shoot()
        await panel.close()
        await panel.open_video()
        await panel.film()
        await panel.film()
        await panel.close()
        await panel.start_voice()
        await panel.stop_voice()

    asyncio.run(capture_everything())
    assert len(panel.ids) == 4 and capture.n == 3

    # after capture: the vault holds them, encrypted; the plugin's copies are gone
    assert plaintext_media(phone) == []
    assert disk_hits(phone, MARKER) == []
    assert disk_hits(phone, samples.MARKER) == []
    assert not any(SAMPLES[:64] in p.read_bytes() for p in phone.rglob("*") if p.is_file())
    assert (cache / "fonts.bin").exists()  # only the camera's files were wiped

    # with the passphrase: the photos decrypt without their EXIF
    files = examiner.files_under(data)
    journals = examiner.journal_shaped(files)
    keys = examiner.file_keys(files[data / "key"], PASSPHRASE, journals)
    photos = [i for i in panel.ids if service.attachment(i).media_type == "image/jpeg"]
    assert len(photos) == 2
    for attachment_id in photos:
        blob = next(b for p, b in files.items() if p.name == attachment_id)
        plain = examiner.attachment_plaintext(blob, attachment_id, keys[attachment_id])
        assert plain is not None and plain.startswith(b"\xff\xd8\xff")
        assert hits(plain, MARKER) == 0

    # panic: data, cache and temp are gone
    service.wipe()
    leftovers = [p for p in phone.rglob("*") if p.is_file()]
    assert leftovers == []
    assert not cache.exists() and not temp.exists()


def test_a_recording_cancelled_half_way_leaves_nothing_anywhere(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    service = VaultFieldService(tmp_path / "vault", kdf_log_n=FAST_LOG_N, extra_dirs=(cache,))
    service.create(PASSPHRASE, language="ru")
    capture = FakeCapture(chunks=(SAMPLES,))
    ctx = FieldContext(service, Translator("ru", "field"), RecordingNavigator(), capture)
    panel = AttachmentsPanel(ctx, [], lambda _ids: None)
    asyncio.run(panel.start_voice())
    asyncio.run(panel.close())
    assert panel.ids == [] and panel.recording is None
    assert not any(SAMPLES[:64] in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
