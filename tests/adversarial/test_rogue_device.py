"""A rogue phone: genuinely enrolled and admitted, then turned hostile. It signs with its own
key, so its envelopes verify; what it may write is what is checked (`sync.trust`)."""

from __future__ import annotations

import time
from typing import Any

from core.records import Kind, Record
from sync import coordinator, envelope
from sync.client import Client
from sync.device import DeviceIdentity
from sync.engine import SyncEngine
from sync.outbox import queue_record
from sync.payload import build_payload
from tests.adversarial.operator import HostileOperator
from tests.integration.conftest import Org

YEAR_2100 = 4_102_444_800


class Rogue:
    """An enrolled device that seals whatever it likes, in its own valid chain."""

    def __init__(self, org: Org, name: str = "mallory") -> None:
        self.vault = org.new_device(name)
        identity = DeviceIdentity.load(self.vault)
        assert identity is not None
        self.identity = identity
        self.org = org
        self.seq, self.prev = 0, envelope.ZERO_HASH

    def send(
        self,
        payload_type: str,
        record: dict[str, Any],
        *,
        kind: str,
        blobs: list[dict[str, Any]] | None = None,
    ) -> str:
        document = coordinator.org_document(self.org.coordinator)
        assert document is not None
        self.seq += 1
        sealed = envelope.seal(
            build_payload(payload_type, record, blobs or ()),
            signer=self.identity.signing_key,
            recipients=list(document.recipients),
            seq=self.seq,
            prev=self.prev,
            kind=kind,
            now=int(time.time()),
        )
        self.prev = envelope.envelope_hash(sealed)
        with Client(self.org.server.url, signing_key=self.identity.signing_key) as client:
            (result,) = client.push_envelopes([envelope.to_wire(sealed)])
        if result["status"] == "rejected":
            # The honest server refuses kinds a device may not send; a hostile one would not.
            HostileOperator(self.org.server).insert_envelope(sealed)
        return sealed.id


def _alice_case(org: Org) -> Record:
    alice = org.new_device("alice")
    saved = queue_record(alice, Record(kind=Kind.INCIDENT, data={"title": "beaten at the station"}))
    SyncEngine(alice).run_once()
    coordinator.pull(org.coordinator)
    return saved


def test_a_rogue_device_cannot_add_a_revision_to_another_devices_case(org: Org) -> None:
    saved = _alice_case(org)
    rogue = Rogue(org)
    forged = rogue.send(
        "incident",
        {"id": saved.id, "version": 9, "data": {"title": "nothing happened"}},
        kind="report",
    )

    report = coordinator.pull(org.coordinator)

    assert (forged, "not_the_author") in report.problems and report.refused == 1
    case = org.coordinator.get(saved.id)
    assert case.data["latest"]["title"] == "beaten at the station"
    assert len(case.data["revisions"]) == 1


def test_a_rogue_device_cannot_send_case_events_dated_in_2100(org: Org) -> None:
    saved = _alice_case(org)
    rogue = Rogue(org)
    forged = rogue.send(
        "case_event",
        {"case_id": saved.id, "event": {"type": "status", "status": "closed"}},
        kind="event",
    )

    report = coordinator.pull(org.coordinator)

    assert (forged, "not_a_coordinator") in report.problems
    assert org.coordinator.list(kind=Kind.CASE_EVENT) == []


def test_a_payload_under_the_wrong_envelope_kind_is_refused(org: Org) -> None:
    rogue = Rogue(org)
    forged = rogue.send("incident", {"id": "e" * 32, "data": {"title": "x"}}, kind="reply")
    report = coordinator.pull(org.coordinator)
    assert (forged, "kind_mismatch") in report.problems
    assert org.coordinator.list(kind=Kind.CASE) == []


def test_a_rogue_device_cannot_admit_another_device_to_the_roster(org: Org) -> None:
    rogue = Rogue(org)
    forged = rogue.send(
        "roster",
        {"device_id": "0" * 32, "signing_key": "A" * 43, "recipient": "age1x", "label": "x"},
        kind="event",
    )
    report = coordinator.pull(org.coordinator)
    assert (forged, "not_a_coordinator") in report.problems
    assert set(coordinator.roster(org.coordinator)) == {rogue.identity.device_id}


def test_a_coordinators_clock_in_2100_cannot_win_the_merge(org: Org) -> None:
    saved = _alice_case(org)
    event_id = coordinator.push_case_event(
        org.coordinator, saved.id, {"type": "status", "status": "closed"}, now=lambda: YEAR_2100
    )
    coordinator.pull(org.coordinator)
    event = org.coordinator.get(event_id)
    assert event.data["claimed"] == YEAR_2100
    assert event.data["created"] <= time.time() + 1
