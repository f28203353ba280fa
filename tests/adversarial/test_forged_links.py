"""Linked cases under attack: a hostile server (or a rogue phone) cannot merge, link or name
entities in a coordinator's place. Merges and links are case events; only coordinators listed
in the root-signed org document may write them (`sync.trust.writer_problem`)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from app.casebook.cases import CaseIndex
from core.crypto.signing import SigningKey
from core.records import Kind, Record
from sync import coordinator, envelope
from sync.encoding import b64u_encode
from sync.engine import SyncEngine
from sync.outbox import queue_record
from sync.payload import build_payload
from tests.adversarial.operator import HostileOperator, RedTeamOperator
from tests.adversarial.test_rogue_device import Rogue
from tests.integration.conftest import Org

STATION = {"perpetrator_station": "ОВД Октябрьский"}


def _two_cases(org: Org) -> tuple[str, str]:
    phone = org.new_device("osh")
    a = queue_record(phone, Record(kind=Kind.INCIDENT, data={"answers": dict(STATION)}))
    b = queue_record(phone, Record(kind=Kind.INCIDENT, data={"answers": {"victims": "B"}}))
    SyncEngine(phone).run_once()
    coordinator.pull(org.coordinator)
    return a.id, b.id


def _links(org: Org) -> Any:
    from app.services.coordinator_links import LinksMixin

    index = CaseIndex.build(
        org.coordinator.list(kind=Kind.CASE), org.coordinator.list(kind=Kind.CASE_EVENT)
    )

    class Reader(LinksMixin):
        def index(self) -> CaseIndex:
            return index

        def act(self, case_id: str, event: Any) -> None:
            raise AssertionError("read only")

    return Reader().link_index()


def _sealed(org: Org, signer: SigningKey, event: dict[str, Any], case_id: str) -> Any:
    document = coordinator.org_document(org.coordinator)
    assert document is not None
    return envelope.seal(
        build_payload("case_event", {"case_id": case_id, "event": event}),
        signer=signer,
        recipients=list(document.recipients),
        seq=1,
        prev=envelope.ZERO_HASH,
        kind="event",
        now=int(time.time()),
    )


def test_a_merge_the_server_signs_with_a_coordinator_key_of_its_own_changes_nothing(
    org: Org, operator: HostileOperator
) -> None:
    a, b = _two_cases(org)
    own = SigningKey.generate()
    forged = _sealed(org, own, {"type": "merge", "into": a}, b)
    with operator._db() as db:  # the operator lists its key as a coordinator on the server
        db.execute(
            "INSERT INTO coordinators (key_id, signing_key) VALUES (?, ?)",
            (forged.author, b64u_encode(own.public_bytes())),
        )
    operator.insert_envelope(forged)

    report = coordinator.pull(org.coordinator)

    assert report.stored == 0
    assert org.coordinator.list(kind=Kind.CASE_EVENT) == []
    assert _links(org).survivor(b) == b


def test_a_link_under_the_coordinators_name_with_a_payload_of_the_servers_is_refused(
    org: Org, operator: HostileOperator
) -> None:
    a, b = _two_cases(org)
    genuine = coordinator.push_case_event(org.coordinator, a, {"type": "comment", "text": "ok"})
    wire = next(
        r.data["wire"]
        for r in org.coordinator.list(kind=Kind.OUTBOX)
        if r.data.get("envelope_id") == genuine
    )
    real = envelope.from_wire(wire)
    replacement = _sealed(org, SigningKey.generate(), {"type": "link", "case": b}, a).payload
    forged_header = dataclasses.replace(real.header, id="f" * 32, seq=real.header.seq + 1)
    forged = dataclasses.replace(real, header=forged_header, payload=replacement)
    RedTeamOperator(org.server).insert_envelope_unchecked(forged)

    coordinator.pull(org.coordinator)

    events = [r.data["event"]["type"] for r in org.coordinator.list(kind=Kind.CASE_EVENT)]
    assert events == ["comment"]
    assert _links(org).links_of(a).linked == ()


def test_a_rogue_phone_cannot_merge_link_or_name_a_station(org: Org) -> None:
    a, b = _two_cases(org)
    rogue = Rogue(org)
    sent = [
        rogue.send("case_event", {"case_id": b, "event": event}, kind="event")
        for event in (
            {"type": "merge", "into": a},
            {"type": "link", "case": a},
            {"type": "entity", "kind": "station", "value": "ОВД Октябрьский"},
        )
    ]

    report = coordinator.pull(org.coordinator)

    assert {(eid, "not_a_coordinator") for eid in sent} <= set(report.problems)
    assert org.coordinator.list(kind=Kind.CASE_EVENT) == []
    links = _links(org)
    assert links.survivor(b) == b and links.links_of(b).linked == ()


def test_a_genuine_merge_replayed_by_the_server_counts_once_and_its_undoing_holds(
    org: Org, operator: HostileOperator
) -> None:
    a, b = _two_cases(org)
    merge = coordinator.push_case_event(org.coordinator, b, {"type": "merge", "into": a})
    coordinator.push_case_event(org.coordinator, b, {"type": "unmerge"})
    wire = next(
        r.data["wire"]
        for r in org.coordinator.list(kind=Kind.OUTBOX)
        if r.data.get("envelope_id") == merge
    )
    with operator._db() as db:  # the merge answered again, after the unmerge
        db.execute("DELETE FROM envelopes WHERE id = ?", (merge,))
    operator.insert_envelope(envelope.from_wire(wire))

    coordinator.pull(org.coordinator)

    assert _links(org).survivor(b) == b
