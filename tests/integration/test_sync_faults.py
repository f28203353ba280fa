"""Exactly once through a hostile network: the fault proxy between a device and the real server.

Drops, resets in the middle of a body, stalls longer than the read timeout, 503s, slow bytes,
lost acknowledgements and duplicated requests, at random; the device keeps syncing until its
outbox is empty. Then the server's feed must hold every envelope exactly once with the hash the
device signed, and the blob must decrypt to the very bytes that were attached.
"""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

import pytest

from core.records import Kind, Record
from sync import coordinator, envelope
from sync.client import Client
from sync.device import DeviceIdentity
from sync.engine import SyncEngine
from sync.errors import SyncError
from sync.outbox import pending_blobs, pending_envelopes, queue_record
from tests.integration.conftest import Org
from tests.support.fault_proxy import FaultPlan, FaultProxy

ENVELOPES = 1000
BLOB_BYTES = 50 * 1024 * 1024
MAX_ROUNDS = 200


def _proxied(proxy: FaultProxy):
    def factory(identity: DeviceIdentity) -> Client:
        return Client(
            proxy.url, signing_key=identity.signing_key, connect_timeout=1, read_timeout=1
        )

    return factory


@pytest.mark.slow
def test_envelopes_and_a_large_blob_arrive_exactly_once_through_faults(org: Org) -> None:
    device = org.new_device()
    for i in range(ENVELOPES - 1):
        queue_record(device, Record(kind=Kind.NOTE, data={"text": f"note {i}"}))
    blob = os.urandom(BLOB_BYTES)
    stored = device.attach(io.BytesIO(blob), media_type="video/mp4", name="v.mp4")
    queue_record(
        device,
        Record(
            kind=Kind.INCIDENT,
            data={"title": "with video", "attachments": [stored.to_dict()]},
        ),
    )
    signed = {e.id: e.data["wire"] for e in pending_envelopes(device)}
    assert len(signed) == ENVELOPES

    host, port = org.server.url.removeprefix("http://").split(":")
    plan = FaultPlan(seed=20261121, rate=0.35)
    failures: list[str] = []
    with FaultProxy((host, int(port)), plan=plan, stall_seconds=1.5, slow_piece=64 * 1024) as proxy:
        engine = SyncEngine(device, client_factory=_proxied(proxy), chunk_size=1024 * 1024)
        for _ in range(MAX_ROUNDS):
            try:
                engine.run_once()
            except SyncError as error:
                assert error.retryable, error
                failures.append(error.reason)
                continue
            if not pending_envelopes(device) and not pending_blobs(device):
                break
    assert not pending_envelopes(device) and not pending_blobs(device)
    injected = {k: v for k, v in proxy.faults.items() if k != "pass"}
    assert len(injected) >= 6, injected  # the run really went through most kinds of fault
    assert failures

    pulled = coordinator.pull(org.coordinator)
    assert pulled.fetched == ENVELOPES
    assert (pulled.stored, pulled.forged, pulled.chain_problems) == (ENVELOPES, 0, 0)
    again = coordinator.pull(org.coordinator)  # only the receipts and roster entry it sent
    assert (again.stored, again.duplicates, again.forged, again.held) == (0, 0, 0, 0)

    feed: dict[str, str] = {}
    with coordinator.client_for(coordinator.load_identity(org.coordinator)) as client:
        after = 0
        while True:
            page = client.envelopes(after, 100)
            if not page["items"]:
                break
            for item in page["items"]:
                sealed = envelope.from_wire(item["envelope"])
                assert sealed.id not in feed
                if sealed.author != coordinator.load_identity(org.coordinator).id:
                    feed[sealed.id] = envelope.envelope_hash(sealed)  # the device's, not ours
            after = page["next"]
    expected = {i: envelope.envelope_hash(envelope.from_wire(w)) for i, w in signed.items()}
    assert feed == expected

    (case,) = [c for c in org.coordinator.list(kind=Kind.CASE) if c.data["type"] == "incident"]
    ref: dict[str, Any] = case.data["revisions"][0]["blobs"][0]
    plain = coordinator.fetch_blob(org.coordinator, ref["id"])
    assert hashlib.sha256(plain).digest() == hashlib.sha256(blob).digest()
