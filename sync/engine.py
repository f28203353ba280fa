"""One full sync round for a field device: `SyncEngine(vault).run_once() -> SyncReport`.

A round, in this order:
1. **Pending wipe**: if a verified wipe command was recorded but not finished (a crash after
   its acknowledgement), wipe now.
2. **Enrol** with the invite token if the device has not enrolled yet.
3. **Org document**: fetch it (only if it changed: `If-None-Match` with the entity tag of the
   one held, and the server answers 304 without a body) and accept it, or the copy held, only
   if its root is the pinned root fingerprint (else `ServerKeyChanged`), the root signature
   verifies and its version is not older than the
   last accepted nor the invite's floor (else `UntrustedDocument`); `sync.trust` holds the
   rule. If the newest document held has expired, commands still run (a wipe still arrives),
   then the round stops with `OrgDocumentExpired`: nothing is sealed or pushed to recipients
   that may be out of date. Records saved before the first sync are sealed now.
4. **Commands**: each must be signed by a coordinator of the accepted org document, name this
   device and never have been executed (a replay is refused). A wipe is recorded as pending in
   the vault, acknowledged with a short timeout (best effort, while the key still exists), then
   carried out with `vault.wipe()`: the keys are destroyed first, and the round ends.
5. **Envelopes**: pushed in chain order, in batches of at most 100. An outbox entry becomes
   `sent` only when the server answers `stored` or `duplicate` for its id; a crash before that
   resends it and the server deduplicates by id. `rejected` marks it `failed` with the reason.
   A `sent` entry keeps its sealed envelope (which this device cannot read) until a
   coordinator's receipt names it; one unconfirmed for `RECHECK_AFTER` is pushed again, so a
   server that said "stored" without storing costs a resend, never the report.
6. **Blobs**: each is sent from the spool in signed chunks sized to the link, resuming from the
   server's offset (`sync.upload`; chunk sizes: `sync.pacing`). A blob is `sent` when the
   server says it is complete; its spooled ciphertext stays until a coordinator's receipt
   names it, as for envelopes.
7. **Messages** from coordinators: verified against the coordinator's key in the org document,
   decrypted with the device's own age identity, stored as `Kind.MESSAGE` records, cursor saved
   in the same unit of work (`vault.unit()`). **Receipts** (signed by a listed coordinator, so
   the server cannot forge one) delete the sealed envelopes and spooled attachments they name,
   and mark the incidents they belong to `confirmed_at`, in one unit of work.
8. **Send and forget** (setting, on by default): an incident whose envelopes and blobs are all
   acknowledged is replaced by a `Kind.STUB` record (id, status, sent time, no title), its
   attachments are deleted, and the vault is compacted so the readable copy is gone from disk.
   What remains of it is ciphertext for the coordinators, until their receipt.

Steps 4 and 7 are skipped when the org document's answer says nothing waits (the server's
hints; a server can always withhold, so trusting them loses nothing): an idle round is one
small request.

Errors are those of `sync.errors`. `DeviceRevoked` is remembered in the vault
(`SyncState.revoked`). Before raising it, and in every later round, the engine still fetches
the org document and the device's commands, verifies them and carries out a remote wipe (the
server answers a revoked device for these and nothing else); it never pushes again. Call
`cancel()` from another thread to stop a round between batches and chunks (the loop does this
before the vault is locked).

Danger: a round needs the unlocked vault (keys and outbox live inside it). Never keep an engine
running across `vault.lock()`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from core import lifecycle
from core.records import Kind, Record, Status
from core.vault_port import DeviceVaultPort, VaultPort
from sync import commands as commands_mod
from sync import envelope, orgdoc
from sync.client import Client, OrgDocumentAnswer
from sync.device import (
    DeviceIdentity,
    fixed_id,
    get_or_none,
    load_settings,
    load_sync_state,
    update_sync_state,
)
from sync.enrolment import enrolment_proof
from sync.errors import (
    DeviceRevoked,
    NotEnrolled,
    OrgDocumentExpired,
    ProtocolError,
    ServerRefused,
    SyncError,
)
from sync.outbox import (
    entry_for_record,
    pending_blobs,
    queued_envelopes,
    seal_ready,
)
from sync.pacing import FIRST, SMALLEST, ChunkPacer
from sync.payload import Payload, PayloadError, parse_payload, received_record
from sync.trust import accept_org_document, writer_problem
from sync.upload import BlobUploader

BATCH_SIZE = 100
CHUNK_SIZE = 128 * 1024 * 1024
"""The largest chunk; `sync.pacing` chooses each chunk's size below it from the link's speed."""
MESSAGE_PAGE = 100
ACK_TIMEOUT = 5.0
RECHECK_AFTER = 24 * 3600
"""A sent envelope or blob with no coordinator's receipt after this long is sent again."""
SENT_KINDS = (Kind.INCIDENT, Kind.NOTE, Kind.ALERT, Kind.CHECKIN)
"""Records whose status follows their envelopes (`sent`) and receipts (`confirmed_at`)."""

