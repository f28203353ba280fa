"""Case state on the coordinator side: status, assignee, tags, comments and referrals.

Use `apply_events(events)` to fold every case event of one case into a `CaseState`, and
`validate_event(event)` to check an event dict before it is signed and sent. Both are pure.

Workflow: a case starts `new` and moves through `in_review`, `verified`, `referred`, `closed`.
Any status may follow any other (a closed case can be reopened): the table is
`core.lifecycle.CASE`, which the fold checks every step against; the history keeps every step.
Only coordinators send case events (the envelope layer checks who signed them).

Deterministic merge, so that coordinators acting at the same time converge on the same state
whatever order their events arrive in:

1. Events are put in one total order by time, then causal depth, then the coordinator's key
   id, its own chain position and the envelope id. An event never sorts before its author's
   previous one, nor before the event it names as the latest it had seen (`after`): its time
   is raised to theirs (see `order_events`). Every coordinator holds the same set of events
   after a pull, so every one computes the same order.
2. `status` and `assign` are last-writer-wins in that order.
3. Tags are a set: `tag` adds, `untag` removes, applied in that order (so an add and a remove of
   the same tag at the same second resolve the same way everywhere).
4. Comments and referrals are appended in that order; nothing is ever lost.
   A referral may name a contact of the organisation's directory (`contact`, its id in
   `settings["referrals"]`, see `sync.referrals`).
5. Duplicate events (same envelope id) count once.
6. `withdraw` (consent withdrawn after sending, see `core.consent`) is a set that only grows:
   no event type removes a purpose from it, so nobody can consent again in the victim's name.
7. Link events (entity, link, merge and their undoing; `core.links`) are validated here and
   kept in `history`; `core.links.LinkIndex` reads them across cases.

Danger: `created` comes from the coordinator's clock. A coordinator with a clock far in the
future wins every last-writer-wins race until the others catch up; the history shows who did it.
Events are signed, so authorship is proven by the envelope layer, not here.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from core import consent, lifecycle, links

STATUSES: tuple[str, ...] = lifecycle.CASE_STATUSES
INITIAL_STATUS = "new"
EVENT_TYPES: tuple[str, ...] = (
    "status",
    "assign",
    "tag",
    "untag",
    "comment",
    "referral",
    "withdraw",
    *links.LINK_EVENT_TYPES,
)

MAX_TEXT = 10_000
MAX_TAG = 64
MAX_ID = 128

# The fields each event type carries besides "type": name -> (required, max length).
_EVENT_FIELDS: dict[str, dict[str, tuple[bool, int]]] = {
    "status": {"status": (True, 32)},
    "assign": {"assignee": (True, MAX_ID)},
    "tag": {"tag": (True, MAX_TAG)},
    "untag": {"tag": (True, MAX_TAG)},
    "comment": {"text": (True, MAX_TEXT)},
    "referral": {"to": (True, 200), "note": (False, MAX_TEXT), "contact": (False, MAX_ID)},
    "withdraw": {"purposes": (True, 64), "note": (False, MAX_TEXT)},
    **links.EVENT_FIELDS,
}


class InvalidCaseEvent(ValueError):
    """An event dict is not one of the case event shapes. The message names the field."""


def validate_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """Return a clean copy of `event` or raise `InvalidCaseEvent`.

    Shapes: {"type": "status", "status": one of STATUSES}; {"type": "assign", "assignee": key id
    or "" to unassign}; {"type": "tag"|"untag", "tag": non-empty}; {"type": "comment", "text":
    non-empty}; {"type": "referral", "to": non-empty, "note"?: str}; the link events of
    `core.links` (entity values normalised). Unknown fields are refused.
    """
    if not isinstance(event, Mapping):
        raise InvalidCaseEvent("a case event must be an object")
    kind = event.get("type")
    if kind not in _EVENT_FIELDS:
        raise InvalidCaseEvent(f"unknown case event type: {kind!r}")
    fields = _EVENT_FIELDS[kind]
    unknown = set(event) - set(fields) - {"type"}
    if unknown:
        raise InvalidCaseEvent(f"unknown fields in {kind} event: {sorted(unknown)}")
    clean: dict[str, Any] = {"type": kind}
    for name, (required, limit) in fields.items():
        if name not in event:
            if required:
                raise InvalidCaseEvent(f"{kind} event needs {name!r}")
            continue
        value = event[name]
        if not isinstance(value, str):
            raise InvalidCaseEvent(f"{kind} event field {name!r} must be text")
        if kind != "assign" and required and not value.strip():
            raise InvalidCaseEvent(f"{kind} event field {name!r} must not be empty")
        if len(value) > limit:
            raise InvalidCaseEvent(f"{kind} event field {name!r} is longer than {limit}")
        clean[name] = value.strip() if name == "tag" else value
    if kind == "status" and clean["status"] not in STATUSES:
        raise InvalidCaseEvent(f"unknown status: {clean['status']!r}")
    if kind == "withdraw":
        try:
            clean["purposes"] = " ".join(sorted(consent.purposes_of(clean["purposes"])))
        except ValueError as exc:
            raise InvalidCaseEvent(f"withdraw event: {exc}") from None
    if kind in links.EVENT_FIELDS:
        try:
            return links.validate_link_event(clean)
        except links.InvalidLink as exc:
            raise InvalidCaseEvent(str(exc)) from None
    return clean


@dataclasses.dataclass(frozen=True, slots=True)
class CaseEvent:
    """One signed workflow step, as stored after a pull (the `case_event` record's data)."""

    case_id: str
    author: str
    created: int
    envelope_id: str
    event: Mapping[str, Any]
    seq: int = 0
    after: str = ""  # the envelope id of the latest event of the case its author had seen

    @property
    def order_key(self) -> tuple[int, str, int, str]:
        return (self.created, self.author, self.seq, self.envelope_id)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CaseEvent:
        """Read a `case_event` record's data; raises `InvalidCaseEvent` when it is malformed."""
        try:
            case_id, author = str(raw["case_id"]), str(raw["author"])
            envelope_id, created = str(raw["envelope_id"]), raw["created"]
        except (KeyError, TypeError) as exc:
            raise InvalidCaseEvent(f"case event record lacks {exc}") from None
        seq = raw.get("seq", 0)
        if not isinstance(created, int) or isinstance(created, bool):
            raise InvalidCaseEvent("case event 'created' must be integer seconds")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise InvalidCaseEvent("case event 'seq' must be an integer")
        event = validate_event(raw.get("event", {}))
        after = raw.get("after") or ""
        return cls(case_id, author, created, envelope_id, event, seq, str(after)[:64])


@dataclasses.dataclass(frozen=True, slots=True)
class Comment:
    author: str
    created: int
    text: str
    envelope_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class Referral:
    author: str
    created: int
    to: str
    note: str
    envelope_id: str
    contact: str = ""  # the directory contact's id, when the referral names one


@dataclasses.dataclass(frozen=True, slots=True)
class CaseState:
    """The merged workflow state of one case. `history` is every applied event, in order."""

    case_id: str
    status: str = INITIAL_STATUS
    assignee: str = ""
    tags: frozenset[str] = frozenset()
    comments: tuple[Comment, ...] = ()
    referrals: tuple[Referral, ...] = ()
    history: tuple[CaseEvent, ...] = ()
    updated: int = 0
    withdrawn: frozenset[str] = frozenset()  # consent purposes a coordinator withdrew


REFERENCE_LENGTH = 6


def case_reference(case_id: str) -> str:
    """The short reference of a case, for people: the first six characters of its id in two
    groups of three, upper case (`3fa9c2…` → `3FA-9C2`). It names the case without saying
    anything about it, so the phone's stub, a message and the coordinator's case can all show
    it (the phone's record id is the case id)."""
    head = case_id.replace("-", "")[:REFERENCE_LENGTH].upper()
    return f"{head[:3]}-{head[3:]}" if len(head) > 3 else head


def order_events(events: Iterable[CaseEvent]) -> list[CaseEvent]:
    """The one total order every coordinator agrees on, duplicates (same envelope id) removed.

    Times alone cannot be trusted to order decisions: the server writes the time it received
    an event, which caps its author's claim. So an event comes after its author's previous one
    (by chain position) and after the event it names as the latest it had seen (`after`),
    whatever the times say: its time is raised to theirs, and its causal depth breaks ties.
    """
    unique: dict[str, CaseEvent] = {}
    for event in events:
        unique.setdefault(event.envelope_id, event)
    previous: dict[str, str] = {}
    by_author: dict[str, list[CaseEvent]] = {}
    for event in unique.values():
        if event.seq > 0:  # no chain position known for events stored before 0.1's seq
            by_author.setdefault(event.author, []).append(event)
    for chain in by_author.values():
        chain.sort(key=lambda e: (e.seq, e.envelope_id))
        for before, after in itertools.pairwise(chain):
            previous[after.envelope_id] = before.envelope_id
    rank: dict[str, tuple[int, int]] = {}
    for start in unique:
        stack, visiting = [start], {start}
        while stack:
            eid = stack[-1]
            parents = [
                p
                for p in (previous.get(eid), unique[eid].after)
                if p and p in unique and p not in rank and p not in visiting
            ]
            if parents:
                stack.extend(parents)
                visiting.update(parents)
                continue
            stack.pop()
            if eid in rank:
                continue
            time, depth = unique[eid].created, 0
            for p in (previous.get(eid), unique[eid].after):
                if p and p in rank:  # a parent still being visited is a cycle: ignored
                    time, depth = max(time, rank[p][0]), max(depth, rank[p][1] + 1)
            rank[eid] = (time, depth)
    placed = [dataclasses.replace(e, created=rank[e.envelope_id][0]) for e in unique.values()]
    return sorted(
        placed,
        key=lambda e: (e.created, rank[e.envelope_id][1], e.author, e.seq, e.envelope_id),
    )


def apply_events(events: Iterable[CaseEvent | Mapping[str, Any]], case_id: str = "") -> CaseState:
    """Fold the events of ONE case into its state. Raises `InvalidCaseEvent` on a mixed case."""
    parsed = [e if isinstance(e, CaseEvent) else CaseEvent.from_dict(e) for e in events]
    ids = {e.case_id for e in parsed}
    if case_id:
        ids.add(case_id)
    if len(ids) > 1:
        raise InvalidCaseEvent("events of several cases passed to apply_events")
    state_id = next(iter(ids)) if ids else ""
    status, assignee = INITIAL_STATUS, ""
    tags: set[str] = set()
    comments: list[Comment] = []
    referrals: list[Referral] = []
    withdrawn: set[str] = set()
    ordered = order_events(parsed)
    for item in ordered:
        ev = item.event
        kind = ev["type"]
        if kind == "status":
            status = lifecycle.CASE.check(status, ev["status"])
        elif kind == "assign":
            assignee = ev["assignee"]
        elif kind == "tag":
            tags.add(ev["tag"])
        elif kind == "untag":
            tags.discard(ev["tag"])
        elif kind == "comment":
            comments.append(Comment(item.author, item.created, ev["text"], item.envelope_id))
        elif kind == "referral":
            referrals.append(
                Referral(
                    item.author,
                    item.created,
                    ev["to"],
                    ev.get("note", ""),
                    item.envelope_id,
                    ev.get("contact", ""),
                )
            )
        elif kind == "withdraw":
            withdrawn.update(ev["purposes"].split())
    return CaseState(
        case_id=state_id,
        status=status,
        assignee=assignee,
        tags=frozenset(tags),
        comments=tuple(comments),
        referrals=tuple(referrals),
        history=tuple(ordered),
        updated=ordered[-1].created if ordered else 0,
        withdrawn=frozenset(withdrawn),
    )


def apply_all(events: Iterable[CaseEvent | Mapping[str, Any]]) -> dict[str, CaseState]:
    """Group events by case and fold each group: {case_id: CaseState}."""
    groups: dict[str, list[CaseEvent]] = {}
    for raw in events:
        event = raw if isinstance(raw, CaseEvent) else CaseEvent.from_dict(raw)
        groups.setdefault(event.case_id, []).append(event)
    return {cid: apply_events(group, cid) for cid, group in groups.items()}
