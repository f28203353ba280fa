"""Sync benchmark: the real server on loopback, a real device vault, the real coordinator pull.

    python -m bench.sync [--quick]        prints JSON

Measures (full / --quick):
- `push_envelopes_per_s`: 1,000 small envelopes already sealed in the outbox, pushed by the
  sync engine in batches of 100 until the server acknowledged all (budget >= 1,000/s). Sealing
  is timed separately (`seal_per_s`): it happens when a record is saved, not at sync time.
- `upload_vs_raw_ratio`: a 200 MB (32 MB) attachment uploaded from the spool by the engine in
  chunks sized to the link (256 KiB, 1 MiB, 2.75 MiB, 16 MiB, 64 MiB, then 128 MiB on
  loopback: `sync.pacing`; those that end on a digest noted at spool time are read from the
  spool while they are sent)
  to the real server, against the best of two raw `requests` PUTs of the same
  number of bytes to the raw baseline of `bench.server` (the same uvicorn, a minimal endpoint
  that writes the body to a file in the server's data directory; no auth, hashing, database or
  flush) (budget >= 0.5). `client_only_vs_raw_ratio` is the
  same upload by our client to that discarding server (speaking the blob API): the client's own
  cost, without the server's hashing, writing and bookkeeping. `upload_peak_mb`: the larger of
  the Python heap peak (tracemalloc) and RSS growth during the upload (budget: flat, <= 64 MB),
  measured on a second blob of the same size: tracing every allocation costs the device about
  0.02 s of CPU per 200 MB (5 % of the upload's time), so it stays off the timed one.
- `resent_after_cut_bytes`: bytes sent again after the connection is reset in the middle of the
  second chunk of a 40 MiB blob (budget <= one chunk, `chunk_bytes`, the largest; the second
  chunk is 1 MiB since chunks grow from 256 KiB).
- `pull_10000_s`: coordinator pull + verify + decrypt + store of 10,000 envelopes (budget
  <= 10 s). --quick pulls 1,000 and reports `pull_quick` instead. `worker_processes` says
  whether the pull could use worker processes (only while the process runs a single thread).
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import sample_times  # noqa: E402
from bench.server import start_raw_sink  # noqa: E402
from core.records import Kind, Record  # noqa: E402
from storage import Vault  # noqa: E402
from sync import coordinator, envelope  # noqa: E402
from sync.client import Client  # noqa: E402
from sync.device import DeviceIdentity, identity_from_invite  # noqa: E402
from sync.engine import CHUNK_SIZE, SyncEngine, SyncReport  # noqa: E402
from sync.errors import SyncError  # noqa: E402
from sync.examine import fork_is_safe  # noqa: E402
from sync.outbox import current_recipients, pending_blobs, queue_record  # noqa: E402
from sync.payload import build_payload  # noqa: E402
from tests.support.fault_proxy import Fault, FaultProxy  # noqa: E402
from tests.support.live_server import start_live_server  # noqa: E402

PASSPHRASE = "bench passphrase"  # noqa: S105 - a throw-away test vault
MB = 1_000_000
RESUME_BYTES = 40 * 1024 * 1024


def _vault(path: Path) -> Vault:
    return Vault.create(path, PASSPHRASE, kdf_log_n=15, wipe_threshold=0)


def _device(coord: Vault, tmp: Path, name: str) -> Vault:
    invite = coordinator.create_invite(coord, expires_in=3600)
    vault = _vault(tmp / name)
    identity_from_invite(
        vault,
        invite,
    )
    SyncEngine(vault).run_once()
    return vault


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def _rss_peak() -> Iterator[dict[str, float]]:
    box = {"start": _rss_mb(), "peak": _rss_mb()}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            box["peak"] = max(box["peak"], _rss_mb())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        stop.set()
        thread.join()


def bench_push(coord: Vault, tmp: Path, count: int) -> dict[str, Any]:
    device = _device(coord, tmp, "push")
    started = time.perf_counter()
    for i in range(count):
        queue_record(device, Record(kind=Kind.NOTE, data={"text": f"note {i} " + "x" * 200}))
    sealed_s = time.perf_counter() - started
    engine = SyncEngine(device)
    started = time.perf_counter()
    report = engine.run_once()
    push_s = time.perf_counter() - started
    device.lock()
    assert report.envelopes_sent == count, report
    return {
        "envelopes": count,
        "push_s": round(push_s, 3),
        "push_envelopes_per_s": round(count / push_s, 1),
        "seal_per_s": round(count / sealed_s, 1),
        "note": "push_s is one full sync round (org document, commands, push, messages)",
    }


class _Sink(http.server.BaseHTTPRequestHandler):
    """Reads and discards bodies. Speaks just enough of the blob API for a client-only run."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each small answer waits out a delayed ACK (40 ms)
    sizes: dict[str, int] = {}  # noqa: RUF012 - shared by the handler instances of one run

    def _body(self) -> bytes:
        left = int(self.headers.get("Content-Length") or 0)
        parts: list[bytes] = []
        while left:
            part = self.rfile.read(min(left, 1 << 20))
            left -= len(part)
            if len(parts) < 1:
                parts.append(part[:4096])
        return b"".join(parts)

    def _answer(self, obj: object) -> None:
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self._body())
        self.sizes[body["id"]] = body["size"]
        self._answer({"offset": 0})

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._body()
        if "offset=" not in self.path:
            self._answer({})
            return
        blob_id = self.path.split("/")[3]
        offset = int(self.path.rsplit("offset=", 1)[1]) + length
        self._answer({"offset": offset, "complete": offset >= self.sizes.get(blob_id, 0)})

    def log_message(self, *args: object) -> None:
        pass


