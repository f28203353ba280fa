"""A chunk's body piped into the blob store while one thread writes and another hashes it
(`server.blob_pipe`), and the writes it relies on (`server.blobs.pwrite_all`)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from starlette.requests import Request

from server import blob_pipe, blobs
from server.blob_pipe import PIPE_BATCH, pipe_body
from server.blobs import IOV_MAX, Appender, DirectoryBlobStore, pwrite_all
from server.errors import ApiError


class _Body:
    """What the server's request hands the route: the body in pieces (`pause` seconds apart),
    then its end, or (`stall`) nothing more after the pieces."""

    def __init__(self, pieces: Sequence[bytes], pause: float = 0, stall: bool = False) -> None:
        self._messages: list[dict[str, Any]] = [
            {"type": "http.request", "body": piece, "more_body": True} for piece in pieces
        ]
        if not stall:
            self._messages.append({"type": "http.request", "body": b"", "more_body": False})
        self._pause = pause

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(self._pause)
        if not self._messages:
            await asyncio.sleep(3600)
        return self._messages.pop(0)


def _uneven(data: bytes, seed: int, largest: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces, at = [], 0
    while at < len(data):
        step = rng.randint(0, largest)  # empty pieces too
        pieces.append(data[at : at + step])
        at += step
    return pieces


def _pipe(
    appender: Appender,
    pieces: Sequence[bytes] | _Body,
    body_hash: Any = None,
    room: int = 1 << 40,
) -> None:
    body = pieces if isinstance(pieces, _Body) else _Body(pieces)
    asyncio.run(pipe_body(cast(Request, body), appender, body_hash, room))


def _chunk_threads() -> list[str]:
    """The pipe's threads still running a moment after it returned (they end right after
    their last batch)."""
    deadline = time.monotonic() + 2
    while True:
        names = [t.name for t in threading.enumerate() if t.name.startswith("fieldvault-chunk")]
        if not names or time.monotonic() > deadline:
            return names
        time.sleep(0.01)


@pytest.fixture
def store(tmp_path: Path) -> DirectoryBlobStore:
    return DirectoryBlobStore(tmp_path / "blobs")


def test_a_body_in_thousands_of_uneven_pieces_is_written_and_hashed_whole(
    store: DirectoryBlobStore,
) -> None:
    data = os.urandom(3 * PIPE_BATCH + 12_345)
    name = store.create()
    appender = store.append(name, 0)
    appender.hash_upload()
    body_hash = hashlib.sha256()
    _pipe(appender, _uneven(data, seed=1, largest=3000), body_hash)
    assert appender.written == len(data)
    assert appender.upload_digest() == hashlib.sha256(data).hexdigest()
    assert body_hash.hexdigest() == hashlib.sha256(data).hexdigest()
    assert appender.keep()
    final = store.finish(name)
    assert b"".join(store.read(final)) == data
    assert _chunk_threads() == []


def test_the_upload_digest_runs_on_from_the_bytes_before_the_chunk(
    store: DirectoryBlobStore,
) -> None:
    before, data = os.urandom(5000), os.urandom(PIPE_BATCH + 1)
    name = store.create()
    store.write_at(name, 0, before)
    appender = store.append(name, len(before))
    appender.hash_upload()
    _pipe(appender, _uneven(data, seed=2, largest=70_000))
    assert appender.upload_digest() == hashlib.sha256(before + data).hexdigest()


class _FailingAppender(Appender):
    """Writes fail from the second batch on; hashing counts what it saw."""

    def __init__(self) -> None:
        self.written = 0
        self.batches = 0
        self.hashed = 0

    def write_pieces(self, pieces: Sequence[bytes]) -> None:
        self.batches += 1
        if self.batches >= 2:
            raise OSError("the disk is full")
        self.written += sum(len(p) for p in pieces)

    def hash_pieces(self, pieces: Sequence[bytes]) -> None:
        self.hashed += sum(len(p) for p in pieces)

    def keep(self, blob_id: str | None = None) -> bool:
        raise AssertionError("a failed chunk is never kept")

    def undo(self) -> None:
        pass

    def hash_upload(self) -> None:
        pass

    def upload_digest(self) -> str:
        raise AssertionError("a failed chunk has no digest")


def test_a_failing_write_stops_the_body_and_is_raised_with_no_thread_left_behind() -> None:
    appender = _FailingAppender()
    pieces = [os.urandom(64 * 1024) for _ in range(10 * PIPE_BATCH // (64 * 1024))]
    with pytest.raises(OSError, match="the disk is full"):
        _pipe(appender, pieces)
    assert appender.written == PIPE_BATCH
    assert appender.batches < 10  # it stopped reading, rather than taking the whole body
    assert _chunk_threads() == []


def test_a_body_longer_than_the_room_left_is_refused_as_too_long(
    store: DirectoryBlobStore,
) -> None:
    name = store.create()
    appender = store.append(name, 0)
    with pytest.raises(ApiError) as refused:
        _pipe(appender, [b"x" * 600, b"y" * 600], room=1000)
    assert refused.value.reason == "chunk_too_long"
    appender.undo()
    assert store.digest(name) == hashlib.sha256(b"").hexdigest()
    assert _chunk_threads() == []


def test_pieces_are_written_in_order_past_the_buffers_one_call_takes(tmp_path: Path) -> None:
    data = os.urandom(3 * IOV_MAX * 7 + 3)
    pieces = [data[at : at + 7] for at in range(0, len(data), 7)] + [b""]
    path = tmp_path / "f"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"head")
        assert pwrite_all(fd, pieces, 4) == len(data)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"head" + data


def test_a_short_write_goes_on_from_the_byte_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.pwritev
    calls = []

    def short(fd: int, buffers: Sequence[Any], offset: int) -> int:
        calls.append(len(buffers))
        first = memoryview(buffers[0])
        return real(fd, [first[: max(1, first.nbytes // 3)]], offset)

    monkeypatch.setattr(blobs.os, "pwritev", short)
    data = os.urandom(1000)
    path = tmp_path / "f"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        assert pwrite_all(fd, [data[:400], data[400:401], data[401:]], 0) == len(data)
    finally:
        os.close(fd)
    assert path.read_bytes() == data
    assert len(calls) > 3


def test_a_body_that_stops_arriving_is_answered_408_and_nothing_is_left_running(
    store: DirectoryBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blob_pipe, "IDLE_TIMEOUT", 0.3)
    name = store.create()
    appender = store.append(name, 0)
    started = time.monotonic()
    with pytest.raises(ApiError) as refused:
        _pipe(appender, _Body([b"x" * 1000], stall=True))
    assert refused.value.reason == "request_timeout"
    assert time.monotonic() - started < 5
    assert _chunk_threads() == []


def test_a_body_trickled_past_its_whole_chunk_deadline_is_answered_408_however_steady(
    store: DirectoryBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blob_pipe, "IDLE_TIMEOUT", 0.3)
    monkeypatch.setattr(blob_pipe, "DEADLINE_FLOOR", 0.5)
    data = os.urandom(40 * 10)
    name = store.create()
    appender = store.append(name, 0)
    appender.hash_upload()
    started = time.monotonic()
    with pytest.raises(ApiError) as refused:
        body = _Body([data[at : at + 10] for at in range(0, len(data), 10)], pause=0.05)
        asyncio.run(pipe_body(cast(Request, body), appender, None, 1 << 40, len(data)))
    assert (refused.value.status_code, refused.value.reason) == (408, "request_timeout")
    assert time.monotonic() - started < 1.5  # the body alone would take 2 s: cut at 0.5 s
    appender.undo()
    assert _chunk_threads() == []


def test_a_whole_chunk_deadline_lets_a_2g_link_send_any_chunk_the_phone_sends() -> None:
    rate_2g = 10 * 1024
    for length in (64 * 1024, 256 * 1024, 16 * 1024 * 1024, 128 * 1024 * 1024):
        assert blob_pipe.chunk_deadline(length) >= length / rate_2g
    assert blob_pipe.chunk_deadline(1) == blob_pipe.DEADLINE_FLOOR


def test_a_slow_body_that_keeps_arriving_is_never_cut_off(
    store: DirectoryBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blob_pipe, "IDLE_TIMEOUT", 0.3)
    data = os.urandom(20 * 1000)
    name = store.create()
    appender = store.append(name, 0)
    appender.hash_upload()
    _pipe(appender, _Body([data[at : at + 1000] for at in range(0, len(data), 1000)], pause=0.05))
    assert appender.upload_digest() == hashlib.sha256(data).hexdigest()
