"""The sync engine's rules, with `MemoryVault` and a fake server that keeps the real contract."""

from __future__ import annotations

import hashlib
import io
import time

import pytest

from core.records import Kind, Record, Status
from sync import commands, envelope
from sync.client import STREAM_PIECE, SpoolSlice
from sync.device import DeviceIdentity, SyncSettings, load_sync_state, save_settings
from sync.encoding import b64u_encode
from sync.engine import SyncEngine
from sync.errors import DeviceRevoked, NotEnrolled, Offline, ServerKeyChanged
from sync.outbox import CHECKPOINT_BYTES, pending_blobs, pending_envelopes, queue_record
from sync.pacing import ChunkPacer
from sync.payload import build_payload
from tests.sync.sync_fakes import FakeOrg, FakeServer, enrolled_device

MIB = 1024 * 1024


def _setup(**kwargs: object) -> tuple[FakeOrg, FakeServer, object]:
    org = FakeOrg.create()
    return org, FakeServer(org), enrolled_device(org, **kwargs)  # type: ignore[arg-type]


def _engine(vault: object, server: FakeServer, **kwargs: object) -> SyncEngine:
    return SyncEngine(vault, client_factory=server.client, **kwargs)  # type: ignore[arg-type]


def _incident_with_blob(vault: object, size: int) -> Record:
    stored = vault.attach(io.BytesIO(b"v" * size), media_type="video/mp4", name="v")  # type: ignore[attr-defined]
    return queue_record(
        vault, Record(kind=Kind.INCIDENT, data={"title": "t", "attachments": [stored.to_dict()]})
    )


def test_envelopes_are_pushed_in_chain_order_in_bounded_batches() -> None:
    _, server, vault = _setup()
    for i in range(7):
        queue_record(vault, Record(kind=Kind.NOTE, data={"text": str(i)}))
    report = _engine(vault, server, batch_size=3).run_once()
    assert server.batches == [[1, 2, 3], [4, 5, 6], [7]]
    assert report.envelopes_sent == 7 and pending_envelopes(vault) == []
    assert all(r.status == Status.SENT for r in vault.list(kind=Kind.NOTE))


def test_an_envelope_the_server_already_has_is_acknowledged_not_stored_again() -> None:
    _, server, vault = _setup()
    queue_record(vault, Record(kind=Kind.NOTE, data={"text": "x"}))
    wire = pending_envelopes(vault)[0].data["wire"]
    server.envelopes[wire["header"]["id"]] = wire  # stored, but the answer was lost
    report = _engine(vault, server).run_once()
    assert (report.envelopes_sent, report.envelopes_duplicate) == (0, 1)
    assert pending_envelopes(vault) == [] and len(server.envelopes) == 1


def test_a_rejected_envelope_marks_its_record_failed_with_the_reason() -> None:
    _, server, vault = _setup()
    saved = queue_record(vault, Record(kind=Kind.NOTE, data={"text": "x"}))
    server.reject[pending_envelopes(vault)[0].id] = "fork"
    report = _engine(vault, server).run_once()
    assert report.envelopes_rejected == 1
    record = vault.get(saved.id)
    assert (record.status, record.status_reason) == (Status.FAILED, "fork")


def test_an_answer_leaves_alone_an_incident_that_went_back_to_draft_after_it_was_sealed() -> None:
    _, server, vault = _setup()
    saved = queue_record(vault, Record(kind=Kind.INCIDENT, data={"title": "t"}))
    draft = vault.get(saved.id)  # as versions before the lifecycle did when consent was withheld
    draft.status, draft.status_reason = Status.DRAFT, "no_consent_to_share"
    vault.put(draft)
    report = _engine(vault, server).run_once()
    assert report.envelopes_sent == 1 and pending_envelopes(vault) == []
    kept = vault.get(saved.id)
    assert (kept.status, kept.status_reason) == (Status.DRAFT, "no_consent_to_share")