def _raw_upload_s(data: bytes, device: Vault, blob: Record, raw_dir: Path) -> tuple[float, float]:
    """(best of two raw PUTs of `data` to the raw baseline writing into `raw_dir`, our client
    uploading the spooled blob to a server that discards it) in seconds: the second isolates
    the client's own cost."""
    import requests

    process, raw_url = start_raw_sink(raw_dir)
    try:
        with requests.Session() as session:
            best = min(
                sample_times(
                    lambda: session.put(raw_url, data=data, timeout=120).raise_for_status(), 2
                )
            )
    finally:
        process.terminate()
        process.wait(timeout=10)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    identity = DeviceIdentity.load(device)
    assert identity is not None
    engine = SyncEngine(device)
    started = time.perf_counter()
    with Client(url, signing_key=identity.signing_key) as client:
        assert engine._upload_one(client, blob, SyncReport())
    client_only = time.perf_counter() - started
    server.shutdown()
    server.server_close()
    return best, client_only


def _queue_blob(device: Vault, size: int) -> None:
    data = os.urandom(size)
    stored = device.attach(io.BytesIO(data), media_type="video/mp4", name="v.mp4")
    queue_record(
        device,
        Record(kind=Kind.INCIDENT, data={"title": "video", "attachments": [stored.to_dict()]}),
    )


def bench_upload(coord: Vault, tmp: Path, size: int) -> dict[str, Any]:
    device = _device(coord, tmp, "upload")
    _queue_blob(device, size)
    SyncEngine(device).run_once()  # the incident's envelope; the blob follows in the same round
    device.lock()
    device = Vault.open(tmp / "upload", PASSPHRASE)
    _queue_blob(device, size)
    engine = SyncEngine(device)
    engine._push_envelopes(_client(device), SyncReport())
    blob_entry = pending_blobs(device)[0]
    raw_s, client_only_s = _raw_upload_s(
        os.urandom(size), device, blob_entry, tmp / "server" / "raw"
    )
    started = time.perf_counter()
    report = SyncReport()
    engine._upload_blobs(_client(device), report)
    ours_s = time.perf_counter() - started
    assert report.blobs_sent == 1, (report, blob_entry.id)
    # memory on another blob of the same size: tracing every allocation slows the upload
    _queue_blob(device, size)
    engine = SyncEngine(device)
    engine._push_envelopes(_client(device), SyncReport())
    tracemalloc.start()
    with _rss_peak() as rss:
        report = SyncReport()
        engine._upload_blobs(_client(device), report)
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    device.lock()
    assert report.blobs_sent == 1, report
    return {
        "bytes": size,
        "ours_s": round(ours_s, 3),
        "ours_mb_per_s": round(size / MB / ours_s, 1),
        "raw_s": round(raw_s, 3),
        "raw_mb_per_s": round(size / MB / raw_s, 1),
        "upload_vs_raw_ratio": round(raw_s / ours_s, 3),
        "client_only_s": round(client_only_s, 3),
        "client_only_vs_raw_ratio": round(raw_s / client_only_s, 3),
        "server_share_of_ours": round(max(0.0, 1 - client_only_s / ours_s), 3),
        "heap_peak_mb": round(heap_peak / MB, 1),
        "rss_growth_mb": round(rss["peak"] - rss["start"], 1),
        "upload_peak_mb": round(max(heap_peak / MB, rss["peak"] - rss["start"]), 1),
        "chunk_bytes": CHUNK_SIZE,
    }


