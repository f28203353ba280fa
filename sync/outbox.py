"""The outbox: saving a finished incident or note seals it and queues it, in one atomic step.

Use `queue_record(vault, record)` when the user finishes an incident or note (and again after
each later edit: every call produces a new *revision* envelope with the next chain position;
nothing already sent is ever overwritten). `queue_reply(vault, case_id, text, in_reply_to)`
queues a reply to a coordinator's message, `queue_withdrawal(vault, case_id, purposes)` the
documenter's withdrawal of consent about a report already sent. They run off the UI thread
(attachments are encrypted here).

What one call does:
1. Each attachment named in `record.data["attachments"]` (a list of `{"id", "media_type",
   "name"}` where `id` is the vault attachment id) is read from the vault as a stream, age-
   encrypted to the organisation's recipients straight into the vault's spool, and hashed on the
   way, in constant memory. A revision reuses the blob already queued for the same attachment.
2. The payload (`sync.payload`) names the record and each blob by id, SHA-256 and size; it is
   sealed into an envelope (`sync.envelope.seal`): encrypted to the current recipients of the
   verified org document, signed with the device key, chained after the previous envelope.
3. One unit of work (`vault.unit()`) saves the record (status `queued`), the envelope's outbox
   entry, the blob entries and the advanced chain head: all of it or nothing, so a crash can
   neither lose a sealed envelope nor reuse a chain position.

Before the first sync the device does not yet know the organisation's recipients; the record is
then saved `ready` and sealed by the engine (`seal_ready`) as soon as the org document arrives.

Outbox entries are `Kind.OUTBOX` records: `data["type"]` is `"envelope"` (with the wire
envelope, its seq, envelope id and record id) or `"blob"` (spool name, size, SHA-256, and
`checkpoints`: the SHA-256 of its first 4 MiB, 8 MiB, ... noted while it was spooled, so the
upload signs chunks ending there without hashing the blob again). Status `queued` until the
server acknowledges, then `sent`.

Danger: the payload bytes are plaintext and exist only in memory; never write them anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from core import lifecycle
from core.crypto.hashing import sha256_hex
from core.crypto.signing import SigningKey
from core.records import Kind, Record, Status, new_id
from core.vault_port import DeviceVaultPort, RecordReader, SpoolSink, VaultPort
from sync import age, envelope
from sync.device import DeviceIdentity, get_or_none, load_chain, load_sync_state
from sync.encoding import b64u_encode
from sync.errors import NotEnrolled
from sync.payload import KIND_FOR_TYPE, BlobRef, build_payload

SEALABLE = (Kind.INCIDENT, Kind.NOTE, Kind.ALERT, Kind.CHECKIN)
"""What `queue_record` seals: incidents, notes, and the alarms and check-ins of `sync.alerts`."""


CHECKPOINT_BYTES = 4 * 1024 * 1024
"""A spooled blob's SHA-256 is noted every this many bytes (`checkpoints` of its outbox entry):
a chunk that ends there is signed over that digest (`sync.auth`) without hashing it again."""


class _HashingWriter:
    """Pass bytes through to `sink` while counting them and hashing them with SHA-256, noting
    the digest of the bytes so far at every multiple of `CHECKPOINT_BYTES`."""

    def __init__(self, sink: SpoolSink) -> None:
        import hashlib

        self._sink = sink
        self._hash = hashlib.sha256()
        self.size = 0
        self.checkpoints = bytearray()

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            room = CHECKPOINT_BYTES - self.size % CHECKPOINT_BYTES
            piece = view[:room]
            self._hash.update(piece)
            self.size += len(piece)
            if self.size % CHECKPOINT_BYTES == 0:
                self.checkpoints += self._hash.copy().digest()
            view = view[room:]
        self._sink.write(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def current_recipients(vault: VaultPort, now: float | None = None) -> list[str] | None:
    """The age recipients of the accepted org document, or None before the first sync and once
    that document has expired (a hostile server may be withholding one that removed a
    coordinator): records then wait, `ready`, and are sealed when a current one arrives."""
    document = load_sync_state(vault).org_document
    if not document:
        return None
    expires = document.get("doc", {}).get("expires") or 0
    if expires and (time.time() if now is None else now) >= expires:
        return None
    recipients = document.get("doc", {}).get("recipients")
    return list(recipients) if recipients else None


def queue_record(
    vault: DeviceVaultPort, record: Record, *, now: Callable[[], float] = time.time
) -> Record:
    """Seal and queue an incident or note (or mark it `ready` if the org is not yet known)."""
    if record.kind not in SEALABLE:
        raise ValueError("only incidents, notes, alarms and check-ins are sent")
    identity = DeviceIdentity.load(vault)
    if identity is None:
        raise NotEnrolled("this device has not been set up with an invite")
    recipients = current_recipients(vault, now())
    if recipients is None:
        return vault.put(lifecycle.move(record, Status.READY))
    return _seal(vault, identity, record, recipients, now)


def seal_ready(vault: DeviceVaultPort, *, now: Callable[[], float] = time.time) -> int:
    """Seal every record left `ready` (saved before the org document was known)."""
    identity = DeviceIdentity.load(vault)
    recipients = current_recipients(vault, now())
    if identity is None or recipients is None:
        return 0
    count = 0
    for kind in SEALABLE:
        for record in vault.list(kind=kind, where={"status": str(Status.READY)}):
            _seal(vault, identity, record, recipients, now)
            count += 1
    return count


def queue_reply(
    vault: VaultPort,
    case_id: str,
    text: str,
    in_reply_to: str,
    *,
    now: Callable[[], float] = time.time,
) -> str:
    """Seal and queue a reply to a coordinator's message; return the envelope id."""
    record = {"case_id": case_id, "text": text, "in_reply_to": in_reply_to}
    refusal = "replies need an enrolled device that has synced once"
    return _queue_payload(vault, "reply", record, refusal=refusal, now=now)


