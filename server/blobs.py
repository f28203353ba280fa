"""Where blob bytes live: a small interface, and a directory implementation of it.

Use `open_blob_store(config, repo)`: the directory store below on SQLite, the PostgreSQL store
(`server.pg_blobs`, rows in the database itself) on PostgreSQL, unless `config.blob_store` says
otherwise. Both meet the same contract (`tests/server/test_blob_store.py` runs it on each).

`DirectoryBlobStore(path, offsets=repo)`: an upload is written to `partial/<random>`; when its
hash is verified it is renamed, atomically, to `complete/<random>` (a fresh random name, so a
file's name says nothing about the blob id or its uploader). The database maps blob ids to names. An
S3-compatible store would implement the same verbs (multipart upload for `append`).

Counting: `Appender.keep(blob_id)` keeps a chunk's bytes and moves the blob's recorded offset
(`Repository.advance_blob`, a compare and set) past them. The PostgreSQL store does both in one
transaction; this one writes the file, then moves the offset, and cuts the file back if the
offset had moved meanwhile.

Chunks are not flushed one by one before they are acknowledged: a power cut may leave an upload
shorter or different than its recorded offset, which the final hash check catches (the upload
then restarts). A kept chunk is handed to a background thread that flushes it while the next one
arrives, and a long chunk is flushed every `FLUSH_EARLY` bytes while it is still arriving, so
that a finished blob's own flush has at most about that much left to write; a finished blob is
flushed, then renamed into `complete/`, then the directory is flushed, before it is
acknowledged.

Writers hold `locked(name)` (an exclusive `flock`; request handlers ask with `wait=False` and
are told `UploadBusy` rather than wait) while they check the offset, write and
record it (`append` writes a chunk piece by piece as it arrives and can `undo` it, so a request
whose signature fails after its body streamed in leaves the upload exactly as it was), so two
server processes can never interleave writes to one upload. An upload that
fails its hash check is restarted in a new file (`create`), never truncated in place.

Hashing: the store keeps, per upload it is writing, a running SHA-256 and the file's inode, size
and modification time after its own last write. Under the two rules above, a file that still
matches is exactly what this process hashed; anything else (another process wrote since) falls
back to re-reading the whole file. It is a cache: losing it costs a re-read, never correctness.

Danger: names are generated here and checked on the way back in; never build a path from
anything a client sent.
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from server.config import ServerConfig
    from server.db.base import Repository

NAME = re.compile(r"\A[0-9a-f]{32}\Z")
"""What every name a store generates looks like (`BlobStore._new_name`)."""
READ_SIZE = 1024 * 1024
HASH_CACHE_ENTRIES = 256
IOV_MAX = 1024
"""Buffers handed to one `pwritev` (POSIX guarantees at least 16; Linux takes 1024)."""
FLUSH_EARLY = 16 * 1024 * 1024
"""Bytes of a chunk written before a background flush of them starts, while the rest arrives."""


class UploadBusy(Exception):
    """`locked(name, wait=False)`: another writer holds the upload's lock right now."""


class Offsets(Protocol):
    """Where a blob's recorded offset moves (the repository)."""

    def advance_blob(self, blob_id: str, old_offset: int, new_offset: int) -> bool: ...


def open_blob_store(config: ServerConfig, repo: Repository) -> BlobStore:
    """The blob store `config` asks for: see `ServerConfig.blob_store`."""
    if config.blob_store_kind == "database":
        from server.pg_blobs import PostgresBlobStore

        legacy = DirectoryBlobStore(config.blob_dir) if config.blob_dir.is_dir() else None
        store = PostgresBlobStore(config.db_url, legacy=legacy)
        store.start_adopting()
        return store
    return DirectoryBlobStore(config.blob_dir, offsets=repo)


