"""Attack: a documenter attaches a video, a recording or a TIFF scan straight from the phone's
gallery; an examiner who later gets the passphrase decrypts the attachment and reads where
and when it was made, and on which phone. After import, neither the decrypted attachment nor
any file left on the phone (vault, picker cache) holds the marker or the GPS position; media
whose metadata cannot be removed is refused unless the owner explicitly keeps it."""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.services.field import VaultFieldService
from app.services.field_types import AttachmentRefused
from storage import media_meta
from storage.errors import MetadataStripFailed
from tests.forensics import media_samples as samples
from tests.forensics.conftest import FAST_LOG_N, disk_hits, hits

PASS = "walnut orchard lantern 1987 Naryn"
CLEANED: dict[str, Callable[[], bytes]] = {
    "clip.mp4": samples.mp4,
    "clip64.mov": lambda: samples.mp4(brand=b"qt  ", version=1),
    "voice.m4a": lambda: samples.mp4(brand=b"M4A "),
    "voice.mp3": samples.mp3,
    "voice.wav": samples.wav,
    "scan.tiff": samples.tiff_with_gps,
}
REFUSED: dict[str, Callable[[], bytes]] = {
    "photo.heic": samples.heic,
    "voice.ogg": samples.ogg,
    "voice.flac": samples.flac,
    "gopro.mp4": lambda: samples.mp4(extra_trak=samples.trak(b"meta")),
}


@pytest.fixture
def service(tmp_path: Path) -> VaultFieldService:
    service = VaultFieldService(tmp_path / "phone" / "vault", kdf_log_n=FAST_LOG_N)
    service.create(PASS, language="ru")
    return service


def leaks(data: bytes) -> int:
    return hits(data, samples.MARKER) + data.count(samples.GPS.encode())


def picker_copy(tmp_path: Path, name: str, data: bytes) -> Path:
    cache = tmp_path / "phone" / "cache" / "file_picker"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", CLEANED)
@pytest.mark.parametrize("how", ["bytes", "path"])
def test_videos_recordings_and_scans_lose_their_metadata_and_nothing_is_left_behind(
    service: VaultFieldService, tmp_path: Path, name: str, how: str
) -> None:
    original = CLEANED[name]()
    assert leaks(original)  # the attack: the file as the gallery holds it
    if how == "bytes":
        info = service.attach_bytes(original, name=name)
    else:
        info = service.attach_path(picker_copy(tmp_path, name, original), name=name)
    stored = service.attachment_bytes(info.id)
    assert leaks(stored) == 0
    assert b"\xa9xyz" not in stored and b"ISO6709" not in stored
    service.lock()
    assert disk_hits(tmp_path / "phone", samples.MARKER) == []
    assert not (tmp_path / "phone" / "cache" / "file_picker" / name).exists()


def test_a_cleaned_video_keeps_its_size_its_media_and_a_valid_box_structure(
    service: VaultFieldService,
) -> None:
    original = samples.mp4(version=1)
    stored = service.attachment_bytes(service.attach_bytes(original, name="v.mp4").id)
    assert len(stored) == len(original)  # nothing moved: chunk offsets still point right
    assert stored.endswith(samples.box(b"mdat", samples.AUDIO))
    assert media_meta.plan(io.BytesIO(stored)) is not None  # still a well-formed file
    assert struct.pack(">Q", samples.CREATED) not in stored  # recording times zeroed
    assert stored.count(b"free") == 4  # moov udta and meta, the XMP uuid, the track udta


def test_a_cleaned_recording_still_plays(service: VaultFieldService) -> None:
    stored = service.attachment_bytes(service.attach_bytes(samples.wav(), name="v.wav").id)
    with wave.open(io.BytesIO(stored)) as reader:
        assert reader.getframerate() == 8000
        assert reader.readframes(10_000) == samples.AUDIO
    mp3 = service.attachment_bytes(service.attach_bytes(samples.mp3(), name="v.mp3").id)
    assert mp3 == samples.mp3_audio()


def test_a_cleaned_tiff_has_no_gps_directory_left(service: VaultFieldService) -> None:
    stored = service.attachment_bytes(service.attach_bytes(samples.tiff_with_gps(), name="s").id)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (32, 24)
        assert 0x8825 not in image.getexif() and 0x010F not in image.getexif()


@pytest.mark.parametrize("name", REFUSED)
def test_media_whose_metadata_cannot_be_removed_is_refused_and_stored_only_if_kept(
    service: VaultFieldService, tmp_path: Path, name: str
) -> None:
    data = REFUSED[name]()
    copy = picker_copy(tmp_path, name, data)
    with pytest.raises(AttachmentRefused) as refused:
        service.attach_path(copy, name=name)
    assert refused.value.reason == "metadata_not_removable"
    assert copy.exists()  # waits for the owner's choice
    with pytest.raises(AttachmentRefused):
        service.attach_bytes(data, name=name)
    assert service.list_incidents() == []
    kept = service.attach_path(copy, name=name, keep_metadata=True)
    assert service.attachment_bytes(kept.id) == data  # their explicit choice, unchanged
    assert not copy.exists()


def test_a_voice_recording_without_metadata_is_stored_as_it_is(
    service: VaultFieldService,
) -> None:
    data = samples.amr()
    assert service.attachment_bytes(service.attach_bytes(data, name="v.amr").id) == data


def test_other_files_are_stored_as_given(service: VaultFieldService) -> None:
    data = b"%PDF-1.4 a court decision"
    assert service.attachment_bytes(service.attach_bytes(data, name="d.pdf").id) == data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from([samples.mp4(), samples.mp4(version=1), samples.mp3(), samples.wav()]),
    flips=st.lists(st.tuples(st.integers(0, 2**16), st.integers(1, 255)), max_size=4),
    cut=st.integers(0, 2**16),
)
def test_a_damaged_or_hostile_container_is_cleaned_or_refused_never_anything_else(
    base: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(base[: max(16, len(base) - cut % len(base))])
    for offset, mask in flips:
        data[offset % len(data)] ^= mask
    try:
        plan = media_meta.plan(io.BytesIO(bytes(data)))
    except MetadataStripFailed:
        return
    if plan is None:
        return
    out = plan.apply(bytes(data))
    assert len(out) == plan.size
    if plan.kind == "mp4":
        assert len(out) == len(data)