def test_a_note_unshared_after_it_was_sealed_still_shows_the_servers_answer() -> None:
    _, server, vault = _setup()
    saved = queue_record(vault, Record(kind=Kind.NOTE, data={"text": "x"}))
    unshared = vault.get(saved.id)
    unshared.status = Status.LOCAL
    vault.put(unshared)
    _engine(vault, server).run_once()
    assert vault.get(saved.id).status == Status.SENT


def test_a_blob_resumes_from_the_servers_offset_and_sends_only_the_rest() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 300_000)
    (blob,) = pending_blobs(vault)
    with vault.spool_reader(blob.data["spool"]) as spooled:
        ciphertext = spooled.read()
    server.blobs[blob.id] = {
        "size": blob.data["size"],
        "sha256": blob.data["sha256"],
        "data": ciphertext[:100_000],
    }
    seen: list[int] = []
    engine = _engine(
        vault, server, chunk_size=64 * 1024, progress=lambda _id, done, total: seen.append(done)
    )
    report = engine.run_once()
    assert report.blobs_sent == 1
    assert server.chunks[0][1] == 100_000
    assert report.bytes_uploaded == len(ciphertext) - 100_000
    assert seen == sorted(seen) and seen[-1] == len(ciphertext)
    assert server.blobs[blob.id]["data"] == ciphertext


def test_an_offset_mismatch_continues_from_the_offset_the_server_names() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 200_000)
    (blob,) = pending_blobs(vault)
    engine = _engine(vault, server, chunk_size=64 * 1024)
    client = server.client(DeviceIdentity.load(vault))  # type: ignore[arg-type]
    client.blob_begin(blob.id, blob.data["size"], blob.data["sha256"])
    original = client.blob_begin
    client.blob_begin = lambda *a: 0  # a stale answer: the server already holds 64 KiB
    with vault.spool_reader(blob.data["spool"]) as spooled:
        server.blobs[blob.id]["data"] = spooled.read(64 * 1024)
    engine._client_factory = lambda identity: client
    assert engine.run_once().blobs_sent == 1
    offsets = [offset for _, offset, _ in server.chunks]
    assert offsets[:2] == [0, 64 * 1024]
    client.blob_begin = original


def test_a_blob_with_a_bad_hash_restarts_from_zero() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 100_000)
    (blob,) = pending_blobs(vault)
    server.hash_mismatch_once.add(blob.id)
    assert _engine(vault, server, chunk_size=32 * 1024).run_once().blobs_sent == 1
    offsets = [offset for _, offset, _ in server.chunks]
    assert offsets.count(0) == 2


def _receipt(org: FakeOrg, vault: object, signer: object, seq: int = 1) -> dict:
    """A receipt naming every sent outbox entry, signed by `signer`, as the feed carries it."""
    identity = DeviceIdentity.load(vault)
    assert identity is not None
    sent = [e for e in vault.list(kind=Kind.OUTBOX) if e.status == Status.SENT]  # type: ignore[attr-defined]
    record = {
        "envelopes": [e.id for e in sent if e.data.get("type") == "envelope"],
        "blobs": [e.id for e in sent if e.data.get("type") == "blob"],
    }
    sealed = envelope.seal(
        build_payload("receipt", record),
        signer=signer,  # type: ignore[arg-type]
        recipients=[identity.recipient],
        seq=seq,
        prev=envelope.ZERO_HASH,
        kind="message",
        to=identity.device_id,
        now=int(time.time()),
    )
    return {"cursor": seq, "received_at": 0, "envelope": envelope.to_wire(sealed)}


