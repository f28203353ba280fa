"""Attachments: streaming encryption round trips, tampering, memory, photo metadata removal."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, PngImagePlugin

from storage import AttachmentCorrupt, AttachmentNotFound, MetadataStripFailed, Vault, photos
from storage import blobs as bl

CHUNK = bl.CHUNK_SIZE
BOUNDARY_SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 7]


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_attachment_round_trips_at_chunk_boundaries(vault: Vault, size: int) -> None:
    payload = os.urandom(size)
    info = vault.attach(payload, media_type="application/octet-stream")
    assert info.size == size
    assert vault.read_attachment(info.id) == payload
    with vault.open_attachment(info.id) as stream:
        parts = []
        while part := stream.read(1000):
            parts.append(part)
    assert b"".join(parts) == payload


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=3 * CHUNK))
def test_attachment_round_trips_for_arbitrary_bytes(vault: Vault, payload: bytes) -> None:
    # keep_metadata: arbitrary bytes may begin like a photo; here only the stream is tested.
    info = vault.attach(
        io.BytesIO(payload), media_type="application/octet-stream", name="ø", keep_metadata=True
    )
    assert vault.read_attachment(info.id) == payload
    assert vault.attachment_info(info.id).sha256 == hashlib.sha256(payload).hexdigest()
    vault.delete_attachment(info.id)


def _blob(vault: Vault, size: int) -> tuple[str, Path, bytes]:
    payload = os.urandom(size)
    info = vault.attach(payload, media_type="application/octet-stream")
    return info.id, vault.path / "blobs" / info.id, payload


def _stream_bounds(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    meta_len = int.from_bytes(data[-4:], "big")
    return bl.HEADER_SIZE, len(data) - 4 - meta_len


@pytest.mark.parametrize("position", ["first chunk", "last chunk", "metadata", "header"])
def test_a_flipped_bit_anywhere_is_detected(vault: Vault, position: str) -> None:
    attachment_id, path, _ = _blob(vault, 2 * CHUNK + 100)
    start, end = _stream_bounds(path)
    offset = {
        "first chunk": start + 5,
        "last chunk": end - 3,
        "metadata": end + 2,
        "header": 10,
    }[position]
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x04
    path.write_bytes(bytes(data))
    with pytest.raises(AttachmentCorrupt):
        vault.read_attachment(attachment_id)


def test_reordered_chunks_are_detected(vault: Vault) -> None:
    attachment_id, path, _ = _blob(vault, 3 * CHUNK)
    data = path.read_bytes()
    size = bl.ENCRYPTED_CHUNK_SIZE
    first = data[bl.HEADER_SIZE : bl.HEADER_SIZE + size]
    second = data[bl.HEADER_SIZE + size : bl.HEADER_SIZE + 2 * size]
    swapped = data[: bl.HEADER_SIZE] + second + first + data[bl.HEADER_SIZE + 2 * size :]
    path.write_bytes(swapped)
    with pytest.raises(AttachmentCorrupt):
        vault.read_attachment(attachment_id)


def test_dropping_the_final_chunk_is_detected(vault: Vault) -> None:
    attachment_id, path, _ = _blob(vault, 2 * CHUNK + 10)
    data = path.read_bytes()
    _start, end = _stream_bounds(path)
    # Remove the last (final) chunk but keep the metadata trailer.
    cut = data[: end - (10 + 16)] + data[end:]
    path.write_bytes(cut)
    with pytest.raises(AttachmentCorrupt):
        vault.read_attachment(attachment_id)


@pytest.mark.parametrize("keep", [0, 10, bl.HEADER_SIZE + 5, -1])
def test_truncated_attachment_file_is_detected(vault: Vault, keep: int) -> None:
    attachment_id, path, _ = _blob(vault, CHUNK + 10)
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    with pytest.raises(AttachmentCorrupt):
        vault.read_attachment(attachment_id)


def test_an_attachment_file_moved_under_another_id_does_not_open(vault: Vault) -> None:
    first, first_path, _ = _blob(vault, 100)
    second, second_path, _ = _blob(vault, 100)
    second_path.write_bytes(first_path.read_bytes())
    with pytest.raises(AttachmentCorrupt):
        vault.read_attachment(second)
    assert vault.read_attachment(first)


def test_streaming_reader_reports_damage_when_it_reaches_the_damaged_chunk(vault: Vault) -> None:
    attachment_id, path, payload = _blob(vault, 3 * CHUNK)
    data = bytearray(path.read_bytes())
    data[bl.HEADER_SIZE + 2 * bl.ENCRYPTED_CHUNK_SIZE + 7] ^= 0x01
    path.write_bytes(bytes(data))
    with vault.open_attachment(attachment_id) as stream:
        assert stream.read(2 * CHUNK) == payload[: 2 * CHUNK]
        with pytest.raises(AttachmentCorrupt):
            stream.read()


@pytest.mark.parametrize("bad_id", ["../key", "", "ZZ", "0" * 31, "0" * 32])
def test_unknown_or_malformed_attachment_ids_raise_not_found(vault: Vault, bad_id: str) -> None:
    with pytest.raises(AttachmentNotFound):
        vault.read_attachment(bad_id)


def test_listing_skips_nothing_readable_and_leaves_no_temp_files(vault: Vault) -> None:
    ids = {vault.attach(os.urandom(10), media_type="x/y").id for _ in range(3)}
    assert {a.id for a in vault.attachments()} == ids
    assert os.listdir(vault.path / "tmp") == []


def test_encryption_and_decryption_use_constant_memory(vault: Vault, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    size = 24 * 1024 * 1024
    with open(source, "wb") as out:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            out.write(block)
    tracemalloc.start()
    try:
        info = vault.attach(source, media_type="video/mp4")
        _, encrypt_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = 0
        with vault.open_attachment(info.id) as stream:
            while chunk := stream.read(256 * 1024):
                total += len(chunk)
        _, decrypt_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    assert encrypt_peak < 2 * 1024 * 1024, encrypt_peak
    assert decrypt_peak < 2 * 1024 * 1024, decrypt_peak


# --- photo metadata -------------------------------------------------------------------------

MARKER = "LEAK-4c1d9e"


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = f"description {MARKER}"
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = f"Model {MARKER}"
    exif[0x0112] = 6  # rotate 90° on display
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (42.0, 52.0, 10.0), 3: "E", 4: (74.0, 36.0, 1.0)}
    return exif


def photo(fmt: str) -> bytes:
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    out = io.BytesIO()
    extra: dict[str, object] = {"exif": _exif(), "icc_profile": f"icc {MARKER}".encode() * 4}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", MARKER)
        extra["pnginfo"] = info
    if fmt == "WEBP":
        extra["xmp"] = f"<x>{MARKER}</x>".encode()
    img.save(out, format=fmt, **extra)
    data = out.getvalue()
    assert MARKER.encode() in data
    return data


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_photo_metadata_and_gps_are_stripped_and_the_image_stays_valid(
    vault: Vault, fmt: str
) -> None:
    info = vault.attach(photo(fmt), media_type=f"image/{fmt.lower()}")
    assert info.metadata_removed
    stored = vault.read_attachment(info.id)
    assert MARKER.encode() not in stored
    with Image.open(io.BytesIO(stored)) as img:
        img.load()
        assert img.format == fmt
        assert img.size == (48, 64)  # orientation applied to the pixels, then dropped
        exif = img.getexif()
        assert len(exif) == 0
        assert len(exif.get_ifd(ExifTags.IFD.GPSInfo)) == 0
        assert "icc_profile" not in img.info and "xmp" not in img.info


def test_photo_is_cleaned_even_when_mislabelled(vault: Vault) -> None:
    info = vault.attach(photo("JPEG"), media_type="application/octet-stream")
    assert MARKER.encode() not in vault.read_attachment(info.id)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_keep_metadata_stores_the_photo_byte_for_byte(vault: Vault, fmt: str) -> None:
    original = photo(fmt)
    info = vault.attach(original, media_type="image/jpeg", keep_metadata=True)
    assert not info.metadata_removed
    stored = vault.read_attachment(info.id)
    assert stored == original
    with Image.open(io.BytesIO(stored)) as img:
        assert img.getexif().get_ifd(ExifTags.IFD.GPSInfo)[1] == "N"


def test_undecodable_photo_is_refused_rather_than_stored_with_metadata(vault: Vault) -> None:
    broken = photo("JPEG")[:200]
    with pytest.raises(MetadataStripFailed):
        vault.attach(broken, media_type="image/jpeg")
    assert vault.attachments() == []
    assert os.listdir(vault.path / "tmp") == []


def test_detect_recognises_formats_by_content() -> None:
    assert photos.detect(photo("JPEG")[:16]) == "JPEG"
    assert photos.detect(photo("PNG")[:16]) == "PNG"
    assert photos.detect(photo("WEBP")[:16]) == "WEBP"
    assert photos.detect(b"%PDF-1.7") is None
