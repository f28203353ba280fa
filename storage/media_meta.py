"""Removing identifying metadata from videos and audio before they are encrypted, or refusing.

Use `plan(source)` on a seekable binary file: it returns None when the file is not a video or
a recording this module knows (store it as it is; photos are `storage.photos`' job), a `Plan`
whose `reader(source)` streams the cleaned bytes, or raises `MetadataNotRemovable(kind)` for
media whose metadata cannot be removed safely (the app then tells the user and stores the file
only if they explicitly choose to keep its metadata).

What is cleaned, judged by content, never by the name or claimed type:

- **MP4, MOV, M4A, 3GP** (ISO base media): every `udta`, `meta` and `uuid` box at the top
  level, in `moov` and in each `trak` (GPS as `©xyz` or `com.apple.quicktime.location`, camera
  make and model, XMP, iTunes-style tags) becomes a `free` box of the same size with its
  content zeroed, and the creation and modification times in `mvhd`, `tkhd` and `mdhd` are
  zeroed. Nothing moves, so every chunk offset stays valid and the video plays as before. A
  timed-metadata track (handler `meta` or `camm`: GoPro GPS, Apple location tracks) cannot be
  removed this way: refused. The walk is strict: a box that overruns its parent, a size under
  its header, an unknown top-level box or nesting past `MAX_DEPTH` is refused.
- **MP3 and AAC (ADTS)**: ID3v2 tags at the start and an ID3v1 tag at the end are dropped; an
  APE or Lyrics3 tag, or an ID3v2 tag appended at the end, is refused.
- **WAV**: only the `fmt `, `fact` and `data` chunks are kept (`LIST`/`INFO`, `bext` with the
  recorder's name and time, `iXML`, `id3 `, XMP are dropped) and the RIFF size is rewritten.
- **AMR** voice recordings have no metadata: stored as they are.
- Refused: HEIC/HEIF/AVIF (the EXIF item lives among the image's own items), Ogg (Opus,
  Vorbis), FLAC, Matroska/WebM, AVI, ASF/WMA, AIFF, CAF.

Costs: the cleaning reads the file's box or chunk headers (a few reads), then streams; memory
stays constant whatever the size of the video.

Danger: this removes what the container says about the recording, not what the recording
shows or sounds like: faces, voices, street signs and background noise stay.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from typing import IO, Union

from storage.errors import MetadataStripFailed

MAX_DEPTH = 8
COPY_CHUNK = 1024 * 1024
ISO_TOP_KEEP = frozenset(
    b"ftyp moov mdat free skip wide pdin moof mfra sidx styp ssix prft emsg".split()
)
ISO_NEUTRAL = frozenset((b"udta", b"meta", b"uuid"))
ISO_TIMES = frozenset((b"mvhd", b"tkhd", b"mdhd"))
ISO_METADATA_HANDLERS = frozenset((b"meta", b"camm"))
HEIF_BRANDS = frozenset(
    b"heic heix hevc hevx heim heis hevm hevs mif1 mif2 msf1 avif avis avio".split()
)
WAV_KEEP = frozenset((b"fmt ", b"fact", b"data"))
ID3V1_SIZE = 128
TAIL_SCAN = 64 * 1024

Source = IO[bytes]


class MetadataNotRemovable(MetadataStripFailed):
    """This media type's metadata cannot be removed safely. `kind` names the type ("heif",
    "ogg", "mp4", ...) for the message; nothing was stored."""

    def __init__(self, kind: str, why: str = "") -> None:
        self.kind = kind
        super().__init__()
        self.args = (f"metadata cannot be removed from {kind}" + (f": {why}" if why else ""),)


@dataclasses.dataclass(frozen=True)
class Zeros:
    length: int


@dataclasses.dataclass(frozen=True)
class Span:
    """`length` bytes of the source from `offset`."""

    offset: int
    length: int


Segment = Union[bytes, Zeros, Span]  # noqa: UP007 - a runtime alias


@dataclasses.dataclass(frozen=True)
class Plan:
    kind: str  # "mp4", "mp3", "wav", "amr"
    segments: tuple[Segment, ...]
    removed: bool  # False: the file had nothing to remove (stored unchanged)

    @property
    def size(self) -> int:
        return sum(len(s) if isinstance(s, bytes) else s.length for s in self.segments)

    def reader(self, source: Source) -> PlannedReader:
        return PlannedReader(source, self.segments)

    def apply(self, data: bytes) -> bytes:
        """The cleaned bytes of an in-memory file."""
        out = bytearray()
        for s in self.segments:
            if isinstance(s, bytes):
                out += s
            elif isinstance(s, Zeros):
                out += bytes(s.length)
            else:
                out += data[s.offset : s.offset + s.length]
        return bytes(out)


class PlannedReader:
    """A read-only stream of the cleaned file: the plan's segments, the source read by range."""

    def __init__(self, source: Source, segments: tuple[Segment, ...]) -> None:
        self._source = source
        self._segments = list(segments)
        self._index = 0
        self._done = 0  # bytes of the current segment already returned

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while self._index < len(self._segments) and (size < 0 or len(out) < size):
            segment = self._segments[self._index]
            want = COPY_CHUNK if size < 0 else size - len(out)
            if isinstance(segment, bytes):
                piece = segment[self._done : self._done + want]
            elif isinstance(segment, Zeros):
                piece = bytes(min(want, segment.length - self._done))
            else:
                self._source.seek(segment.offset + self._done)
                piece = self._source.read(min(want, segment.length - self._done))
                if not piece:
                    raise MetadataStripFailed()  # the file shrank under us
            out += piece
            self._done += len(piece)
            length = len(segment) if isinstance(segment, bytes) else segment.length
            if self._done >= length:
                self._index, self._done = self._index + 1, 0
        return bytes(out)


