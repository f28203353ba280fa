"""Encrypted attachment files: chunked streaming AEAD, constant memory, integrity on read.

Use `write_blob(...)` to encrypt a stream into `blobs/<id>` (atomically, via `tmp/`),
`read_info(...)` for an attachment's metadata and `BlobReader` for a decrypted, verified,
read-only stream. Byte layout in docs/formats/vault.md:

    magic(8) | nonce(16) | chunk* | sealed metadata | metadata length (u32 BE)

Each chunk is ChaCha20-Poly1305 over at most 64 KiB with the nonce `counter (11 bytes BE) ||
final flag (1 byte)` under a per-file key `HKDF(file key, salt=nonce, info=label || id)`
(the STREAM construction age uses). Truncation, reordering, chunk swapping between files and
bit flips all fail authentication and raise `AttachmentCorrupt`.

The file key of a format 2 file (what `write_blob` writes) is a random key the vault keeps in
its journal and destroys when the attachment is deleted; a format 1 file (release 0.1) used the
vault's attachment sub-key. Readers take `key_for(version)`, which returns the key for the
file's format version or raises `AttachmentNotFound` when it is gone.

Danger: a `BlobReader` reports damage only when it reaches the damaged chunk; bytes already
returned were authentic. Use `read_attachment` when a partial read is not acceptable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

from core.crypto import aead
from core.crypto.errors import InvalidCiphertext
from core.crypto.kdf import hkdf_sha256
from core.crypto.random import random_bytes
from storage.errors import AttachmentCorrupt, AttachmentNotFound
from storage.files import atomic_file, write_all

MAGIC = b"FVBLOB\x00\x02"  # the last byte is the format version
MAGIC_V1 = b"FVBLOB\x00\x01"  # release 0.1: keyed by the attachment sub-key
VERSIONS = (MAGIC_V1[-1], MAGIC[-1])
KeyFor = Callable[[int], bytes]
NONCE_SIZE = 16
HEADER_SIZE = len(MAGIC) + NONCE_SIZE
CHUNK_SIZE = 64 * 1024
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + aead.TAG_SIZE
STREAM_INFO = b"fieldvault/attachment-stream/v1\n"
META_INFO = b"fieldvault/attachment-meta/v1\n"
META_LABEL = b"fieldvault/attachment-meta/v1\n"
_LEN = struct.Struct(">I")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclasses.dataclass(frozen=True)
class Attachment:
    """What the vault knows about a stored attachment (all of it kept encrypted)."""

    id: str
    media_type: str
    name: str
    size: int
    sha256: str
    created_at: float
    metadata_removed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _keys(attachment_key: bytes, nonce: bytes, attachment_id: str) -> tuple[bytes, bytes]:
    raw_id = attachment_id.encode("ascii")
    stream = hkdf_sha256(attachment_key, salt=nonce, info=STREAM_INFO + raw_id)
    meta = hkdf_sha256(attachment_key, salt=nonce, info=META_INFO + raw_id)
    return stream, meta


def _chunk_nonce(counter: int, final: bool) -> bytes:
    if counter >= 1 << 88:
        raise ValueError("attachment too large")
    return counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def _read_full(source: Readable, size: int) -> bytes:
    parts: list[bytes] = []
    missing = size
    while missing:
        part = source.read(missing)
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def write_blob(
    blobs_dir: Path,
    tmp_dir: Path,
    file_key: bytes,
    attachment_id: str,
    source: Readable,
    *,
    media_type: str,
    name: str,
    metadata_removed: bool,
) -> Attachment:
    """Encrypt `source` to `blobs_dir/attachment_id` (format 2, under `file_key`); constant
    memory. Atomic: all or nothing."""
    nonce = random_bytes(NONCE_SIZE)
    stream_key, meta_key = _keys(file_key, nonce, attachment_id)
    digest = hashlib.sha256()
    size = 0
    with atomic_file(blobs_dir / attachment_id, tmp_dir, prefix="blob-") as fd:
        write_all(fd, MAGIC + nonce)
        counter = 0
        current = _read_full(source, CHUNK_SIZE)
        while True:
            full = len(current) == CHUNK_SIZE
            following = _read_full(source, CHUNK_SIZE) if full else b""
            final = not following
            digest.update(current)
            size += len(current)
            nonce_c = _chunk_nonce(counter, final)
            write_all(fd, aead.encrypt_with_nonce(stream_key, nonce_c, current))
            if final:
                break
            counter += 1
            current = following
        info = Attachment(
            id=attachment_id,
            media_type=media_type,
            name=name,
            size=size,
            sha256=digest.hexdigest(),
            created_at=time.time(),
            metadata_removed=metadata_removed,
        )
        meta = aead.seal(meta_key, _encode_meta(info), META_LABEL + attachment_id.encode())
        write_all(fd, meta + _LEN.pack(len(meta)))
    return info


def _encode_meta(info: Attachment) -> bytes:
    return json.dumps(info.to_dict(), ensure_ascii=False).encode("utf-8", "surrogatepass")


@dataclasses.dataclass(frozen=True)
class _Opened:
    info: Attachment
    stream_key: bytes
    stream_start: int
    stream_end: int


def blob_version(header: bytes) -> int | None:
    """The format version a blob's first bytes announce, or None if they are not a blob's."""
    if len(header) < len(MAGIC) or header[: len(MAGIC) - 1] != MAGIC[:-1]:
        return None
    version = header[len(MAGIC) - 1]
    return version if version in VERSIONS else None


def _open_blob(path: Path, key_for: KeyFor, attachment_id: str, handle: IO[bytes]) -> _Opened:
    total = os.fstat(handle.fileno()).st_size
    header = _read_full(handle, HEADER_SIZE)
    version = blob_version(header)
    if len(header) != HEADER_SIZE or version is None:
        raise AttachmentCorrupt(attachment_id)
    nonce = header[len(MAGIC) :]
    stream_key, meta_key = _keys(key_for(version), nonce, attachment_id)
    if total < HEADER_SIZE + _LEN.size:
        raise AttachmentCorrupt(attachment_id)
    handle.seek(total - _LEN.size)
    (meta_len,) = _LEN.unpack(_read_full(handle, _LEN.size))
    meta_start = total - _LEN.size - meta_len
    if meta_start < HEADER_SIZE + aead.TAG_SIZE:
        raise AttachmentCorrupt(attachment_id)
    handle.seek(meta_start)
    sealed = _read_full(handle, meta_len)
    try:
        raw = json.loads(
            aead.open_(meta_key, sealed, META_LABEL + attachment_id.encode()).decode(
                "utf-8", "surrogatepass"
            )
        )
        info = Attachment(**raw)
    except (InvalidCiphertext, ValueError, TypeError):
        raise AttachmentCorrupt(attachment_id) from None
    if info.id != attachment_id:
        raise AttachmentCorrupt(attachment_id)
    stream_len = meta_start - HEADER_SIZE
    chunks = max(1, -(-info.size // CHUNK_SIZE))
    if info.size and info.size % CHUNK_SIZE == 0:
        expected = chunks * ENCRYPTED_CHUNK_SIZE
    else:
        expected = (chunks - 1) * ENCRYPTED_CHUNK_SIZE + (info.size % CHUNK_SIZE) + aead.TAG_SIZE
    if stream_len != expected:
        raise AttachmentCorrupt(attachment_id)
    handle.seek(HEADER_SIZE)
    return _Opened(info, stream_key, HEADER_SIZE, meta_start)


def blob_path(blobs_dir: Path, attachment_id: str) -> Path:
    return blobs_dir / attachment_id


def read_info(blobs_dir: Path, key_for: KeyFor, attachment_id: str) -> Attachment:
    path = blob_path(blobs_dir, attachment_id)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise AttachmentNotFound(attachment_id) from None
    with handle:
        return _open_blob(path, key_for, attachment_id, handle).info


class BlobReader(io.RawIOBase):
    """A decrypted, read-only stream over one attachment; memory is one chunk."""

    def __init__(self, blobs_dir: Path, key_for: KeyFor, attachment_id: str) -> None:
        super().__init__()
        path = blob_path(blobs_dir, attachment_id)
        try:
            self._handle: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed in close()
        except FileNotFoundError:
            raise AttachmentNotFound(attachment_id) from None
        try:
            opened = _open_blob(path, key_for, attachment_id, self._handle)
        except BaseException:
            self._handle.close()
            raise
        self.info = opened.info
        self._id = attachment_id
        self._key = opened.stream_key
        self._remaining = opened.stream_end - opened.stream_start
        self._counter = 0
        self._buffer = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> None:
        size = min(ENCRYPTED_CHUNK_SIZE, self._remaining)
        data = _read_full(self._handle, size)
        if len(data) != size:
            raise AttachmentCorrupt(self._id)
        self._remaining -= size
        final = self._remaining == 0
        try:
            plain = aead.decrypt_with_nonce(self._key, _chunk_nonce(self._counter, final), data)
        except InvalidCiphertext:
            raise AttachmentCorrupt(self._id) from None
        self._counter += 1
        self._buffer = plain
        self._done = final

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._buffer and not self._done:
            self._next_chunk()
        if not self._buffer:
            return 0
        n = min(len(view), len(self._buffer))
        view[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def readall(self) -> bytes:
        parts = [self._buffer]
        self._buffer = b""
        while not self._done:
            self._next_chunk()
            parts.append(self._buffer)
            self._buffer = b""
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed:
            self._handle.close()
        super().close()