class BlobStore(abc.ABC):
    @abc.abstractmethod
    def create(self) -> str:
        """Start an empty upload; return its name."""

    @abc.abstractmethod
    def locked(self, name: str, *, wait: bool = True) -> contextlib.AbstractContextManager[None]:
        """Exclusive access to one upload, across threads and processes. With `wait=False`,
        `UploadBusy` at once if another writer holds it (what request handlers use: a worker
        thread must never sit waiting for a lock whose holder needs a thread to let go)."""

    @abc.abstractmethod
    def write_at(self, name: str, offset: int, data: bytes) -> None:
        """Make the upload exactly `offset` bytes long and append `data` (not flushed yet)."""

    @abc.abstractmethod
    def append(self, name: str, offset: int) -> Appender:
        """Cut the upload to `offset` bytes and write from there piece by piece; then either
        `keep(blob_id)` the bytes or `undo()` them (FileNotFoundError if no such upload)."""

    @abc.abstractmethod
    def digest(self, name: str) -> str | None:
        """SHA-256 hex of the upload so far (None if it is missing)."""

    @abc.abstractmethod
    def finish(self, name: str) -> str:
        """Flush a verified upload and make it permanent under a new name; return that name."""

    @abc.abstractmethod
    def read(self, name: str, start: int = 0) -> Iterator[bytes]:
        """The bytes of a finished blob from byte `start` on, in pieces of at most 1 MiB."""

    @abc.abstractmethod
    def size(self, name: str) -> int: ...

    @abc.abstractmethod
    def discard(self, name: str) -> None:
        """Forget an upload or a finished blob (missing is fine)."""

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to let go of
        """Let go of connections and threads (the server is stopping)."""

    @staticmethod
    def _new_name() -> str:
        """A fresh random name for an upload or a finished blob: it says nothing about either."""
        return secrets.token_hex(16)

    @staticmethod
    def _check(name: str) -> str:
        """`name` if it is one `_new_name` could have made; ValueError for anything else."""
        if not NAME.match(name):
            raise ValueError("not a blob file name")
        return name


class Appender(abc.ABC):
    """One chunk being written as it arrives (hold `locked(name)` around it).

    `write` may be called from a worker thread; `keep` makes the bytes part of the upload,
    `undo` cuts the upload back to where this chunk started, as if it never came. Either ends
    it; the second of the two is a no-op.

    `write` both appends the bytes and carries the upload's running hash (if kept) through
    them. To run the two side by side, call `write_pieces` and `hash_pieces` instead, each with
    every piece in the same order (one thread each is fine). Danger: a piece given to one and
    not the other leaves a digest that does not describe the file; `keep` only after both
    have finished.
    """

    written: int

    def write(self, data: bytes) -> None:
        self.write_pieces((data,))
        self.hash_pieces((data,))

    @abc.abstractmethod
    def write_pieces(self, pieces: Sequence[bytes]) -> None:
        """Append `pieces`, in order, without hashing them (see the class docstring)."""

    @abc.abstractmethod
    def hash_pieces(self, pieces: Sequence[bytes]) -> None:
        """Carry the upload's running hash, if kept, through `pieces` (see the class docstring)."""

    @abc.abstractmethod
    def keep(self, blob_id: str | None = None) -> bool:
        """Keep the bytes and, with `blob_id`, move that blob's recorded offset from where this
        chunk started to its end (nothing to move for an empty chunk). False, and the bytes
        undone, if the recorded offset was no longer where this chunk started."""

    @abc.abstractmethod
    def undo(self) -> None: ...

    @abc.abstractmethod
    def hash_upload(self) -> None:
        """Before the first `write`: keep the upload's running SHA-256 from here on, re-reading
        the bytes before this chunk if this process does not hold their hash already."""

    @abc.abstractmethod
    def upload_digest(self) -> str:
        """SHA-256 hex of the upload through the bytes written so far (after `hash_upload`)."""


