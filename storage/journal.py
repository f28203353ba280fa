"""The encrypted, append-only record journal (byte layout in docs/formats/vault.md).

Use `read_journal(path, key, recover=...)` on open (it returns the operations and where valid
data ends), `Journal.open_for_append(...)` / `append(ops)` to save, and for compaction
`prepare_snapshot(...)` (a new journal in `tmp/`, under a new key), then `Snapshot.install(path)`
(rename) and `old_journal.shred()` (overwrite the replaced file's bytes). The vault records the
new key in the key file between the first two steps. An entry is acknowledged once `append`
returns: it has been written and fsync'd. `read_journal_id` reads the header without a key.

Every entry is `length | crc32(journal id, length) | AEAD(seq, frames)` with the journal id in
the associated data: entries cannot be moved between journals, and the sequence number inside
the ciphertext detects reordering, duplication and removal in the middle. What reaches the disk
is the entry length and ciphertext; record ids, kinds and contents are inside.

Torn tail versus damage: only the last append can be torn by a crash, so a bad entry with no
valid entry after it is a torn tail (dropped, and the file truncated before the next append);
a bad entry followed by a valid one is damage, reported as `VaultCorrupt` naming the entry and
byte offset, unless the caller asked to `recover`, which skips damaged stretches.

Danger: `append` must be the only writer; the vault lock guarantees that. The journal key is
whatever the caller passes: this module neither stores nor derives it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from core.crypto.errors import InvalidCiphertext
from core.crypto.random import random_bytes
from core.crypto.sealer import Sealer
from storage.errors import VaultCorrupt, VaultFormatTooNew
from storage.files import (
    fsync_dir,
    overwrite_random,
    sync_data,
    temp_name,
    translating_os_errors,
    write_all,
)

MAGIC = b"FVJRNL\x00\x01"  # the last byte is the format version
JOURNAL_ID_SIZE = 16
HEADER_SIZE = len(MAGIC) + JOURNAL_ID_SIZE
ENTRY_LABEL = b"fieldvault/journal-entry/v1\n"
_ENTRY_HEAD = struct.Struct(">II")
MAX_ENTRY_SIZE = 64 * 1024 * 1024
OP_PUT = 1
OP_DELETE = 2
SNAPSHOT_BATCH_BYTES = 1024 * 1024
SNAPSHOT_PREFIX = "journal-"


@dataclasses.dataclass(frozen=True)
class Op:
    """One change: `put` carries the record's sealed bytes; `delete` has `sealed == b""`."""

    kind: int
    record_id: str
    sealed: bytes = b""


@dataclasses.dataclass
class ReadResult:
    journal_id: bytes
    ops: list[Op]
    valid_end: int
    next_seq: int
    entries: int
    dropped_tail_bytes: int = 0
    skipped: list[str] = dataclasses.field(default_factory=list)


def encode_ops(ops: Sequence[Op]) -> bytes:
    parts: list[bytes] = []
    for op in ops:
        raw_id = op.record_id.encode("utf-8", "surrogatepass")
        if len(raw_id) > 0xFFFF:
            raise ValueError("record id too long")
        parts.append(struct.pack(">BH", op.kind, len(raw_id)))
        parts.append(raw_id)
        if op.kind == OP_PUT:
            parts.append(struct.pack(">I", len(op.sealed)))
            parts.append(op.sealed)
    return b"".join(parts)


def decode_ops(data: bytes) -> list[Op]:
    ops: list[Op] = []
    pos = 0
    while pos < len(data):
        kind, id_len = struct.unpack_from(">BH", data, pos)
        pos += 3
        record_id = data[pos : pos + id_len].decode("utf-8", "surrogatepass")
        pos += id_len
        if kind == OP_PUT:
            (size,) = struct.unpack_from(">I", data, pos)
            pos += 4
            sealed = data[pos : pos + size]
            if len(sealed) != size:
                raise ValueError("truncated frame")
            pos += size
            ops.append(Op(OP_PUT, record_id, sealed))
        elif kind == OP_DELETE:
            ops.append(Op(OP_DELETE, record_id))
        else:
            raise ValueError("unknown operation")
    if pos != len(data):
        raise ValueError("trailing bytes")
    return ops


def _check(journal_id: bytes, length: int) -> int:
    return zlib.crc32(journal_id + struct.pack(">I", length))


