"""Removing identifying metadata from photos before they are encrypted.

Use `detect(head)` on the first bytes of a file to learn whether it is a JPEG, PNG, WebP, TIFF or
GIF, and `strip_metadata(source, fmt)` to get the image re-encoded without EXIF (GPS, device
model, maker notes), XMP, IPTC, ICC profiles, text chunks or GIF comments. The EXIF orientation
is applied to the pixels first, so the photo still shows the right way up. Detection is by
content, not by the media type the caller claims, so a mislabelled photo is still cleaned.

Costs and limits: the image is decoded in memory (memory grows with the pixel count, unlike the
rest of the attachment path); JPEG and lossy WebP are re-encoded at high quality, so this is not
bit-exact; only the first frame of animated images (GIF, WebP) and the first page of a TIFF is
kept (a camera RAW file built on TIFF keeps only the image Pillow reads from it). Videos and
recordings are `storage.media_meta`'s job. An image Pillow cannot decode raises
`MetadataStripFailed` rather than being stored with its metadata.
"""

from __future__ import annotations

import io
from typing import IO

from PIL import Image, ImageOps

from storage.errors import MetadataStripFailed

JPEG, PNG, WEBP, TIFF, GIF = "JPEG", "PNG", "WEBP", "TIFF", "GIF"
SNIFF_BYTES = 16
JPEG_QUALITY = 95
WEBP_QUALITY = 90
# Kept from the source's info: needed to render correctly, identifies nothing.
_SAFE_INFO_KEYS = ("transparency",)


def detect(head: bytes) -> str | None:
    """The photo format whose metadata we strip, judged from the file's first bytes."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    return None


def strip_metadata(source: IO[bytes], fmt: str) -> bytes:
    """The image re-encoded in `fmt` without metadata. Raises `MetadataStripFailed`."""
    try:
        with Image.open(source) as opened:
            opened.load()
            upright = ImageOps.exif_transpose(opened) or opened
            clean = upright.copy()
            kept = {k: upright.info[k] for k in _SAFE_INFO_KEYS if k in upright.info}
            clean.info.clear()
            clean.info.update(kept)
            out = io.BytesIO()
            if fmt == JPEG:
                if clean.mode not in ("RGB", "L", "CMYK"):
                    clean = clean.convert("RGB")
                clean.save(out, format=JPEG, quality=JPEG_QUALITY, optimize=False)
            elif fmt == PNG:
                clean.save(out, format=PNG, **kept)
            elif fmt == WEBP:
                lossless = opened.info.get("lossless", False) is True
                clean.save(out, format=WEBP, quality=WEBP_QUALITY, lossless=lossless)
            elif fmt == TIFF:
                if clean.mode not in ("RGB", "RGBA", "L", "LA", "1", "CMYK", "P"):
                    clean = clean.convert("RGB")
                clean.save(out, format=TIFF, compression="tiff_deflate")
            elif fmt == GIF:
                clean.save(out, format=GIF, **kept)
            else:
                raise ValueError(f"unsupported image format {fmt!r}")
            return out.getvalue()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MetadataStripFailed() from exc
