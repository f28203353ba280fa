"""Two server processes that share nothing but one PostgreSQL database serve one upload.

Each process has its own data directory (as on two machines without a shared file system):
a device uploads half an attachment through one and the rest through the other, and a
coordinator downloads it whole from either. The blob never lands in either data directory,
a large upload and download leave the server's memory flat, a machine killed mid-chunk leaves
the upload to resume on the other, and `pg_dump` alone backs it up.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from fastapi.testclient import TestClient

from server.app import create_app
from server.config import ServerConfig
from sync.auth import sign_request
from tests.conftest import require
from tests.server.helpers import Actor, Harness, Org
from tests.server.test_live_server import RealClock
from tests.support.live_server import LiveServer, postgres_database, start_live_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MIB = 1024 * 1024
CHUNK = 16 * MIB
LARGE = 64 * MIB
MEMORY_GROWTH_LIMIT = 32 * MIB
"""A server holding a 64 MiB blob in memory at any moment would grow by at least 64 MiB."""


@dataclasses.dataclass
class TwoServers:
    url: str
    a: LiveServer
    b: LiveServer
    via_a: Harness
    via_b: Harness
    org: Org
    device: Actor


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoServers]:
    tmp = tmp_path_factory.mktemp("two")
    with (
        postgres_database() as url,
        start_live_server(tmp / "machine-a", url) as a,
        start_live_server(tmp / "machine-b", url) as b,
        requests.Session() as session_a,
        requests.Session() as session_b,
    ):
        via_a = Harness(session_a, a.url, RealClock())
        via_b = Harness(session_b, b.url, RealClock())
        org = Org.new()
        via_a.bootstrap(org, b.bootstrap_token)  # the token of the last `init` counts
        yield TwoServers(url, a, b, via_a, via_b, org, via_b.enrol(org))


def _declare(api: Harness, device: Actor, blob_id: str, data: bytes) -> int:
    body = {"id": blob_id, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    answer = api.call("POST", "/v1/blobs", device, json=body)
    assert answer.status_code in (200, 201), answer.text
    offset: int = answer.json()["offset"]
    return offset


def _send(api: Harness, device: Actor, blob_id: str, offset: int, data: bytes) -> requests.Response:
    answer: requests.Response = api.call(
        "PUT", f"/v1/blobs/{blob_id}/chunks", device, body=data, query=f"offset={offset}"
    )
    return answer


def _download(server: LiveServer, coordinator: Actor, blob_id: str) -> tuple[int, str]:
    """Stream the blob from `server`; return its length and SHA-256."""
    path = f"/v1/blobs/{blob_id}"
    headers = sign_request(coordinator.key, "GET", path, b"", now=int(time.time()))
    digest = hashlib.sha256()
    length = 0
    with requests.get(server.url + path, headers=headers, stream=True, timeout=120) as answer:
        assert answer.status_code == 200, answer.text
        for piece in answer.iter_content(MIB):
            digest.update(piece)
            length += len(piece)
    return length, digest.hexdigest()


def _files_in(server: LiveServer) -> list[Path]:
    return [p for p in (server.data_dir / "blobs").rglob("*") if p.is_file()]


def test_half_an_upload_through_each_process_downloads_whole_from_either(
    two: TwoServers,
) -> None:
    data = os.urandom(5 * MIB + 12_345)
    blob_id = secrets.token_hex(16)
    half = len(data) // 2
    assert _declare(two.via_a, two.device, blob_id, data) == 0
    first = _send(two.via_a, two.device, blob_id, 0, data[:half])
    assert first.json() == {"offset": half, "complete": False}
    # The device comes back through the other machine, which knows where the upload stands.
    assert _declare(two.via_b, two.device, blob_id, data) == half
    wrong = _send(two.via_b, two.device, blob_id, 0, data[:half])
    assert wrong.status_code == 409
    assert wrong.json()["offset"] == half
    rest = _send(two.via_b, two.device, blob_id, half, data[half:])
    assert rest.json() == {"offset": len(data), "complete": True}
    expected = (len(data), hashlib.sha256(data).hexdigest())
    assert _download(two.a, two.org.coordinator, blob_id) == expected
    assert _download(two.b, two.org.coordinator, blob_id) == expected
    assert _files_in(two.a) == [] and _files_in(two.b) == []


def test_a_corrupted_second_half_restarts_the_upload_on_both_processes(two: TwoServers) -> None:
    data = os.urandom(3 * MIB)
    blob_id = secrets.token_hex(16)
    half = len(data) // 2
    _declare(two.via_b, two.device, blob_id, data)
    assert _send(two.via_b, two.device, blob_id, 0, data[:half]).json()["offset"] == half
    bad = _send(two.via_a, two.device, blob_id, half, bytes(len(data) - half))
    assert bad.status_code == 422
    assert bad.json()["error"] == "hash_mismatch"
    assert _declare(two.via_b, two.device, blob_id, data) == 0
    unfinished = two.via_a.call("GET", f"/v1/blobs/{blob_id}", two.org.coordinator)
    assert unfinished.status_code == 409
    assert _send(two.via_a, two.device, blob_id, 0, data[:half]).json()["offset"] == half
    assert _send(two.via_b, two.device, blob_id, half, data[half:]).json()["complete"] is True
    assert _download(two.a, two.org.coordinator, blob_id) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
    )


def _peak_memory(server: LiveServer) -> int:
    """The server process's peak resident memory so far, in bytes (Linux)."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    (line,) = [x for x in status.splitlines() if x.startswith("VmHWM:")]
    return int(line.split()[1]) * 1024


