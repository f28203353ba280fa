"""Capture into the vault, the parts that need no screen: a voice recording held encrypted in
memory while it is being made, the WAV file it becomes, and names for what was captured.

Use `SealedRecording(sample_rate, channels)`: `add(chunk)` for every PCM16 chunk the recorder
streams (each is sealed at once under a key that exists only in this object), then `wav()` for
the finished file (a 44-byte WAV header and the chunks opened one by one) to hand to
`FieldService.attach_bytes`, which encrypts it into the vault. `discard()` forgets the key: what
was recorded so far can no longer be read, even from a memory dump taken later.

Nothing here writes a file. The recorder plugin is used only in streaming mode, never with an
output path, so no plaintext recording ever reaches the phone's storage.

Danger: `wav()` returns the whole recording in clear, in memory, for as long as the caller keeps
it: attach it and drop the reference. About 1.9 MB per minute at 16 kHz mono.
"""

from __future__ import annotations

import struct
import time

from core.crypto import aead
from core.crypto.random import random_bytes

SAMPLE_RATE = 16_000  # speech: a small file, clear enough for testimony
CHANNELS = 1
BITS = 16
KEY_SIZE = aead.KEY_SIZE
WAV_HEADER_SIZE = 44
LABEL = b"fieldvault capture chunk v1"


class RecordingDiscarded(RuntimeError):
    """The recording was discarded (cancelled, locked, wiped): nothing of it can be read."""


def wav_header(
    data_size: int, *, sample_rate: int = SAMPLE_RATE, channels: int = CHANNELS
) -> bytes:
    """The canonical 44-byte header of a PCM16 WAV file holding `data_size` bytes of samples."""
    if data_size < 0 or data_size > 0xFFFFFFFF - 36:
        raise ValueError("a WAV file holds at most 4 GiB of samples")
    block = channels * BITS // 8
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_size,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        channels,
        sample_rate,
        sample_rate * block,
        block,
        BITS,
        b"data",
        data_size,
    )


class SealedRecording:
    """PCM16 chunks sealed as they arrive; opened only to build the finished WAV."""

    def __init__(self, *, sample_rate: int = SAMPLE_RATE, channels: int = CHANNELS) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self._key: bytes | None = random_bytes(KEY_SIZE)
        self._sealed: list[bytes] = []
        self.size = 0  # bytes of samples recorded

    def _aad(self, index: int) -> bytes:
        return LABEL + struct.pack(">Q", index)  # chunks cannot be reordered or dropped unseen

    def add(self, chunk: bytes) -> None:
        if self._key is None:
            raise RecordingDiscarded()
        if not chunk:
            return
        self._sealed.append(aead.seal(self._key, bytes(chunk), self._aad(len(self._sealed))))
        self.size += len(chunk)

    @property
    def chunks(self) -> int:
        return len(self._sealed)

    @property
    def seconds(self) -> float:
        return self.size / (self.sample_rate * self.channels * BITS // 8)

    def wav(self) -> bytes:
        """The recording as a WAV file (in clear: see the module's warning)."""
        if self._key is None:
            raise RecordingDiscarded()
        key = self._key
        parts = [wav_header(self.size, sample_rate=self.sample_rate, channels=self.channels)]
        parts.extend(aead.open_(key, sealed, self._aad(i)) for i, sealed in enumerate(self._sealed))
        return b"".join(parts)

    def discard(self) -> None:
        self._key = None
        self._sealed = []
        self.size = 0


def capture_name(kind: str, *, now: float | None = None) -> str:
    """A file name for a capture: `photo-2026-12-05-1930.jpg`, `video-….mp4`, `recording-….wav`.
    Local time, minutes only: the name says when, as the report itself does."""
    stamp = time.strftime("%Y-%m-%d-%H%M", time.localtime(time.time() if now is None else now))
    extension = {"photo": "jpg", "video": "mp4", "recording": "wav"}[kind]
    return f"{kind}-{stamp}.{extension}"