def hash_prefix(pieces: Iterator[bytes], length: int) -> Any:
    """A running SHA-256 of the first `length` bytes of `pieces` (short pieces are fine)."""
    hasher = hashlib.sha256()
    left = length
    for piece in pieces:
        if left <= 0:
            break
        hasher.update(piece[:left])
        left -= len(piece)
    if left > 0:
        hasher.update(bytes(left))  # as a cut-back file reads: short of bytes, zeros
    return hasher


class _FileAppender(Appender):
    def __init__(self, store: DirectoryBlobStore, name: str, offset: int) -> None:
        self._store, self._name, self._offset = store, name, offset
        self._fd = os.open(store.partial / name, os.O_WRONLY)  # FileNotFoundError
        self._hasher = store._running_hash(name, self._fd, offset)
        self._before = self._hasher.copy() if self._hasher is not None else None
        os.ftruncate(self._fd, offset)
        self.written = 0
        self._flushed = 0

    def write_pieces(self, pieces: Sequence[bytes]) -> None:
        self.written += pwrite_all(self._fd, pieces, self._offset + self.written)
        if self.written - self._flushed >= FLUSH_EARLY:  # a long chunk: start on its flush
            self._flushed = self.written
            self._store._flush_later(os.dup(self._fd))

    def hash_pieces(self, pieces: Sequence[bytes]) -> None:
        hasher = self._hasher
        if hasher is not None:
            for piece in pieces:
                hasher.update(piece)

    def keep(self, blob_id: str | None = None) -> bool:
        if self._fd < 0:
            return True
        offsets = self._store.offsets
        if blob_id is not None and self.written:
            if offsets is None:
                raise ValueError("this store was opened without the repository's offsets")
            end = self._offset + self.written
            if not offsets.advance_blob(blob_id, self._offset, end):
                self.undo()
                return False
        try:
            if self._hasher is not None:
                self._store._remember(self._name, self._fd, self._hasher)
        except BaseException:
            os.close(self._fd)
            self._fd = -1
            raise
        self._store._flush_later(self._fd)
        self._fd = -1
        return True

    def undo(self) -> None:
        if self._fd < 0:
            return  # kept already: too late to undo, and nothing left open
        try:
            os.ftruncate(self._fd, self._offset)
            if self._before is not None:
                self._store._remember(self._name, self._fd, self._before)
        finally:
            os.close(self._fd)
            self._fd = -1

    def hash_upload(self) -> None:
        if self._hasher is None:
            with (self._store.partial / self._name).open("rb") as handle:
                self._hasher = hash_prefix(iter(lambda: handle.read(READ_SIZE), b""), self._offset)
            self._before = self._hasher.copy()

    def upload_digest(self) -> str:
        if self._hasher is None:
            raise ValueError("hash_upload() was not called before writing")
        digest: str = self._hasher.copy().hexdigest()
        return digest


def pwrite_all(fd: int, pieces: Sequence[bytes], position: int) -> int:
    """Write `pieces` one after another at `position` (no joined copy: `pwritev`, at most
    `IOV_MAX` buffers a call, again after a short write); return the bytes written."""
    views = [memoryview(piece) for piece in pieces if piece]
    total = sum(view.nbytes for view in views)
    first = 0
    while first < len(views):
        count = os.pwritev(fd, views[first : first + IOV_MAX], position)
        if count <= 0:
            raise OSError("the upload file took no bytes")
        position += count
        while count and count >= views[first].nbytes:
            count -= views[first].nbytes
            first += 1
        if count:
            views[first] = views[first][count:]
    return total


def _flush_and_close(fd: int) -> None:
    try:
        os.fdatasync(fd)
    except OSError:
        pass  # only an early start: `finish` flushes, and reports, for real
    finally:
        os.close(fd)