def queue_withdrawal(
    vault: VaultPort,
    case_id: str,
    purposes: list[str],
    *,
    now: Callable[[], float] = time.time,
) -> str:
    """Seal and queue the documenter's withdrawal of consent about a report already sent.

    The report may be a stub by now (send and forget): its id is the case id, which is all the
    withdrawal needs to name. Only this device's signature makes it count at the coordinators
    (`sync.trust`). Returns the envelope id."""
    record = {"case_id": case_id, "purposes": sorted(purposes)}
    refusal = "a withdrawal needs an enrolled device that has synced once"
    return _queue_payload(
        vault, "withdrawal", record, refusal=refusal, now=now, withdrawal_of=case_id
    )


def queue_alarm_key(
    vault: VaultPort, public_key: bytes, *, now: Callable[[], float] = time.time
) -> str:
    """Seal and queue the announcement of the key a locked phone signs its alarms with
    (`sync.locked_alarm`): signed by the device key and encrypted like a report, so the server
    can neither read nor substitute it. Returns the envelope id."""
    record = {"key": b64u_encode(public_key), "at": int(now())}
    refusal = "an alarm key is announced by an enrolled device that has synced once"
    return _queue_payload(vault, "alarm_key", record, refusal=refusal, now=now)


def _queue_payload(
    vault: VaultPort,
    payload_type: str,
    record: dict[str, Any],
    *,
    refusal: str,
    now: Callable[[], float],
    **entry_data: str,
) -> str:
    """Seal and queue a payload that belongs to no record of this vault (its outbox entry's
    `record_id` is empty; `entry_data` adds to it); return the envelope id. `NotEnrolled`
    (with `refusal`) before enrolment or the first sync."""
    identity = DeviceIdentity.load(vault)
    recipients = current_recipients(vault, now())
    if identity is None or recipients is None:
        raise NotEnrolled(refusal)
    plaintext = build_payload(payload_type, record)
    with vault.unit() as uow:
        entry, chain = _seal_envelope(
            identity, plaintext, recipients, KIND_FOR_TYPE[payload_type], uow, now
        )
        entry.data.update(record_id="", **entry_data)
        uow.put_many([entry, chain])
    return entry.id


def pending_envelopes(vault: VaultPort) -> list[Record]:
    """Queued envelope entries in chain order (the order the server must receive them)."""
    return queued_envelopes(vault.list(kind=Kind.OUTBOX))


def queued_envelopes(outbox: Iterable[Record]) -> list[Record]:
    """`pending_envelopes` among outbox entries already listed."""
    entries = [r for r in outbox if r.data.get("type") == "envelope" and r.status == Status.QUEUED]
    return sorted(entries, key=lambda r: int(r.data["seq"]))


def pending_blobs(vault: VaultPort) -> list[Record]:
    entries = [
        r
        for r in vault.list(kind=Kind.OUTBOX)
        if r.data.get("type") == "blob" and r.status == Status.QUEUED
    ]
    return sorted(entries, key=lambda r: (r.created_at, r.id))


def _seal(
    vault: DeviceVaultPort,
    identity: DeviceIdentity,
    record: Record,
    recipients: list[str],
    now: Callable[[], float],
) -> Record:
    lifecycle.lifecycle_of(record).check(record.status, Status.QUEUED)  # before any spooling
    blob_entries, refs = _queue_attachments(vault, record, recipients)
    lifecycle.move(record, Status.QUEUED)
    plaintext = build_payload(str(record.kind), wire_record(record), refs)
    with vault.unit() as uow:
        entry, chain = _seal_envelope(
            identity, plaintext, recipients, KIND_FOR_TYPE[str(record.kind)], uow, now
        )
        entry.data["record_id"] = record.id
        entry.data["blobs"] = [ref.id for ref in refs]
        uow.put_many([record, entry, chain, *blob_entries])
    return uow.saved[0]


