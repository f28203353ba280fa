"""Server benchmark: the real server (uvicorn subprocess) on loopback, SQLite and PostgreSQL.

    python -m bench.server [--quick]        prints JSON

Measures, per database:
- `ingest.<db>.batch{50,1}_{1,50}dev_per_s`: envelopes per second accepted end to end (request
  signing, HTTP, signature and chain checks, commit), 2 KB ciphertexts sealed beforehand, with
  1 or 50 devices pushing at once (threads, each its own key and chain). Budget: batches of 50,
  one device, SQLite >= 1,000/s. `...latency` gives p50/p95/p99 per request under that load.
- `blob.<db>`: one attachment uploaded in the sync engine's largest chunks (128 MiB, the most
  the server takes), each signed as the device signs it, over the upload's SHA-256 through the
  chunk's end (digests the device notes when it spools a blob, so taken before the clock starts
  here; the chunks are sliced from memory beforehand too, where a device reads each from its
  spool while it is sent), then received, hashed once, written and its offset committed by the
  server, which flushes the finished blob before its last answer; against the same bytes sent
  to the raw baseline (`sink`: the same uvicorn, a minimal endpoint writing the body to a file
  in the same temporary directory, no auth, no hashing, no database, no flush), once in the
  same chunks and once as a single request; `ratio_vs_raw` divides by the single request.
  `body_digest_ratio_vs_raw` is the same upload signed the older way (each chunk over its own
  SHA-256, hashed by the client just before it is sent), which the server hashes twice, in the
  16 MiB chunks of the older devices that sign that way.
`sqlite` is the default (`synchronous=FULL`: every acknowledgement flushed), `sqlite_normal` the
same with `FIELDVAULT_SQLITE_SYNCHRONOUS=NORMAL`. PostgreSQL runs only when it answers at
127.0.0.1:5432 (`"postgres": "unavailable"` otherwise).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.harness import summarize  # noqa: E402
from core.crypto.signing import SigningKey  # noqa: E402
from server.config import BLOB_CHUNK_LIMIT  # noqa: E402
from sync import envelope as sync_envelope  # noqa: E402
from sync.auth import sign_request  # noqa: E402
from sync.encoding import canonical_json  # noqa: E402
from sync.engine import CHUNK_SIZE  # noqa: E402
from sync.pacing import SERVER_CHUNK_LIMIT  # noqa: E402
from tests.server.helpers import Actor, Harness, Org  # noqa: E402
from tests.support.live_server import (  # noqa: E402
    free_port,
    postgres_available,
    postgres_database,
    start_live_server,
)

CHUNK = min(CHUNK_SIZE, BLOB_CHUNK_LIMIT)  # the largest chunk the sync engine sends
OLDER_CHUNK = SERVER_CHUNK_LIMIT  # what older devices, signing each body, send at most
PAYLOAD = 2048
MB = 1_000_000


class _Clock:
    def __call__(self) -> int:
        return int(time.time())


def _chain(key: SigningKey, count: int) -> list[dict[str, Any]]:
    envelopes, prev = [], sync_envelope.ZERO_HASH
    for seq in range(1, count + 1):
        env = sync_envelope.sign_ciphertext(
            os.urandom(PAYLOAD),
            signer=key,
            seq=seq,
            prev=prev,
            kind="report",
            now=int(time.time()),
            envelope_id=uuid.uuid4().hex,
        )
        prev = sync_envelope.envelope_hash(env)
        envelopes.append(sync_envelope.to_wire(env))
    return envelopes


def _post(session: requests.Session, url: str, key: SigningKey, path: str, body: bytes) -> Any:
    headers = sign_request(key, "POST", path, body, now=int(time.time()))
    headers["Content-Type"] = "application/json"
    return session.post(url + path, data=body, headers=headers, timeout=120)


def _ingest(url: str, devices: list[Actor], per_device: int, batch: int) -> dict[str, Any]:
    chains = {d.id: _chain(d.key, per_device) for d in devices}
    bodies = {
        d.id: [
            canonical_json({"envelopes": chains[d.id][i : i + batch]})
            for i in range(0, per_device, batch)
        ]
        for d in devices
    }
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(devices) + 1)

    def push(device: Actor) -> None:
        mine: list[float] = []
        with requests.Session() as session:
            start.wait()
            for body in bodies[device.id]:
                began = time.perf_counter()
                answer = _post(session, url, device.key, "/v1/envelopes", body)
                mine.append(time.perf_counter() - began)
                if answer.status_code != 200 or any(
                    r["status"] != "stored" for r in answer.json()["results"]
                ):
                    failures.append(answer.text[:200])
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=push, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    total = per_device * len(devices)
    if failures:
        raise RuntimeError(f"ingest failed: {failures[0]}")
    return {
        "envelopes": total,
        "seconds": round(elapsed, 3),
        "per_s": round(total / elapsed, 1),
        "latency": {k: round(v, 2) for k, v in summarize(latencies).items()},
    }


def _enrol_many(api: Harness, org: Org, count: int) -> list[Actor]:
    return [api.enrol(org, f"bench {i}") for i in range(count)]


RAW_DIR_ENV = "FIELDVAULT_BENCH_RAW_DIR"


async def sink(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The raw baseline: a minimal ASGI endpoint that writes a request body to a file.

    Run by the same uvicorn (same version, event loop and HTTP parser, one worker, no access
    log) as the real server, in a process of its own. The body goes, piece by piece as it
    arrives, into a new file in `$FIELDVAULT_BENCH_RAW_DIR` (the bench points it at the server's
    data directory, so both write to the same file system), which is deleted once the answer is
    sent. No authentication, no hashing, no database, no flush to disk.
    """
    if scope["type"] != "http":
        return
    folder = os.environ.get(RAW_DIR_ENV)
    fd = -1
    path = None
    if folder:
        path = os.path.join(folder, f"raw-{secrets.token_hex(8)}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        more = True
        while more:
            message = await receive()
            body = message.get("body", b"")
            if fd >= 0 and body:
                os.write(fd, body)
            more = message.get("more_body", False)
    finally:
        if fd >= 0:
            os.close(fd)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})
    if path is not None:
        os.unlink(path)


