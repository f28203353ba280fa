"""Attacks on streamed blob chunks (up to the 128 MiB the server names), from three sides.

A rogue enrolled phone (a valid device key, its own uploads) against the real server on
loopback, on the directory store and on the PostgreSQL store; a network that cuts a streamed
chunk half-way, and a phone killed mid-upload; a hostile server that lies about its chunk limit
or its offsets to a real phone uploader. Each test says what the attacker cannot do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import psycopg
import pytest
import requests
from fastapi.testclient import TestClient

from core.records import Record
from core.vault_port import DeviceVaultPort
from server import blobs as server_blobs
from server.app import create_app
from server.config import ServerConfig
from server.tokens import new_token, token_hash
from sync.auth import sign_request
from sync.client import Client
from sync.encoding import b64u_encode, canonical_json
from sync.errors import ProtocolError, SyncError
from sync.outbox import CHECKPOINT_BYTES
from sync.pacing import HEADER_CHUNK_LIMIT, SERVER_CHUNK_LIMIT, SMALLEST, ChunkPacer
from sync.upload import BlobUploader
from tests.server.helpers import Actor, Clock, Harness, Org
from tests.support.fault_proxy import Fault, FaultProxy, RequestInfo, SlowLink
from tests.support.live_server import LiveServer, postgres_database, start_live_server

MIB = 1024 * 1024
NAMED_LIMIT = 128 * MIB
ENGINE_LARGEST = 128 * MIB


class _Now(Clock):
    """The real time, for signing requests to a live server."""

    def __call__(self) -> int:
        return int(time.time())


@dataclasses.dataclass
class Live:
    server: LiveServer
    api: Harness
    org: Org

    @property
    def port(self) -> int:
        return int(self.server.url.rsplit(":", 1)[1])

    def enrol(self) -> Actor:
        return self.api.enrol(self.org)


@contextlib.contextmanager
def _live(data: Path, db_url: str | None = None, **env: str) -> Iterator[Live]:
    environment = {"FIELDVAULT_QUOTA_BLOB_BYTES_PER_DAY": str(1024 * MIB), **env}
    if db_url is not None:
        environment["FIELDVAULT_BLOB_STORE"] = "database"
    with start_live_server(data, db_url, environment=environment) as server:
        session = requests.Session()
        session.trust_env = False
        api = Harness(session, server.url, _Now())
        org = Org.new()
        api.bootstrap(org, server.bootstrap_token)
        try:
            yield Live(server, api, org)
        finally:
            session.close()


@pytest.fixture(scope="module")
def directory_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with _live(tmp_path_factory.mktemp("directory")) as live:
        yield live


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with postgres_database() as url, _live(tmp_path_factory.mktemp("postgres"), url) as live:
        yield live


@pytest.fixture(params=["directory", "postgres"])
def live(request: pytest.FixtureRequest) -> Live:
    """The real server with blobs in a directory, or in PostgreSQL."""
    value: Live = request.getfixturevalue(f"{request.param}_server")
    return value


# -- a rogue phone's own requests ----------------------------------------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def announce(live: Live, device: Actor, blob: bytes) -> str:
    blob_id = uuid.uuid4().hex
    body = {"id": blob_id, "size": len(blob), "sha256": _sha(blob)}
    answer = live.api.call("POST", "/v1/blobs", device, json=body)
    assert answer.status_code == 201, answer.text
    assert answer.headers[HEADER_CHUNK_LIMIT] == str(NAMED_LIMIT)
    return blob_id


def status(live: Live, device: Actor, blob_id: str) -> dict[str, Any]:
    answer = live.api.call("GET", f"/v1/blobs/{blob_id}/status", device)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _chunk_target(blob_id: str, offset: int) -> str:
    return f"/v1/blobs/{blob_id}/chunks?offset={offset}"


def put(
    live: Live, device: Actor, blob_id: str, offset: int, data: bytes, upload_sha256: str
) -> requests.Response:
    """A chunk signed over the upload's digest `upload_sha256`, as current phones send it."""
    target = _chunk_target(blob_id, offset)
    headers = sign_request(
        device.key, "PUT", target, b"", now=int(time.time()), upload_sha256=upload_sha256
    )
    return requests.put(live.server.url + target, data=data, headers=headers, timeout=30)


