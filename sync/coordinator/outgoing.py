"""What a coordinator sends: case events, messages, roster entries and receipts.

Each is sealed into this coordinator's own signed chain, stored locally with its outbox entry
in one unit of work (`vault.unit()`), then pushed (`push_pending`) in chain order.

- `push_case_event(vault, case_id, event)`: to every coordinator.
- `send_message(vault, device_id, case_id, text)`: to one device, encrypted to the age
  recipient the roster holds for it; never to a key taken from the server's device list.
- `queue_roster_entry(vault, entry)`: tells the other coordinators that a device was admitted.
- `queue_receipt(vault, device_id, envelopes, blobs)`: tells a device which of its envelopes
  and attachments a coordinator holds and checked, so it may forget them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import Any

from core import lifecycle
from core.cases import CaseEvent, order_events
from core.records import Kind, Record, Status, new_id
from core.vault_port import RecordReader, VaultPort
from sync import envelope, orgdoc
from sync.coordinator.identity import CoordinatorError, connect, load_identity, load_state
from sync.coordinator.org import org_document, refresh_org_document, renew_if_due
from sync.coordinator.records import case_event_record, message_record
from sync.coordinator.roster import RosterEntry, roster_entry
from sync.errors import OrgDocumentExpired
from sync.outbox import seal_entry
from sync.payload import build_payload, parse_payload

PUSH_BATCH = 100
MAX_RECEIPT_IDS = 500


def push_case_event(
    vault: VaultPort,
    case_id: str,
    event: dict[str, Any],
    *,
    now: Callable[[], float] = time.time,
) -> str:
    """Seal a case event to all coordinators, store it locally, push it; return its id.

    The event names the latest event of the case this coordinator has seen (`after`), so every
    coordinator orders it after that one whatever times the server writes."""
    seen = [
        CaseEvent.from_dict(r.data)
        for r in vault.list(kind=Kind.CASE_EVENT)
        if r.data.get("case_id") == case_id
    ]
    ordered = order_events(seen)
    record = {"case_id": case_id, "event": event}
    if ordered:
        record["after"] = ordered[-1].envelope_id
    plaintext = build_payload("case_event", record)
    outgoing = _Outgoing(
        plaintext,
        _coordinator_recipients(vault, now),
        local=lambda sealed: case_event_record(sealed, parse_payload(plaintext), 0),
    )
    envelope_id = _seal_and_queue(vault, outgoing, now)
    push_pending(vault)
    return envelope_id


def send_message(
    vault: VaultPort,
    device_id: str,
    case_id: str,
    text: str,
    *,
    now: Callable[[], float] = time.time,
) -> str:
    """Seal a message only that device can read, store it locally, push it; return its id.

    Raises `CoordinatorError("device_not_verified")` for a device outside the roster.
    """
    entry = roster_entry(vault, device_id)
    if entry is None:
        from sync.coordinator.roster import list_devices

        list_devices(vault)  # admits it now if it enrolled with one of our invites
        entry = roster_entry(vault, device_id)
    if entry is None:
        raise CoordinatorError("this device is not in the roster", reason="device_not_verified")
    plaintext = build_payload("message", {"case_id": case_id, "text": text})
    outgoing = _Outgoing(
        plaintext,
        [entry.recipient],
        to=device_id,
        local=lambda sealed: message_record(sealed, parse_payload(plaintext)),
    )
    envelope_id = _seal_and_queue(vault, outgoing, now)
    push_pending(vault)
    return envelope_id


def queue_roster_entry(
    vault: VaultPort, entry: RosterEntry, *, now: Callable[[], float] = time.time
) -> list[Record]:
    """Records that admit `entry` locally and tell the other coordinators (not yet pushed)."""
    plaintext = build_payload("roster", entry.shared())
    outgoing = _Outgoing(
        plaintext, _coordinator_recipients(vault, now), local=lambda _: entry.to_record()
    )
    return _seal(vault, outgoing, now)


def queue_receipt(
    vault: VaultPort,
    device_id: str,
    envelopes: Iterable[str],
    blobs: Iterable[str],
    *,
    now: Callable[[], float] = time.time,
) -> int:
    """Seal receipts for a device's envelopes and attachments; return how many were queued."""
    entry = roster_entry(vault, device_id)
    if entry is None:
        return 0
    ids = [("envelope", i) for i in envelopes] + [("blob", i) for i in blobs]
    count = 0
    for start in range(0, len(ids), MAX_RECEIPT_IDS):
        part = ids[start : start + MAX_RECEIPT_IDS]
        record = {
            "envelopes": [i for k, i in part if k == "envelope"],
            "blobs": [i for k, i in part if k == "blob"],
        }
        outgoing = _Outgoing(build_payload("receipt", record), [entry.recipient], to=device_id)
        _seal_and_queue(vault, outgoing, now)
        count += 1
    return count