def seal_entry(sealer: Sealer, journal_id: bytes, seq: int, ops: Sequence[Op]) -> bytes:
    body = sealer.seal(struct.pack(">Q", seq) + encode_ops(ops), ENTRY_LABEL + journal_id)
    return _ENTRY_HEAD.pack(len(body), _check(journal_id, len(body))) + body


def _try_entry(data: bytes, pos: int, key: Sealer, journal_id: bytes) -> tuple[int, bytes] | None:
    """(end offset, plaintext) of a valid entry starting at `pos`, or None."""
    if len(data) - pos < _ENTRY_HEAD.size:
        return None
    length, check = _ENTRY_HEAD.unpack_from(data, pos)
    if check != _check(journal_id, length) or length > MAX_ENTRY_SIZE:
        return None
    end = pos + _ENTRY_HEAD.size + length
    if end > len(data):
        return None
    try:
        plain = key.open(data[pos + _ENTRY_HEAD.size : end], ENTRY_LABEL + journal_id)
    except InvalidCiphertext:
        return None
    if len(plain) < 8:
        return None
    return end, plain


def _next_valid(data: bytes, start: int, key: Sealer, journal_id: bytes) -> int | None:
    """Offset of the first valid entry after `start` (slow scan, only on damage)."""
    for pos in range(start + 1, len(data) - _ENTRY_HEAD.size):
        length, check = _ENTRY_HEAD.unpack_from(data, pos)
        if check == _check(journal_id, length) and _try_entry(data, pos, key, journal_id):
            return pos
    return None


def read_journal(path: Path, key: bytes, *, recover: bool = False) -> ReadResult:
    """Replay the journal. Raises `VaultCorrupt` on damage unless `recover`, and
    `VaultFormatTooNew` (even with `recover`) for a journal written by a newer release."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise VaultCorrupt("journal: file missing") from None
    VaultFormatTooNew.check("journal", data, MAGIC)
    if len(data) < HEADER_SIZE or data[: len(MAGIC)] != MAGIC:
        raise VaultCorrupt("journal: header damaged or unknown format")
    journal_id = data[len(MAGIC) : HEADER_SIZE]
    sealer = Sealer(key)
    result = ReadResult(journal_id, [], HEADER_SIZE, 0, 0)
    pos = HEADER_SIZE
    while pos < len(data):
        found = _try_entry(data, pos, sealer, journal_id)
        if found is None:
            following = _next_valid(data, pos, sealer, journal_id)
            if following is None:
                result.dropped_tail_bytes = len(data) - pos
                break
            what = f"journal: entry {result.entries + 1} at byte {pos} is unreadable"
            if not recover:
                raise VaultCorrupt(what)
            result.skipped.append(what)
            pos = following
            continue
        end, plain = found
        (seq,) = struct.unpack_from(">Q", plain)
        if seq < result.next_seq or (seq != result.next_seq and not recover):
            raise VaultCorrupt(f"journal: entry {result.entries + 1} at byte {pos} out of order")
        try:
            ops = decode_ops(plain[8:])
        except (ValueError, UnicodeDecodeError, struct.error):
            what = f"journal: entry {result.entries + 1} at byte {pos} malformed"
            raise VaultCorrupt(what) from None
        result.ops.extend(ops)
        result.entries += 1
        result.next_seq = seq + 1
        pos = end
        result.valid_end = end
    return result


class Journal:
    """The open journal file, appended to under the vault lock."""

    def __init__(self, path: Path, fd: int, key: bytes, journal_id: bytes, size: int, seq: int):
        self.path = path
        self._fd: int | None = fd
        self._key = key
        self._sealer = Sealer(key)
        self.journal_id = journal_id
        self.size = size
        self.next_seq = seq
        self.entries = 0

    @classmethod
    def create(cls, path: Path, key: bytes, tmp_dir: Path) -> Journal:
        return write_snapshot(path, key, (), tmp_dir)

    @property
    def key(self) -> bytes:
        return self._key

    @classmethod
    def open_for_append(cls, path: Path, key: bytes, state: ReadResult) -> Journal:
        with translating_os_errors():
            fd = os.open(path, os.O_WRONLY)
            try:
                if os.fstat(fd).st_size != state.valid_end:
                    os.ftruncate(fd, state.valid_end)
                    sync_data(fd)
                os.lseek(fd, 0, os.SEEK_END)
            except BaseException:
                os.close(fd)
                raise
        journal = cls(path, fd, key, state.journal_id, state.valid_end, state.next_seq)
        journal.entries = state.entries
        return journal

    def append(self, ops: Sequence[Op]) -> int:
        """Write one entry holding `ops` and fsync it. Returns its size in bytes.

        On failure the file is cut back to its previous length (the entry never happened) and
        the error is raised (`StorageFull` for a full or read-only disk).
        """
        fd = self._require_fd()
        entry = seal_entry(self._sealer, self.journal_id, self.next_seq, ops)
        with translating_os_errors():
            try:
                os.lseek(fd, self.size, os.SEEK_SET)
                write_all(fd, entry)
                sync_data(fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, self.size)
                raise
        self.size += len(entry)
        self.next_seq += 1
        self.entries += 1
        return len(entry)

    def _require_fd(self) -> int:
        if self._fd is None:
            raise ValueError("journal is closed")
        return self._fd

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def shred(self) -> None:
        """Overwrite every byte this journal wrote with random bytes, fsync, and close.

        Called on the replaced journal after a compaction renamed its successor over it: the
        descriptor still reaches the old file's blocks. Best effort (flash may keep copies;
        the old journal key is destroyed anyway). Never raises."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            overwrite_random(fd, self.size)
            sync_data(fd)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)


