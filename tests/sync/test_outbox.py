"""The outbox: sealing on save, chaining, attachments to the spool, atomicity, revisions."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from core.crypto.hashing import sha256_hex
from core.lifecycle import InvalidTransition
from core.records import Kind, Record, Status
from storage import Vault
from storage.memory import MemoryVault
from sync import age, envelope
from sync.device import DeviceIdentity, SyncState, create_identity, load_chain
from sync.encoding import b64u_decode
from sync.errors import NotEnrolled
from sync.outbox import (
    CHECKPOINT_BYTES,
    pending_blobs,
    pending_envelopes,
    queue_record,
    seal_ready,
)
from sync.payload import parse_payload
from tests.sync.sync_fakes import FakeOrg, enrolled_device

MARKER = "QUOKKA-5e2a-outbox-plaintext-marker"


def _open(org: FakeOrg, wire: dict) -> tuple[envelope.Envelope, object]:
    sealed = envelope.from_wire(wire)
    return sealed, parse_payload(envelope.open_(sealed, [org.coordinator_identity]))


def test_saving_seals_a_signed_chained_envelope_only_coordinators_can_read() -> None:
    org = FakeOrg.create()
    vault = enrolled_device(org)
    identity = DeviceIdentity.load(vault)
    assert identity is not None
    ids = [queue_record(vault, Record(kind=Kind.NOTE, data={"text": f"n{i}"})).id for i in range(3)]
    entries = pending_envelopes(vault)
    assert [e.data["record_id"] for e in entries] == ids
    prev = envelope.ZERO_HASH
    for seq, entry in enumerate(entries, start=1):
        sealed, payload = _open(org, entry.data["wire"])
        envelope.verify(sealed, identity.signing_key.public_bytes())
        assert (sealed.seq, sealed.header.prev, sealed.header.kind) == (seq, prev, "report")
        assert payload.type == "note" and payload.record["id"] == ids[seq - 1]
        prev = envelope.envelope_hash(sealed)
    assert load_chain(vault).seq == 3 and load_chain(vault).last_hash == prev
    assert all(vault.get(i).status == Status.QUEUED for i in ids)
    with pytest.raises(envelope.NotForMe):
        envelope.open_(envelope.from_wire(entries[0].data["wire"]), [identity.age_identity])


def test_a_record_saved_before_the_first_sync_waits_ready_then_is_sealed() -> None:
    org = FakeOrg.create()
    vault = enrolled_device(org, knows_org=False)
    saved = queue_record(vault, Record(kind=Kind.INCIDENT, data={"title": "x"}))
    assert saved.status == Status.READY and pending_envelopes(vault) == []
    vault.put(SyncState(org_document=org.wire(), org_version=1).to_record())
    assert seal_ready(vault) == 1
    assert vault.get(saved.id).status == Status.QUEUED
    assert len(pending_envelopes(vault)) == 1
    assert seal_ready(vault) == 0


def test_a_device_without_an_identity_cannot_queue() -> None:
    with pytest.raises(NotEnrolled):
        queue_record(MemoryVault(), Record(kind=Kind.NOTE, data={}))


def test_attachments_are_encrypted_into_the_spool_and_named_by_hash_and_size() -> None:
    org = FakeOrg.create()
    vault = enrolled_device(org)
    photo = b"\x89PNG" + bytes(range(256)) * 900
    stored = vault.attach(io.BytesIO(photo), media_type="image/png", name="p.png")
    record = queue_record(
        vault, Record(kind=Kind.INCIDENT, data={"title": "t", "attachments": [stored.to_dict()]})
    )
    (blob,) = pending_blobs(vault)
    with vault.spool_reader(blob.data["spool"]) as spooled:
        ciphertext = spooled.read()
    assert len(ciphertext) == blob.data["size"] and sha256_hex(ciphertext) == blob.data["sha256"]
    assert age.decrypt(ciphertext, [org.coordinator_identity]) == photo
    _, payload = _open(org, pending_envelopes(vault)[0].data["wire"])
    (ref,) = payload.blobs
    assert (ref.id, ref.sha256, ref.size, ref.name) == (
        blob.id,
        blob.data["sha256"],
        blob.data["size"],
        "p.png",
    )
    assert blob.data["record_id"] == record.id


def test_an_edit_is_a_new_revision_that_reuses_the_queued_blob() -> None:
    org = FakeOrg.create()
    vault = enrolled_device(org)
    stored = vault.attach(io.BytesIO(b"photo" * 1000), media_type="image/jpeg", name="a.jpg")
    first = queue_record(
        vault, Record(kind=Kind.INCIDENT, data={"title": "v1", "attachments": [stored.to_dict()]})
    )
    first.data["title"] = "v2"
    queue_record(vault, first)
    envelopes = pending_envelopes(vault)
    assert [e.data["seq"] for e in envelopes] == [1, 2]
    titles = [_open(org, e.data["wire"])[1].record["data"]["title"] for e in envelopes]
    assert titles == ["v1", "v2"]
    refs = [_open(org, e.data["wire"])[1].blobs[0].id for e in envelopes]
    assert refs[0] == refs[1] and len(pending_blobs(vault)) == 1


def test_a_failed_save_leaves_neither_an_envelope_nor_a_used_chain_position(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = FakeOrg.create()
    vault = enrolled_device(org)
    queue_record(vault, Record(kind=Kind.NOTE, data={"text": "one"}))

    def failing(puts: list[Record], deletes: list[str]) -> list[Record]:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(vault, "_write_unit", failing)  # where every unit's changes are written
        with pytest.raises(OSError):
            queue_record(vault, Record(kind=Kind.NOTE, data={"text": "two"}))
    assert load_chain(vault).seq == 1 and len(pending_envelopes(vault)) == 1
    queue_record(vault, Record(kind=Kind.NOTE, data={"text": "three"}))
    assert [e.data["seq"] for e in pending_envelopes(vault)] == [1, 2]


def test_the_outbox_refuses_a_step_the_records_lifecycle_forbids_and_seals_nothing() -> None:
    org = FakeOrg.create()
    vault = enrolled_device(org)
    kept_local = Record(kind=Kind.INCIDENT, data={"title": "x"}, status=Status.LOCAL)
    with pytest.raises(InvalidTransition, match="incident: local -> queued"):
        queue_record(vault, kept_local)
    assert pending_envelopes(vault) == [] and load_chain(vault).seq == 0


def test_floats_in_a_record_do_not_break_sealing() -> None:
    org = FakeOrg.create()
    vault = enrolled_device(org)
    queue_record(vault, Record(kind=Kind.NOTE, data={"lat": 42.87, "n": 3.0}))
    _, payload = _open(org, pending_envelopes(vault)[0].data["wire"])
    assert payload.record["data"] == {"lat": "42.87", "n": 3}
    assert isinstance(payload.record["created_at"], int)


def test_no_plaintext_reaches_the_disk_when_queueing_with_an_attachment(tmp_path: Path) -> None:
    org = FakeOrg.create()
    vault = Vault.create(tmp_path / "v", "pass phrase", kdf_log_n=15, wipe_threshold=0)
    identity = create_identity(
        vault, server_url="http://127.0.0.1:1", root_fingerprint=org.fingerprint, invite_token="t"
    )
    assert identity.enrolled is False
    vault.put(SyncState(org_document=org.wire(), org_version=1).to_record())
    stored = vault.attach(io.BytesIO(MARKER.encode() * 3000), media_type="text/plain", name="m")
    queue_record(
        vault,
        Record(kind=Kind.INCIDENT, data={"title": MARKER, "attachments": [stored.to_dict()]}),
    )
    vault.lock()
    written = b"".join(p.read_bytes() for p in (tmp_path / "v").rglob("*") if p.is_file())
    assert written and MARKER.encode() not in written
    assert hashlib.sha256(MARKER.encode()).hexdigest().encode() not in written


def test_a_spooled_blob_notes_its_digest_at_every_checkpoint() -> None:
    org = FakeOrg.create()
    vault = enrolled_device(org)
    stored = vault.attach(io.BytesIO(b"v" * (9 * 1024 * 1024)), media_type="video/mp4", name="v")
    queue_record(
        vault, Record(kind=Kind.INCIDENT, data={"title": "t", "attachments": [stored.to_dict()]})
    )
    (blob,) = pending_blobs(vault)
    with vault.spool_reader(blob.data["spool"]) as spooled:
        ciphertext = spooled.read()
    notes = b64u_decode(blob.data["checkpoints"])
    assert notes == b"".join(
        hashlib.sha256(ciphertext[:end]).digest()
        for end in range(CHECKPOINT_BYTES, len(ciphertext) + 1, CHECKPOINT_BYTES)
    )
    assert len(notes) == 2 * 32