def _coordinator_recipients(vault: VaultPort, now: Callable[[], float]) -> list[str]:
    """The recipients of the org document held, renewed first if it lapses soon and this
    coordinator holds the root key; `OrgDocumentExpired` if it has lapsed (a hostile server
    may be withholding one that removed a coordinator: nothing is sealed to it)."""
    document = org_document(vault) or refresh_org_document(vault)
    document = renew_if_due(vault, document, now=now) or document
    if orgdoc.is_expired(document, now()):
        raise OrgDocumentExpired("the org document has expired; nothing was sealed")
    return list(document.recipients)


@dataclasses.dataclass(frozen=True)
class _Outgoing:
    """One envelope to seal into this coordinator's chain: an `event` to every coordinator, or
    a `message` to the one device `to` names; `local` makes the record kept here of it."""

    plaintext: bytes
    recipients: list[str]
    to: str | None = None
    local: Callable[[envelope.Envelope], Record] | None = None

    @property
    def kind(self) -> str:
        return "event" if self.to is None else "message"


def _seal_and_queue(vault: VaultPort, outgoing: _Outgoing, now: Callable[[], float]) -> str:
    """`_seal` and store what it made, atomically; return the envelope id."""
    with vault.unit() as uow:
        records = _seal(uow, outgoing, now)
        uow.put_many(records)
    return str(records[0].data["envelope_id"])


def _seal(vault: RecordReader, outgoing: _Outgoing, now: Callable[[], float]) -> list[Record]:
    """The outbox entry, the moved chain head and the local record (if any), to store together.

    Read through the unit of work that stores the result (the chain head must not move between).
    """
    identity = load_identity(vault)
    state = load_state(vault)
    sealed, entry = seal_entry(  # the entry's own id: the envelope id names the local record
        state,
        outgoing.plaintext,
        identity.signing_key,
        outgoing.recipients,
        outgoing.kind,
        to=outgoing.to,
        now=int(now()),
        entry_id=new_id(),
    )
    records = [entry, state.to_record()]
    if outgoing.local is not None:
        records.append(outgoing.local(sealed))
    return records


def push_pending(vault: VaultPort) -> int:
    """Push this coordinator's queued envelopes in chain order; return how many were acked.

    An answer is taken only for the envelope it names; anything else is a protocol error.
    """
    entries = sorted(
        (
            r
            for r in vault.list(kind=Kind.OUTBOX)
            if r.status == Status.QUEUED and r.data.get("type") == "envelope"
        ),
        key=lambda r: int(r.data["seq"]),
    )
    if not entries:
        return 0
    _, client = connect(vault)
    acked = 0
    with client:
        for start in range(0, len(entries), PUSH_BATCH):
            batch = entries[start : start + PUSH_BATCH]
            results = client.push_envelopes([e.data["wire"] for e in batch])
            done = []
            for entry, result in zip(batch, results, strict=True):
                if result.get("id") != entry.data["envelope_id"]:
                    raise CoordinatorError(
                        "the server answered for another envelope", reason="protocol_error"
                    )
                if result.get("status") in ("stored", "duplicate"):
                    done.append(lifecycle.move(entry, Status.SENT))
                elif result.get("status") == "rejected":
                    reason = str(result.get("reason", ""))[:100]
                    done.append(lifecycle.move(entry, Status.FAILED, reason))
            if done:
                vault.put_many(done)
                acked += sum(1 for e in done if e.status == Status.SENT)
    return acked