def _notes(data: bytes, chunk: int) -> dict[int, str]:
    """SHA-256 hex of `data`'s first N bytes at every chunk end N, as a device notes them when
    it spools a blob (`sync.outbox`), before any upload."""
    running, notes = hashlib.sha256(), {}
    for end in range(chunk, len(data) + chunk, chunk):
        running.update(data[end - chunk : end])
        notes[min(end, len(data))] = running.hexdigest()
    return notes


def _upload(
    session: requests.Session, url: str, device: Actor, data: bytes, *, upload_digests: bool
) -> float:
    """Seconds to declare and upload `data` in `CHUNK`s, signed over upload digests (the
    device's way, from the notes it made when it spooled the blob), or in `OLDER_CHUNK`s over
    body digests (the older way: each chunk hashed just before it is sent)."""
    blob_id = secrets.token_hex(16)
    chunk = CHUNK if upload_digests else OLDER_CHUNK
    notes = _notes(data, chunk)
    begin = canonical_json({"id": blob_id, "size": len(data), "sha256": notes[len(data)]})
    # the chunks taken before the clock starts (a device reads them as they are sent)
    pieces = {at: data[at : at + chunk] for at in range(0, len(data), chunk)}
    started = time.perf_counter()
    assert _post(session, url, device.key, "/v1/blobs", begin).status_code == 201
    offset = 0
    while offset < len(data):
        piece = pieces[offset]
        path = f"/v1/blobs/{blob_id}/chunks?offset={offset}"
        now = int(time.time())
        if upload_digests:
            upload = notes[offset + len(piece)]
            headers = sign_request(device.key, "PUT", path, piece, now=now, upload_sha256=upload)
        else:
            headers = sign_request(device.key, "PUT", path, piece, now=now)
        answer = session.put(url + path, data=piece, headers=headers, timeout=300)
        answer.raise_for_status()
        offset = answer.json()["offset"]
    seconds = time.perf_counter() - started
    assert answer.json()["complete"] is True
    return seconds


