"""A blob chunk's body, received into its `Appender` while two threads hash and write it.

Use `pipe_body(request, appender, body_hash, room, length)` from the chunk route, with the upload
locked. The event loop only gathers the body's pieces (what the server buffered, 64 KiB or
more each) into batches of `PIPE_BATCH` bytes and hands each batch to two threads without
waiting for them: one writes it (`Appender.write_pieces`: one `pwritev`, no joined copy), the
other carries the upload's running SHA-256, and for a chunk signed over its own body that
body's SHA-256 too, through it (`Appender.hash_pieces`). SHA-256 and the write let go of the
GIL, so receiving, hashing and writing run at once, and the slowest of them (hashing, about
1.6 GB/s on one core here) sets the pace rather than their sum: one thread doing both measured
about 1.1 ms per MiB, the hashing thread alone about 0.6 ms.

Danger: the bytes reach the store before they are authenticated. Nothing is left being written
or hashed when `pipe_body` returns or raises; the caller must `undo` the appender unless it
accepted the chunk, and must not read its digest before `pipe_body` returned.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import ClientDisconnect, Request

from server.blobs import Appender
from server.errors import ApiError

PIPE_BATCH = 1024 * 1024
"""Body bytes gathered before they are handed to the threads that hash and write them."""
PIPE_QUEUED = 2
"""Batches that may wait for the slower thread (memory per chunk: about this many MiB)."""
IDLE_TIMEOUT = 30.0
"""Seconds a chunk's body may stop arriving before it is answered 408 and undone (less up to
a thirtieth of it: the deadline moves at most that often)."""
DEADLINE_FLOOR = 60.0
"""Seconds any chunk's body may take in all, however short (see `chunk_deadline`)."""
SLOWEST_RATE = 8 * 1024
"""Bytes a second a chunk's body must average once past `DEADLINE_FLOOR` (see
`chunk_deadline`)."""


def chunk_deadline(length: int) -> float:
    """Seconds a chunk of `length` bytes may take to arrive in all, idle or not:
    max(`DEADLINE_FLOOR`, length / `SLOWEST_RATE`). The upload's lock is held meanwhile, so a
    body trickled just fast enough to dodge `IDLE_TIMEOUT` cannot hold it for ever. A 2G link
    at about 10 KiB/s meets it for any chunk length (a phone's first chunk, 256 KiB, takes
    about 26 s there; its smallest, 64 KiB, about 7 s); a 128 MiB chunk may take 4.5 hours."""
    return max(DEADLINE_FLOOR, length / SLOWEST_RATE)


Work = Callable[[Sequence[bytes]], None]


class _Threads:
    """One thread per kind of work, each going through the same batches in order.

    The event loop hands a batch to every thread at once (`put`, which waits only while some
    thread still has `PIPE_QUEUED` batches to do) and goes back to receiving. The first error
    stops the work and is raised by `put` or `close`.
    """

    def __init__(self, works: Sequence[tuple[str, Work]]) -> None:
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._room = asyncio.Event()
        self._waiting = False
        self._stopping = False
        self._errors: list[BaseException] = []
        self._queued = [0] * len(works)
        self._queues: list[queue.SimpleQueue[Sequence[bytes] | None]] = [
            queue.SimpleQueue() for _ in works
        ]
        self._done = [self._loop.create_future() for _ in works]
        for index, (name, work) in enumerate(works):
            thread = threading.Thread(
                target=self._run, args=(index, work), name=f"fieldvault-chunk-{name}", daemon=True
            )
            thread.start()

    def _run(self, index: int, work: Work) -> None:
        batches = self._queues[index]
        try:
            while (batch := batches.get()) is not None:
                if not self._errors and not self._stopping:
                    try:
                        work(batch)
                    except BaseException as exc:  # handed to the loop by `put` or `close`
                        self._errors.append(exc)
                with self._lock:
                    self._queued[index] -= 1
                    wake, self._waiting = self._waiting, False
                if wake:
                    self._loop.call_soon_threadsafe(self._room.set)
        finally:
            self._loop.call_soon_threadsafe(_resolve, self._done[index])

    async def put(self, batch: Sequence[bytes]) -> None:
        while True:
            if self._errors:
                raise self._errors[0]
            with self._lock:
                if max(self._queued) < PIPE_QUEUED:
                    for index, batches in enumerate(self._queues):
                        self._queued[index] += 1
                        batches.put(batch)
                    return
                self._waiting = True
                self._room.clear()
            await self._room.wait()

    async def close(self, *, stop: bool = False) -> None:
        """Wait until every batch handed over is done (`stop`: dropped instead)."""
        self._stopping = self._stopping or stop
        for batches in self._queues:
            batches.put(None)
        await asyncio.shield(asyncio.gather(*self._done))
        if self._errors and not stop:
            raise self._errors[0]


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def _hashing(appender: Appender, body_hash: Any) -> Work:
    if body_hash is None:
        return appender.hash_pieces

    def both(pieces: Sequence[bytes]) -> None:
        for piece in pieces:
            body_hash.update(piece)
        appender.hash_pieces(pieces)

    return both


async def pipe_body(
    request: Request, appender: Appender, body_hash: Any, room: int, length: int | None = None
) -> None:
    """Write the body into `appender` (and hash it into `body_hash`, if given) as it arrives.

    More than `room` bytes is refused (422 `chunk_too_long`). The upload's lock is held
    meanwhile, so a client that stops sending for `IDLE_TIMEOUT` seconds, or whose `length`
    bytes (`room` if not given) take longer than `chunk_deadline(length)` in all, is answered
    408 and its bytes undone, rather than blocking its own resume (other chunks of the upload
    meanwhile are answered `upload_busy`).
    """
    loop = asyncio.get_running_loop()
    whole = loop.time() + chunk_deadline(room if length is None else length)
    gathered = 0
    batch: list[bytes] = []
    batched = 0
    threads = _Threads((("write", appender.write_pieces), ("hash", _hashing(appender, body_hash))))
    finished = False
    try:
        async with asyncio.timeout(None) as idle:
            rescheduled = -IDLE_TIMEOUT
            while True:
                now = loop.time()
                if now - rescheduled >= IDLE_TIMEOUT / 30:  # not a new timer for every piece
                    idle.reschedule(min(now + IDLE_TIMEOUT, whole))
                    rescheduled = now
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnect()
                piece = message.get("body", b"")
                more = message.get("more_body", False)
                if piece:
                    gathered += len(piece)
                    if gathered > room:
                        raise ApiError(
                            422, "chunk_too_long", "the chunk goes past the declared size"
                        )
                    batch.append(piece)
                    batched += len(piece)
                if batch and (batched >= PIPE_BATCH or not more):
                    await threads.put(batch)
                    batch, batched = [], 0
                if not more:
                    break
        finished = True
    except TimeoutError:
        if loop.time() >= whole:
            raise ApiError(408, "request_timeout", "the chunk took too long") from None
        raise ApiError(408, "request_timeout", "the chunk stopped arriving") from None
    finally:
        await threads.close(stop=not finished)
