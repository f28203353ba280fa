"""The coordinator side on the real server: pull exactly once, custody, a second coordinator."""

from __future__ import annotations

import time

import pytest

from core.records import Kind, Record
from storage import Vault
from sync import coordinator, envelope
from sync.client import Client
from sync.device import DeviceIdentity
from sync.engine import SyncEngine
from sync.errors import UntrustedDocument
from sync.outbox import current_recipients, queue_record
from sync.payload import build_payload
from tests.integration.conftest import Org, make_vault


def _notes(vault: Vault, count: int, prefix: str) -> None:
    for i in range(count):
        queue_record(vault, Record(kind=Kind.NOTE, data={"text": f"{prefix}{i}"}))


def test_an_interrupted_pull_resumes_and_stores_each_envelope_exactly_once(org: Org) -> None:
    alice, bob = org.new_device("alice"), org.new_device("bob")
    _notes(alice, 130, "a")
    _notes(bob, 70, "b")
    SyncEngine(alice).run_once()
    SyncEngine(bob).run_once()

    first = coordinator.pull(org.coordinator, page_size=25, max_pages=3)
    assert first.stored == 75
    rest = coordinator.pull(org.coordinator, page_size=25)
    assert rest.stored == 125 and rest.duplicates == 0
    again = coordinator.pull(org.coordinator)  # only the receipts the last pull sent back
    assert again.stored == 0 and again.fetched == again.not_for_me == rest.receipts_sent

    cases = org.coordinator.list(kind=Kind.CASE)
    texts = sorted(c.data["latest"]["text"] for c in cases)
    assert texts == sorted([f"a{i}" for i in range(130)] + [f"b{i}" for i in range(70)])
    assert all(c.data["custody"]["chain"] == "ok" for c in cases)
    assert all(len(c.data["revisions"]) == 1 for c in cases)


def test_a_pull_that_restarts_from_zero_adds_nothing(org: Org) -> None:
    device = org.new_device()
    _notes(device, 20, "n")
    SyncEngine(device).run_once()
    coordinator.pull(org.coordinator)
    state = coordinator.load_state(org.coordinator)
    state.cursor = 0
    org.coordinator.put(state.to_record())
    again = coordinator.pull(org.coordinator)
    assert again.stored == 0 and again.fetched == 20 + again.not_for_me + 1  # receipt, roster
    assert len(org.coordinator.list(kind=Kind.CASE)) == 20


def test_a_missing_envelope_shows_as_a_gap_in_the_chain_of_custody(org: Org) -> None:
    device = org.new_device()
    identity = DeviceIdentity.load(device)
    recipients = current_recipients(device)
    assert identity is not None and recipients is not None
    wires, prev = [], envelope.ZERO_HASH
    for seq in (1, 2, 3):
        payload = build_payload("note", {"id": f"{seq:032x}", "data": {"text": str(seq)}})
        sealed = envelope.seal(
            payload,
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
        client.push_envelopes([wires[0], wires[2]])  # number 2 never arrives
    report = coordinator.pull(org.coordinator)
    assert report.stored == 2 and report.chain_problems == 1
    third = org.coordinator.get(f"{3:032x}")
    assert third.data["custody"]["chain"] == "gap"
    assert third.data["custody"]["problems"]
    assert org.coordinator.get(f"{1:032x}").data["custody"]["chain"] == "ok"


def test_a_second_coordinator_joins_reads_new_reports_and_can_hold_the_root_key(
    org: Org,
) -> None:
    backup = coordinator.export_root_key_backup(org.coordinator, "backup words here")
    assert b"AGE ENCRYPTED FILE" in backup
    second = make_vault(org.tmp / "second")
    root = coordinator.coordinator_info(org.coordinator)["root_fingerprint"]
    info = coordinator.join_organisation(
        second, org.server.url, name="Bakyt", root_fingerprint=root
    )
    doc = coordinator.publish_org_document(org.coordinator, add_coordinator=info)
    assert doc.version == 2 and len(doc.recipients) == 2

    device = org.new_device()
    _notes(device, 3, "x")
    SyncEngine(device).run_once()
    pulled = coordinator.pull(second)  # the second did not make the invite: it cannot admit
    assert (pulled.held, pulled.stored) == (3, 0)
    coordinator.pull(org.coordinator)  # the first admits the device and tells the second
    pulled = coordinator.pull(second)
    assert pulled.released == 3 and len(second.list(kind=Kind.CASE)) == 3
    assert set(coordinator.roster(second)) == set(coordinator.roster(org.coordinator))

    with pytest.raises(UntrustedDocument):
        coordinator.import_root_key_backup(second, backup, "wrong words")
    assert coordinator.import_root_key_backup(second, backup, "backup words here") == root
    assert coordinator.coordinator_info(second)["holds_root_key"]
    assert coordinator.publish_org_document(second, forms=[{"id": "f"}]).version == 3
    second.lock()
