"""The PostgreSQL blob store: blob bytes in the database, so server machines share nothing else.

Use `open_blob_store(config, repo)` (`server.blobs`), which picks this store on PostgreSQL. Any
number of server processes on any number of machines then share one database, one `pg_dump`
and one restore; no shared file system.

Tables (migration 2): `blob_files` has one row per upload (its random storage name, length so
far, a version bumped by every write, and whether it is finished); `blob_chunks` holds its
bytes in rows of up to `ROW_SIZE`, keyed by (file, start offset). No whole blob is ever in
memory: an upload is written a row at a time as its body arrives, and `read` and `digest`
fetch one row per short query, so a slow download holds no connection between rows.

Transactions: an `Appender` opens one transaction when a chunk starts, cuts the upload back to
the chunk's offset, inserts rows as bytes arrive, and on `keep(blob_id)` moves the blob's
recorded offset (`server.db.sql.ADVANCE_BLOB`) and commits, all at once; `undo` (a bad
signature, a dropped connection) rolls it all back. So the rows of an upload and its recorded
offset never disagree, not even after a crash, and nothing of an unfinished upload is ever
readable: `read` and `size` see only finished files. `finish` renames a verified upload and
marks it finished in one durable commit. Chunk commits skip their own flush to disk
(`synchronous_commit = off`, like `Repository.advance_blob`): a power cut may take the last
chunks back off, together with their offset, and the device re-sends them.

Locking: `locked(name)` takes a session advisory lock on a dedicated connection, so writers on
every machine queue per upload; request handlers only try it (`wait=False`:
`pg_try_advisory_lock`, `UploadBusy` if held) and never queue, so no waiting request pins a
connection. Operations on a name this process holds run on that connection.
A connection's lock dies with it, so a crashed process never leaves an upload stuck.

Hashing: a running SHA-256 per upload this process writes, trusted only while the file's
`version` is the one this process wrote last; otherwise (another machine wrote in between)
`digest` re-reads the rows. It is a cache: losing it costs a re-read, never correctness.

Blobs finished in `DATA/blobs` before a server moved to this store are still read (and
deleted) from there when `legacy` is given: see `adopt_directory` to move them in.

Danger: a held lock pins a database connection (and, while a chunk arrives, an open
transaction) for as long as its caller holds it: hold it around one chunk, never longer. Every
value reaches SQL as a parameter; names are checked (`_check`) before they become lock keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from server.blobs import (
    HASH_CACHE_ENTRIES,
    NAME,
    Appender,
    BlobStore,
    DirectoryBlobStore,
    UploadBusy,
    hash_prefix,
)
from server.db.postgres import ConnectionPool, pg_sql
from server.db.sql import ADVANCE_BLOB

ROW_SIZE = 1024 * 1024
"""Bytes per `blob_chunks` row (the last row of each chunk may be shorter)."""
ROWS_QUEUED = 4
"""Rows of one chunk that may wait for the database (memory per upload: about 6 MiB)."""
IDLE_CONNECTIONS = 8
_LOCK_SPACE = 0x46564231  # "FVB1": advisory locks of this store, apart from the migration lock
_log = logging.getLogger("fieldvault.server")


def _lock_key(name: str) -> int:
    """A signed 32-bit key from the random name (a collision only makes two uploads queue)."""
    return int(name[:8], 16) - 2**31


class _PgAppender(Appender):
    """One chunk in one transaction: rows inserted as they fill, offset moved at `keep`."""

    def __init__(
        self, store: PostgresBlobStore, name: str, offset: int, conn: psycopg.Connection[Any]
    ) -> None:
        self._store, self._name, self._offset, self._conn = store, name, offset, conn
        self._buffer = bytearray()
        self._position = offset
        self._rows: _RowWriter | None = None
        self.written = 0
        self._open = True
        try:
            conn.execute("BEGIN")
            row = conn.execute(
                "SELECT id, length, version FROM blob_files WHERE name = %s AND complete = 0"
                " FOR UPDATE",
                (name,),
            ).fetchone()
            if row is None:
                raise FileNotFoundError(name)
            self._file, length, self._version = int(row[0]), int(row[1]), int(row[2])
            if offset > length:
                raise ValueError("an upload can only be cut back, not extended")
            _truncate(conn, self._file, offset)
            self._hasher = store._running_hash(name, self._version, length, offset)
        except BaseException:
            self._end(commit=False)
            raise

    def write_pieces(self, pieces: Sequence[bytes]) -> None:
        for data in pieces:
            self._buffer += data
            self.written += len(data)
            while len(self._buffer) >= ROW_SIZE:
                self._insert(bytes(self._buffer[:ROW_SIZE]))
                del self._buffer[:ROW_SIZE]

    def hash_pieces(self, pieces: Sequence[bytes]) -> None:
        hasher = self._hasher
        if hasher is not None:
            for data in pieces:
                hasher.update(data)

    def _insert(self, data: bytes) -> None:
        if self._rows is None:
            self._rows = _RowWriter(self._conn, self._file)
        self._rows.put(self._position, data)
        self._position += len(data)

    def keep(self, blob_id: str | None = None) -> bool:
        if not self._open:
            return True
        try:
            if self._buffer:
                self._insert(bytes(self._buffer))
                self._buffer.clear()
            if self._rows is not None:
                self._rows.finish()
            end = self._offset + self.written
            if blob_id is not None and self.written:
                moved = self._conn.execute(pg_sql(ADVANCE_BLOB), (end, blob_id, self._offset))
                if moved.rowcount != 1:
                    self.undo()
                    return False
            version = self._version + 1
            self._conn.execute(
                "UPDATE blob_files SET length = %s, version = %s WHERE id = %s",
                (end, version, self._file),
            )
            self._conn.execute("SET LOCAL synchronous_commit = off")
        except BaseException:
            self.undo()
            raise
        self._end(commit=True)
        if self._hasher is not None:
            self._store._remember(self._name, version, end, self._hasher)
        return True

    def undo(self) -> None:
        if self._open:
            self._end(commit=False)

    def hash_upload(self) -> None:
        if self._hasher is None:
            # the rows before this chunk as committed (this transaction's cut is not seen)
            rows = self._store._rows(self._file, self._offset, self._name)
            self._hasher = hash_prefix(rows, self._offset)

    def upload_digest(self) -> str:
        if self._hasher is None:
            raise ValueError("hash_upload() was not called before writing")
        digest: str = self._hasher.copy().hexdigest()
        return digest

    def _end(self, *, commit: bool) -> None:
        self._open = False
        self._buffer = bytearray()
        try:
            if self._rows is not None:
                self._rows.stop()
            self._conn.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            self._store._done_with(self._name, self._conn)


class _RowWriter:
    """Inserts one chunk's rows on a thread of its own, so the bytes of the next row arrive
    (on the server's event loop) while the last one travels to the database. At most
    `ROWS_QUEUED` rows wait; past that `put` waits too, which slows the sender to the
    database's pace. The first error stops the writing and is raised by `put` or `finish`."""

    def __init__(self, conn: psycopg.Connection[Any], file_id: int) -> None:
        self._conn, self._file = conn, file_id
        self._queue: queue.Queue[tuple[int, bytes] | None] = queue.Queue(ROWS_QUEUED)
        self._error: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None or self._stopping:
                continue  # drain, so `put` never waits on a writer that gave up
            try:
                self._conn.execute(
                    "INSERT INTO blob_chunks (file_id, start, data) VALUES (%s, %s, %s)",
                    (self._file, item[0], item[1]),
                )
            except BaseException as exc:
                self._error = exc

    def put(self, start: int, data: bytes) -> None:
        self._raise()
        self._queue.put((start, data))

    def finish(self) -> None:
        """Wait until every row is in; raise the writer's error if there was one."""
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def stop(self) -> None:
        """Drop the rows not written yet and wait for the thread (idempotent)."""
        self._stopping = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


def _truncate(conn: psycopg.Connection[Any], file_id: int, offset: int) -> None:
    """Make the file `offset` bytes long (inside the caller's transaction)."""
    conn.execute("DELETE FROM blob_chunks WHERE file_id = %s AND start >= %s", (file_id, offset))
    last = conn.execute(
        "SELECT start, length(data) FROM blob_chunks WHERE file_id = %s"
        " ORDER BY start DESC LIMIT 1",
        (file_id,),
    ).fetchone()
    if last is not None and int(last[0]) + int(last[1]) > offset:
        conn.execute(
            "UPDATE blob_chunks SET data = substring(data FROM 1 FOR %s)"
            " WHERE file_id = %s AND start = %s",
            (offset - int(last[0]), file_id, int(last[0])),
        )


class PostgresBlobStore(BlobStore):
    """Blob bytes in the PostgreSQL database at `url` (the server's own database).

    `legacy`: the directory store of blobs finished before the server moved here; they are read
    from it until `adopt_directory` moved them.
    """

    def __init__(self, url: str, *, legacy: DirectoryBlobStore | None = None) -> None:
        self.url = url
        self.legacy = legacy
        self._pool = ConnectionPool(url, idle=IDLE_CONNECTIONS)
        self._held: dict[str, psycopg.Connection[Any]] = {}
        self._hashes: OrderedDict[str, tuple[tuple[int, int], Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._adopter: threading.Thread | None = None

    # -- connections ----------------------------------------------------------------------------
    def _for(self, name: str) -> tuple[psycopg.Connection[Any], bool]:
        """The connection holding `name`'s lock in this process, else a pooled one (owned)."""
        with self._lock:
            held = self._held.get(name)
        return (held, False) if held is not None else (self._pool.acquire(), True)

    def _done_with(self, name: str, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            held = self._held.get(name) is conn
        if not held:
            self._pool.release(conn)

    @contextlib.contextmanager
    def _tx(self, name: str) -> Iterator[psycopg.Connection[Any]]:
        conn, owned = self._for(name)
        try:
            with conn.transaction():
                yield conn
        finally:
            if owned:
                self._pool.release(conn)

    def close(self) -> None:
        self._pool.close()

    # -- hashing --------------------------------------------------------------------------------
    def _running_hash(self, name: str, version: int, length: int, offset: int) -> Any:
        with self._lock:
            entry = self._hashes.pop(name, None)
        if offset == 0:
            return hashlib.sha256()
        if entry is None or entry[0] != (version, length) or length != offset:
            return None
        return entry[1]

    def _remember(self, name: str, version: int, length: int, hasher: Any) -> None:
        with self._lock:
            self._hashes[name] = ((version, length), hasher)
            while len(self._hashes) > HASH_CACHE_ENTRIES:
                self._hashes.popitem(last=False)

    def _forget(self, name: str) -> None:
        with self._lock:
            self._hashes.pop(name, None)

    # -- the store ------------------------------------------------------------------------------
    def create(self) -> str:
        name = self._new_name()
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO blob_files (name, length, version, complete) VALUES (%s, 0, 0, 0)",
                (name,),
            )
        return name

    @contextlib.contextmanager
    def locked(self, name: str, *, wait: bool = True) -> Iterator[None]:
        key = _lock_key(self._check(name))
        conn = self._pool.acquire()
        try:
            if wait:
                conn.execute("SELECT pg_advisory_lock(%s, %s)", (_LOCK_SPACE, key))
            else:
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_SPACE, key)
                ).fetchone()
                if row is None or not row[0]:
                    raise UploadBusy(name)
            try:
                row = conn.execute(
                    "SELECT 1 FROM blob_files WHERE name = %s AND complete = 0", (name,)
                ).fetchone()
                if row is None:
                    raise FileNotFoundError(name)
                with self._lock:
                    self._held[name] = conn
                try:
                    yield
                finally:
                    with self._lock:
                        self._held.pop(name, None)
            finally:
                if not conn.broken:
                    conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_LOCK_SPACE, key))
        finally:
            self._pool.release(conn)

    def write_at(self, name: str, offset: int, data: bytes) -> None:
        appender = self.append(name, offset)
        try:
            appender.write(data)
        except BaseException:
            appender.undo()
            raise
        appender.keep()

    def append(self, name: str, offset: int) -> Appender:
        conn, _ = self._for(self._check(name))
        return _PgAppender(self, name, offset, conn)  # gives `conn` back when it ends

    def digest(self, name: str) -> str | None:
        with self._tx(self._check(name)) as conn:
            row = conn.execute(
                "SELECT id, length, version FROM blob_files WHERE name = %s AND complete = 0",
                (name,),
            ).fetchone()
        if row is None:
            return None
        file_id, length, version = int(row[0]), int(row[1]), int(row[2])
        with self._lock:
            entry = self._hashes.get(name)
        if entry is not None and entry[0] == (version, length):
            digest: str = entry[1].copy().hexdigest()
            return digest
        hasher = hashlib.sha256()
        for piece in self._rows(file_id, length, name):
            hasher.update(piece)
        return hasher.hexdigest()

    def finish(self, name: str) -> str:
        self._forget(self._check(name))
        final = self._new_name()
        with self._tx(name) as conn:
            changed = conn.execute(
                "UPDATE blob_files SET name = %s, complete = 1 WHERE name = %s AND complete = 0",
                (final, name),
            ).rowcount
        if changed != 1:
            raise FileNotFoundError(name)
        return final

    def _finished(self, name: str) -> tuple[int, int] | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT id, length FROM blob_files WHERE name = %s AND complete = 1", (name,)
            ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def read(self, name: str, start: int = 0) -> Iterator[bytes]:
        found = self._finished(self._check(name))
        if found is None:
            if self.legacy is not None:
                yield from self.legacy.read(name, start)
                return
            raise FileNotFoundError(name)
        yield from self._rows(found[0], found[1], name, start)

    def _rows(self, file_id: int, length: int, name: str, start: int = 0) -> Iterator[bytes]:
        """The file's bytes from `start` to `length`, one row per short query."""
        position = start
        while position < length:
            with self._pool.connection() as conn:
                row = conn.execute(
                    "SELECT start, data FROM blob_chunks WHERE file_id = %s AND start <= %s"
                    " ORDER BY start DESC LIMIT 1",
                    (file_id, position),
                    binary=True,
                ).fetchone()
            if row is None or int(row[0]) + len(row[1]) <= position:
                raise FileNotFoundError(name)  # deleted (or cut) while being read
            data = bytes(row[1])
            if position > int(row[0]):
                data = data[position - int(row[0]) :]
            position += len(data)
            yield data

    def size(self, name: str) -> int:
        found = self._finished(self._check(name))
        if found is None:
            if self.legacy is not None:
                return self.legacy.size(name)
            raise FileNotFoundError(name)
        return found[1]

    def start_adopting(self) -> None:
        """`adopt_directory` in a background thread, if `legacy` holds finished blobs."""
        if self.legacy is None or not any(self.legacy.complete.iterdir()):
            return
        self._adopter = threading.Thread(target=self._adopt_quietly, daemon=True)
        self._adopter.start()

    def wait_adopted(self, timeout: float | None = None) -> None:
        """Wait for `start_adopting`'s thread, if there is one."""
        if self._adopter is not None:
            self._adopter.join(timeout)

    def _adopt_quietly(self) -> None:
        try:
            self.adopt_directory()
        except Exception as exc:  # retried at the next start; the files are still served
            _log.warning("moving finished blobs into the database stopped: %s", type(exc).__name__)

    def adopt_directory(self) -> int:
        """Move the finished blobs of `legacy` into the database, under the same names; return
        how many moved. Each is copied a row at a time and committed before its file is deleted,
        so a crash leaves it in one place or the other (a copy committed twice is refused by the
        name's uniqueness). Uploads in progress there are not moved: they restart."""
        if self.legacy is None:
            return 0
        moved = 0
        for path in sorted(self.legacy.complete.iterdir()):
            if not NAME.match(path.name):
                continue
            with self._pool.connection() as conn, conn.transaction():
                inserted = conn.execute(
                    "INSERT INTO blob_files (name, length, version, complete)"
                    " VALUES (%s, 0, 0, 1) ON CONFLICT (name) DO NOTHING RETURNING id",
                    (path.name,),
                ).fetchone()
                if inserted is not None:
                    length = 0
                    with path.open("rb") as handle:
                        while piece := handle.read(ROW_SIZE):
                            conn.execute(
                                "INSERT INTO blob_chunks (file_id, start, data)"
                                " VALUES (%s, %s, %s)",
                                (inserted[0], length, piece),
                            )
                            length += len(piece)
                    conn.execute(
                        "UPDATE blob_files SET length = %s WHERE id = %s", (length, inserted[0])
                    )
            path.unlink(missing_ok=True)
            moved += inserted is not None
        return moved

    def discard(self, name: str) -> None:
        self._forget(self._check(name))
        with self._tx(name) as conn:
            conn.execute("DELETE FROM blob_files WHERE name = %s", (name,))
        if self.legacy is not None:
            self.legacy.discard(name)
