"""A hostile server: its operator edits the database and blob directory, replays, withholds and
lies, holding no organisation key. Each attack is made for real against a running server and
must be refused or detected, with what the coordinator or the phone is shown."""

from __future__ import annotations

import importlib
import io
import time
from typing import Any

import pytest

from core.crypto.signing import SigningKey
from core.records import Kind, Record, Status
from sync import age, coordinator, envelope, orgdoc
from sync.client import Client
from sync.device import load_sync_state
from sync.engine import SyncEngine
from sync.errors import AttachmentAltered, OrgDocumentExpired, UntrustedDocument
from sync.outbox import queue_record
from sync.payload import build_payload
from tests.adversarial.operator import HostileOperator
from tests.integration.conftest import Org

MARKER = "ADVERSARY-3b9e-report-marker"


def _incident(vault: Any, text: str = MARKER, attachment: bytes | None = None) -> Record:
    data: dict[str, Any] = {"title": text, "values": {"summary": text}}
    if attachment is not None:
        stored = vault.attach(io.BytesIO(attachment), media_type="image/jpeg", name="p.jpg")
        data["attachments"] = [{"id": stored.id, "media_type": "image/jpeg", "name": "p.jpg"}]
    return queue_record(vault, Record(kind=Kind.INCIDENT, data=data))


def _recipients(org: Org) -> list[str]:
    document = coordinator.org_document(org.coordinator)
    assert document is not None
    return list(document.recipients)


def test_a_device_the_operator_invented_is_held_and_never_becomes_a_case(
    org: Org, operator: HostileOperator
) -> None:
    key = SigningKey.generate()
    _, recipient = age.generate_identity()
    device_id = operator.insert_device(key.public_bytes(), recipient, label="Osh phone")
    fabricated = envelope.seal(
        build_payload("incident", {"id": "f" * 32, "data": {"title": "fabricated"}}),
        signer=key,
        recipients=_recipients(org),
        seq=1,
        prev=envelope.ZERO_HASH,
        kind="report",
        now=int(time.time()),
    )
    client = Client(org.server.url, signing_key=key)
    with client:
        assert client.push_envelopes([envelope.to_wire(fabricated)])[0]["status"] == "stored"

    report = coordinator.pull(org.coordinator)

    assert report.held == 1 and report.stored == 0 and device_id in report.unverified
    assert org.coordinator.list(kind=Kind.CASE) == []
    (shown,) = [d for d in coordinator.list_devices(org.coordinator) if d["id"] == device_id]
    assert shown["roster"] == "unverified"
    with pytest.raises(coordinator.CoordinatorError) as refused:
        coordinator.send_message(org.coordinator, device_id, "f" * 32, "where are you?")
    assert refused.value.reason == "device_not_verified"


def test_a_swapped_device_key_is_shown_and_messages_still_reach_the_real_phone(
    org: Org, operator: HostileOperator
) -> None:
    phone = org.new_device("osh")
    _incident(phone)
    SyncEngine(phone).run_once()
    coordinator.pull(org.coordinator)
    (device,) = coordinator.list_devices(org.coordinator)
    assert device["roster"] == "verified" and device["label"] == "osh"

    operator_identity, operator_recipient = age.generate_identity()
    operator.swap_recipient(device["id"], operator_recipient)

    (shown,) = coordinator.list_devices(org.coordinator)
    assert shown["roster"] == "key_changed"
    assert device["id"] in coordinator.pull(org.coordinator).key_changed
    coordinator.send_message(org.coordinator, device["id"], "c1", MARKER)
    SyncEngine(phone).run_once()
    (message,) = phone.list(kind=Kind.MESSAGE)
    assert message.data["text"] == MARKER
    sent = next(r for r in org.coordinator.list(kind=Kind.OUTBOX) if r.data.get("seq"))
    sealed = envelope.from_wire(sent.data["wire"])
    with pytest.raises(envelope.NotForMe):
        envelope.open_(sealed, [age.parse_identity(operator_identity)])


def test_a_swapped_attachment_is_detected_at_pull_and_refused_before_decryption(
    org: Org, operator: HostileOperator
) -> None:
    phone = org.new_device()
    saved = _incident(phone, attachment=b"genuine photo " * 1000)
    SyncEngine(phone).run_once()
    (blob_id,) = operator.blob_ids()
    forged = age.encrypt(b"a forged photo", _recipients(org))
    operator.replace_blob(blob_id, forged)

    report = coordinator.pull(org.coordinator)

    assert (blob_id, "attachment_altered") in report.problems
    case = org.coordinator.get(saved.id)
    assert any("attachment" in p for p in case.data["custody"]["problems"])
    with pytest.raises(AttachmentAltered):
        coordinator.fetch_blob(org.coordinator, blob_id)
    SyncEngine(phone).run_once()  # the phone keeps the sealed attachment: no receipt for it
    assert [e.data["type"] for e in phone.list(kind=Kind.OUTBOX)] == ["blob"]


def test_an_older_root_signed_org_document_is_refused_by_a_newly_invited_device(
    org: Org, operator: HostileOperator
) -> None:
    with coordinator.connect(org.coordinator)[1] as client:
        version_one = client.org_document()
    coordinator.publish_org_document(org.coordinator, forms=[])
    operator.restore_org_document(version_one)

    with pytest.raises(UntrustedDocument) as refused:
        org.new_device("new")
    assert "stale_version" in str(refused.value)