def _round_trip(two: TwoServers, data: bytes) -> None:
    blob_id = secrets.token_hex(16)
    assert _declare(two.via_a, two.device, blob_id, data) == 0
    for offset in range(0, len(data), CHUNK):
        answer = _send(two.via_a, two.device, blob_id, offset, data[offset : offset + CHUNK])
        assert answer.status_code == 200, answer.text
    assert answer.json()["complete"] is True
    digest = hashlib.sha256(data).hexdigest()
    assert _download(two.a, two.org.coordinator, blob_id) == (len(data), digest)


def test_a_large_upload_and_download_leave_the_servers_memory_flat(two: TwoServers) -> None:
    _round_trip(two, os.urandom(CHUNK + MIB))  # every code path once, at full chunk size
    before = _peak_memory(two.a)
    _round_trip(two, os.urandom(LARGE))
    grown = _peak_memory(two.a) - before
    assert grown < MEMORY_GROWTH_LIMIT, f"the server grew by {grown // MIB} MiB"


def test_a_pg_dump_alone_restores_every_blob_onto_a_new_machine(
    two: TwoServers, tmp_path: Path
) -> None:
    require(shutil.which("pg_dump") is not None, "pg_dump is not installed")
    data = os.urandom(2 * MIB + 3)
    blob_id = secrets.token_hex(16)
    _declare(two.via_b, two.device, blob_id, data)
    assert _send(two.via_b, two.device, blob_id, 0, data).json()["complete"] is True
    dump = tmp_path / "fieldvault.dump"
    # As in the deployment walkthrough's backup step (ciphertext does not compress: -Z0).
    subprocess.run(["pg_dump", "-Fc", "-Z0", "-f", str(dump), two.url], check=True, timeout=120)
    with postgres_database() as restored_url:
        subprocess.run(
            ["pg_restore", "--no-owner", "-d", restored_url, str(dump)], check=True, timeout=120
        )
        config = ServerConfig.for_data_dir(tmp_path / "new-machine", restored_url)
        with TestClient(create_app(config)) as client:
            api = Harness(client, "", RealClock())
            answer = api.call("GET", f"/v1/blobs/{blob_id}", two.org.coordinator)
    assert answer.status_code == 200
    assert hashlib.sha256(answer.content).digest() == hashlib.sha256(data).digest()


def _uploads_in_flight(url: str) -> int:
    """Server connections waiting for more of a chunk, with some of its rows inserted."""
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'idle in transaction' AND query LIKE 'INSERT INTO blob_chunks%'"
        ).fetchone()
    return 0 if row is None else int(row[0])


def test_a_process_killed_mid_chunk_leaves_the_upload_to_resume_on_the_other(
    tmp_path: Path,
) -> None:
    data = os.urandom(8 * MIB)
    blob_id = secrets.token_hex(16)
    with (
        postgres_database() as url,
        start_live_server(tmp_path / "machine-a", url) as a,
        start_live_server(tmp_path / "machine-b", url) as b,
        requests.Session() as session_a,
        requests.Session() as session_b,
    ):
        via_a = Harness(session_a, a.url, RealClock())
        via_b = Harness(session_b, b.url, RealClock())
        org = Org.new()
        via_b.bootstrap(org, b.bootstrap_token)
        device = via_b.enrol(org)
        _declare(via_a, device, blob_id, data)
        assert _send(via_a, device, blob_id, 0, data[:MIB]).json()["offset"] == MIB
        # The next chunk is half sent when machine A dies (rows already inserted, uncommitted).
        target = f"/v1/blobs/{blob_id}/chunks?offset={MIB}"
        body = data[MIB:]
        headers = sign_request(device.key, "PUT", target, body, now=int(time.time()))
        head = f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        host, port = a.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(head.encode() + body[: 3 * MIB])
            deadline = time.monotonic() + 10
            while _uploads_in_flight(url) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _uploads_in_flight(url) == 1
            a.process.kill()
            a.process.wait(timeout=10)
        # Machine B sees the upload where it was before the cut chunk, and is not locked out.
        assert _declare(via_b, device, blob_id, data) == MIB
        rest = _send(via_b, device, blob_id, MIB, data[MIB:])
        assert rest.json() == {"offset": len(data), "complete": True}
        assert _download(b, org.coordinator, blob_id) == (
            len(data),
            hashlib.sha256(data).hexdigest(),
        )
