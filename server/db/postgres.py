"""PostgreSQL: for organisations that run several server processes or outgrow one machine.

A small pool of psycopg 3 connections in autocommit mode (`ConnectionPool`, which the PostgreSQL
blob store shares), each unit of work wrapped in an explicit transaction (READ COMMITTED). Rows
that decide something (a device's chain, an invite, the org document, the feed counter) are
read `FOR UPDATE`, so concurrent processes queue on them instead of racing. Migrations take a
transaction-scoped advisory lock, so processes starting together migrate once.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from server.db.sql import SqlRepository, Tx

POOL_SIZE = 16
_MIGRATION_LOCK_ID = 0x46564D47  # "FVMG"


def pg_sql(statement: str) -> Any:
    """A statement written with `?` placeholders (as for SQLite) in psycopg's `%s` style."""
    return statement.replace("?", "%s")


class ConnectionPool:
    """Autocommit psycopg connections to `url`, the last one given back reused first.

    `size`: at most this many are out at once (`acquire` waits for one); None, no bound.
    `idle`: at most this many are kept open while unused; None, every one given back.
    """

    def __init__(self, url: str, *, size: int | None = None, idle: int | None = None) -> None:
        self.url = url
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._max_idle = idle
        self._slots = threading.BoundedSemaphore(size) if size is not None else None
        self._closed = False

    def acquire(self) -> psycopg.Connection[Any]:
        if self._slots is not None:
            self._slots.acquire()
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        try:
            return psycopg.connect(self.url, autocommit=True)
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise

    def release(self, conn: psycopg.Connection[Any]) -> None:
        full = self._max_idle is not None and self._idle.qsize() >= self._max_idle
        if self._closed or conn.closed or conn.broken or full:
            conn.close()
        else:
            self._idle.put(conn)
        if self._slots is not None:
            self._slots.release()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        conn = self.acquire()
        try:
            yield conn
        finally:
            self.release(conn)

    def close(self) -> None:
        """Close the idle connections; those still out are closed when given back."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break


class _PgTx:
    __slots__ = ("_cur",)

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cur.execute(pg_sql(sql), params)
        return self._cur.rowcount

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(pg_sql(sql), params)
        return self._cur.fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self._cur.execute(pg_sql(sql), params)
        return self._cur.fetchone()

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cur.executemany(pg_sql(sql), rows)


class PostgresRepository(SqlRepository):
    for_update = " FOR UPDATE"
    bytes_type = "BYTEA"
    serial_type = "BIGSERIAL PRIMARY KEY"

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self._pool = ConnectionPool(url, size=pool_size)

    @contextlib.contextmanager
    def _transaction(self, write: bool, durable: bool = True) -> Iterator[Tx]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if not durable:
                cur.execute("SET LOCAL synchronous_commit = off")
            yield _PgTx(cur)

    def _migration_lock(self, tx: Tx) -> None:
        tx.one("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK_ID,))

    def close(self) -> None:
        self._pool.close()