def put_good(live: Live, device: Actor, blob_id: str, blob: bytes, start: int, end: int) -> Any:
    answer = put(live, device, blob_id, start, blob[start:end], _sha(blob[:end]))
    assert answer.status_code == 200, answer.text
    return answer.json()


def raw_head(
    live: Live, device: Actor, blob_id: str, offset: int, length: int, upload_sha256: str
) -> bytes:
    """The head of a chunk request declaring `length` body bytes, for sending by hand."""
    target = _chunk_target(blob_id, offset)
    headers = sign_request(
        device.key, "PUT", target, b"", now=int(time.time()), upload_sha256=upload_sha256
    )
    lines = [f"PUT {target} HTTP/1.1", f"Host: 127.0.0.1:{live.port}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def connect(live: Live, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", live.port), timeout=timeout)


def read_answer(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of the one answer on `sock` (the server may close after it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            raise ConnectionError(f"closed before an answer: {data!r}")
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    status_code = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            break
        body += more
    return status_code, json.loads(body[:length]) if length else {}


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def download(live: Live, blob_id: str) -> bytes:
    answer = live.api.call("GET", f"/v1/blobs/{blob_id}", live.org.coordinator)
    assert answer.status_code == 200, answer.text
    return answer.content


def begin(live: Live, size: int, *, stored: int = 0) -> tuple[Actor, bytes, str]:
    """A newly enrolled phone, `size` random bytes it announced as a blob, and that blob's id,
    with its first `stored` bytes already taken by the server."""
    device = live.enrol()
    blob = os.urandom(size)
    blob_id = announce(live, device, blob)
    if stored:
        put_good(live, device, blob_id, blob, 0, stored)
    return device, blob, blob_id


def finish(live: Live, device: Actor, blob_id: str, blob: bytes, offset: int) -> None:
    """The blob's bytes from `offset` on are taken in one chunk, and it downloads whole."""
    put_good(live, device, blob_id, blob, offset, len(blob))
    assert download(live, blob_id) == blob


def test_a_chunk_cut_short_of_its_content_length_is_never_counted_and_the_upload_resumes(
    live: Live,
) -> None:
    device, blob, blob_id = begin(live, 3 * MIB, stored=MIB)
    # A streamed chunk declaring 2 MiB whose connection ends after 1.5 MiB of it.
    with connect(live) as sock:
        sock.sendall(raw_head(live, device, blob_id, MIB, 2 * MIB, _sha(blob)))
        sock.sendall(blob[MIB : MIB + 3 * MIB // 2])
        time.sleep(0.2)
    wait_for(lambda: status(live, device, blob_id)["offset"] == MIB)
    time.sleep(0.3)  # the undo has run: the offset stays put and the next chunk is taken there
    assert status(live, device, blob_id) == {"offset": MIB, "size": 3 * MIB, "complete": False}
    answer = put_good(live, device, blob_id, blob, MIB, 3 * MIB)
    assert answer == {"offset": 3 * MIB, "complete": True}
    assert download(live, blob_id) == blob


def test_bytes_sent_past_a_chunks_content_length_never_become_part_of_the_upload(
    live: Live,
) -> None:
    device, blob, blob_id = begin(live, 2 * MIB)
    junk = b"GARBAGE!" * (64 * 1024)
    with connect(live) as sock:
        sock.sendall(raw_head(live, device, blob_id, 0, MIB, _sha(blob[:MIB])) + blob[:MIB] + junk)
        with contextlib.suppress(ConnectionError, ValueError):
            read_answer(sock)  # 200, or 400 for the junk read as the next request
    wait_for(lambda: status(live, device, blob_id)["offset"] != 0)
    assert status(live, device, blob_id)["offset"] == MIB  # the declared bytes, not one more
    finish(live, device, blob_id, blob, MIB)


@pytest.mark.parametrize("length", [MIB + 1, 20 * MIB], ids=["streamable", "past-buffered"])
def test_a_chunk_past_the_announced_size_is_refused_unread_and_leaves_the_offset(
    live: Live, length: int
) -> None:
    device, blob, blob_id = begin(live, 2 * MIB, stored=MIB)
    with connect(live) as sock:
        sock.sendall(raw_head(live, device, blob_id, MIB, length, _sha(blob)))
        if length <= 2 * MIB:
            sock.sendall(os.urandom(length))
        code, answer = read_answer(sock)  # a 20 MiB one is answered before its body is sent
    assert (code, answer["error"]) == (422, "chunk_too_long")
    assert status(live, device, blob_id)["offset"] == MIB
    finish(live, device, blob_id, blob, MIB)


def test_a_chunk_over_the_named_limit_is_refused_before_a_byte_of_its_body_is_read(
    directory_server: Live,
) -> None:
    live = directory_server
    device, blob, blob_id = begin(live, MIB)
    started = time.monotonic()
    with connect(live, timeout=5) as sock:
        sock.sendall(raw_head(live, device, blob_id, 0, NAMED_LIMIT + 1, _sha(blob)))
        code, answer = read_answer(sock)  # no body sent: a server reading it would hang here
    assert (code, answer["error"]) == (413, "body_too_large")
    assert time.monotonic() - started < 3
    assert status(live, device, blob_id)["offset"] == 0


def test_a_chunk_whose_bytes_differ_from_its_signed_digest_is_never_acknowledged_or_kept(
    live: Live,
) -> None:
    device, blob, blob_id = begin(live, 3 * MIB, stored=MIB)
    forged = bytearray(blob[MIB : 2 * MIB])
    forged[len(forged) // 2] ^= 0xFF
    answer = put(live, device, blob_id, MIB, bytes(forged), _sha(blob[: 2 * MIB]))
    assert (answer.status_code, answer.json()["error"]) == (422, "hash_mismatch")
    # What was stored before is dropped whole (never mixed with the forged bytes): the upload
    # restarts from 0, and only the bytes the device signed can complete it.
    assert status(live, device, blob_id)["offset"] == 0
    put_good(live, device, blob_id, blob, 0, 2 * MIB)
    assert put_good(live, device, blob_id, blob, 2 * MIB, 3 * MIB)["complete"] is True
    assert download(live, blob_id) == blob


def test_bytes_a_rogue_phone_signed_itself_cannot_complete_a_blob_under_another_sha256(
    directory_server: Live,
) -> None:
    live = directory_server
    device, _, blob_id = begin(live, 2 * MIB)
    other = os.urandom(2 * MIB)
    put_good(live, device, blob_id, other, 0, MIB)  # each chunk signed over what it carries
    answer = put(live, device, blob_id, MIB, other[MIB:], _sha(other))
    assert (answer.status_code, answer.json()["error"]) == (422, "hash_mismatch")
    assert status(live, device, blob_id) == {"offset": 0, "size": 2 * MIB, "complete": False}
    blocked = live.api.call("GET", f"/v1/blobs/{blob_id}", live.org.coordinator)
    assert blocked.status_code == 409


def test_concurrent_chunks_at_overlapping_offsets_cannot_interleave_into_the_blob(
    live: Live,
) -> None:
    device, blob, blob_id = begin(live, 4 * MIB)
    spans = [(0, 2 * MIB), (0, MIB), (MIB // 2, 3 * MIB), (0, 3 * MIB), (MIB, 2 * MIB)] * 2
    answers: list[int] = []

    def send(start: int, end: int) -> None:
        answers.append(
            put(live, device, blob_id, start, blob[start:end], _sha(blob[:end])).status_code
        )

    threads = [threading.Thread(target=send, args=span) for span in spans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(answers) <= {200, 409}, answers
    offset = status(live, device, blob_id)["offset"]
    assert offset in {end for _, end in spans}
    finish(live, device, blob_id, blob, offset)


def test_an_announced_size_beyond_the_daily_quota_is_refused_before_anything_is_stored(
    directory_server: Live,
) -> None:
    live = directory_server
    device = live.enrol()
    blob_id = uuid.uuid4().hex
    body = {"id": blob_id, "size": 1025 * MIB, "sha256": "0" * 64}
    answer = live.api.call("POST", "/v1/blobs", device, json=body)
    assert (answer.status_code, answer.json()["error"]) == (413, "blob_bytes_quota")
    assert live.api.call("GET", f"/v1/blobs/{blob_id}/status", device).status_code == 404


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_128_mib_chunk_is_streamed_and_never_held_whole_in_the_servers_memory(
    live: Live,
) -> None:
    device = live.enrol()
    piece = os.urandom(MIB)
    size = NAMED_LIMIT
    hasher = hashlib.sha256()
    for _ in range(size // MIB):
        hasher.update(piece)
    digest = hasher.hexdigest()
    blob_id = uuid.uuid4().hex
    body = {"id": blob_id, "size": size, "sha256": digest}
    assert live.api.call("POST", "/v1/blobs", device, json=body).status_code == 201
    before = _peak_rss(live.server.process.pid)
    with connect(live, timeout=60) as sock:
        sock.sendall(raw_head(live, device, blob_id, 0, size, digest))
        for _ in range(size // MIB):
            sock.sendall(piece)
        code, answer = read_answer(sock)
    assert (code, answer) == (200, {"offset": size, "complete": True})
    grown = _peak_rss(live.server.process.pid) - before
    assert grown < 48 * MIB, f"the server's peak memory grew by {grown // MIB} MiB"


@pytest.mark.parametrize("store", ["directory", "postgres"])
def test_a_slow_chunk_and_chunks_queued_behind_it_cannot_stall_the_server_for_other_phones(
    tmp_path: Path, store: str
) -> None:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if store == "postgres" else None
        live = stack.enter_context(_live(tmp_path / "server", url))
        rogue, honest = live.enrol(), live.enrol()
        blob = os.urandom(2 * MIB)
        blob_id = announce(live, rogue, blob)
        sockets: list[socket.socket] = []
        try:
            slow = connect(live)
            sockets.append(slow)
            slow.sendall(raw_head(live, rogue, blob_id, 0, MIB, _sha(blob[:MIB])) + b"x" * 1024)
            time.sleep(0.3)  # it holds the upload's lock while its body trickles
            for _ in range(48):  # each signed, at the upload's offset, its body never sent
                queued = connect(live)
                sockets.append(queued)
                queued.sendall(raw_head(live, rogue, blob_id, 0, MIB, _sha(blob[:MIB])))
            time.sleep(1.5)
            waited = _announce_timed(live, honest, timeout=3)
            busy = read_answer(sockets[-1])  # a chunk behind the held lock is told at once
            for sock in sockets:
                sock.close()
            time.sleep(0.5)
            # The lock's holder needs a worker thread to let go of it: all are waiting for it.
            after = _announce_timed(live, honest, timeout=2)
        finally:
            for sock in sockets:
                sock.close()
            live.server.process.kill()  # it does not stop gracefully while deadlocked
            live.server.process.wait(timeout=10)
    assert busy[0] == 409 and (busy[1]["error"], busy[1]["offset"]) == ("upload_busy", 0)
    assert waited < 2, f"another phone waited {waited:.1f} s to announce a blob"
    assert after < 2, "the server stayed stalled after the attacker hung up"


def _announce_timed(live: Live, device: Actor, timeout: float) -> float:
    """Seconds an honest phone waits to announce a blob (`timeout` if it got no answer)."""
    started = time.monotonic()
    body = {"id": uuid.uuid4().hex, "size": 10, "sha256": "0" * 64}
    target, data = "/v1/blobs", canonical_json(body)
    headers = sign_request(device.key, "POST", target, data, now=int(time.time()))
    headers["Content-Type"] = "application/json"
    try:
        requests.post(live.server.url + target, data=data, headers=headers, timeout=timeout)
    except requests.exceptions.RequestException:
        return timeout
    return time.monotonic() - started


# -- durability of what the server acknowledges -------------------------------------------------


@contextlib.contextmanager
def in_process(data: Path, db_url: str | None = None) -> Iterator[tuple[TestClient, Harness, Org]]:
    """The server in this process (so its flushes can be watched), bootstrapped."""
    store = "directory" if db_url is None else "database"
    config = ServerConfig.for_data_dir(data, db_url, blob_store=store)
    app = create_app(config)
    token = new_token()
    app.state.services.repo.set_bootstrap_token(token_hash(token))
    with TestClient(app) as client:
        api = Harness(client, "", _Now())
        org = Org.new()
        api.bootstrap(org, token)
        yield client, api, org


def put_in_process(
    client: TestClient, device: Actor, blob_id: str, offset: int, data: bytes, upload: str
) -> Any:
    target = _chunk_target(blob_id, offset)
    headers = sign_request(
        device.key, "PUT", target, b"", now=int(time.time()), upload_sha256=upload
    )
    return client.request("PUT", target, content=data, headers=headers)


def first_mib_in_process(client: Any, api: Any, org: Any, blob: bytes) -> tuple[Actor, str]:
    """A new phone announces `blob` to the in-process server, which takes its first MiB."""
    device = api.enrol(org)
    blob_id = uuid.uuid4().hex
    body = {"id": blob_id, "size": len(blob), "sha256": _sha(blob)}
    assert api.call("POST", "/v1/blobs", device, json=body).status_code == 201
    first = put_in_process(client, device, blob_id, 0, blob[:MIB], _sha(blob[:MIB]))
    assert first.json() == {"offset": MIB, "complete": False}
    return device, blob_id


def test_a_finished_blob_is_acknowledged_only_once_all_its_bytes_are_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The early flushes of a long chunk start but never finish (the power goes first): the
    # answer that says "complete" must still come after the whole file reached the disk.
    monkeypatch.setattr(server_blobs, "FLUSH_EARLY", 64 * 1024)
    early: list[int] = []

    def never_flushed(fd: int) -> None:
        early.append(fd)
        os.close(fd)

    monkeypatch.setattr(server_blobs, "_flush_and_close", never_flushed)
    synced: list[tuple[int, int]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        stat = os.fstat(fd)
        synced.append((stat.st_ino, stat.st_size))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    blob = os.urandom(3 * MIB)
    with in_process(tmp_path / "server") as (client, api, org):
        device, blob_id = first_mib_in_process(client, api, org, blob)
        last = put_in_process(client, device, blob_id, MIB, blob[MIB:], _sha(blob))
        assert last.json() == {"offset": len(blob), "complete": True}
        synced_when_answered = list(synced)
    assert early, "the long chunk was not flushed early"
    (finished,) = (tmp_path / "server" / "blobs" / "complete").iterdir()
    stat = finished.stat()
    assert stat.st_size == len(blob) and finished.read_bytes() == blob
    assert (stat.st_ino, len(blob)) in synced_when_answered


def test_acknowledged_bytes_a_power_cut_took_back_can_never_finish_a_wrong_blob(
    tmp_path: Path,
) -> None:
    # Chunks are acknowledged before they are flushed (docs/server.md): a power cut may take
    # acknowledged bytes back. The next chunk must then restart the upload, never complete it.
    blob = os.urandom(2 * MIB)
    with in_process(tmp_path / "server") as (client, api, org):
        device, blob_id = first_mib_in_process(client, api, org, blob)
        (partial,) = (tmp_path / "server" / "blobs" / "partial").iterdir()
        with partial.open("r+b") as handle:  # the last unflushed pages never reached the disk
            handle.truncate(MIB // 2)
        answer = put_in_process(client, device, blob_id, MIB, blob[MIB:], _sha(blob))
        assert (answer.status_code, answer.json()["error"]) == (422, "hash_mismatch")
        again = put_in_process(client, device, blob_id, 0, blob, _sha(blob))
        assert again.json() == {"offset": len(blob), "complete": True}
        download = api.call("GET", f"/v1/blobs/{blob_id}", org.coordinator)
        assert download.content == blob


def test_on_postgresql_a_finished_blob_is_acknowledged_only_after_durable_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunk commits skip their flush (pg_blobs: synchronous_commit = off); the commits that
    # publish the blob must not, and PostgreSQL must flush them (so the WAL before them too).
    seen: list[tuple[int, str]] = []
    real_execute, real_cursor_execute = psycopg.Connection.execute, psycopg.Cursor.execute
    real_enter = psycopg.Transaction.__enter__

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((id(self), str(query)))
        return real_execute(self, query, *args, **kwargs)

    def cursor_execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((id(self.connection), str(query)))
        return real_cursor_execute(self, query, *args, **kwargs)

    def enter(self: Any) -> Any:
        seen.append((id(self.connection), "BEGIN"))
        return real_enter(self)

    monkeypatch.setattr(psycopg.Connection, "execute", execute)
    monkeypatch.setattr(psycopg.Cursor, "execute", cursor_execute)
    monkeypatch.setattr(psycopg.Transaction, "__enter__", enter)
    blob = os.urandom(3 * MIB)
    with postgres_database() as url, in_process(tmp_path / "server", url) as (client, api, org):
        device = api.enrol(org)
        blob_id = uuid.uuid4().hex
        body = {"id": blob_id, "size": len(blob), "sha256": _sha(blob)}
        assert api.call("POST", "/v1/blobs", device, json=body).status_code == 201
        put_in_process(client, device, blob_id, 0, blob[:MIB], _sha(blob[:MIB]))
        last = put_in_process(client, device, blob_id, MIB, blob[MIB:], _sha(blob))
        assert last.json() == {"offset": len(blob), "complete": True}
        answered = list(seen)
        with psycopg.connect(url) as conn:
            row = conn.execute("SHOW synchronous_commit").fetchone()
            assert row is not None and row[0] in ("on", "remote_write", "remote_apply")
    chunk_commits = [q for _, q in answered if "synchronous_commit = off" in q]
    assert chunk_commits, "the chunks were not committed as documented"
    for marker in ("SET name = %s, complete = 1", "SET complete = 1, storage_name"):
        where = [i for i, (_, q) in enumerate(answered) if marker in q]
        assert where, f"no {marker!r} before the answer"
        conn_id = answered[where[-1]][0]
        start = max(
            i
            for i, (c, q) in enumerate(answered[: where[-1]])
            if c == conn_id and q.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK")
        )
        window = [q for c, q in answered[start : where[-1] + 1] if c == conn_id]
        assert not any("synchronous_commit" in q for q in window), window


# -- a real phone uploader -------------------------------------------------------------------------


class _SpoolVault:
    """Just what `BlobUploader` reads of a vault: spooled blobs as files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def spool_reader(self, name: str) -> IO[bytes]:
        return (self.folder / name).open("rb")


def spooled(folder: Path, blob: bytes) -> Record:
    """A queued blob entry as `sync.outbox` writes it, with digests noted every 4 MiB."""
    name = uuid.uuid4().hex
    (folder / name).write_bytes(blob)
    hasher, notes = hashlib.sha256(), bytearray()
    for start in range(0, len(blob) - len(blob) % CHECKPOINT_BYTES, CHECKPOINT_BYTES):
        hasher.update(blob[start : start + CHECKPOINT_BYTES])
        notes += hasher.copy().digest()
    data = {
        "size": len(blob),
        "sha256": _sha(blob),
        "spool": name,
        "checkpoints": b64u_encode(bytes(notes)),
    }
    return Record(kind="blob", data=data, id=uuid.uuid4().hex)


@dataclasses.dataclass
class _Report:
    bytes_uploaded: int = 0


def uploader(folder: Path, *, first: int = 256 * 1024) -> BlobUploader:
    pacer = ChunkPacer(largest=ENGINE_LARGEST, first=first)
    vault = cast(DeviceVaultPort, _SpoolVault(folder))
    return BlobUploader(vault, pacer, check_cancel=lambda: None, progress=lambda *_: None)


def _body_sizes(proxy: FaultProxy) -> list[int]:
    return [size for path, size in proxy.bodies if "/chunks" in path]


def test_a_streamed_chunk_cut_mid_way_is_resent_once_from_the_servers_offset(
    directory_server: Live, tmp_path: Path
) -> None:
    live = directory_server
    device = live.enrol()
    blob = os.urandom(12 * MIB)
    entry = spooled(tmp_path, blob)

    def cut_the_second_chunk(info: RequestInfo) -> Fault:
        return Fault.RESET_BODY if "/chunks" in info.path and info.number == 3 else Fault.PASS

    phone = uploader(tmp_path, first=4 * MIB)
    with FaultProxy(upstream=("127.0.0.1", live.port), plan=cut_the_second_chunk) as proxy:
        with Client(proxy.url, signing_key=device.key) as client, pytest.raises(SyncError):
            phone.upload(client, entry, _Report())
        assert status(live, device, entry.id)["offset"] == 4 * MIB
        with Client(proxy.url, signing_key=device.key) as client:
            assert phone.upload(client, entry, _Report()) is True
    sizes = _body_sizes(proxy)
    assert sizes[:2] == [4 * MIB, 8 * MIB]  # the second, cut, ended on the blob's end
    assert sum(sizes) <= len(blob) + max(sizes), sizes  # at most the cut chunk again
    assert _sha(download(live, entry.id)) == entry.data["sha256"]


_KILLED_PHONE = """
import json, sys
from pathlib import Path
from core.crypto.signing import SigningKey
from sync.client import Client
from fastapi.testclient import TestClient

from core.records import Record
from tests.adversarial.test_upload_attacks import _Report, uploader
args = json.loads(sys.argv[1])
entry = Record(kind="blob", data=args["data"], id=args["id"])
key = SigningKey.from_bytes(bytes.fromhex(args["key"]))
with Client(args["url"], signing_key=key) as client:
    uploader(Path(args["folder"]), first=4 * 1024 * 1024).upload(client, entry, _Report())
"""


def _offset_or_none(live: Live, device: Actor, blob_id: str) -> int | None:
    answer = live.api.call("GET", f"/v1/blobs/{blob_id}/status", device)
    return int(answer.json()["offset"]) if answer.status_code == 200 else None


def test_a_phone_killed_mid_upload_loses_nothing_and_resends_at_most_one_chunk(
    directory_server: Live, tmp_path: Path
) -> None:
    live = directory_server
    device = live.enrol()
    blob = os.urandom(16 * MIB)
    entry = spooled(tmp_path, blob)
    args = {
        "url": "",
        "key": device.key.private_bytes().hex(),
        "data": entry.data,
        "id": entry.id,
        "folder": str(tmp_path),
    }
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    with FaultProxy(upstream=("127.0.0.1", live.port), link=SlowLink(rate=8 * MIB)) as proxy:
        args["url"] = proxy.url
        phone = subprocess.Popen(
            [sys.executable, "-c", _KILLED_PHONE, json.dumps(args)],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: _offset_or_none(live, device, entry.id) not in (None, 0), timeout=20)
        finally:
            phone.send_signal(signal.SIGKILL)
            phone.wait(timeout=10)
        killed_at = status(live, device, entry.id)["offset"]
        assert 0 < killed_at < len(blob)
        resumed = _Report()
        with Client(proxy.url, signing_key=device.key) as client:
            assert uploader(tmp_path, first=4 * MIB).upload(client, entry, resumed) is True
        sizes = _body_sizes(proxy)
    assert resumed.bytes_uploaded == len(blob) - killed_at  # only what the server lacked
    assert sum(sizes) <= len(blob) + max(sizes), sizes  # the killed chunk, at most, twice
    assert _sha(download(live, entry.id)) == entry.data["sha256"]


# -- a hostile server ------------------------------------------------------------------------------


@dataclasses.dataclass
class Hostile:
    """What the hostile server answers: its chunk limit header, and each chunk's answer."""

    limit: str | None
    answer: Callable[[int, int, int], tuple[int, dict[str, Any]]]
    """(offset asked, body length, chunks so far) -> (status, JSON)."""
    chunks: list[tuple[int, int]] = dataclasses.field(default_factory=list)


@contextlib.contextmanager
def hostile_server(behaviour: Hostile) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = canonical_json(body)
            self.send_response(code)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _drain(self) -> int:
            left = int(self.headers.get("Content-Length", "0"))
            total = left
            while left:
                got = self.rfile.read(min(left, MIB))
                if not got:
                    break
                left -= len(got)
            return total

        def do_POST(self) -> None:
            self._drain()
            headers = {} if behaviour.limit is None else {HEADER_CHUNK_LIMIT: behaviour.limit}
            self._reply(201, {"offset": 0}, headers)

        def do_PUT(self) -> None:
            offset = int(self.path.rsplit("offset=", 1)[1])
            length = self._drain()
            behaviour.chunks.append((offset, length))
            code, body = behaviour.answer(offset, length, len(behaviour.chunks))
            self._reply(code, body)

        def do_GET(self) -> None:
            self._reply(200, {"offset": 0, "size": 0, "complete": False})

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _accept_all(offset: int, length: int, count: int) -> tuple[int, dict[str, Any]]:
    return 200, {"offset": offset + length, "complete": False}


@pytest.mark.parametrize("named", ["0", "-5", "lots", "99999999999", "1e9", ""])
def test_a_server_naming_a_zero_negative_or_unreadable_chunk_limit_gets_16_mib_chunks_at_most(
    named: str,
) -> None:
    behaviour = Hostile(named, _accept_all)
    with hostile_server(behaviour) as url, Client(url, signing_key=Actor.new().key) as client:
        assert client.blob_begin(uuid.uuid4().hex, 100, "0" * 64) == 0
        assert client.chunk_limit == SERVER_CHUNK_LIMIT


def test_a_server_naming_a_huge_chunk_limit_gets_no_chunk_over_128_mib_nor_the_phones_memory(
    tmp_path: Path,
) -> None:
    blob = os.urandom(132 * MIB)
    entry = spooled(tmp_path, blob)
    del blob
    size = int(entry.data["size"])

    def answer(offset: int, length: int, count: int) -> tuple[int, dict[str, Any]]:
        end = offset + length
        return 200, {"offset": end, "complete": end == size}

    behaviour = Hostile("999999999", answer)  # about 953 MiB
    phone = uploader(tmp_path, first=ENGINE_LARGEST)
    with hostile_server(behaviour) as url, Client(url, signing_key=Actor.new().key) as client:
        tracemalloc.start()
        try:
            assert phone.upload(client, entry, _Report()) is True
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    lengths = [length for _, length in behaviour.chunks]
    assert sum(lengths) == size and max(lengths) <= ENGINE_LARGEST, lengths
    assert peak < 8 * MIB, f"the phone held {peak // MIB} MiB"


def test_a_server_naming_a_tiny_chunk_limit_cannot_make_the_phone_send_a_few_bytes_a_request(
    tmp_path: Path,
) -> None:
    entry = spooled(tmp_path, os.urandom(MIB))

    def answer(offset: int, length: int, count: int) -> tuple[int, dict[str, Any]]:
        if count >= 40:  # stop the experiment: the phone would go on to a million requests
            return 200, {"offset": MIB, "complete": True}
        return 200, {"offset": offset + length, "complete": False}

    behaviour = Hostile("1", answer)
    with hostile_server(behaviour) as url, Client(url, signing_key=Actor.new().key) as client:
        uploader(tmp_path).upload(client, entry, _Report())
    lengths = [length for _, length in behaviour.chunks]
    assert min(lengths[:-1] or [SMALLEST]) >= SMALLEST, lengths[:8]


def _give_up_against(tmp_path: Path, status: int, body: dict[str, Any]) -> tuple[SyncError, int]:
    """Upload a MiB to a server that gives every chunk the same answer (a 503 after 50 ends
    the experiment): the error the phone stopped with, and how many chunks it sent."""
    entry = spooled(tmp_path, os.urandom(MIB))

    def answer(offset: int, length: int, count: int) -> tuple[int, dict[str, Any]]:
        if count >= 50:
            return 503, {"error": "unavailable"}
        return status, body

    behaviour = Hostile(None, answer)
    with (
        hostile_server(behaviour) as url,
        Client(url, signing_key=Actor.new().key) as client,
        pytest.raises(SyncError) as raised,
    ):
        uploader(tmp_path).upload(client, entry, _Report())
    return raised.value, len(behaviour.chunks)


def test_a_server_answering_offset_mismatch_forever_cannot_keep_the_phone_sending(
    tmp_path: Path,
) -> None:
    body = {"error": "offset_mismatch", "detail": "", "offset": 0}
    _, sent = _give_up_against(tmp_path, 409, body)
    assert sent <= 20, f"{sent} chunks sent, no progress"


def test_a_server_acknowledging_chunks_without_moving_its_offset_cannot_keep_the_phone_sending(
    tmp_path: Path,
) -> None:
    _, sent = _give_up_against(tmp_path, 200, {"offset": 0, "complete": False})
    assert sent <= 20, f"{sent} chunks sent, no progress"


def test_a_server_offset_past_the_blobs_end_gets_a_clear_protocol_error(tmp_path: Path) -> None:
    body = {"error": "offset_mismatch", "detail": "", "offset": 5 * MIB}
    error, sent = _give_up_against(tmp_path, 409, body)
    assert sent <= 20, f"{sent} chunks sent"
    assert isinstance(error, ProtocolError), error