def plan(source: Source) -> Plan | None:
    """How to clean `source` (seekable, read from the start), None if it is not media this
    module knows, or `MetadataNotRemovable`."""
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(0)
    head = source.read(16)
    if len(head) < 12:
        return None
    refused = _refused_kind(head)
    if refused is not None:
        raise MetadataNotRemovable(refused)
    if head[4:8] == b"ftyp":
        return _plan_iso(source, size)
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return _plan_wav(source, size)
    if head.startswith(b"#!AMR"):
        return Plan("amr", (Span(0, size),), removed=False)
    if head.startswith(b"ID3") or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return _plan_mpeg_audio(source, size)
    return None


def _refused_kind(head: bytes) -> str | None:
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"RF64"):
        return "wav"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head.startswith(b"caff"):
        return "caf"
    return None


# ------------------------------------------------------------------ ISO base media (MP4, MOV)


@dataclasses.dataclass(frozen=True)
class _Box:
    type: bytes
    start: int
    header: int
    end: int

    @property
    def body(self) -> int:
        return self.start + self.header


def _boxes(source: Source, start: int, end: int, *, top: bool) -> list[_Box]:
    boxes, pos = [], start
    while pos < end:
        if end - pos < 8:
            raise MetadataNotRemovable("mp4", "trailing bytes")
        source.seek(pos)
        raw = source.read(8)
        if len(raw) < 8:
            raise MetadataNotRemovable("mp4", "truncated")
        size, kind = struct.unpack(">I4s", raw)
        header = 8
        if size == 1:
            large = source.read(8)
            if len(large) < 8:
                raise MetadataNotRemovable("mp4", "truncated")
            (size,) = struct.unpack(">Q", large)
            header = 16
        elif size == 0:
            if not top:
                raise MetadataNotRemovable("mp4", "open-ended box inside another")
            size = end - pos
        if size < header or pos + size > end:
            raise MetadataNotRemovable("mp4", "box overruns its parent")
        boxes.append(_Box(kind, pos, header, pos + size))
        pos += size
    return boxes


def _plan_iso(source: Source, size: int) -> Plan:
    top = _boxes(source, 0, size, top=True)
    source.seek(top[0].body)
    brands = source.read(min(top[0].end - top[0].body, 256))
    listed = {brands[i : i + 4] for i in range(0, len(brands) - 3, 4) if i != 4}
    if listed & HEIF_BRANDS:
        raise MetadataNotRemovable("heif")
    patches: list[tuple[int, Segment]] = []
    for box in top:
        if box.type in ISO_NEUTRAL:
            patches += _neutralise(box)
        elif box.type == b"moov":
            patches += _walk(source, box, depth=1)
        elif box.type not in ISO_TOP_KEEP:
            raise MetadataNotRemovable("mp4", f"unknown top-level box {box.type!r}")
    return _patched("mp4", size, patches)


