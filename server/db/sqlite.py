"""SQLite in WAL mode: the default store, one file in the data directory.

One connection per thread (uvicorn serves synchronous endpoints from a thread pool). Writers of
one process take turns on a lock, then `BEGIN IMMEDIATE`, so they never fail halfway (other
processes on the same file wait in SQLite's busy handler); reads use a deferred transaction and
see one consistent snapshot, in parallel with the writer (WAL).

Durability: `synchronous=FULL`, so every acknowledged envelope, invite or command is on disk
before the answer leaves (a device may delete its copy once the server acknowledged it). Only
nonce bookkeeping commits with `synchronous=NORMAL` (the WAL is flushed by the next durable
commit; a power cut may lose a few nonces, never corrupt the database). Operators who accept
losing the last acknowledged transactions in a power cut may set
`FIELDVAULT_SQLITE_SYNCHRONOUS=NORMAL` for everything.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from server.db.sql import SqlRepository, Tx

BUSY_TIMEOUT_MS = 30_000


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL. On a new file several connections opening at once (server
    processes starting together) can find it locked: SQLite's busy handler does not cover a
    change of journal mode, so this waits here instead, for up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class _SqliteTx:
    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)


class SqliteRepository(SqlRepository):
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._synchronous = os.environ.get("FIELDVAULT_SQLITE_SYNCHRONOUS", "FULL").upper()
        if self._synchronous not in {"NORMAL", "FULL"}:
            raise ValueError("FIELDVAULT_SQLITE_SYNCHRONOUS must be NORMAL or FULL")

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _use_wal(conn)
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def _transaction(self, write: bool, durable: bool = True) -> Iterator[Tx]:
        if not write:
            with self._run(False, durable) as tx:
                yield tx
            return
        # Writers of this process queue here, in order, instead of in SQLite's busy handler,
        # which sleeps in growing steps and lets a waiting writer starve for seconds.
        with self._writer, self._run(True, durable) as tx:
            yield tx

    @contextlib.contextmanager
    def _run(self, write: bool, durable: bool) -> Iterator[Tx]:
        conn = self._connection()
        if write:
            wanted = self._synchronous if durable else "NORMAL"
            if getattr(self._local, "synchronous", None) != wanted:
                conn.execute(f"PRAGMA synchronous = {wanted}")
                self._local.synchronous = wanted
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield _SqliteTx(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migration_lock(self, tx: Tx) -> None:
        """BEGIN IMMEDIATE already excludes every other writer."""

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
