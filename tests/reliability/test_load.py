"""Load: many devices push at once, for a bounded time, against SQLite and PostgreSQL.

Each simulated device is a thread with its own Ed25519 key and its own chain, sealing real
age-encrypted envelopes and pushing them in batches of varying size. Afterwards the server's feed
must hold every envelope exactly once, each device's chain complete and in order, and no request
may have failed. Push latency (p50/p95/p99) is written to `artifacts/reliability/load-<db>.json`
and printed.

Quick form: 10 devices for a few seconds. FIELDVAULT_RELIABILITY=full: 50 devices for 30 s.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.harness import summarize
from tests.reliability.org import Device, Organisation
from tests.reliability.profile import pick
from tests.support.live_server import live_server_on

pytestmark = [pytest.mark.slow, pytest.mark.timeout(pick(300, 1800))]

ROOT = Path(__file__).resolve().parents[2]
DEVICES = pick(10, 50)
SECONDS = pick(4.0, 30.0)


def _push_until(device: Device, deadline: float, seed: int, latencies: list[float]) -> int:
    rng = random.Random(seed)
    pushed = 0
    while time.monotonic() < deadline:
        batch = device.seal_many(rng.choice([1, 1, 5, 20, 50]))
        started = time.perf_counter()
        results = device.client.push_envelopes([_wire(e) for e in batch])
        latencies.append(time.perf_counter() - started)
        statuses = Counter(r["status"] for r in results)
        assert statuses == {"stored": len(batch)}, results
        pushed += len(batch)
    return pushed


def _wire(env: object) -> dict[str, object]:
    from sync import envelope

    return envelope.to_wire(env)  # type: ignore[arg-type]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_concurrent_devices_push_without_errors_and_every_envelope_is_stored_once(
    db: str, tmp_path: Path
) -> None:
    with live_server_on(db, tmp_path / "server") as server:
        org = Organisation.bootstrap(server.url, server.bootstrap_token)
        devices = [org.enrol(f"load-{i}") for i in range(DEVICES)]
        latencies: list[list[float]] = [[] for _ in devices]
        pushed = [0] * len(devices)
        errors: list[BaseException] = []
        deadline = time.monotonic() + SECONDS

        def work(i: int) -> None:
            try:
                pushed[i] = _push_until(devices[i], deadline, seed=i, latencies=latencies[i])
            except BaseException as exc:  # reported below, with the device number
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(devices))]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 120)
        elapsed = time.perf_counter() - started
        assert not any(t.is_alive() for t in threads), "a device hung"
        assert errors == []

        feed = org.feed()
        by_author: dict[str, list[int]] = {}
        for item in feed:
            by_author.setdefault(item["header"]["author"], []).append(item["header"]["seq"])
        assert len(feed) == sum(pushed)
        assert len({item["header"]["id"] for item in feed}) == len(feed)
        for device, count in zip(devices, pushed, strict=True):
            assert sorted(by_author.get(device.id, [])) == list(range(1, count + 1))
        chains = {d["id"]: d["chain"] for d in org.client.devices()}
        assert set(chains.values()) == {"ok"}

    all_latencies = [x for per_device in latencies for x in per_device]
    figures = {
        "db": db,
        "devices": len(devices),
        "seconds": round(elapsed, 2),
        "envelopes": sum(pushed),
        "requests": len(all_latencies),
        "envelopes_per_s": round(sum(pushed) / elapsed, 1),
        "latency": {k: round(v, 2) for k, v in summarize(all_latencies).items()},
    }
    out = ROOT / "artifacts" / "reliability" / f"load-{db}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(json.dumps(figures))