def _walk(source: Source, parent: _Box, depth: int) -> list[tuple[int, Segment]]:
    if depth > MAX_DEPTH:
        raise MetadataNotRemovable("mp4", "nested too deep")
    patches: list[tuple[int, Segment]] = []
    for box in _boxes(source, parent.body, parent.end, top=False):
        if box.type in ISO_NEUTRAL:
            patches += _neutralise(box)
        elif box.type in ISO_TIMES:
            patches += _zero_times(source, box)
        elif box.type == b"hdlr":
            source.seek(box.body + 8)
            if source.read(4) in ISO_METADATA_HANDLERS:
                raise MetadataNotRemovable("mp4", "a timed metadata track")
        elif box.type in (b"trak", b"mdia"):
            patches += _walk(source, box, depth + 1)
    return patches


def _neutralise(box: _Box) -> list[tuple[int, Segment]]:
    """The box becomes `free`, same size, its content zeroed."""
    return [(box.start + 4, b"free"), (box.body, Zeros(box.end - box.body))]


def _zero_times(source: Source, box: _Box) -> list[tuple[int, Segment]]:
    source.seek(box.body)
    version = source.read(1)
    width = 16 if version == b"\x01" else 8
    if box.end - box.body < 4 + width:
        raise MetadataNotRemovable("mp4", "short header box")
    return [(box.body + 4, Zeros(width))]


def _patched(kind: str, size: int, patches: list[tuple[int, Segment]]) -> Plan:
    segments: list[Segment] = []
    pos = 0
    for offset, patch in sorted(patches, key=lambda p: p[0]):
        if offset < pos:
            raise MetadataNotRemovable(kind, "overlapping changes")
        if offset > pos:
            segments.append(Span(pos, offset - pos))
        segments.append(patch)
        pos = offset + (len(patch) if isinstance(patch, bytes) else patch.length)
    if pos < size:
        segments.append(Span(pos, size - pos))
    return Plan(kind, tuple(segments), removed=bool(patches))


# ------------------------------------------------------------------ WAV


def _plan_wav(source: Source, size: int) -> Plan:
    source.seek(12)
    kept: list[Segment] = []
    pos, dropped, body = 12, False, 4
    while pos < size:
        raw = source.read(8)
        if len(raw) < 8:
            raise MetadataNotRemovable("wav", "truncated chunk header")
        kind, length = struct.unpack("<4sI", raw)
        total = 8 + length + (length & 1)
        if pos + 8 + length > size:
            raise MetadataNotRemovable("wav", "chunk overruns the file")
        total = min(total, size - pos)
        if kind in WAV_KEEP:
            kept.append(Span(pos, total))
            body += total
        else:
            dropped = True
        pos += total
        source.seek(pos)
    if not any(isinstance(s, Span) for s in kept):
        raise MetadataNotRemovable("wav", "no audio")
    header = b"RIFF" + struct.pack("<I", body) + b"WAVE"
    return Plan("wav", (header, *kept), removed=dropped)


# ------------------------------------------------------------------ MP3 and AAC (ADTS)


def _plan_mpeg_audio(source: Source, size: int) -> Plan:
    start = 0
    while True:
        source.seek(start)
        header = source.read(10)
        if not header.startswith(b"ID3") or len(header) < 10:
            break
        if any(b & 0x80 for b in header[6:10]):
            raise MetadataNotRemovable("mp3", "malformed ID3 size")
        tag = (header[6] << 21) | (header[7] << 14) | (header[8] << 7) | header[9]
        start += 10 + tag + (10 if header[5] & 0x10 else 0)
        if start >= size:
            raise MetadataNotRemovable("mp3", "no audio after the tag")
    source.seek(start)
    sync = source.read(2)
    if len(sync) < 2 or sync[0] != 0xFF or sync[1] & 0xE0 != 0xE0:
        raise MetadataNotRemovable("mp3", "no audio frame after the tags")
    end = size
    tail_from = max(start, size - TAIL_SCAN)
    source.seek(tail_from)
    tail = source.read(size - tail_from)
    if b"APETAGEX" in tail or b"LYRICSBEGIN" in tail or b"LYRICS200" in tail:
        raise MetadataNotRemovable("mp3", "APE or Lyrics3 tag")
    if len(tail) >= ID3V1_SIZE and tail[-ID3V1_SIZE:].startswith(b"TAG"):
        end -= ID3V1_SIZE
    footer = tail[: len(tail) - (size - end)][-10:]
    if footer.startswith(b"3DI"):
        raise MetadataNotRemovable("mp3", "ID3v2 tag at the end")
    return Plan("mp3", (Span(start, end - start),), removed=start > 0 or end < size)