def test_send_and_forget_keeps_only_a_stub_and_sealed_copies_once_the_server_acknowledged() -> None:
    _, server, vault = _setup()
    saved = _incident_with_blob(vault, 50_000)
    report = _engine(vault, server).run_once()
    assert report.forgotten == 1
    stub = vault.get(saved.id)
    assert stub.kind == Kind.STUB and set(stub.data) == {"sent_at", "record_kind"}
    assert vault.attachments() == []
    kept = vault.list(kind=Kind.OUTBOX)
    assert sorted(e.data["type"] for e in kept) == ["blob", "envelope"]
    assert all(e.status == Status.SENT for e in kept) and len(vault.spool_names()) == 1


def test_a_coordinators_receipt_deletes_the_sealed_copies_and_confirms_the_report() -> None:
    org, server, vault = _setup()
    saved = _incident_with_blob(vault, 50_000)
    _engine(vault, server).run_once()
    server.messages = [_receipt(org, vault, org.coordinator_key)]
    report = _engine(vault, server).run_once()
    assert report.confirmed == 2
    assert vault.list(kind=Kind.OUTBOX) == [] and vault.spool_names() == []
    assert vault.get(saved.id).data["confirmed_at"] > 0


def test_a_receipt_the_server_forged_is_refused_and_the_sealed_copies_stay() -> None:
    from core.crypto.signing import SigningKey

    org, server, vault = _setup()
    _incident_with_blob(vault, 50_000)
    _engine(vault, server).run_once()
    server.messages = [_receipt(org, vault, SigningKey.generate())]
    report = _engine(vault, server).run_once()
    assert report.confirmed == 0 and ("unknown_author" in {r for _, r in report.problems})
    assert len(vault.list(kind=Kind.OUTBOX)) == 2 and len(vault.spool_names()) == 1


def test_a_server_that_acknowledged_without_storing_gets_the_report_again_later() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 50_000)
    clock = [time.time()]
    _engine(vault, server, now=lambda: clock[0]).run_once()
    server.envelopes.clear()  # the server lied: "stored", then dropped it
    server.blobs.clear()
    clock[0] += 2 * 24 * 3600
    report = _engine(vault, server, now=lambda: clock[0]).run_once()
    assert report.envelopes_sent == 1 and report.blobs_sent == 1
    assert len(server.envelopes) == 1 and len(server.blobs) == 1


def test_with_send_and_forget_off_the_readable_record_stays() -> None:
    _, server, vault = _setup()
    save_settings(vault, SyncSettings(send_and_forget=False))
    saved = _incident_with_blob(vault, 50_000)
    _engine(vault, server).run_once()
    record = vault.get(saved.id)
    assert record.kind == Kind.INCIDENT and record.status == Status.SENT
    assert len(vault.attachments()) == 1


def test_an_incident_is_not_forgotten_while_its_blob_is_still_uploading() -> None:
    _, server, vault = _setup()
    saved = _incident_with_blob(vault, 400_000)
    engine = _engine(vault, server, chunk_size=64 * 1024)
    engine.progress = lambda *args: engine.cancel()
    report = engine.run_once()
    assert report.cancelled and report.envelopes_sent == 1 and report.blobs_sent == 0
    assert vault.get(saved.id).kind == Kind.INCIDENT
    assert vault.get(saved.id).status == Status.QUEUED
    engine.progress = None
    assert engine.run_once().forgotten == 1


def test_a_changed_root_key_is_refused_and_nothing_is_pushed() -> None:
    _, server, vault = _setup()
    queue_record(vault, Record(kind=Kind.NOTE, data={"text": "x"}))
    server.org = FakeOrg.create()
    with pytest.raises(ServerKeyChanged):
        _engine(vault, server).run_once()
    assert server.batches == []