ProgressCallback = Callable[[str, int, int], None]


@dataclasses.dataclass(slots=True)
class SyncReport:
    """What one round did. `problems` lists refused items as (id, reason)."""

    enrolled: bool = False
    org_version: int = 0
    envelopes_sent: int = 0
    envelopes_duplicate: int = 0
    envelopes_rejected: int = 0
    blobs_sent: int = 0
    bytes_uploaded: int = 0
    commands_executed: list[str] = dataclasses.field(default_factory=list)
    commands_refused: int = 0
    messages_received: int = 0
    confirmed: int = 0
    forgotten: int = 0
    wiped: bool = False
    cancelled: bool = False
    problems: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def default_client_factory(identity: DeviceIdentity) -> Client:
    try:
        return Client(
            identity.server_url,
            signing_key=identity.signing_key,
            tls_pin=identity.tls_pin,
            proxy=identity.proxy,
        )
    except ValueError as exc:  # a server address, pin or proxy setting that cannot work
        raise SyncError(str(exc), reason="bad_network_settings") from None


class _Cancelled(Exception):
    pass


class SyncEngine:
    def __init__(
        self,
        vault: DeviceVaultPort,
        *,
        now: Callable[[], float] = time.time,
        client_factory: Callable[[DeviceIdentity], Client] = default_client_factory,
        batch_size: int = BATCH_SIZE,
        chunk_size: int = CHUNK_SIZE,
        progress: ProgressCallback | None = None,
        pacer: ChunkPacer | None = None,
    ) -> None:
        self.vault = vault
        self._now = now
        self._client_factory = client_factory
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.progress = progress
        # What the link carried so far, kept across rounds: a cut in one round means the
        # next starts with the smaller chunk.
        self.pacer = pacer or ChunkPacer(
            largest=chunk_size, first=min(FIRST, chunk_size), smallest=min(SMALLEST, chunk_size)
        )
        self._cancel = threading.Event()
        self._round_lock = threading.Lock()
        self._uploader = BlobUploader(
            vault, self.pacer, check_cancel=self._check_cancel, progress=self._progress
        )

    def cancel(self) -> None:
        """Ask a running round to stop at the next batch or chunk boundary."""
        self._cancel.set()

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise _Cancelled()

    def run_once(self) -> SyncReport:
        """Do one full round; raise a `SyncError` if it cannot finish."""
        with self._round_lock:
            self._cancel.clear()
            report = SyncReport()
            state = load_sync_state(self.vault)
            identity = DeviceIdentity.load(self.vault)
            if identity is None:
                if state.revoked:
                    raise DeviceRevoked()
                raise NotEnrolled("this device has no identity; set it up with an invite")
            client = self._client_factory(identity)
            if state.revoked and not _pending_wipe(self.vault):
                try:
                    self._revoked_round(client, identity, report)
                finally:
                    client.close()
                return report
            try:
                if _pending_wipe(self.vault):
                    self._wipe(client, None, report)
                    return report
                self._round(client, identity, report)
            except _Cancelled:
                report.cancelled = True
            except DeviceRevoked:
                update_sync_state(self.vault, revoked=True)
                self._revoked_round(client, identity, report)
            finally:
                client.close()
            return report

    # -- the steps -----------------------------------------------------------------------

    def _round(self, client: Client, identity: DeviceIdentity, report: SyncReport) -> None:
        if not identity.enrolled:
            self._enrol(client, identity)
            report.enrolled = True
        document, hints = self._accept_org_document(client, identity)
        report.org_version = document.version
        if orgdoc.is_expired(document, self._now()):
            if self._run_commands(client, identity, document, report, hints):
                return
            raise OrgDocumentExpired(
                f"the organisation document (version {document.version}) has expired"
            )
        seal_ready(self.vault, now=self._now)
        self._check_cancel()
        if self._run_commands(client, identity, document, report, hints):
            return
        self._requeue_unconfirmed()
        self._push_envelopes(client, report)
        self._upload_blobs(client, report)
        if hints.messages is not False:
            self._fetch_messages(client, identity, document, report)
        report.forgotten = self._forget_sent()
        update_sync_state(self.vault, last_sync=int(self._now()))

    def _revoked_round(self, client: Client, identity: DeviceIdentity, report: SyncReport) -> None:
        """What a revoked device still does: fetch, verify and execute its commands.

        The server keeps serving a revoked device the org document and its commands so that a
        remote wipe ordered after the revocation still arrives. Nothing is pushed or fetched
        besides. Returns only if the vault was wiped; otherwise raises `DeviceRevoked` (also
        when the check itself fails: being offline does not change that the device is revoked).
        """
        wiped = False
        try:
            document, hints = self._accept_org_document(client, identity, messages=False)
            wiped = self._run_commands(client, identity, document, report, hints)
        except (SyncError, _Cancelled):
            wiped = False
        if not wiped:
            raise DeviceRevoked()

    def _enrol(self, client: Client, identity: DeviceIdentity) -> None:
        if not identity.invite_token:
            raise NotEnrolled("no invite to enrol with")
        proof = None
        if identity.enrol_secret:
            proof = enrolment_proof(
                identity.enrol_secret, identity.signing_key.public_bytes(), identity.recipient
            )
        try:
            # No label: the coordinator's roster holds it, encrypted; the server learns none.
            client.enrol(identity.invite_token, identity.recipient, None, proof=proof)
        except ServerRefused as exc:
            # A crash after a successful enrolment but before it was saved leaves the token
            # spent: the server then knows our key ("already_enrolled"), and we are enrolled.
            if exc.reason != "already_enrolled":
                raise
        identity.enrolled = True
        identity.invite_token = None
        identity.enrol_secret = None
        identity.save(self.vault)

    def _accept_org_document(
        self, client: Client, identity: DeviceIdentity, *, messages: bool = True
    ) -> tuple[orgdoc.OrgDocument, OrgDocumentAnswer]:
        """The org document, downloaded only if it changed, verified either way, and hints.

        The copy held is verified exactly like a downloaded one (pinned root, signature,
        version floor): a 304 only saves the download, never the check.
        """
        state = load_sync_state(self.vault)
        held = state.org_document
        answer = client.org_document_if_changed(
            state.org_etag if held is not None else None,
            messages_after=state.message_cursor if messages else None,
        )
        wire = answer.document if answer.document is not None else held
        if wire is None:
            raise ProtocolError("the server sent no organisation document")
        signed, document = accept_org_document(
            wire,
            identity.root_fingerprint,
            min_version=max(state.org_version, identity.org_floor),
            now=None,  # an expired document still verifies commands; the round checks expiry
            identities=[identity.org_identity or ""],
            held=state.org_document,
        )
        if answer.document is not None and (
            document.version != state.org_version or held is None or answer.etag != state.org_etag
        ):
            update_sync_state(
                self.vault,
                org_document=orgdoc.to_wire(signed),
                org_version=document.version,
                org_etag=answer.etag,
            )
        return document, answer

    def _run_commands(
        self,
        client: Client,
        identity: DeviceIdentity,
        document: orgdoc.OrgDocument,
        report: SyncReport,
        hints: OrgDocumentAnswer,
    ) -> bool:
        """Verify and execute pending commands; return True if the vault was wiped."""
        if hints.commands == 0:
            return False
        state = load_sync_state(self.vault)
        for raw in client.commands():
            try:
                command = commands_mod.read_command(
                    raw,
                    document,
                    identity.device_id,
                    executed_ids=frozenset(state.executed_commands),
                )
            except commands_mod.CommandError as exc:
                report.commands_refused += 1
                report.problems.append((_raw_id(raw), exc.reason))
                continue
            if command.type == "wipe":
                with self.vault.unit() as uow:
                    state = load_sync_state(uow)
                    state.executed_commands.append(command.id)
                    uow.put_many([state.to_record(), _wipe_marker(command.id)])
                self._wipe(client, command.id, report)
                return True
            report.problems.append((command.id, "unknown_command"))
        return False

    def _wipe(self, client: Client, command_id: str | None, report: SyncReport) -> None:
        """Acknowledge (best effort, short timeout) while the key exists, then wipe."""
        if command_id is None:
            marker = get_or_none(self.vault, _WIPE_MARKER_ID)
            command_id = marker.data.get("command") if marker is not None else None
        if command_id:
            client.timeout = (ACK_TIMEOUT, ACK_TIMEOUT)
            with contextlib.suppress(SyncError):
                client.ack_command(command_id)
            report.commands_executed.append(command_id)
        self.vault.wipe()
        report.wiped = True

    def _push_envelopes(self, client: Client, report: SyncReport) -> None:
        outbox = self.vault.list(kind=Kind.OUTBOX)
        entries = queued_envelopes(outbox)
        blobs_by_record: dict[str, list[Record]] = {}
        for r in outbox:
            if r.data.get("type") == "blob":
                blobs_by_record.setdefault(str(r.data.get("record_id")), []).append(r)
        # The vault bookkeeping for one batch runs in a worker thread while the next batch is
        # on the wire: both are needed, neither depends on the other, and order does not matter
        # (an unsettled batch is simply pushed again and answered `duplicate`).
        with ThreadPoolExecutor(max_workers=1) as settler:
            pending: list[Future[None]] = []
            try:
                for start in range(0, len(entries), self.batch_size):
                    self._check_cancel()
                    batch = entries[start : start + self.batch_size]
                    acked, failed = self._push_batch(client, batch, report)
                    pending.append(settler.submit(self._settle, acked, failed, blobs_by_record))
            finally:
                for future in pending:
                    future.result()

    def _push_batch(
        self, client: Client, batch: list[Record], report: SyncReport
    ) -> tuple[list[Record], list[Record]]:
        results = client.push_envelopes([e.data["wire"] for e in batch])
        acked: list[Record] = []
        failed: list[Record] = []
        for entry, result in zip(batch, results, strict=True):
            if result.get("id") != entry.id:
                raise ProtocolError("the server answered for another envelope")
            status = result.get("status")
            if status in ("stored", "duplicate"):
                acked.append(entry)
                if status == "stored":
                    report.envelopes_sent += 1
                else:
                    report.envelopes_duplicate += 1
            elif status == "rejected":
                reason = str(result.get("reason", "rejected"))[:100]
                failed.append(lifecycle.move(entry, Status.FAILED, reason))
                report.envelopes_rejected += 1
                report.problems.append((entry.id, reason))
        return acked, failed

    def _settle(
        self, acked: list[Record], failed: list[Record], blobs_by_record: dict[str, list[Record]]
    ) -> None:
        """Record the server's answers: field records first, then drop acknowledged entries.

        A crash between the two steps leaves acknowledged entries queued; they are pushed again
        and the server answers `duplicate`, so nothing is lost or stored twice.
        """
        now = int(self._now())
        with self.vault.unit() as uow:
            uow.put_many(failed)
            for entry in acked + failed:
                record_id = str(entry.data.get("record_id") or "")
                record = get_or_none(uow, record_id) if record_id else None
                if record is None or record.kind not in SENT_KINDS:
                    continue
                if entry.status == Status.FAILED:
                    outcome, reason = Status.FAILED, entry.status_reason
                elif all(b.status == Status.SENT for b in blobs_by_record.get(record_id, [])):
                    outcome, reason = Status.SENT, ""
                    record.data.setdefault("sent_at", now)
                else:
                    continue
                # A record changed since this envelope was sealed keeps its status (a draft
                # again, as earlier versions made one whose consent was withheld).
                if lifecycle.lifecycle_of(record).allows(record.status, outcome):
                    uow.put(lifecycle.move(record, outcome, reason))
            for entry in acked:  # kept, sealed, until a coordinator's receipt names it
                lifecycle.move(entry, Status.SENT)
                entry.data["acked_at"] = now
                uow.put(entry)

    def _requeue_unconfirmed(self) -> None:
        """Send again what the server acknowledged long ago but no coordinator confirmed."""
        due = int(self._now()) - RECHECK_AFTER
        stale = [
            e
            for e in self.vault.list(kind=Kind.OUTBOX)
            if e.status == Status.SENT and int(e.data.get("acked_at", 0) or 0) < due
        ]
        if stale:
            self.vault.put_many([lifecycle.move(entry, Status.QUEUED) for entry in stale])

    def _upload_blobs(self, client: Client, report: SyncReport) -> None:
        for entry in pending_blobs(self.vault):
            self._check_cancel()
            if not self._upload_one(client, entry, report):
                continue
            self._mark_blob_sent(entry.id)
            report.blobs_sent += 1

    def _mark_blob_sent(self, entry_id: str) -> None:
        """The server holds the whole blob: its entry is sent, and so is its report once every
        blob of it is (unless the report changed since it was sealed)."""
        now = int(self._now())
        with self.vault.unit() as uow:
            entry = get_or_none(uow, entry_id)
            if entry is None or not lifecycle.lifecycle_of(entry).allows(entry.status, Status.SENT):
                return  # forgotten or already counted meanwhile
            entry.data["sent_at"] = entry.data["acked_at"] = now
            uow.put(lifecycle.move(entry, Status.SENT))
            record_id = str(entry.data.get("record_id", ""))
            record = get_or_none(uow, record_id) if record_id else None
            if record is None or record.kind not in (Kind.INCIDENT, Kind.NOTE):
                return
            rest = [r for r in entry_for_record(uow, record_id) if r.id != entry.id]
            if all(r.status == Status.SENT for r in rest) and lifecycle.lifecycle_of(record).allows(
                record.status, Status.SENT
            ):
                record.data.setdefault("sent_at", now)
                uow.put(lifecycle.move(record, Status.SENT))

    def _upload_one(self, client: Client, entry: Record, report: SyncReport) -> bool:
        return self._uploader.upload(client, entry, report)

    def _progress(self, blob_id: str, offset: int, size: int) -> None:
        if self.progress is not None:
            self.progress(blob_id, offset, size)

    def _fetch_messages(
        self,
        client: Client,
        identity: DeviceIdentity,
        document: orgdoc.OrgDocument,
        report: SyncReport,
    ) -> None:
        state = load_sync_state(self.vault)
        cursor = state.message_cursor
        while True:
            self._check_cancel()
            page = client.messages(cursor, MESSAGE_PAGE)
            items = page.get("items") or []
            records: list[Record] = []
            receipts: list[Payload] = []
            for item in items:
                opened = self._open_message(item, identity, document, report)
                if isinstance(opened, Record):
                    records.append(opened)
                elif opened is not None:
                    receipts.append(opened)
            for receipt in receipts:
                report.confirmed += self._apply_receipt(receipt)
            next_cursor = page.get("next")
            if not isinstance(next_cursor, int) or next_cursor < cursor:
                next_cursor = max([cursor] + [int(i.get("cursor", 0)) for i in items])
            with self.vault.unit() as uow:
                state = load_sync_state(uow)
                state.message_cursor = next_cursor
                uow.put_many([*records, state.to_record()])
            report.messages_received += len(records)
            if not items or next_cursor == cursor:
                return
            cursor = next_cursor

    def _open_message(
        self,
        item: dict[str, Any],
        identity: DeviceIdentity,
        document: orgdoc.OrgDocument,
        report: SyncReport,
    ) -> Record | Payload | None:
        """A message as a record to store, a receipt's payload to apply, or None if refused."""
        try:
            sealed = envelope.from_wire(item.get("envelope"))
            author = document.coordinator(sealed.author)
            if author is None:
                raise envelope.ForgedEnvelope("unknown_author", envelope_id=sealed.id)
            envelope.verify(sealed, author.signing_key)
            if sealed.header.to != identity.device_id:
                raise envelope.EnvelopeFormatError("not_a_message_for_me", envelope_id=sealed.id)
            payload = parse_payload(envelope.open_(sealed, [identity.age_identity]))
            refused = writer_problem(payload.type, sealed.header.kind, sealed.author, document, ())
            if refused is not None or payload.type not in ("message", "receipt"):
                raise PayloadError(refused or "wrong_type")
        except (envelope.EnvelopeError, PayloadError) as exc:
            report.problems.append((_raw_id(item.get("envelope")), exc.reason))
            return None
        if payload.type == "receipt":
            return payload
        if get_or_none(self.vault, sealed.id) is not None:
            return None
        return received_record(
            Kind.MESSAGE,
            sealed,
            payload,
            text=str(payload.record.get("text", "")),
            author=sealed.author,
            author_name=author.name,
            created=sealed.header.created,
            direction="in",
            read=False,
        )

    def _apply_receipt(self, receipt: Payload) -> int:
        """Delete the sealed envelopes and spooled blobs a coordinator confirmed holding."""
        named = {str(i) for key in ("envelopes", "blobs") for i in receipt.record.get(key) or []}
        now = int(self._now())
        with self.vault.unit() as uow:
            entries = [
                e for e in uow.list(kind=Kind.OUTBOX) if e.id in named and e.status == Status.SENT
            ]
            for record_id in {str(e.data.get("record_id", "")) for e in entries} - {""}:
                record = get_or_none(uow, record_id)
                if record is not None and record.kind in (*SENT_KINDS, Kind.STUB):
                    rest = [r for r in entry_for_record(uow, record_id) if r.id not in named]
                    if not rest:
                        record.data["confirmed_at"] = now
                        uow.put(record)
            for entry in entries:
                uow.delete(entry.id)
        for entry in entries:
            if entry.data.get("type") == "blob":
                with contextlib.suppress(Exception):
                    self.vault.spool_delete(str(entry.data.get("spool", "")))
        return len(entries)

    def _forget_sent(self) -> int:
        """Send and forget: replace acknowledged incidents (and, where the organisation's
        document says so, shared notes) by title-less stubs, and delete read messages."""
        if not load_settings(self.vault).send_and_forget:
            return 0
        policy = forget_policy(load_sync_state(self.vault).org_document)
        by_record: dict[str, list[Record]] = {}
        for entry in self.vault.list(kind=Kind.OUTBOX):
            by_record.setdefault(str(entry.data.get("record_id", "")), []).append(entry)
        forgotten = 0
        kinds = [Kind.INCIDENT, Kind.NOTE] if policy.sent_notes else [Kind.INCIDENT]
        for record in [r for kind in kinds for r in self.vault.list(kind=kind)]:
            entries = by_record.get(record.id, [])
            if record.status != Status.SENT or any(r.status != Status.SENT for r in entries):
                continue
            stub = Record(
                kind=Kind.STUB,
                id=record.id,
                status=Status.SENT,
                data={
                    "sent_at": int(record.data.get("sent_at") or self._now()),
                    "record_kind": str(record.kind),
                    # the stub's id names the case; consent withdrawn from it stays shown
                    **(
                        {"withdrawn": withdrawn}
                        if (withdrawn := record.data.get("withdrawn"))
                        else {}
                    ),
                },
                created_at=record.created_at,
            )
            self.vault.put(stub)  # replaces the readable record under the same id
            for item in record.data.get("attachments") or []:
                with contextlib.suppress(Exception):
                    self.vault.delete_attachment(str(item["id"]))
            forgotten += 1
        forgotten += self._forget_sent_alarms(by_record)
        if policy.read_messages:
            done = [m.id for m in self.vault.list(kind=Kind.MESSAGE) if self._message_done(m)]
            if done:
                self.vault.delete_many(done)
                forgotten += len(done)
        if forgotten:
            self.vault.compact()  # re-encrypts what remains: the readable copies are gone
        return forgotten

    def _forget_sent_alarms(self, by_record: dict[str, list[Record]]) -> int:
        """An alarm the server holds keeps only what the owner is shown (when, how far it got,
        the check-in it answers): its location and message are forgotten with the rest; a
        check-in checked in keeps no time of the meeting it covered."""
        forgotten = 0
        for record in [*self.vault.list(kind=Kind.ALERT), *self.vault.list(kind=Kind.CHECKIN)]:
            entries = by_record.get(record.id, [])
            if record.status != Status.SENT or any(r.status != Status.SENT for r in entries):
                continue
            if record.kind == Kind.ALERT:
                secrets = _ALARM_SECRETS
            elif record.data.get("state") == "done":
                secrets = _CHECKIN_SECRETS
            else:
                continue  # an armed check-in: its deadline is still the owner's to see
            if not secrets & set(record.data):
                continue
            record.data = {k: v for k, v in record.data.items() if k not in secrets}
            self.vault.put(record)
            forgotten += 1
        return forgotten

    def _message_done(self, message: Record) -> bool:
        """A message from a coordinator the owner has read, or a reply the server has."""
        if message.data.get("direction", "in") == "in":
            return bool(message.data.get("read"))
        entry = get_or_none(self.vault, str(message.data.get("envelope_id", "")))
        return entry is None or entry.status == Status.SENT


