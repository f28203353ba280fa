"""What a coordinator sends: case events, messages, roster entries and receipts.

Each is sealed into this coordinator's own signed chain, stored locally with its outbox entry
in one `put_many`, then pushed (`push_pending`) in chain order.

- `push_case_event(vault, case_id, event)`: to every coordinator.
- `send_message(vault, device_id, case_id, text)`: to one device, encrypted to the age
  recipient the roster holds for it; never to a key taken from the server's device list.
- `queue_roster_entry(vault, entry)`: tells the other coordinators that a device was admitted.
- `queue_receipt(vault, device_id, envelopes, blobs)`: tells a device which of its envelopes
  and attachments a coordinator holds and checked, so it may forget them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from core.cases import CaseEvent, order_events
from core.records import Kind, Record, Status
from core.vault_port import VaultPort
from sync import envelope, orgdoc
from sync.coordinator.identity import CoordinatorError, connect, load_identity, load_state
from sync.coordinator.org import org_document, refresh_org_document, renew_if_due
from sync.coordinator.records import case_event_record, message_record
from sync.coordinator.roster import RosterEntry, roster_entry
from sync.device import state_lock
from sync.errors import OrgDocumentExpired
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
    local = lambda s: case_event_record(s, parse_payload(plaintext), 0)  # noqa: E731
    recipients = _coordinator_recipients(vault, now)
    sealed = _seal_and_queue(vault, plaintext, recipients, "event", None, now, local=local)
    push_pending(vault)
    return sealed


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
    sealed = _seal_and_queue(
        vault,
        plaintext,
        [entry.recipient],
        "message",
        device_id,
        now,
        local=lambda s: message_record(s, parse_payload(plaintext)),
    )
    push_pending(vault)
    return sealed


def queue_roster_entry(
    vault: VaultPort, entry: RosterEntry, *, now: Callable[[], float] = time.time
) -> list[Record]:
    """Records that admit `entry` locally and tell the other coordinators (not yet pushed)."""
    plaintext = build_payload("roster", entry.shared())
    recipients = _coordinator_recipients(vault, now)
    return _seal(
        vault, plaintext, recipients, "event", None, now, local=lambda _: entry.to_record()
    )


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
        plaintext = build_payload("receipt", record)
        with state_lock(vault):
            vault.put_many(
                _seal(vault, plaintext, [entry.recipient], "message", device_id, now, local=None)
            )
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


def _seal_and_queue(
    vault: VaultPort,
    plaintext: bytes,
    recipients: list[str],
    kind: str,
    to: str | None,
    now: Callable[[], float],
    *,
    local: Callable[[envelope.Envelope], Record],
) -> str:
    with state_lock(vault):
        records = _seal(vault, plaintext, recipients, kind, to, now, local=local)
        vault.put_many(records)
    return str(records[0].data["envelope_id"])


def _seal(
    vault: VaultPort,
    plaintext: bytes,
    recipients: list[str],
    kind: str,
    to: str | None,
    now: Callable[[], float],
    *,
    local: Callable[[envelope.Envelope], Record] | None,
) -> list[Record]:
    """The outbox entry, the local record (if any) and the moved chain head, to store together.

    Call under `state_lock(vault)` and store the result in one `put_many`.
    """
    identity = load_identity(vault)
    state = load_state(vault)
    sealed = envelope.seal_next(
        state,
        plaintext,
        signer=identity.signing_key,
        recipients=recipients,
        kind=kind,
        to=to,
        now=int(now()),
    )
    entry = Record(  # its own id: the envelope id names the local case event or message
        kind=Kind.OUTBOX,
        status=Status.QUEUED,
        data={
            "type": "envelope",
            "seq": sealed.seq,
            "envelope_id": sealed.id,
            "wire": envelope.to_wire(sealed),
        },
    )
    records = [entry, state.to_record()]
    if local is not None:
        records.append(local(sealed))
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
                    entry.status = Status.SENT
                    done.append(entry)
                elif result.get("status") == "rejected":
                    entry.status = Status.FAILED
                    entry.status_reason = str(result.get("reason", ""))[:100]
                    done.append(entry)
            if done:
                vault.put_many(done)
                acked += sum(1 for e in done if e.status == Status.SENT)
    return acked
