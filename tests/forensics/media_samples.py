"""Small media files carrying a marker and a GPS position where their format keeps metadata,
built byte by byte from the published container layouts (ISO base media, ID3, RIFF)."""

from __future__ import annotations

import io
import struct

from PIL import Image

MARKER = "QXMEDIA-Ош-4417"
GPS = "+40.5283+072.7985/"  # Osh, as a phone writes it into ©xyz
AUDIO = bytes(range(256)) * 8  # stands for the encoded sound; must come through unchanged
CREATED = 3_845_000_000  # seconds since 1904: a 2025 recording date


def box(kind: bytes, *children: bytes) -> bytes:
    body = b"".join(children)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, body: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]) + body)


def times(version: int) -> bytes:
    if version == 1:
        return struct.pack(">QQ", CREATED, CREATED)
    return struct.pack(">II", CREATED, CREATED)


def hdlr(handler: bytes) -> bytes:
    return full_box(b"hdlr", 0, b"\0\0\0\0" + handler + bytes(12) + b"name\0")


def trak(handler: bytes = b"vide", *, version: int = 0) -> bytes:
    return box(
        b"trak",
        full_box(b"tkhd", version, times(version) + bytes(72)),
        box(
            b"mdia",
            full_box(b"mdhd", version, times(version) + bytes(8)),
            hdlr(handler),
            box(b"minf", box(b"stbl", full_box(b"stco", 0, struct.pack(">II", 1, 0)))),
        ),
        box(b"udta", box(b"\xa9too", MARKER.encode())),
    )


def mp4(*, brand: bytes = b"isom", version: int = 0, extra_trak: bytes = b"") -> bytes:
    """ftyp, moov (times, GPS in udta/©xyz, Apple keys in meta, a track), then mdat."""
    ftyp = box(b"ftyp", brand + b"\0\0\0\0" + brand + b"mp41")
    meta = full_box(
        b"meta",
        0,
        hdlr(b"mdta")
        + box(b"keys", b"\0\0\0\0\0\0\0\1" + box(b"mdta", b"com.apple.quicktime.location.ISO6709"))
        + box(b"ilst", box(b"\0\0\0\1", box(b"data", b"\0\0\0\1\0\0\0\0" + GPS.encode()))),
    )
    moov = box(
        b"moov",
        full_box(b"mvhd", version, times(version) + bytes(80)),
        trak(version=version),
        extra_trak,
        box(
            b"udta",
            box(b"\xa9xyz", struct.pack(">HH", len(GPS), 0x15C7) + GPS.encode()),
            box(b"\xa9mak", MARKER.encode()),
        ),
        meta,
    )
    xmp = box(b"uuid", bytes.fromhex("be7acfcb97a942e89c71999491e3afac") + MARKER.encode())
    return ftyp + moov + xmp + box(b"mdat", AUDIO)


def heic() -> bytes:
    ftyp = box(b"ftyp", b"heic\0\0\0\0mif1heic")
    return ftyp + full_box(b"meta", 0, hdlr(b"pict") + MARKER.encode()) + box(b"mdat", AUDIO)


def syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def mp3() -> bytes:
    frame_text = b"\x03" + f"{MARKER} {GPS}".encode()
    frame = b"TXXX" + struct.pack(">I", len(frame_text)) + b"\0\0" + frame_text
    id3 = b"ID3\x03\x00\x00" + syncsafe(len(frame)) + frame
    audio = b"\xff\xfb\x90\x64" + AUDIO
    id3v1 = b"TAG" + MARKER.encode().ljust(125, b"\0")[:125]
    return id3 + audio + id3v1


def mp3_audio() -> bytes:
    return b"\xff\xfb\x90\x64" + AUDIO


def chunk(kind: bytes, body: bytes) -> bytes:
    pad = b"\0" if len(body) % 2 else b""
    return kind + struct.pack("<I", len(body)) + body + pad


def wav() -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    info = b"INFO" + chunk(b"ICMT", f"{MARKER} {GPS}".encode()) + chunk(b"ISFT", b"Rec 1.0")
    bext = MARKER.encode().ljust(602, b"\0")
    body = b"WAVE" + chunk(b"fmt ", fmt) + chunk(b"LIST", info) + chunk(b"bext", bext)
    body += chunk(b"data", AUDIO)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tiff_with_gps() -> bytes:
    image = Image.new("RGB", (32, 24), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = MARKER
    exif[0x8825] = {1: "N", 2: (40.0, 31.0, 42.0), 3: "E", 4: (72.0, 47.0, 55.0)}
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", exif=exif)  # Pillow writes a GPS directory from a file
    with Image.open(io.BytesIO(jpeg.getvalue())) as parsed:
        out = io.BytesIO()
        parsed.save(out, format="TIFF", exif=parsed.getexif())
    return out.getvalue()


def ogg() -> bytes:
    return b"OggS\0\x02" + bytes(20) + b"\x01\x13OpusHead" + MARKER.encode()


def flac() -> bytes:
    return b"fLaC\x00\x00\x00\x22" + bytes(34) + MARKER.encode()


def amr() -> bytes:
    return b"#!AMR\n" + AUDIO
