"""Red-team attacks on the trust rules: a hostile operator (database and blob directory, no org
key), a rogue phone that was genuinely admitted, and a coordinator the organisation removed.

Every test performs the attack and asserts that it is refused or detected. Tests whose docstring
says "Fixed before 0.2 shipped" worked against an earlier draft of the trust rules and are kept
as regression tests; the others were refused from the start and are kept for coverage. A new
attack that still works is added as `xfail(strict=True)` until it is fixed.
"""

from __future__ import annotations

import contextlib
import io
import time
from typing import Any

import pytest

from core.crypto.signing import SigningKey
from core.records import Kind, Record
from sync import age, coordinator, envelope, orgdoc
from sync.client import Client
from sync.coordinator.identity import IDENTITY_ID
from sync.device import DeviceIdentity, get_or_none
from sync.engine import SyncEngine
from sync.enrolment import device_fingerprint, enrolment_proof
from sync.errors import SyncError, UntrustedDocument
from sync.outbox import queue_record, queue_reply
from sync.payload import build_payload
from tests.adversarial.operator import RedTeamOperator
from tests.adversarial.test_rogue_device import Rogue
from tests.integration.conftest import Org, make_vault

MARKER = "RED-TEAM-7f1c-marker"


@pytest.fixture
def red(org: Org) -> RedTeamOperator:
    return RedTeamOperator(org.server)


def _recipients(org: Org) -> list[str]:
    document = coordinator.org_document(org.coordinator)
    assert document is not None
    return list(document.recipients)


def _device_id(vault: Any) -> str:
    identity = DeviceIdentity.load(vault)
    assert identity is not None
    return identity.device_id


def _incident(vault: Any, text: str = MARKER, attachment: bytes | None = None) -> Record:
    data: dict[str, Any] = {"title": text, "values": {"summary": text}}
    if attachment is not None:
        stored = vault.attach(io.BytesIO(attachment), media_type="image/jpeg", name="p.jpg")
        data["attachments"] = [{"id": stored.id, "media_type": "image/jpeg", "name": "p.jpg"}]
    return queue_record(vault, Record(kind=Kind.INCIDENT, data=data))


def _invented_device_envelope(org: Org, red: RedTeamOperator, envelope_id: str) -> str:
    """The operator invents a device and pushes, as it, an envelope whose id it chose."""
    key = SigningKey.generate()
    _, recipient = age.generate_identity()
    device_id = red.insert_device(key.public_bytes(), recipient, label="Osh phone")
    sealed = envelope.seal(
        build_payload("incident", {"id": "f" * 32, "data": {"title": "fabricated"}}),
        signer=key,
        recipients=_recipients(org),
        seq=1,
        prev=envelope.ZERO_HASH,
        kind="report",
        now=int(time.time()),
        envelope_id=envelope_id,
    )
    with Client(org.server.url, signing_key=key) as client:
        assert client.push_envelopes([envelope.to_wire(sealed)])[0]["status"] == "stored"
    return device_id


# --- held envelopes: their ids are chosen by whoever wrote them --------------------------------


