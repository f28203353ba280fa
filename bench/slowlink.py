"""Slow-link benchmark: attachments over a rate-limited link that drops, and bytes per round.

    python -m bench.slowlink [--quick]        prints JSON

The real server (SQLite) on loopback, real device vaults, and between them the fault proxy of
`tests/support/fault_proxy.py` acting as a bad mobile link (`SlowLink`): bytes cross it at a
fixed rate each way, and every connection open through it is cut at a fixed interval, whatever
it is doing. The device syncs round after round (a failed round is retried after
`RETRY_PAUSE_S`; the app's loop waits 15 s, 30 s, ... instead, which costs time, not bytes)
until the attachment is on the server, complete and matching its hash.

Measures (full / --quick):
- `video`: an 8 MiB attachment at 200 KiB/s, cut every 15 s (--quick: 4 MiB);
  `photo`: a 2 MiB attachment at 64 KiB/s, cut every 30 s (--quick: 1.5 MiB, cut every 20 s).
  What a cut costs is about one chunk (two seconds of the link) against the time between cuts,
  so the quick forms keep cuts as rare as the full ones, or nearly, and only send less.
  For each: `arrived`, `sent_ratio` (every byte the phone sent, request heads and bodies, all
  rounds, the incident's envelope included, over the attachment's size; budget <= 1.25),
  `received_bytes`, `rounds`, `cuts`, `seconds` and the chunk size the engine settled on.
- `idle_round_bytes`: one round with nothing to send or receive, bytes both ways (HTTP heads
  and bodies; TCP/IP and TLS framing not counted) (budget < 1,000), and its requests.
- `incident`: one round sending one text-only incident: bytes both ways, the envelope's own
  size, and the rest (`overhead_bytes`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.records import Kind, Record  # noqa: E402
from storage import Vault  # noqa: E402
from sync import coordinator  # noqa: E402
from sync.client import Client  # noqa: E402
from sync.device import DeviceIdentity, identity_from_invite  # noqa: E402
from sync.engine import SyncEngine  # noqa: E402
from sync.errors import SyncError  # noqa: E402
from sync.outbox import pending_blobs, queue_record  # noqa: E402
from tests.support.fault_proxy import FaultProxy, SlowLink  # noqa: E402
from tests.support.live_server import start_live_server  # noqa: E402

PASSPHRASE = "bench passphrase"  # noqa: S105 - a throw-away test vault
KIB = 1024
MIB = 1024 * 1024
RETRY_PAUSE_S = 0.5
IDLE_ROUNDS = 3

# name: (attachment bytes, link bytes/s, cut every s), full and quick
FULL = {"video": (8 * MIB, 200 * KIB, 15.0), "photo": (2 * MIB, 64 * KIB, 30.0)}
QUICK = {"video": (4 * MIB, 200 * KIB, 15.0), "photo": (1536 * KIB, 64 * KIB, 20.0)}


def _vault(path: Path) -> Vault:
    return Vault.create(path, PASSPHRASE, kdf_log_n=15, wipe_threshold=0)


def _device(coord: Vault, tmp: Path, name: str) -> Vault:
    vault = _vault(tmp / name)
    identity_from_invite(vault, coordinator.create_invite(coord, expires_in=3600))
    SyncEngine(vault).run_once()  # enrolled and holding the org document, off the slow link
    return vault


def _upstream(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _through(proxy: FaultProxy) -> Callable[[DeviceIdentity], Client]:
    def factory(identity: DeviceIdentity) -> Client:
        return Client(proxy.url, signing_key=identity.signing_key)

    return factory


@contextlib.contextmanager
def _proxy(server_url: str, link: SlowLink | None = None) -> Iterator[FaultProxy]:
    with FaultProxy(_upstream(server_url), link=link) as proxy:
        yield proxy


def _queue_attachment(device: Vault, size: int) -> Record:
    stored = device.attach(io.BytesIO(os.urandom(size)), media_type="video/mp4", name="v.mp4")
    return queue_record(
        device,
        Record(kind=Kind.INCIDENT, data={"title": "attachment", "attachments": [stored.to_dict()]}),
    )


def bench_attachment(
    coord: Vault, tmp: Path, server_url: str, name: str, size: int, rate: float, cut: float
) -> dict[str, Any]:
    device = _device(coord, tmp, name)
    _queue_attachment(device, size)
    (blob,) = pending_blobs(device)
    blob_id, blob_bytes = blob.id, int(blob.data["size"])
    limit_s = 6 * size / rate + 120  # give up well past what the link needs
    rounds = failures = 0
    with _proxy(server_url, SlowLink(rate=rate, cut_every=cut)) as proxy:
        engine = SyncEngine(device, client_factory=_through(proxy))
        started = time.monotonic()
        while pending_blobs(device) and time.monotonic() - started < limit_s:
            rounds += 1
            try:
                engine.run_once()
            except SyncError as exc:
                if not exc.retryable:
                    raise
                failures += 1
                time.sleep(RETRY_PAUSE_S)
        seconds = time.monotonic() - started
        sent, received = proxy.counters()
        chunk_bodies = proxy.body_bytes_from_client_for("/chunks")
        cuts = proxy.cuts
        settled = engine.pacer.size
    identity = DeviceIdentity.load(device)
    assert identity is not None
    with Client(server_url, signing_key=identity.signing_key) as client:
        arrived = bool(client.blob_status(blob_id).get("complete"))
    device.lock()
    result: dict[str, Any] = {
        "attachment_bytes": size,
        "blob_bytes": blob_bytes,
        "rate_bytes_per_s": rate,
        "cut_every_s": cut,
        "arrived": arrived,
        "sent_bytes": sent,
        "chunk_body_bytes": chunk_bodies,
        "received_bytes": received,
        "rounds": rounds,
        "failed_rounds": failures,
        "cuts": cuts,
        "seconds": round(seconds, 1),
        "link_seconds": round(blob_bytes / rate, 1),
        "settled_chunk_bytes": settled,
    }
    if arrived:
        result["sent_ratio"] = round(sent / size, 3)
    return result


def bench_rounds(coord: Vault, tmp: Path, server_url: str) -> dict[str, Any]:
    """Bytes of an idle round, and of a round sending one text-only incident."""
    device = _device(coord, tmp, "rounds")
    with _proxy(server_url) as proxy:
        engine = SyncEngine(device, client_factory=_through(proxy))
        engine.run_once()  # settles what the first round through this client learns
        before, requests_before = proxy.counters(), len(proxy.requests_seen)
        for _ in range(IDLE_ROUNDS):
            engine.run_once()
        after = proxy.counters()
        idle_requests = proxy.requests_seen[requests_before:]
        idle = {
            "sent_bytes": (after[0] - before[0]) // IDLE_ROUNDS,
            "received_bytes": (after[1] - before[1]) // IDLE_ROUNDS,
            "requests": sorted({path.split("?")[0] for _, path in idle_requests}),
            "requests_per_round": len(idle_requests) / IDLE_ROUNDS,
        }
        idle["bytes"] = idle["sent_bytes"] + idle["received_bytes"]
        text = "Detained at the checkpoint near the market; two officers, no badge numbers. " * 6
        queued = queue_record(device, Record(kind=Kind.INCIDENT, data={"title": "t", "text": text}))
        outbox = [r for r in device.list(kind=Kind.OUTBOX) if r.data.get("record_id") == queued.id]
        envelope_bytes = sum(len(json.dumps(r.data["wire"], separators=(",", ":"))) for r in outbox)
        before = proxy.counters()
        report = engine.run_once()
        after = proxy.counters()
        assert report.envelopes_sent == 1, report
    device.lock()
    sent, received = after[0] - before[0], after[1] - before[1]
    return {
        "idle": idle,
        "idle_round_bytes": idle["bytes"],
        "incident": {
            "sent_bytes": sent,
            "received_bytes": received,
            "bytes": sent + received,
            "envelope_bytes": envelope_bytes,
            "overhead_bytes": sent + received - envelope_bytes,
            "text_bytes": len(text.encode()),
        },
    }


def run(quick: bool) -> dict[str, Any]:
    scenarios = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="fv-bench-slowlink-") as folder:
        tmp = Path(folder)
        with start_live_server(tmp / "server") as server:
            coord = _vault(tmp / "coordinator")
            coordinator.create_organisation(coord, server.url, server.bootstrap_token, "Bench")
            result: dict[str, Any] = bench_rounds(coord, tmp, server.url)
            for name, (size, rate, cut) in scenarios.items():
                print(f"slowlink: {name} …", file=sys.stderr, flush=True)
                result[name] = bench_attachment(coord, tmp, server.url, name, size, rate, cut)
            coord.lock()
    return result


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2))