def _batches(records: Iterable[tuple[str, bytes]]) -> Iterator[list[Op]]:
    batch: list[Op] = []
    size = 0
    for record_id, sealed in records:
        batch.append(Op(OP_PUT, record_id, sealed))
        size += len(sealed) + len(record_id) + 7
        if size >= SNAPSHOT_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


@dataclasses.dataclass
class Snapshot:
    """A fresh journal written and fsync'd in `tmp/`, not yet in place (see `write_snapshot`)."""

    tmp: Path
    fd: int
    key: bytes
    journal_id: bytes
    size: int
    seq: int

    def install(self, path: Path) -> Journal:
        """Rename over `path` and fsync the directory; the snapshot becomes the journal."""
        with translating_os_errors():
            try:
                os.replace(self.tmp, path)
                fsync_dir(path.parent)
            except BaseException:
                self.discard()
                raise
        journal = Journal(path, self.fd, self.key, self.journal_id, self.size, self.seq)
        journal.entries = self.seq
        return journal

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


def prepare_snapshot(
    key: bytes, records: Iterable[tuple[str, bytes]], tmp_dir: Path, journal_id: bytes | None = None
) -> Snapshot:
    """Write a new journal holding only `records` (under `key` and a new journal id) to a
    temporary file and fsync it. Nothing in place changes until `Snapshot.install`."""
    journal_id = random_bytes(JOURNAL_ID_SIZE) if journal_id is None else journal_id
    sealer = Sealer(key)
    tmp = temp_name(tmp_dir, SNAPSHOT_PREFIX)
    with translating_os_errors():
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            write_all(fd, MAGIC + journal_id)
            size, seq = HEADER_SIZE, 0
            for batch in _batches(records):
                entry = seal_entry(sealer, journal_id, seq, batch)
                write_all(fd, entry)
                size += len(entry)
                seq += 1
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return Snapshot(tmp, fd, key, journal_id, size, seq)


def write_snapshot(
    path: Path, key: bytes, records: Iterable[tuple[str, bytes]], tmp_dir: Path
) -> Journal:
    """Atomically replace the journal at `path` by a fresh one holding only `records`.

    Writes a temporary file under a new journal id, fsyncs it, renames it over `path` and
    fsyncs the directory. A crash at any point leaves either the old or the new journal.
    """
    return prepare_snapshot(key, records, tmp_dir).install(path)


def read_journal_id(path: Path) -> bytes:
    """The journal id in the header of `path` (no key needed). Raises what `read_journal`
    raises for a missing file, a damaged header or a newer format."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEADER_SIZE)
    except FileNotFoundError:
        raise VaultCorrupt("journal: file missing") from None
    VaultFormatTooNew.check("journal", head, MAGIC)
    if len(head) != HEADER_SIZE or head[: len(MAGIC)] != MAGIC:
        raise VaultCorrupt("journal: header damaged or unknown format")
    return head[len(MAGIC) :]