def test_an_invented_devices_envelope_cannot_overwrite_the_coordinators_own_keys(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. Held envelopes were stored under their own, sender-chosen id: one
    named like the identity record replaced the coordinator's keys."""
    before = coordinator.load_identity(org.coordinator)
    assert before.root_key is not None
    _invented_device_envelope(org, red, IDENTITY_ID)

    with contextlib.suppress(Exception):
        coordinator.pull(org.coordinator)

    assert org.coordinator.get(IDENTITY_ID).kind == Kind.DEVICE_KEY
    after = coordinator.load_identity(org.coordinator)
    assert after.root_key is not None
    assert after.root_key.public_bytes() == before.root_key.public_bytes()


def test_an_invented_devices_envelope_cannot_push_an_admitted_device_out_of_the_roster(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. A held envelope named like a device id replaced that device's
    roster entry."""
    phone = org.new_device("osh")
    _incident(phone, "first")
    SyncEngine(phone).run_once()
    assert coordinator.pull(org.coordinator).stored == 1
    device_id = _device_id(phone)
    assert device_id in coordinator.roster(org.coordinator)

    _invented_device_envelope(org, red, device_id)
    coordinator.pull(org.coordinator)

    assert device_id in coordinator.roster(org.coordinator)
    second = _incident(phone, "second")
    SyncEngine(phone).run_once()
    report = coordinator.pull(org.coordinator)
    assert report.held == 0 and report.stored == 1
    assert org.coordinator.get(second.id).kind == Kind.CASE


def test_an_invented_devices_envelope_named_like_a_case_does_not_touch_the_case(
    org: Org, red: RedTeamOperator
) -> None:
    """A held envelope whose id is a case id (were the operator to learn one) leaves it alone."""
    phone = org.new_device("osh")
    saved = _incident(phone)
    SyncEngine(phone).run_once()
    coordinator.pull(org.coordinator)
    _invented_device_envelope(org, red, "0" * 32)
    report = coordinator.pull(org.coordinator)
    assert report.held == 1 and report.stored == 0
    assert org.coordinator.get(saved.id).data["latest"]["title"] == MARKER


def test_a_reply_held_until_its_device_is_admitted_is_kept_when_released(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. A released reply found its own held record under the same id,
    counted as a duplicate, and was lost."""
    phone = org.new_device("osh")
    device_id = _device_id(phone)
    reply_id = queue_reply(phone, "c" * 32, MARKER, "m" * 32)
    SyncEngine(phone).run_once()
    proof = red.device_proof(device_id)
    red.set_proof(device_id, None)  # the device list is a hint; hiding a proof only delays
    held = coordinator.pull(org.coordinator)
    assert held.held == 1 and device_id in held.unverified
    red.set_proof(device_id, proof)

    released = coordinator.pull(org.coordinator)
    assert released.admitted == [device_id] and released.released == 1
    two_days = time.time() + 2 * 86400
    SyncEngine(phone, now=lambda: two_days).run_once()  # unconfirmed: pushed again
    coordinator.pull(org.coordinator)

    message = get_or_none(org.coordinator, reply_id)
    sealed_copy = get_or_none(phone, reply_id)
    assert message is not None or sealed_copy is not None, "the reply is gone on both sides"
    assert message is not None and message.kind == Kind.MESSAGE
    assert message.data["text"] == MARKER


# --- the roster: what a hand confirmation compares -------------------------------------------


def test_a_recipient_swapped_before_a_hand_confirmation_never_receives_messages(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. The hand-verification fingerprint was the device id only, so a
    swapped recipient passed it."""
    phone = org.new_device("osh")  # an 0.1 phone, or one whose proof the operator hid
    device_id = _device_id(phone)
    red.set_proof(device_id, None)
    operator_identity, operator_recipient = age.generate_identity()
    red.swap_recipient(device_id, operator_recipient)
    (shown,) = coordinator.list_devices(org.coordinator)
    assert shown["roster"] == "unverified"
    # The coordinator reads the fingerprint off the phone: it covers both keys, so the one
    # the server's keys give no longer matches it.
    assert shown["id"] == device_id

    phone_identity = DeviceIdentity.load(phone)
    assert phone_identity is not None
    on_the_phone = device_fingerprint(
        phone_identity.signing_key.public_bytes(), phone_identity.recipient
    )
    with pytest.raises(coordinator.CoordinatorError) as refused:
        coordinator.confirm_device(
            org.coordinator, device_id, fingerprint=on_the_phone, label="osh"
        )
    assert refused.value.reason == "fingerprint_mismatch"
    assert device_id not in coordinator.roster(org.coordinator)
    with contextlib.suppress(coordinator.CoordinatorError):
        coordinator.send_message(org.coordinator, device_id, "c1", MARKER)

    sent = [
        envelope.from_wire(r.data["wire"])
        for r in org.coordinator.list(kind=Kind.OUTBOX)
        if r.data.get("type") == "envelope"
    ]
    for sealed in sent:
        with pytest.raises(envelope.NotForMe):
            envelope.open_(sealed, [age.parse_identity(operator_identity)])


def test_an_expired_invite_no_longer_admits_a_device(org: Org, red: RedTeamOperator) -> None:
    """Fixed before 0.2 shipped. Proofs were matched against every unused invite whatever its
    expiry."""
    invite = coordinator.create_invite(org.coordinator, expires_in=3600, label="Bishkek")
    assert invite.enrol_secret is not None
    # Months later, someone holding that (never used) invite text, and a cooperating server.
    key = SigningKey.generate()
    _, recipient = age.generate_identity()
    proof = enrolment_proof(invite.enrol_secret, key.public_bytes(), recipient)
    device_id = red.insert_device_with_proof(key.public_bytes(), recipient, proof)
    months_later = time.time() + 120 * 86400

    report = coordinator.pull(org.coordinator, now=lambda: months_later)

    assert device_id not in report.admitted
    assert device_id not in coordinator.roster(org.coordinator)


def test_a_proof_made_for_one_device_does_not_admit_another(org: Org, red: RedTeamOperator) -> None:
    phone = org.new_device("osh", enrol=False)
    SyncEngine(phone).run_once()  # enrols, with its proof
    genuine = _device_id(phone)
    proof = red.device_proof(genuine)
    assert proof
    red.set_proof(genuine, None)
    key = SigningKey.generate()
    _, recipient = age.generate_identity()
    copied = red.insert_device_with_proof(key.public_bytes(), recipient, proof)

    report = coordinator.pull(org.coordinator)

    assert copied in report.unverified and copied not in coordinator.roster(org.coordinator)
    red.set_proof(genuine, proof)
    assert coordinator.pull(org.coordinator).admitted == [genuine]


# --- the org document: a removed coordinator, a frozen or re-signed document ------------------


def _second_coordinator(org: Org, name: str) -> Any:
    vault = make_vault(org.tmp / name)
    org.devices.append(vault)  # locked at the end with the rest
    identity = coordinator.load_identity(org.coordinator)
    info = coordinator.join_organisation(
        vault, org.server.url, name=name, root_fingerprint=identity.root_fingerprint
    )
    coordinator.publish_org_document(org.coordinator, add_coordinator=info)
    coordinator.refresh_org_document(vault)
    return vault


def _open_with(sealed: envelope.Envelope, vault: Any) -> bytes:
    identity = coordinator.load_identity(vault)
    return envelope.open_(sealed, [age.parse_identity(identity.age_identity)])


def _frozen_on_a_document_listing_a_removed_coordinator(
    org: Org, red: RedTeamOperator
) -> tuple[Any, Any, orgdoc.OrgDocument]:
    """B (no root key) holds a document listing C; the root removes C; the operator keeps
    answering B with the old document. Returns (B, C, the document B is frozen on)."""
    bakyt = _second_coordinator(org, "bakyt")
    cholpon = _second_coordinator(org, "cholpon")
    coordinator.pull(bakyt)
    frozen_wire = red.org_document_wire()
    frozen = coordinator.org_document(bakyt)
    assert frozen is not None and frozen.coordinator(coordinator.load_identity(cholpon).id)
    coordinator.publish_org_document(
        org.coordinator, remove_coordinator=coordinator.load_identity(cholpon).id
    )
    red.restore_org_document(frozen_wire)
    return bakyt, cholpon, frozen


def test_a_coordinator_frozen_on_a_lapsed_document_stops_sealing_to_a_removed_coordinator(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. Coordinators never checked expiry, so one kept on an old document
    sealed to a removed coordinator for ever."""
    bakyt, cholpon, frozen = _frozen_on_a_document_listing_a_removed_coordinator(org, red)
    lapsed = frozen.expires + 30 * 86400

    with contextlib.suppress(Exception):
        coordinator.pull(bakyt, now=lambda: lapsed)
        coordinator.push_case_event(
            bakyt, "c" * 32, {"type": "note", "text": MARKER}, now=lambda: lapsed
        )

    for entry in bakyt.list(kind=Kind.OUTBOX):
        sealed = envelope.from_wire(entry.data["wire"])
        with pytest.raises(envelope.NotForMe):
            _open_with(sealed, cholpon)


def test_a_removed_coordinator_cannot_admit_a_device_to_a_frozen_coordinators_roster(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. A frozen coordinator took a removed coordinator's roster entry
    and a fabricated report became a valid case."""
    bakyt, cholpon, frozen = _frozen_on_a_document_listing_a_removed_coordinator(org, red)
    lapsed = frozen.expires + 30 * 86400
    fake = SigningKey.generate()
    _, fake_recipient = age.generate_identity()
    fake_id = red.insert_device(fake.public_bytes(), fake_recipient, label="")
    removed = coordinator.load_identity(cholpon)
    entry = coordinator.RosterEntry(
        fake_id, fake.public_bytes(), fake_recipient, "Osh", removed.id, int(time.time()), "invite"
    )
    admit = envelope.seal(
        build_payload("roster", entry.shared()),
        signer=removed.signing_key,
        recipients=list(frozen.recipients),
        seq=1,
        prev=envelope.ZERO_HASH,
        kind="event",
        now=int(time.time()),
    )
    red.insert_envelope_as(admit, removed.signing_key.public_bytes())
    fabricated = envelope.seal(
        build_payload("incident", {"id": "f" * 32, "data": {"title": "fabricated"}}),
        signer=fake,
        recipients=list(frozen.recipients),
        seq=1,
        prev=envelope.ZERO_HASH,
        kind="report",
        now=int(time.time()),
    )
    with Client(org.server.url, signing_key=fake) as client:
        assert client.push_envelopes([envelope.to_wire(fabricated)])[0]["status"] == "stored"

    with contextlib.suppress(Exception):
        coordinator.pull(bakyt, now=lambda: lapsed)

    assert fake_id not in coordinator.roster(bakyt)
    assert get_or_none(bakyt, "f" * 32) is None


def test_a_renewal_of_a_withheld_document_cannot_bring_back_a_removed_coordinator(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. An equal-version document was accepted whatever it said: a second
    root holder kept on the old document renewed it with the removed coordinator, whose wipe
    a phone then obeyed."""
    bakyt = _second_coordinator(org, "bakyt")
    backup = coordinator.export_root_key_backup(org.coordinator, "backup passphrase")
    coordinator.import_root_key_backup(bakyt, backup, "backup passphrase")
    cholpon = _second_coordinator(org, "cholpon")
    coordinator.pull(bakyt)
    with_cholpon = red.org_document_wire()
    phone = org.new_device("osh")
    removed = coordinator.publish_org_document(
        org.coordinator, remove_coordinator=coordinator.load_identity(cholpon).id
    )
    SyncEngine(phone).run_once()  # the phone now holds the removal
    red.restore_org_document(with_cholpon)  # ... and the operator withholds it from Bakyt

    document = coordinator.org_document(bakyt)
    assert document is not None and removed.version == document.version + 1
    soon = document.expires - orgdoc.RENEW_BEFORE + 1
    with contextlib.suppress(SyncError):
        coordinator.pull(bakyt, now=lambda: soon)  # renews what it was shown
    with contextlib.suppress(SyncError):
        coordinator.order_wipe(cholpon, _device_id(phone))

    wiped = False
    with contextlib.suppress(SyncError):
        wiped = SyncEngine(phone).run_once().wiped

    assert not wiped
    assert DeviceIdentity.load(phone) is not None


# --- attachments: whose signed reference is checked -------------------------------------------


def _rogue_report_naming(rogue: Rogue, blobs: list[Any], case_id: str) -> str:
    document = coordinator.org_document(rogue.org.coordinator)
    assert document is not None
    rogue.seq += 1
    sealed = envelope.seal(
        build_payload("incident", {"id": case_id, "data": {"title": "mine"}}, blobs),
        signer=rogue.identity.signing_key,
        recipients=list(document.recipients),
        seq=rogue.seq,
        prev=rogue.prev,
        kind="report",
        now=int(time.time()),
    )
    rogue.prev = envelope.envelope_hash(sealed)
    with Client(rogue.org.server.url, signing_key=rogue.identity.signing_key) as client:
        (result,) = client.push_envelopes([envelope.to_wire(sealed)])
    assert result["status"] == "stored"
    return sealed.id


def test_a_rogue_devices_reference_to_another_devices_blob_cannot_vouch_for_forged_bytes(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. fetch_blob checked a blob against the first case naming its id,
    from any author."""
    from sync.payload import BlobRef

    alice = org.new_device("alice")
    saved = _incident(alice, attachment=b"genuine photo " * 1000)
    SyncEngine(alice).run_once()
    (blob_id,) = red.blob_ids()
    (alice_envelope,) = [
        e.id for e in alice.list(kind=Kind.OUTBOX) if e.data.get("type") == "envelope"
    ]
    rogue = Rogue(org)
    forged = age.encrypt(b"a forged photo", _recipients(org))
    import hashlib

    ref = BlobRef(blob_id, hashlib.sha256(forged).hexdigest(), len(forged), "image/jpeg", "p.jpg")
    _rogue_report_naming(rogue, [ref], "0" * 32)
    red.replace_blob(blob_id, forged)
    red.move_to_end_of_feed(alice_envelope)

    coordinator.pull(org.coordinator)
    case = org.coordinator.get(saved.id)
    assert case.data["author"] == _device_id(alice)
    assert any(blob_id == b["id"] for r in case.data["revisions"] for b in r["blobs"])

    with pytest.raises(coordinator_errors().AttachmentAltered):
        coordinator.fetch_blob(org.coordinator, blob_id, case_id=saved.id)
    with pytest.raises((coordinator_errors().AttachmentAltered, UntrustedDocument)):
        coordinator.fetch_blob(org.coordinator, blob_id)


def coordinator_errors() -> Any:
    from sync import errors

    return errors


# --- forgeries that do not verify --------------------------------------------------------------


def _claiming(author: str, sealed: envelope.Envelope, **changes: Any) -> envelope.Envelope:
    """The envelope with its header rewritten to claim `author` (its signature no longer holds)."""
    import dataclasses

    header = dataclasses.replace(sealed.header, author=author, **changes)
    return envelope.Envelope(header, sealed.sig, sealed.payload)


def test_a_revision_whose_signature_fails_never_becomes_a_cases_latest_state(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. An envelope failing its signature check was merged into the case
    it named and became its latest state."""
    alice = org.new_device("alice")
    saved = _incident(alice, "beaten at the station")
    SyncEngine(alice).run_once()
    coordinator.pull(org.coordinator)
    # A removed coordinator read this case before its removal: it knows the case id.
    forger = SigningKey.generate()
    forged = envelope.seal(
        build_payload("incident", {"id": saved.id, "data": {"title": "nothing happened"}}),
        signer=forger,
        recipients=_recipients(org),
        seq=1000,
        prev=envelope.ZERO_HASH,
        kind="report",
        now=int(time.time()),
    )
    red.insert_envelope_unchecked(_claiming(_device_id(alice), forged))

    report = coordinator.pull(org.coordinator)

    assert report.forged == 1
    case = org.coordinator.get(saved.id)
    assert case.data["latest"]["title"] == "beaten at the station"
    assert case.data["custody"]["signature"] == "valid"


# --- attacks that are refused (coverage) -------------------------------------------------------


def test_a_receipt_for_one_phone_copied_into_another_phones_messages_is_refused(
    org: Org, red: RedTeamOperator
) -> None:
    alice = org.new_device("alice")
    bob = org.new_device("bob")
    _incident(alice)
    _incident(bob)
    SyncEngine(alice).run_once()
    SyncEngine(bob).run_once()
    bob_entries = {e.id for e in bob.list(kind=Kind.OUTBOX)}
    red.forget_envelopes(_device_id(bob))  # bob's report never reaches a coordinator
    coordinator.pull(org.coordinator)
    receipts = [
        envelope.from_wire(e.data["wire"])
        for e in org.coordinator.list(kind=Kind.OUTBOX)
        if e.data.get("type") == "envelope"
    ]
    receipts = [r for r in receipts if r.header.kind == "message"]
    assert receipts and all(r.header.to == _device_id(alice) for r in receipts)
    for receipt in receipts:  # the operator hands bob alice's receipts
        red.readdress(receipt.id, _device_id(bob))

    report = SyncEngine(bob).run_once()

    assert report.confirmed == 0
    refused = [reason for eid, reason in report.problems if eid in {r.id for r in receipts}]
    assert refused and set(refused) <= {"not_a_message_for_me", "not_for_me"}
    assert {e.id for e in bob.list(kind=Kind.OUTBOX)} == bob_entries


def test_a_removed_coordinators_receipt_is_refused_by_a_phone_that_holds_the_removal(
    org: Org, red: RedTeamOperator
) -> None:
    cholpon = _second_coordinator(org, "cholpon")
    phone = org.new_device("osh")
    _incident(phone)
    SyncEngine(phone).run_once()
    entries = [e.id for e in phone.list(kind=Kind.OUTBOX)]
    removed = coordinator.load_identity(cholpon)
    coordinator.publish_org_document(org.coordinator, remove_coordinator=removed.id)
    receipt = envelope.seal(
        build_payload("receipt", {"envelopes": entries, "blobs": []}),
        signer=removed.signing_key,
        recipients=[DeviceIdentity.load(phone).recipient],  # type: ignore[union-attr]
        seq=1,
        prev=envelope.ZERO_HASH,
        kind="message",
        to=_device_id(phone),
        now=int(time.time()),
    )
    red.insert_envelope_unchecked(receipt)

    report = SyncEngine(phone).run_once()

    assert report.confirmed == 0
    assert (receipt.id, "unknown_author") in report.problems
    assert [e.id for e in phone.list(kind=Kind.OUTBOX)] == entries


# --- case events: whose clock orders them -----------------------------------------------------


def test_the_operator_cannot_reorder_a_coordinators_own_status_changes(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. The server's received_at capped event times, so backdating
    reordered one author's own decisions."""
    alice = org.new_device("alice")
    saved = _incident(alice)
    SyncEngine(alice).run_once()
    coordinator.pull(org.coordinator)
    start = int(time.time()) - 600
    coordinator.push_case_event(
        org.coordinator, saved.id, {"type": "status", "status": "closed"}, now=lambda: start
    )
    reopened = coordinator.push_case_event(
        org.coordinator,
        saved.id,
        {"type": "status", "status": "in_review"},
        now=lambda: start + 60,
    )
    red.set_received_at(reopened, start - 60)

    coordinator.pull(org.coordinator)

    from core.cases import apply_events

    events = [e.data for e in org.coordinator.list(kind=Kind.CASE_EVENT)]
    assert len(events) == 2
    assert apply_events(events, saved.id).status == "in_review"


# --- sealing after the document lapsed --------------------------------------------------------


def test_a_report_saved_after_the_document_lapsed_is_not_sealed_to_its_recipients(
    org: Org, red: RedTeamOperator
) -> None:
    """Fixed before 0.2 shipped. queue_record sealed to a lapsed document's recipients (a removed
    coordinator included)."""
    cholpon = _second_coordinator(org, "cholpon")
    phone = org.new_device("osh")  # holds the document that lists Cholpon
    held = DeviceIdentity.load(phone)
    assert held is not None
    removed = coordinator.load_identity(cholpon)
    coordinator.publish_org_document(org.coordinator, remove_coordinator=removed.id)
    # The operator keeps answering the phone with the old document (or the phone is offline).
    lapsed = coordinator.org_document(cholpon)
    assert lapsed is not None
    months_later = lapsed.expires + 30 * 86400

    with contextlib.suppress(Exception):
        _incident_at(phone, months_later)

    for entry in phone.list(kind=Kind.OUTBOX):
        if entry.data.get("type") == "envelope":
            with pytest.raises(envelope.NotForMe):
                _open_with(envelope.from_wire(entry.data["wire"]), cholpon)


def _incident_at(vault: Any, when: float) -> Record:
    record = Record(kind=Kind.INCIDENT, data={"title": MARKER, "values": {"summary": MARKER}})
    return queue_record(vault, record, now=lambda: when)


# --- downloads: how much the coordinator reads ------------------------------------------------


def test_a_blob_far_larger_than_its_signed_size_is_refused_without_reading_it_all(
    org: Org, red: RedTeamOperator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fixed before 0.2 shipped. Downloads had no limit: a swapped blob of gigabytes was read
    whole (fetch_blob in memory)."""
    phone = org.new_device()
    _incident(phone, attachment=b"genuine photo " * 1000)
    SyncEngine(phone).run_once()
    coordinator.pull(org.coordinator)
    (blob_id,) = red.blob_ids()
    ref = coordinator.signed_reference(org.coordinator, blob_id)
    assert ref is not None
    red.replace_blob(blob_id, bytes(32 * 1024 * 1024))
    read = 0
    original = Client.blob_chunks

    def counting(self: Client, *args: Any, **kwargs: Any) -> Any:
        nonlocal read
        for piece in original(self, *args, **kwargs):
            read += len(piece)
            yield piece

    monkeypatch.setattr(Client, "blob_chunks", counting)

    with pytest.raises(coordinator_errors().AttachmentAltered):
        coordinator.fetch_blob(org.coordinator, blob_id)

    assert read <= int(ref["size"]) + 2 * 1024 * 1024


def test_a_removed_coordinators_case_event_is_never_applied_by_a_coordinator_holding_the_removal(
    org: Org, red: RedTeamOperator
) -> None:
    alice = org.new_device("alice")
    saved = _incident(alice)
    SyncEngine(alice).run_once()
    cholpon = _second_coordinator(org, "cholpon")
    coordinator.pull(org.coordinator)
    document = coordinator.org_document(org.coordinator)
    assert document is not None
    removed = coordinator.load_identity(cholpon)
    coordinator.publish_org_document(org.coordinator, remove_coordinator=removed.id)
    closing = envelope.seal(
        build_payload(
            "case_event", {"case_id": saved.id, "event": {"type": "status", "status": "closed"}}
        ),
        signer=removed.signing_key,
        recipients=list(document.recipients),
        seq=1,
        prev=envelope.ZERO_HASH,
        kind="event",
        now=int(time.time()),
    )
    red.insert_envelope_as(closing, removed.signing_key.public_bytes())

    report = coordinator.pull(org.coordinator)

    assert report.stored == 0 and report.held == 1
    assert org.coordinator.list(kind=Kind.CASE_EVENT) == []


# --- held envelopes and the chain ---------------------------------------------------------------


def test_a_device_admitted_in_the_middle_of_a_pull_gets_no_false_gap_in_its_chain(
    org: Org,
) -> None:
    bakyt = _second_coordinator(org, "bakyt")
    phone = org.new_device("osh")  # admitted by Aida, who made its invite
    _incident(phone, "one")
    SyncEngine(phone).run_once()
    coordinator.pull(org.coordinator)  # Aida admits it: her roster envelope follows "one"
    _incident(phone, "two")
    third = _incident(phone, "three")
    SyncEngine(phone).run_once()

    coordinator.pull(bakyt, page_size=2)  # the server answers short pages
    coordinator.pull(bakyt, page_size=2)

    cases = {c.data["latest"]["title"]: c for c in bakyt.list(kind=Kind.CASE)}
    assert set(cases) == {"one", "two", "three"}
    assert bakyt.get(third.id).data["custody"]["chain"] == "ok"
    assert all(c.data["custody"]["chain"] == "ok" for c in cases.values())


def test_the_operator_cannot_put_a_reopening_before_the_closing_it_answered(
    org: Org, red: RedTeamOperator
) -> None:
    bakyt = _second_coordinator(org, "bakyt")
    alice = org.new_device("alice")
    saved = _incident(alice)
    SyncEngine(alice).run_once()
    coordinator.pull(org.coordinator)
    start = int(time.time()) - 600
    coordinator.push_case_event(
        org.coordinator, saved.id, {"type": "status", "status": "closed"}, now=lambda: start
    )
    coordinator.pull(bakyt)  # Bakyt sees the case closed, and reopens it a minute later
    reopened = coordinator.push_case_event(
        bakyt, saved.id, {"type": "status", "status": "in_review"}, now=lambda: start + 60
    )
    red.set_received_at(reopened, start - 60)

    coordinator.pull(org.coordinator)
    coordinator.pull(bakyt)

    from core.cases import apply_events

    for vault in (org.coordinator, bakyt):
        events = [e.data for e in vault.list(kind=Kind.CASE_EVENT)]
        assert len(events) == 2
        assert apply_events(events, saved.id).status == "in_review"


# --- record ids a device chooses ----------------------------------------------------------------


def test_a_rogue_phone_cannot_squat_the_roster_record_of_a_device_not_yet_admitted(
    org: Org, red: RedTeamOperator
) -> None:
    from sync.coordinator.roster import roster_record_id

    bakyt = _second_coordinator(org, "bakyt")
    rogue = Rogue(org)
    coordinator.pull(org.coordinator)  # Aida admits the rogue phone and tells Bakyt
    coordinator.pull(bakyt)
    assert rogue.identity.device_id in coordinator.roster(bakyt)
    newcomer = org.new_device("osh")
    newcomer_id = _device_id(newcomer)
    proof = red.device_proof(newcomer_id)
    red.set_proof(newcomer_id, None)  # the operator hides it for a while ...
    document = coordinator.org_document(org.coordinator)
    assert document is not None
    rogue.seq += 1
    squat = envelope.seal(
        build_payload("reply", {"case_id": "c" * 32, "text": "hi", "in_reply_to": "m" * 32}),
        signer=rogue.identity.signing_key,
        recipients=list(document.recipients),
        seq=rogue.seq,
        prev=rogue.prev,
        kind="reply",
        now=int(time.time()),
        envelope_id=roster_record_id(newcomer_id),  # ... and tells the rogue its id
    )
    with Client(org.server.url, signing_key=rogue.identity.signing_key) as client:
        assert client.push_envelopes([envelope.to_wire(squat)])[0]["status"] == "stored"
    coordinator.pull(org.coordinator)
    coordinator.pull(bakyt)
    red.set_proof(newcomer_id, proof)
    saved = _incident(newcomer)
    SyncEngine(newcomer).run_once()
    coordinator.pull(org.coordinator)  # Aida admits the newcomer and tells Bakyt

    report = coordinator.pull(bakyt)

    assert newcomer_id in coordinator.roster(bakyt)
    assert report.stored >= 1 and bakyt.get(saved.id).kind == Kind.CASE


def test_a_case_event_pushed_without_a_pull_on_a_lapsed_document_is_not_sealed_to_it(
    org: Org, red: RedTeamOperator
) -> None:
    bakyt, cholpon, frozen = _frozen_on_a_document_listing_a_removed_coordinator(org, red)
    lapsed = frozen.expires + 30 * 86400

    with contextlib.suppress(SyncError):
        coordinator.push_case_event(
            bakyt, "c" * 32, {"type": "comment", "text": MARKER}, now=lambda: lapsed
        )

    for entry in bakyt.list(kind=Kind.OUTBOX):
        sealed = envelope.from_wire(entry.data["wire"])
        with pytest.raises(envelope.NotForMe):
            _open_with(sealed, cholpon)


def test_an_invite_expires_when_the_coordinator_said_whatever_the_server_answers(
    org: Org, red: RedTeamOperator, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = Client.create_invite

    def far_off(self: Client, **kwargs: Any) -> dict[str, Any]:
        answer = dict(asked(self, **kwargs))
        answer["expires_at"] = 2**40  # what a hostile server answers
        return answer

    monkeypatch.setattr(Client, "create_invite", far_off)
    invite = coordinator.create_invite(org.coordinator, expires_in=3600, label="Bishkek")
    monkeypatch.undo()
    assert invite.enrol_secret is not None
    key = SigningKey.generate()
    _, recipient = age.generate_identity()
    proof = enrolment_proof(invite.enrol_secret, key.public_bytes(), recipient)
    device_id = red.insert_device_with_proof(key.public_bytes(), recipient, proof)
    months_later = time.time() + 120 * 86400

    with contextlib.suppress(SyncError):
        coordinator.pull(org.coordinator, now=lambda: months_later)

    assert device_id not in coordinator.roster(org.coordinator)
