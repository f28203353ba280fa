"""The records a coordinator's vault holds for what it pulled (the contract with the services).

- `Kind.CASE`, id = the field record's id: `{"case_id", "type", "author", "revisions": [...],
  "latest", "custody": {"signature", "chain", "problems"}}`, revisions ordered by seq. Only the
  device that wrote a case first may add revisions to it (`sync.trust.case_author_problem`).
- `Kind.CASE_EVENT`, id = envelope id: `{"case_id", "author", "created", "claimed", "seq",
  "envelope_id", "event", "after"}`; `after` is the envelope id of the latest event of the case
  its author had seen. `created` is what the merge sorts by: the author's claimed time
  (`claimed`) capped at when the server received it (`sync.trust.merge_time`).
- `Kind.MESSAGE`, id = envelope id: `{"case_id", "device", "direction", "text", "created",
  "envelope_id"}`.
"""

from __future__ import annotations

from core.records import Kind, Record
from sync import envelope
from sync.payload import Payload, received_record
from sync.trust import merge_time


def case_event_record(sealed: envelope.Envelope, payload: Payload, received_at: int) -> Record:
    claimed = sealed.header.created
    return received_record(
        Kind.CASE_EVENT,
        sealed,
        payload,
        author=sealed.author,
        created=merge_time(claimed, received_at),
        claimed=claimed,
        seq=sealed.seq,
        event=payload.record.get("event", {}),
        after=str(payload.record.get("after", ""))[:64],
    )


def message_record(sealed: envelope.Envelope, payload: Payload) -> Record:
    reply = payload.type == "reply"
    return received_record(
        Kind.MESSAGE,
        sealed,
        payload,
        device=sealed.author if reply else str(sealed.header.to or ""),
        direction="in" if reply else "out",
        text=str(payload.record.get("text", "")),
        created=sealed.header.created,
    )