@dataclasses.dataclass(frozen=True, slots=True)
class ForgetPolicy:
    """What the organisation's document asks phones to forget beyond sent incidents."""

    sent_notes: bool = False
    read_messages: bool = False


def forget_policy(org_document: dict[str, Any] | None) -> ForgetPolicy:
    """`settings.forget_sent_notes` and `settings.forget_read_messages` of the accepted, signed
    document (both off when absent)."""
    settings = ((org_document or {}).get("doc") or {}).get("settings") or {}
    return ForgetPolicy(
        sent_notes=settings.get(FORGET_SENT_NOTES) is True,
        read_messages=settings.get(FORGET_READ_MESSAGES) is True,
    )


FORGET_SENT_NOTES = "forget_sent_notes"
FORGET_READ_MESSAGES = "forget_read_messages"
_WIPE_MARKER_ID = fixed_id("wipe-pending")
_ALARM_SECRETS = frozenset({"location", "message"})
_CHECKIN_SECRETS = frozenset({"deadline", "at", "armed_at"})


def _wipe_marker(command_id: str) -> Record:
    return Record(
        kind=Kind.SETTING, id=_WIPE_MARKER_ID, status=Status.LOCAL, data={"command": command_id}
    )


def _pending_wipe(vault: VaultPort) -> bool:
    return get_or_none(vault, _WIPE_MARKER_ID) is not None


def _raw_id(raw: Any) -> str:
    try:
        value = raw.get("cmd", raw.get("header", {})).get("id", "")
        return str(value)[:64]
    except AttributeError:
        return ""