def test_messages_are_verified_decrypted_and_stored_once() -> None:
    org, server, vault = _setup()
    identity = DeviceIdentity.load(vault)
    assert identity is not None

    def message(seq: int, signer: object, text: str) -> dict:
        sealed = envelope.seal(
            build_payload("message", {"case_id": "c1", "text": text}),
            signer=signer,  # type: ignore[arg-type]
            recipients=[identity.recipient],
            seq=seq,
            prev=envelope.ZERO_HASH if seq == 1 else "1" * 64,
            kind="message",
            to=identity.device_id,
            now=int(time.time()),
        )
        return {"cursor": seq, "received_at": 0, "envelope": envelope.to_wire(sealed)}

    from core.crypto.signing import SigningKey

    server.messages = [
        message(1, org.coordinator_key, "hello"),
        message(2, SigningKey.generate(), "forged"),
    ]
    report = _engine(vault, server).run_once()
    assert report.messages_received == 1
    assert [reason for _, reason in report.problems] == ["unknown_author"]
    (stored,) = vault.list(kind=Kind.MESSAGE)
    assert stored.data["text"] == "hello" and stored.data["direction"] == "in"
    assert load_sync_state(vault).message_cursor == 2
    assert _engine(vault, server).run_once().messages_received == 0


def test_a_wipe_is_recorded_acknowledged_then_carried_out() -> None:
    org, server, vault = _setup()
    identity = DeviceIdentity.load(vault)
    assert identity is not None
    signed = commands.sign_command(
        identity.device_id, "wipe", coordinator_key=org.coordinator_key, now=1
    )
    server.commands = [commands.to_wire(signed)]
    report = _engine(vault, server).run_once()
    assert report.wiped and server.acked == [signed.cmd.id]
    assert vault.locked  # type: ignore[attr-defined]


def test_a_revoked_device_later_only_checks_its_commands_and_never_pushes() -> None:
    _, server, vault = _setup()
    queue_record(vault, Record(kind=Kind.NOTE, data={"text": "kept"}))
    server.revoked = True
    with pytest.raises(DeviceRevoked):
        _engine(vault, server).run_once()
    assert load_sync_state(vault).revoked
    server.calls.clear()
    with pytest.raises(DeviceRevoked):
        _engine(vault, server).run_once()
    assert server.calls == ["org_document", "commands"]
    assert len(pending_envelopes(vault)) == 1  # still queued, never sent


def test_a_wipe_ordered_after_revocation_is_carried_out_at_the_next_round() -> None:
    org, server, vault = _setup()
    identity = DeviceIdentity.load(vault)
    assert identity is not None
    server.revoked = True
    with pytest.raises(DeviceRevoked):
        _engine(vault, server).run_once()
    signed = commands.sign_command(
        identity.device_id, "wipe", coordinator_key=org.coordinator_key, now=1
    )
    server.commands = [commands.to_wire(signed)]
    server.calls.clear()
    report = _engine(vault, server).run_once()
    assert report.wiped and server.acked == [signed.cmd.id]
    assert "push_envelopes" not in server.calls
    assert vault.locked  # type: ignore[attr-defined]


def test_a_revoked_device_offline_still_reports_revoked() -> None:
    _, server, vault = _setup()
    server.revoked = True
    with pytest.raises(DeviceRevoked):
        _engine(vault, server).run_once()

    class Unreachable:
        timeout = (1.0, 1.0)

        def close(self) -> None:
            pass

        def org_document_if_changed(self, *args: object, **kwargs: object) -> object:
            raise Offline("the server could not be reached")

    engine = SyncEngine(vault, client_factory=lambda _identity: Unreachable())  # type: ignore[arg-type,return-value]
    with pytest.raises(DeviceRevoked):
        engine.run_once()


def test_a_device_without_keys_cannot_sync() -> None:
    from storage.memory import MemoryVault

    with pytest.raises(NotEnrolled):
        SyncEngine(MemoryVault()).run_once()