def test_a_withheld_renewal_stops_sealing_when_the_document_expires_and_loses_nothing(
    org: Org,
) -> None:
    phone = org.new_device()
    saved = _incident(phone)
    document = coordinator.org_document(org.coordinator)
    assert document is not None and document.expires > 0
    later = document.expires + 1

    with pytest.raises(OrgDocumentExpired):
        SyncEngine(phone, now=lambda: later).run_once()

    assert phone.get(saved.id).status == Status.QUEUED
    assert coordinator.pull(org.coordinator).stored == 0


def test_coordinators_renew_the_document_before_it_lapses(org: Org) -> None:
    document = coordinator.org_document(org.coordinator)
    assert document is not None
    soon = document.expires - orgdoc.RENEW_BEFORE + 1
    coordinator.pull(org.coordinator, now=lambda: soon)
    renewed = coordinator.org_document(org.coordinator)
    assert renewed is not None and renewed.version == document.version + 1
    assert renewed.expires == soon + orgdoc.LIFETIME


def test_a_server_that_acknowledged_and_dropped_a_report_gets_it_again_and_nothing_is_lost(
    org: Org, operator: HostileOperator
) -> None:
    phone = org.new_device()
    saved = _incident(phone, attachment=MARKER.encode() * 200)
    SyncEngine(phone).run_once()
    assert phone.get(saved.id).kind == Kind.STUB  # the readable copy is gone ...
    sealed = phone.list(kind=Kind.OUTBOX)
    assert {e.data["type"] for e in sealed} == {"envelope", "blob"}  # ... the sealed one is not
    identity = coordinator.list_devices(org.coordinator)[0]["id"]
    assert operator.forget_envelopes(identity) == 1
    operator.forget_blobs()
    assert coordinator.pull(org.coordinator).stored == 0

    two_days = time.time() + 2 * 86400
    SyncEngine(phone, now=lambda: two_days).run_once()
    report = coordinator.pull(org.coordinator)
    assert report.stored == 1 and report.attachments_checked == 1
    assert org.coordinator.get(saved.id).data["latest"]["title"] == MARKER

    assert SyncEngine(phone, now=lambda: two_days).run_once().confirmed == 2
    assert phone.list(kind=Kind.OUTBOX) == [] and phone.spool_names() == []
    assert phone.get(saved.id).data["confirmed_at"] > 0


def test_a_receipt_only_comes_from_a_coordinator_who_checked_the_bytes(org: Org) -> None:
    phone = org.new_device()
    _incident(phone, attachment=b"x" * 5000)
    SyncEngine(phone).run_once()
    assert len(phone.list(kind=Kind.OUTBOX)) == 2
    report = coordinator.pull(org.coordinator)
    assert report.attachments_checked == 1 and report.receipts_sent == 1
    SyncEngine(phone).run_once()
    assert phone.list(kind=Kind.OUTBOX) == []


def test_a_seized_server_holds_no_organisation_coordinator_form_or_device_name(
    org: Org, operator: HostileOperator
) -> None:
    secret_words = ["Test Org", "Aida", "Kara-Suu phone"]
    form = {"id": "marker-form", "version": 1, "title": {"en": "Detention in Kara-Suu"}}
    coordinator.publish_org_document(org.coordinator, forms=[form])
    phone = org.new_device("Kara-Suu phone")
    SyncEngine(phone).run_once()
    stored = b"".join(p.read_bytes() for p in operator.data_dir.rglob("*") if p.is_file())
    for word in [*secret_words, "Detention in Kara-Suu"]:
        assert word.encode() not in stored, word
    state = load_sync_state(phone)  # the phone reads all of it, inside its vault
    assert state.org_document is not None and state.org_document["doc"]["org"] == "Test Org"
    assert state.org_document["doc"]["forms"] == [form]


def test_an_invented_device_cannot_fill_the_coordinators_vault_with_held_envelopes(
    org: Org, operator: HostileOperator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importlib.import_module("sync.coordinator.pull"), "MAX_HELD_PER_AUTHOR", 2)
    key = SigningKey.generate()
    operator.insert_device(key.public_bytes(), age.generate_identity()[1])
    prev = envelope.ZERO_HASH
    wires = []
    for seq in (1, 2, 3):
        sealed = envelope.seal(
            build_payload("note", {"id": f"{seq:032x}", "data": {"text": "x"}}),
            signer=key,
            recipients=_recipients(org),
            seq=seq,
            prev=prev,
            kind="report",
            now=int(time.time()),
        )
        prev = envelope.envelope_hash(sealed)
        wires.append(envelope.to_wire(sealed))
    with Client(org.server.url, signing_key=key) as client:
        client.push_envelopes(wires)

    report = coordinator.pull(org.coordinator)

    assert report.held == 2 and ("held_limit" in {reason for _, reason in report.problems})
    assert len(org.coordinator.list(kind=Kind.HELD)) == 2


def test_an_attachment_that_never_arrives_is_reported_and_no_longer_asked_about(
    org: Org,
) -> None:
    from tests.adversarial.test_rogue_device import Rogue

    rogue = Rogue(org)
    ref = {"id": "b" * 32, "sha256": "0" * 64, "size": 10, "media_type": "x", "name": ""}
    rogue.send("incident", {"id": "a" * 32, "data": {"title": "t"}}, kind="report", blobs=[ref])
    first = coordinator.pull(org.coordinator)
    assert first.stored == 1 and coordinator.load_state(org.coordinator).pending_blobs

    later = time.time() + 31 * 86400
    report = coordinator.pull(org.coordinator, now=lambda: later)

    assert ("b" * 32, "attachment_never_arrived") in report.problems
    assert coordinator.load_state(org.coordinator).pending_blobs == []
