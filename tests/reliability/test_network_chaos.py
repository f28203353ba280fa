"""Network chaos with many parties at once: exactly once, end to end, on SQLite and PostgreSQL.

`tests/integration/test_sync_faults.py` proves one device's outbox and a large blob through the
fault proxy. This adds what a real organisation sees: several devices syncing at the same time
while a coordinator pulls, every party behind the same hostile network (drops, resets in the
middle of a body, stalls, 503s, slow bytes, lost acknowledgements, duplicated requests), on both
databases. At the end the coordinator's vault holds every record exactly once, with a valid
signature and an unbroken chain, attachments decrypt to the bytes attached, and pulling again
adds nothing.

Quick form: 3 devices. FIELDVAULT_RELIABILITY=full: 8 devices and more records each.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
import time
from pathlib import Path

import pytest

from core.records import Kind, Record
from sync import coordinator
from sync.engine import SyncEngine
from sync.errors import SyncError
from sync.outbox import pending_blobs, pending_envelopes, queue_record
from tests.integration.conftest import Org, make_vault
from tests.reliability.profile import pick
from tests.support.fault_proxy import Fault, FaultPlan, FaultProxy, RequestInfo
from tests.support.live_server import live_server_on

pytestmark = [pytest.mark.slow, pytest.mark.timeout(pick(300, 1800))]

DEVICES = pick(3, 8)
NOTES = pick(25, 150)
BLOB_BYTES = pick(256 * 1024, 3 * 1024 * 1024)
MAX_ROUNDS = 400
DEADLINE_S = pick(240, 900)


class Chaos:
    """A fault plan that can be switched on and off (setup and final checks run quietly)."""

    def __init__(self, seed: int, rate: float) -> None:
        self.plan = FaultPlan(seed=seed, rate=rate)
        self.on = False

    def __call__(self, info: RequestInfo) -> Fault:
        return self.plan(info) if self.on else Fault.PASS


def _sync_until_empty(vault: object, errors: list[BaseException], stats: dict[str, int]) -> None:
    engine = SyncEngine(vault, chunk_size=32 * 1024)
    deadline = time.monotonic() + DEADLINE_S
    for _ in range(MAX_ROUNDS):
        if time.monotonic() > deadline:
            break
        try:
            engine.run_once()
        except SyncError as error:
            if not error.retryable:
                errors.append(error)
                return
            stats["device_failures"] = stats.get("device_failures", 0) + 1
            continue
        except BaseException as exc:  # reported by the test, with the stack
            errors.append(exc)
            return
        if not pending_envelopes(vault) and not pending_blobs(vault):
            return
    errors.append(AssertionError("a device never emptied its outbox"))


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_devices_and_coordinator_under_chaos_deliver_every_record_exactly_once(
    db: str, tmp_path: Path
) -> None:
    chaos = Chaos(seed=20261122, rate=0.4)
    with live_server_on(db, tmp_path / "server") as server:
        host, port = server.url.removeprefix("http://").split(":")
        with FaultProxy((host, int(port)), plan=chaos, stall_seconds=2, slow_piece=8192) as proxy:
            coord = make_vault(tmp_path / "coordinator")
            coordinator.create_organisation(
                coord, proxy.url, server.bootstrap_token, "Chaos Org", coordinator_name="Aida"
            )
            org = Org(server, coord, tmp_path)
            try:
                _run_chaos(org, chaos, proxy)
            finally:
                for vault in [coord, *org.devices]:
                    with contextlib.suppress(Exception):
                        vault.lock()


def _run_chaos(org: Org, chaos: Chaos, proxy: FaultProxy) -> None:
    expected: dict[str, str] = {}  # record id -> sha256 of its attachment ("" for notes)
    for d in range(DEVICES):
        device = org.new_device(f"phone-{d}")
        for i in range(NOTES):
            note = queue_record(device, Record(kind=Kind.NOTE, data={"text": f"{d}/{i}"}))
            expected[note.id] = ""
        blob = os.urandom(BLOB_BYTES)
        stored = device.attach(io.BytesIO(blob), media_type="video/mp4", name="clip.mp4")
        incident = queue_record(
            device,
            Record(
                kind=Kind.INCIDENT, data={"title": f"chaos {d}", "attachments": [stored.to_dict()]}
            ),
        )
        expected[incident.id] = hashlib.sha256(blob).hexdigest()

    chaos.on = True
    errors: list[BaseException] = []
    stats: dict[str, int] = {}
    threads = [
        threading.Thread(target=_sync_until_empty, args=(v, errors, stats)) for v in org.devices
    ]
    for thread in threads:
        thread.start()
    pull_failures = 0
    while any(t.is_alive() for t in threads):
        try:
            coordinator.pull(org.coordinator)
        except SyncError as error:
            assert error.retryable, error
            pull_failures += 1
        time.sleep(0.2)
    for thread in threads:
        thread.join()
    assert errors == []
    for _ in range(50):  # drain what is left, still through the chaos
        try:
            if coordinator.pull(org.coordinator).fetched == 0:
                break
        except SyncError as error:
            assert error.retryable, error
            pull_failures += 1
    chaos.on = False

    injected = {k: v for k, v in proxy.faults.items() if k != "pass"}
    assert len(injected) >= pick(4, 6), injected  # most kinds of fault really happened
    assert stats.get("device_failures", 0) + pull_failures > 0

    last = coordinator.pull(org.coordinator)  # only its own receipts and roster entries
    assert (last.stored, last.duplicates, last.forged, last.held) == (0, 0, 0, 0)
    cases = {r.id: r.data for r in org.coordinator.list(kind=Kind.CASE)}
    assert set(cases) == set(expected), "a record is missing or unexpected"
    for record_id, case in cases.items():
        assert len(case["revisions"]) == 1, "a record arrived twice"
        assert case["custody"]["signature"] == "valid"
        assert case["custody"]["chain"] == "ok", case["custody"]
        if expected[record_id]:
            (ref,) = case["revisions"][0]["blobs"]
            data = coordinator.fetch_blob(org.coordinator, ref["id"])
            assert hashlib.sha256(data).hexdigest() == expected[record_id]
    chains = {d["id"]: d["chain"] for d in coordinator.list_devices(org.coordinator)}
    assert set(chains.values()) == {"ok"}