class DirectoryBlobStore(BlobStore):
    """Files under `root`; `offsets` (the repository) is where `Appender.keep(blob_id)` moves a
    blob's offset (without it, only `keep()` with no blob id)."""

    def __init__(self, root: Path | str, offsets: Offsets | None = None) -> None:
        self.root = Path(root)
        self.offsets = offsets
        self.partial = self.root / "partial"
        self.complete = self.root / "complete"
        self.partial.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.complete.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._hashes: OrderedDict[str, tuple[tuple[int, int, int], Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._flusher: ThreadPoolExecutor | None = None

    def _flush_later(self, fd: int) -> None:
        """Write a kept chunk to disk while the next one arrives (so `finish` has only the last
        chunk left to flush), then close its descriptor. Not a promise: only `finish` is."""
        with self._lock:
            if self._flusher is None:
                self._flusher = ThreadPoolExecutor(1, thread_name_prefix="fieldvault-blob-flush")
            flusher = self._flusher
        try:
            flusher.submit(_flush_and_close, fd)
        except RuntimeError:  # closed meanwhile
            os.close(fd)

    def close(self) -> None:
        with self._lock:
            flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.shutdown(wait=True)

    def _running_hash(self, name: str, fd: int, offset: int) -> Any:
        """The running hash of the first `offset` bytes, if the file is as we left it."""
        with self._lock:
            entry = self._hashes.pop(name, None)
        if offset == 0:
            return hashlib.sha256()
        if entry is None:
            return None
        stat = os.fstat(fd)
        if entry[0] != (stat.st_ino, stat.st_size, stat.st_mtime_ns) or stat.st_size != offset:
            return None
        return entry[1]

    def _remember(self, name: str, fd: int, hasher: Any) -> None:
        stat = os.fstat(fd)
        with self._lock:
            self._hashes[name] = ((stat.st_ino, stat.st_size, stat.st_mtime_ns), hasher)
            while len(self._hashes) > HASH_CACHE_ENTRIES:
                self._hashes.popitem(last=False)

    def create(self) -> str:
        name = self._new_name()
        fd = os.open(self.partial / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        return name

    @contextlib.contextmanager
    def locked(self, name: str, *, wait: bool = True) -> Iterator[None]:
        fd = os.open(self.partial / self._check(name), os.O_RDONLY)  # FileNotFoundError
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UploadBusy(name) from None
            yield
        finally:
            os.close(fd)

    def write_at(self, name: str, offset: int, data: bytes) -> None:
        path = self.partial / self._check(name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            hasher = self._running_hash(name, fd, offset)
            os.ftruncate(fd, offset)
            view = memoryview(data)
            position = offset
            while view:
                written = os.pwrite(fd, view, position)
                view = view[written:]
                position += written
            if hasher is not None:
                hasher.update(data)
                self._remember(name, fd, hasher)
        finally:
            os.close(fd)

    def append(self, name: str, offset: int) -> Appender:
        return _FileAppender(self, self._check(name), offset)

    def digest(self, name: str) -> str | None:
        path = self.partial / self._check(name)
        with self._lock:
            entry = self._hashes.get(name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        if entry is not None and entry[0] == (stat.st_ino, stat.st_size, stat.st_mtime_ns):
            digest: str = entry[1].copy().hexdigest()
            return digest
        hasher = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                while piece := handle.read(READ_SIZE):
                    hasher.update(piece)
        except FileNotFoundError:
            return None
        return hasher.hexdigest()

    def finish(self, name: str) -> str:
        with self._lock:
            self._hashes.pop(name, None)
        final = self._new_name()
        fd = os.open(self.partial / self._check(name), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.partial / name, self.complete / final)
        fd = os.open(self.complete, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return final

    def read(self, name: str, start: int = 0) -> Iterator[bytes]:
        with (self.complete / self._check(name)).open("rb") as handle:
            handle.seek(start)
            while piece := handle.read(READ_SIZE):
                yield piece

    def size(self, name: str) -> int:
        return (self.complete / self._check(name)).stat().st_size

    def discard(self, name: str) -> None:
        for folder in (self.partial, self.complete):
            (folder / self._check(name)).unlink(missing_ok=True)
