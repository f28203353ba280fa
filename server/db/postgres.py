"""PostgreSQL: for organisations that run several server processes or outgrow one machine.

A small pool of psycopg 3 connections in autocommit mode, each unit of work wrapped in an explicit
transaction (READ COMMITTED). Rows that decide something (a device's chain, an invite, the org
document, the feed counter) are read `FOR UPDATE`, so concurrent processes queue on them instead
of racing. Migrations take a transaction-scoped advisory lock, so processes starting together
migrate once.
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


class _PgTx:
    __slots__ = ("_cur",)

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    @staticmethod
    def _sql(sql: str) -> Any:
        return sql.replace("?", "%s")

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cur.execute(self._sql(sql), params)
        return self._cur.rowcount

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(self._sql(sql), params)
        return self._cur.fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self._cur.execute(self._sql(sql), params)
        return self._cur.fetchone()

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cur.executemany(self._sql(sql), rows)


class PostgresRepository(SqlRepository):
    for_update = " FOR UPDATE"
    bytes_type = "BYTEA"
    serial_type = "BIGSERIAL PRIMARY KEY"

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(pool_size)
        self._closed = False

    def _acquire(self) -> psycopg.Connection[Any]:
        self._slots.acquire()
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        try:
            return psycopg.connect(self.url, autocommit=True)
        except BaseException:
            self._slots.release()
            raise

    def _release(self, conn: psycopg.Connection[Any]) -> None:
        if self._closed or conn.closed or conn.broken:
            conn.close()
        else:
            self._idle.put(conn)
        self._slots.release()

    @contextlib.contextmanager
    def _transaction(self, write: bool, durable: bool = True) -> Iterator[Tx]:
        conn = self._acquire()
        try:
            with conn.transaction(), conn.cursor() as cur:
                if not durable:
                    cur.execute("SET LOCAL synchronous_commit = off")
                yield _PgTx(cur)
        finally:
            self._release(conn)

    def _migration_lock(self, tx: Tx) -> None:
        tx.one("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK_ID,))

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