def test_a_cut_mid_blob_halves_the_next_chunk_and_marks_the_round_as_having_moved_data() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 600_000)
    client = server.client(DeviceIdentity.load(vault))  # type: ignore[arg-type]
    send = client.blob_chunk
    sent: list[int] = []

    def cut_second(blob_id: str, offset: int, data: bytes, **kwargs: object) -> tuple[int, bool]:
        if sent:
            raise Offline("cut")
        sent.append(len(data))
        return send(blob_id, offset, data, **kwargs)  # type: ignore[arg-type]

    client.blob_chunk = cut_second  # type: ignore[method-assign]
    engine = _engine(vault, server)
    engine._client_factory = lambda identity: client
    with pytest.raises(Offline) as cut:
        engine.run_once()
    assert cut.value.progressed and sent == [256 * 1024]
    assert engine.pacer.size == 512 * 1024  # grew to 1 MiB on the fast first chunk, then halved
    client.blob_chunk = send  # type: ignore[method-assign]
    assert engine.run_once().blobs_sent == 1


def test_chunks_on_a_fast_link_end_on_the_digests_noted_when_the_blob_was_spooled() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 19 * MIB)
    (blob,) = pending_blobs(vault)
    pacer = ChunkPacer(largest=16 * MIB, first=6 * MIB)
    assert _engine(vault, server, pacer=pacer).run_once().blobs_sent == 1
    ends = [offset + length for _, offset, length in server.chunks]
    assert ends[:-1] and all(end % CHECKPOINT_BYTES == 0 for end in ends[:-1])
    assert ends[-1] == blob.data["size"]  # every chunk signed over the upload's digest


def _spying_spool(vault: object) -> tuple[list[int], list[int]]:
    """(sizes of `read` calls, sizes of `readinto` calls) on the vault's spool readers."""
    reads: list[int] = []
    pieces: list[int] = []
    spool_reader = vault.spool_reader  # type: ignore[attr-defined]

    class Spy(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            reads.append(len(data))
            return data

        def readinto(self, buffer: object) -> int:
            got = super().readinto(buffer)  # type: ignore[arg-type]
            pieces.append(got)
            return got

    def spying(name: str) -> io.BytesIO:
        return Spy(spool_reader(name).read())

    vault.spool_reader = spying  # type: ignore[attr-defined]
    return reads, pieces


def test_chunks_ending_on_noted_digests_are_streamed_from_the_spool_a_piece_at_a_time() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 40 * MIB)
    reads, pieces = _spying_spool(vault)
    assert _engine(vault, server).run_once().blobs_sent == 1
    chunks = [length for _, _, length in server.chunks]
    assert chunks[:4] == [256 * 1024, 1 * MIB, 4 * MIB - 1280 * 1024, 16 * MIB]
    # the first two end between noted digests: read into memory and hashed as they are sent;
    # every later one is read while it is sent, through one buffer of at most STREAM_PIECE
    assert sum(reads) == 1280 * 1024
    assert server.streamed == chunks[2:]
    assert sum(pieces) == sum(chunks[2:]) and max(pieces) == STREAM_PIECE


def test_a_server_that_names_a_larger_chunk_limit_gets_larger_streamed_chunks() -> None:
    _, server, vault = _setup()
    server.chunk_limit = 64 * MIB
    _incident_with_blob(vault, 90 * MIB)
    assert _engine(vault, server).run_once().blobs_sent == 1
    chunks = [length for _, _, length in server.chunks]
    assert max(chunks) == 64 * MIB and 64 * MIB in server.streamed


def test_a_server_that_does_not_name_its_chunk_limit_never_gets_more_than_16_mib() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 60 * MIB)
    assert _engine(vault, server).run_once().blobs_sent == 1
    assert max(length for _, _, length in server.chunks) == 16 * MIB


