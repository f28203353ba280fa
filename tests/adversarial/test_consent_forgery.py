"""Consent that binds, against a hostile server and a rogue phone: a withdrawal of consent counts
only when the report's own phone signed it (or a listed coordinator, as a case event), and
nothing anyone else sends can withdraw it for the victim, nor consent again in their name."""

from __future__ import annotations

import time

from core.crypto.signing import SigningKey
from core.records import Kind, Record
from sync import coordinator, envelope
from sync.age.keys import generate_identity
from sync.engine import SyncEngine
from sync.outbox import queue_record, queue_withdrawal
from sync.payload import build_payload
from tests.adversarial.operator import HostileOperator
from tests.adversarial.test_rogue_device import Rogue
from tests.integration.conftest import Org

CONSENT = {"share_org": True, "statistics": True, "advocacy": True}


def _alice(org: Org) -> tuple[object, Record]:
    alice = org.new_device("alice")
    saved = queue_record(
        alice,
        Record(kind=Kind.INCIDENT, data={"answers": {"description": "x", "consent": CONSENT}}),
    )
    SyncEngine(alice).run_once()
    coordinator.pull(org.coordinator)
    return alice, saved


def _server_forged(org: Org, operator: HostileOperator, payload: bytes) -> str:
    """The operator invents a device (a key of its own, a row in its table) and signs with it."""
    key = SigningKey.generate()
    _, recipient = generate_identity()
    operator.insert_device(key.public_bytes(), recipient)
    document = coordinator.org_document(org.coordinator)
    assert document is not None
    sealed = envelope.seal(
        payload,
        signer=key,
        recipients=list(document.recipients),
        seq=1,
        prev=envelope.ZERO_HASH,
        kind="report",
        now=int(time.time()),
    )
    operator.insert_envelope(sealed, signing_key=key.public_bytes())
    return sealed.id


def test_a_server_forged_withdrawal_changes_nothing(org: Org, operator: HostileOperator) -> None:
    _, saved = _alice(org)
    payload = build_payload("withdrawal", {"case_id": saved.id, "purposes": ["share_org"]})
    _server_forged(org, operator, payload)
    report = coordinator.pull(org.coordinator)
    assert report.held == 1  # from no admitted device: kept aside unread, never applied
    assert "withdrawals" not in org.coordinator.get(saved.id).data


def test_a_server_forged_re_consent_changes_nothing(org: Org, operator: HostileOperator) -> None:
    alice, saved = _alice(org)
    queue_withdrawal(alice, saved.id, ["statistics"])
    SyncEngine(alice).run_once()
    coordinator.pull(org.coordinator)
    again = {"id": saved.id, "version": 9, "data": {"answers": {"consent": CONSENT}}}
    _server_forged(org, operator, build_payload("incident", again))
    report = coordinator.pull(org.coordinator)
    case = org.coordinator.get(saved.id)
    assert report.held == 1 and len(case.data["revisions"]) == 1
    assert [w["purposes"] for w in case.data["withdrawals"]] == [["statistics"]]


def test_another_phone_cannot_withdraw_consent_for_someone_elses_report(org: Org) -> None:
    _, saved = _alice(org)
    rogue = Rogue(org)
    forged = rogue.send(
        "withdrawal", {"case_id": saved.id, "purposes": ["share_org"]}, kind="report"
    )
    report = coordinator.pull(org.coordinator)
    assert (forged, "not_the_author") in report.problems
    assert "withdrawals" not in org.coordinator.get(saved.id).data


def test_a_phone_cannot_undo_a_withdrawal_with_a_case_event(org: Org) -> None:
    alice, saved = _alice(org)
    queue_withdrawal(alice, saved.id, ["advocacy"])
    SyncEngine(alice).run_once()
    coordinator.pull(org.coordinator)
    rogue = Rogue(org)
    forged = rogue.send(
        "case_event",
        {"case_id": saved.id, "event": {"type": "withdraw", "purposes": "statistics"}},
        kind="event",
    )
    report = coordinator.pull(org.coordinator)
    assert (forged, "not_a_coordinator") in report.problems
    assert org.coordinator.list(kind=Kind.CASE_EVENT) == []
    assert [w["purposes"] for w in org.coordinator.get(saved.id).data["withdrawals"]] == [
        ["advocacy"]
    ]
