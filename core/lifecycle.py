"""Record lifecycles: which status may follow which, one table per kind of record.

Use `move(record, to, reason)` wherever a record's sync status changes: it checks the table of
the record's kind and raises `InvalidTransition` (naming kind, from and to) for a step the
table does not list. `lifecycle_of(record)` gives the table; `Lifecycle.allows(from, to)` asks
without changing anything (the sync engine uses it to leave alone a record the user changed
after an envelope of it was sealed). Who moves what:

- the documenter (field service): an incident `draft -> ready | queued`, back to `draft` while
  nothing of it is sealed (a `queued` or `sent` incident never becomes a draft again: its
  consent can still be withdrawn, and what was sealed is out of the phone's hands); a note
  `local <-> ready | queued` (sharing or unsharing it; a note unshared after it was sealed
  still takes the server's answer);
- the outbox: `ready -> queued` (sealing), and `queued | sent | failed -> queued` for a
  revision;
- the sync engine: `queued | sent | failed -> sent | failed` from the server's answer to any
  revision of the record (`failed` carries the server's reason); an outbox entry
  `queued -> sent | failed`, and `sent -> queued` when no coordinator confirmed it in time;
  a blob entry `queued -> sent -> queued` likewise.

A record made without a status is a `draft` (`core.records.Record`'s default), so every kind
that is sent may start there. Case status (coordinators only, by signed case events) is the
`CASE` table: any status may follow any other, a closed case can be reopened.

Danger: assigning `record.status` directly skips the check; only `move` should.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from core.records import Kind, Record, Status


class InvalidTransition(ValueError):
    """A status change the record kind's lifecycle does not allow."""

    def __init__(self, kind: str, from_status: str, to_status: str) -> None:
        self.kind = kind
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(f"{kind}: {from_status!s} -> {to_status!s} is not an allowed transition")


@dataclasses.dataclass(frozen=True)
class Lifecycle:
    """One kind's transition table: status -> the statuses that may follow it."""

    kind: str
    transitions: Mapping[str, frozenset[str]]
    who: str
    """Who makes these transitions (documentation for readers and the coordinator's checks)."""

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.transitions, *_flat(self.transitions.values())]))

    def allows(self, from_status: str, to_status: str) -> bool:
        return to_status in self.transitions.get(from_status, frozenset())

    def check(self, from_status: str, to_status: str) -> str:
        """`to_status`, or `InvalidTransition` if it may not follow `from_status`."""
        if not self.allows(from_status, to_status):
            raise InvalidTransition(self.kind, from_status, to_status)
        return to_status


def _flat(groups: Iterable[frozenset[str]]) -> list[str]:
    return [status for group in groups for status in sorted(group)]


def _table(**steps: Iterable[str]) -> dict[str, frozenset[str]]:
    return {Status(f).value: frozenset(Status(t).value for t in to) for f, to in steps.items()}


_ANSWERED = ("queued", "ready", "sent", "failed")  # a revision, or the server's answer to one
_SENT = _table(
    draft=("ready", "queued"),
    ready=("ready", "queued"),
    queued=_ANSWERED,
    sent=_ANSWERED,
    failed=_ANSWERED,
)


def _grow(table: Mapping[str, frozenset[str]], **more: Iterable[str]) -> dict[str, frozenset[str]]:
    """`table` with the steps in `more` added."""
    extra = _table(**more)
    return {s: table.get(s, frozenset()) | extra.get(s, frozenset()) for s in [*table, *extra]}


SENT_RECORD = Lifecycle(
    "sent record",
    _SENT,
    who="the phone: the outbox seals, the sync engine records the server's answer",
)
"""Alarms and check-ins (`sync.alerts`): made `ready`, sealed, answered."""

INCIDENT = Lifecycle(
    Kind.INCIDENT.value,
    _grow(_SENT, draft=("draft",), ready=("draft",), failed=("draft",)),  # nothing sealed
    who="the documenter (draft, submit), the outbox (seal) and the sync engine (answers)",
)

NOTE = Lifecycle(
    Kind.NOTE.value,
    _grow(
        _SENT,
        **{status: ("local",) for status in ("draft", "ready", "queued", "sent", "failed")},
        local=("local", "ready", "queued", "sent", "failed"),  # answered after unsharing
    ),
    who="the documenter (share or keep local), the outbox and the sync engine",
)

ENVELOPE_ENTRY = Lifecycle(
    "outbox envelope",
    _table(queued=("sent", "failed"), sent=("queued",), failed=()),
    who="the sync engine (the server's answer; sent again when no coordinator confirmed it)",
)

BLOB_ENTRY = Lifecycle(
    "outbox blob",
    _table(queued=("sent",), sent=("queued",)),
    who="the sync engine (uploaded; sent again when no coordinator confirmed it)",
)

CASE_STATUSES: tuple[str, ...] = ("new", "in_review", "verified", "referred", "closed")
CASE = Lifecycle(
    Kind.CASE.value,
    {status: frozenset(CASE_STATUSES) for status in CASE_STATUSES},
    who="coordinators only, by signed case events (`sync.trust` checks the author)",
)
"""A case's workflow status (`core.cases`): any status may follow any other."""

_BY_KIND = {
    Kind.INCIDENT: INCIDENT,
    Kind.NOTE: NOTE,
    Kind.ALERT: SENT_RECORD,
    Kind.CHECKIN: SENT_RECORD,
}


def lifecycle_of(record: Record) -> Lifecycle:
    """The table for `record`'s kind (an outbox entry's by its `type`); `ValueError` for a kind
    whose status never changes (settings, keys, cases' records)."""
    if record.kind == Kind.OUTBOX:
        return BLOB_ENTRY if record.data.get("type") == "blob" else ENVELOPE_ENTRY
    try:
        return _BY_KIND[Kind(record.kind)]
    except (KeyError, ValueError):
        raise ValueError(f"{record.kind!r} records have no lifecycle") from None


def move(record: Record, to_status: str, reason: str = "") -> Record:
    """Set `record`'s status to `to_status` and its reason to `reason`, if its lifecycle allows
    the step; else `InvalidTransition` and the record is unchanged. Returns `record`."""
    record.status = lifecycle_of(record).check(record.status, to_status)
    record.status_reason = reason
    return record