def test_a_streamed_chunk_cut_in_the_middle_is_read_again_from_the_spool() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 30 * MIB)
    client = server.client(DeviceIdentity.load(vault))  # type: ignore[arg-type]
    send = client.blob_chunk
    cut: list[int] = []

    def cut_first_streamed(
        blob_id: str, offset: int, data: object, **kwargs: object
    ) -> tuple[int, bool]:
        if isinstance(data, SpoolSlice) and not cut:
            cut.append(offset)
            next(iter(data))  # one piece went out, then the connection dropped
            raise Offline("cut")
        return send(blob_id, offset, data, **kwargs)  # type: ignore[arg-type]

    client.blob_chunk = cut_first_streamed  # type: ignore[method-assign]
    engine = _engine(vault, server)
    engine._client_factory = lambda identity: client
    with pytest.raises(Offline):
        engine.run_once()
    assert engine.run_once().blobs_sent == 1  # the fake checks the blob's SHA-256
    offsets = [offset for _, offset, _ in server.chunks]
    assert cut == [1280 * 1024] and offsets[2] == cut[0]  # sent again from where it was cut


def test_a_restart_after_streamed_chunks_hashes_the_blob_again_from_its_start() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 20 * MIB)
    (blob,) = pending_blobs(vault)
    server.hash_mismatch_once.add(blob.id)
    assert _engine(vault, server).run_once().blobs_sent == 1
    offsets = [offset for _, offset, _ in server.chunks]
    assert offsets.count(0) == 2 and server.streamed  # streamed first, hashed after the restart


def test_a_server_from_before_upload_digests_gets_chunks_signed_over_their_bodies() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 600_000)
    server.no_upload_digests = True
    assert _engine(vault, server).run_once().blobs_sent == 1
    (blob,) = [b for b in server.blobs.values()]
    assert hashlib.sha256(blob["data"]).hexdigest() == blob["sha256"]


def test_a_blob_whose_noted_digests_are_wrong_is_sent_again_hashed_as_it_goes() -> None:
    _, server, vault = _setup()
    _incident_with_blob(vault, 9 * MIB)
    (blob,) = pending_blobs(vault)
    blob.data["checkpoints"] = b64u_encode(bytes(64))  # damaged notes
    vault.put(blob)
    pacer = ChunkPacer(largest=16 * MIB, first=16 * MIB)
    assert _engine(vault, server, pacer=pacer).run_once().blobs_sent == 1
    (sent,) = [b for b in server.blobs.values()]
    assert hashlib.sha256(sent["data"]).hexdigest() == sent["sha256"]


def test_an_organisation_that_asks_it_gets_shared_notes_and_read_messages_forgotten() -> None:
    org = FakeOrg.create(settings={"forget_sent_notes": True, "forget_read_messages": True})
    server, vault = FakeServer(org), enrolled_device(org)
    identity = DeviceIdentity.load(vault)
    assert identity is not None
    note = queue_record(vault, Record(kind=Kind.NOTE, data={"text": "the officer's car"}))

    def message(seq: int, text: str) -> dict:
        sealed = envelope.seal(
            build_payload("message", {"case_id": "c1", "text": text}),
            signer=org.coordinator_key,
            recipients=[identity.recipient],
            seq=seq,
            prev=envelope.ZERO_HASH if seq == 1 else "1" * 64,
            kind="message",
            to=identity.device_id,
            now=int(time.time()),
        )
        return {"cursor": seq, "received_at": 0, "envelope": envelope.to_wire(sealed)}

    server.messages = [message(1, "read it"), message(2, "not yet")]
    _engine(vault, server).run_once()
    assert vault.get(note.id).kind == Kind.STUB  # the shared note is gone, as reports are
    first = next(m for m in vault.list(kind=Kind.MESSAGE) if m.data["text"] == "read it")
    first.data["read"] = True
    vault.put(first)

    _engine(vault, server).run_once()

    assert [m.data["text"] for m in vault.list(kind=Kind.MESSAGE)] == ["not yet"]


def test_without_the_organisations_word_notes_and_messages_are_kept() -> None:
    _, server, vault = _setup()
    note = queue_record(vault, Record(kind=Kind.NOTE, data={"text": "kept"}))
    _engine(vault, server).run_once()
    assert vault.get(note.id).kind == Kind.NOTE