def _blob(url: str, device: Actor, data: bytes, sink_url: str) -> dict[str, Any]:
    with requests.Session() as session:
        ours = _upload(session, url, device, data, upload_digests=True)
        body_digests = _upload(session, url, device, data, upload_digests=False)
        started = time.perf_counter()
        for at in range(0, len(data), CHUNK):
            session.put(sink_url, data=data[at : at + CHUNK], timeout=300).raise_for_status()
        raw_chunked = time.perf_counter() - started
        started = time.perf_counter()
        session.put(sink_url, data=data, timeout=300).raise_for_status()
        raw_single = time.perf_counter() - started
    return {
        "bytes": len(data),
        "upload_mb_per_s": round(len(data) / MB / ours, 1),
        "raw_chunked_mb_per_s": round(len(data) / MB / raw_chunked, 1),
        "raw_single_mb_per_s": round(len(data) / MB / raw_single, 1),
        "ratio_vs_raw": round(raw_single / ours, 3),
        "ratio_vs_raw_chunked": round(raw_chunked / ours, 3),
        "body_digest_mb_per_s": round(len(data) / MB / body_digests, 1),
        "body_digest_ratio_vs_raw": round(raw_single / body_digests, 3),
    }


def start_raw_sink(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the raw baseline (`sink`) writing into `folder`; return (process, URL)."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.server:sink",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--no-server-header",
        ],
        cwd=ROOT,
        env={**os.environ, RAW_DIR_ENV: str(folder)},
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.put(url, data=b"x", timeout=1)
            return process, url
        except requests.exceptions.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the raw upload endpoint did not start")


def _one_database(name: str, quick: bool, sink_url: str, tmp: Path) -> dict[str, Any]:
    database: AbstractContextManager[str | None] = (
        postgres_database() if name == "postgres" else nullcontext(None)
    )
    per_batch50 = 1000 if quick else 5000
    per_batch1 = 300 if quick else 1000
    with (
        database as db_url,
        start_live_server(tmp / name, db_url) as server,
        requests.Session() as session,
    ):
        api = Harness(session, server.url, _Clock())  # type: ignore[arg-type]
        org = Org.new()
        api.bootstrap(org, server.bootstrap_token)
        many = _enrol_many(api, org, 50)
        one = _enrol_many(api, org, 1)
        ingest = {
            "batch50_1dev": _ingest(server.url, one, per_batch50, 50),
            "batch50_50dev": _ingest(server.url, many, max(50, per_batch50 // 50) * 2, 50),
        }
        one = _enrol_many(api, org, 1)
        many = _enrol_many(api, org, 50)
        ingest["batch1_1dev"] = _ingest(server.url, one, per_batch1, 1)
        ingest["batch1_50dev"] = _ingest(server.url, many, max(4, per_batch1 // 50), 1)
        blob_device = _enrol_many(api, org, 1)[0]
        data = os.urandom((32 if quick else 200) * MB)
        blob = _blob(server.url, blob_device, data, sink_url)
    flat = {f"{k}_per_s": v["per_s"] for k, v in ingest.items()}
    return {**flat, "detail": ingest, "blob": blob}


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fv-bench-server-") as tmp:
        process, sink_url = start_raw_sink(Path(tmp) / "raw")
        try:
            results: dict[str, Any] = {"ingest": {}, "blob": {}}
            for name in ("sqlite", "sqlite_normal", "postgres"):
                if name == "postgres" and not postgres_available():
                    results["ingest"][name] = "unavailable"
                    continue
                os.environ["FIELDVAULT_SQLITE_SYNCHRONOUS"] = (
                    "NORMAL" if name == "sqlite_normal" else "FULL"
                )
                try:
                    measured = _one_database(name, quick, sink_url, Path(tmp))
                finally:
                    os.environ.pop("FIELDVAULT_SQLITE_SYNCHRONOUS", None)
                results["blob"][name] = measured.pop("blob")
                results["ingest"][name] = measured
        finally:
            process.terminate()
            process.wait(timeout=10)
    results["quick"] = quick
    results["payload_bytes"] = PAYLOAD
    return results


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2))