def wire_record(record: Record) -> dict[str, Any]:
    """The record as signed JSON allows it: no floats (times become whole seconds; any other
    fractional number in the data becomes its decimal text)."""
    wire = record.to_dict()
    wire["created_at"] = int(record.created_at)
    wire["updated_at"] = int(record.updated_at)
    return _no_floats(wire)


def _no_floats(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() else repr(value)
    if isinstance(value, dict):
        return {k: _no_floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_floats(v) for v in value]
    return value


def _seal_envelope(
    identity: DeviceIdentity,
    plaintext: bytes,
    recipients: list[str],
    kind: str,
    vault: RecordReader,
    now: Callable[[], float],
) -> tuple[Record, Record]:
    """Seal at the next chain position; return the outbox entry and the new chain head."""
    chain = load_chain(vault)
    _, entry = seal_entry(chain, plaintext, identity.signing_key, recipients, kind, now=int(now()))
    return entry, chain.to_record()


def seal_entry(
    head: envelope.ChainPosition,
    plaintext: bytes,
    signer: SigningKey,
    recipients: list[str],
    kind: str,
    *,
    to: str | None = None,
    now: int,
    entry_id: str | None = None,
) -> tuple[envelope.Envelope, Record]:
    """Seal `plaintext` at the position after `head` (which moves on) and make its outbox
    entry, queued: `{"type": "envelope", "seq", "envelope_id", "wire"}`, kept under the
    envelope's id unless `entry_id` names another. A device's and a coordinator's outbox alike;
    the caller stores the entry and `head` together."""
    sealed = envelope.seal_next(
        head, plaintext, signer=signer, recipients=recipients, kind=kind, to=to, now=now
    )
    entry = Record(
        kind=Kind.OUTBOX,
        id=sealed.id if entry_id is None else entry_id,
        status=Status.QUEUED,
        data={
            "type": "envelope",
            "seq": sealed.seq,
            "envelope_id": sealed.id,
            "wire": envelope.to_wire(sealed),
        },
    )
    return sealed, entry


def _queue_attachments(
    vault: DeviceVaultPort, record: Record, recipients: list[str]
) -> tuple[list[Record], list[BlobRef]]:
    attachments = record.data.get("attachments") or []
    if not attachments:
        return [], []
    existing = {
        (r.data.get("record_id"), r.data.get("attachment_id")): r
        for r in vault.list(kind=Kind.OUTBOX)
        if r.data.get("type") == "blob"
    }
    entries: list[Record] = []
    refs: list[BlobRef] = []
    for item in attachments:
        attachment_id = str(item["id"])
        media_type = str(item.get("media_type", "application/octet-stream"))[:255]
        name = str(item.get("name", ""))[:255]
        known = existing.get((record.id, attachment_id))
        if known is not None:
            refs.append(
                BlobRef(known.id, known.data["sha256"], known.data["size"], media_type, name)
            )
            continue
        blob_id = new_id()
        size, digest, checkpoints = _spool(vault, attachment_id, blob_id, recipients)
        entries.append(
            Record(
                kind=Kind.OUTBOX,
                id=blob_id,
                status=Status.QUEUED,
                data={
                    "type": "blob",
                    "record_id": record.id,
                    "attachment_id": attachment_id,
                    "spool": blob_id,
                    "size": size,
                    "sha256": digest,
                    "checkpoints": b64u_encode(checkpoints),
                },
            )
        )
        refs.append(BlobRef(blob_id, digest, size, media_type, name))
    return entries, refs


def encrypt_to_spool(
    vault: DeviceVaultPort, attachment_id: str, spool_name: str, recipients: list[str]
) -> tuple[int, str]:
    """Age-encrypt an attachment from the vault into the spool; return (size, sha256 hex)."""
    size, digest, _ = _spool(vault, attachment_id, spool_name, recipients)
    return size, digest


def _spool(
    vault: DeviceVaultPort, attachment_id: str, spool_name: str, recipients: list[str]
) -> tuple[int, str, bytes]:
    """`encrypt_to_spool`, and the digests at every `CHECKPOINT_BYTES` (32 bytes each)."""
    with vault.open_attachment(attachment_id) as source, vault.spool_writer(spool_name) as sink:
        writer = _HashingWriter(sink)
        age.encrypt_stream(source, writer, recipients)
    return writer.size, writer.hexdigest(), bytes(writer.checkpoints)


def entry_for_record(vault: RecordReader, record_id: str) -> list[Record]:
    """Every outbox entry (envelopes and blobs) belonging to one record."""
    return [r for r in vault.list(kind=Kind.OUTBOX) if r.data.get("record_id") == record_id]


__all__ = [
    "current_recipients",
    "encrypt_to_spool",
    "entry_for_record",
    "get_or_none",
    "pending_blobs",
    "pending_envelopes",
    "queue_record",
    "queue_reply",
    "seal_ready",
    "sha256_hex",
]