def _client(vault: Vault) -> Client:
    identity = DeviceIdentity.load(vault)
    assert identity is not None
    return Client(identity.server_url, signing_key=identity.signing_key)


def bench_resume(coord: Vault, tmp: Path, server_url: str, size: int) -> dict[str, Any]:
    device = _device(coord, tmp, "resume")
    _queue_blob(device, size)
    cut = {"done": False, "chunks": 0}

    def plan(info: Any) -> Fault:
        if "/chunks" in info.path:
            cut["chunks"] += 1
            if cut["chunks"] == 2 and not cut["done"]:  # in the middle of the second chunk
                cut["done"] = True
                return Fault.RESET_BODY
        return Fault.PASS

    host, port = server_url.removeprefix("http://").split(":")
    with FaultProxy((host, int(port)), plan=plan) as proxy:

        def factory(identity: DeviceIdentity) -> Client:
            return Client(proxy.url, signing_key=identity.signing_key)

        engine = SyncEngine(device, client_factory=factory)
        rounds = 0
        while pending_blobs(device) and rounds < 5:
            rounds += 1
            with contextlib.suppress(SyncError):
                engine.run_once()
        sent = proxy.body_bytes_from_client_for("/chunks")
    device.lock()
    blob_size = size + (size // 65536 + 1) * 16 + 200  # age overhead, approximately
    return {
        "blob_bytes": size,
        "chunk_bytes": CHUNK_SIZE,
        "body_bytes_sent": sent,
        "resent_after_cut_bytes": max(0, sent - blob_size),
        "rounds": rounds,
    }


def bench_pull(coord: Vault, tmp: Path, count: int) -> dict[str, Any]:
    device = _device(coord, tmp, "pull")
    identity = DeviceIdentity.load(device)
    recipients = current_recipients(device)
    assert identity is not None and recipients is not None
    device.lock()
    prev, wires = envelope.ZERO_HASH, []
    for seq in range(1, count + 1):
        plaintext = build_payload(
            "note", {"id": f"{seq:032x}", "kind": "note", "data": {"text": f"n{seq}"}}
        )
        sealed = envelope.seal(
            plaintext,
            signer=identity.signing_key,
            recipients=recipients,
            seq=seq,
            prev=prev,
            kind="report",
            now=int(time.time()),
        )
        prev = envelope.envelope_hash(sealed)
        wires.append(envelope.to_wire(sealed))
    with Client(identity.server_url, signing_key=identity.signing_key) as client:
        for start in range(0, count, 100):
            client.push_envelopes(wires[start : start + 100])
    worker_processes = fork_is_safe()  # else the pull examines envelopes in this thread
    started = time.perf_counter()
    report = coordinator.pull(coord)
    pull_s = time.perf_counter() - started
    assert report.stored == count and report.chain_problems == 0, report
    return {
        "envelopes": count,
        "seconds": round(pull_s, 2),
        "per_s": round(count / pull_s),
        "worker_processes": worker_processes,
    }


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fv-bench-sync-") as folder:
        tmp = Path(folder)
        with start_live_server(tmp / "server") as server:
            coord = _vault(tmp / "coordinator")
            coordinator.create_organisation(coord, server.url, server.bootstrap_token, "Bench")
            result: dict[str, Any] = {}
            push = bench_push(coord, tmp, 1000)
            result["push"] = push
            result["push_envelopes_per_s"] = push["push_envelopes_per_s"]
            upload = bench_upload(coord, tmp, (32 if quick else 200) * MB)
            result["upload"] = upload
            result["upload_vs_raw_ratio"] = upload["upload_vs_raw_ratio"]
            result["upload_peak_mb"] = upload["upload_peak_mb"]
            resume = bench_resume(coord, tmp, server.url, RESUME_BYTES)
            result["resume"] = resume
            result["resent_after_cut_bytes"] = resume["resent_after_cut_bytes"]
            coordinator.pull(coord)  # drain what the steps above sent
            pull = bench_pull(coord, tmp, 1000 if quick else 10_000)
            if quick:
                result["pull_quick"] = pull
            else:
                result["pull"] = pull
                result["pull_10000_s"] = pull["seconds"]
            coord.lock()
    return result


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2))
