"""Alarms and check-ins at the coordinators: storing what arrives, and what is raised now.

`store_alert(vault, sealed, payload, received, touched)` is called by the pull for the
`alert` and `checkin` payloads of rostered devices (the writer rule of `sync.trust`; the
signature and chain were checked before). `raised(vault, now)` gives every alarm to show at
`now`, newest first:

- each alarm a phone sent (`Kind.ALERT`), until a coordinator marks it handled;
- each check-in (`Kind.CHECKIN`) whose deadline has passed with no "checked in" from its
  phone signed and received by then. This is computed here from the armed check-in alone, so
  a phone switched off or seized before its deadline still raises its alarm, and a server that
  withholds or delays envelopes can only cause a false alarm: it cannot forge a "checked in"
  (the device signs it), nor move its time earlier (an armed check-in is dated by
  `sync.trust.merge_time`, the earlier of the phone's signed time and the time the server
  received it; a "checked in" by the phone's signed time alone, which the server cannot
  change).

A check-in's "checked in" that arrives after the deadline leaves the alarm raised (marked
"checked in late") until a coordinator marks it handled. So does one the phone signed before
the deadline that this coordinator first saw more than `SEEN_GRACE` after it (marked "reached
you only after the deadline"): the phone dates it alone, and a phone taken with its passphrase
can have its clock set back, so only a "checked in" seen in time clears the alarm by itself.
A new deadline sent after the old one has passed changes nothing. `handle(vault, alert_id, by,
now)` marks one handled, on this coordinator's own vault.

An alarm given while the phone was locked arrives first (or only) through
`sync.coordinator.locked_alarms` and is stored here under `nonce_record_id`; the ordinary alarm
the phone seals at its next unlock carries the same nonce and is the same record (not raised
twice).

`emergency_plan(settings)` reads the organisation's plan from the org document's
`settings["emergency_plan"]`; `check_emergency_plan(text)` validates one before publishing.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from core.crypto.hashing import sha256_hex
from core.records import Kind, Record, Status
from core.vault_port import VaultPort
from sync import envelope
from sync.alerts import ARMED, DONE, MESSAGES, REASONS, AlertError, parse_location
from sync.device import get_or_none
from sync.payload import Payload
from sync.trust import merge_time

PLAN_SETTING = "emergency_plan"
SEEN_GRACE = 15 * 60  # a "checked in" seen this long after the deadline still clears it
MAX_PLAN_CHARS = 4000


@dataclasses.dataclass(frozen=True, slots=True)
class RaisedAlert:
    """One alarm to show. `id` is what `handle` takes; `deadline` is set for check-ins."""

    id: str
    device: str
    reason: str  # alarm | checkin_missed
    at: int
    message: str
    location: dict[str, Any] | None
    wiped: bool
    deadline: int = 0
    late_checkin: int = 0
    seen_late: bool = False  # a "checked in" signed in time but first seen past the grace
    handled_at: int = 0
    handled_by: str = ""

    @property
    def active(self) -> bool:
        return not self.handled_at


def _record_id(prefix: str, author: str, field_id: str) -> str:
    return sha256_hex(f"fieldvault/{prefix}/{author}/{field_id}".encode())[:32]


def nonce_record_id(device: str, nonce: str) -> str:
    """The id of the alarm a device gave with this nonce: the one it sent while locked
    (`sync.coordinator.locked_alarms`) and the one it sealed at its next unlock are one."""
    return _record_id("alert-nonce", device, nonce)


def _nonce(data: dict[str, Any]) -> str:
    nonce = data.get("nonce")
    if not isinstance(nonce, str) or not 16 <= len(nonce) <= 32:
        return ""
    return nonce if nonce.replace("-", "a").replace("_", "a").isalnum() else ""


def store_alert(
    vault: VaultPort,
    sealed: envelope.Envelope,
    payload: Payload,
    received: int,
    touched: dict[str, Record],
    *,
    seen: int | None = None,
) -> bool | None:
    """Store an `alert` or `checkin` payload: True if stored, False if already held, None if
    its content is not an alarm or check-in (refused). `seen` is this coordinator's own clock
    (now by default): when it first saw a "checked in"."""
    record = payload.record
    field_id = str(record.get("id", ""))[:64]
    data = record.get("data")
    if not field_id or not isinstance(data, dict):
        return None
    arrival = _Arrival(
        vault, sealed, field_id, data, merge_time(sealed.header.created, received), touched
    )
    try:
        if payload.type == "alert":
            return _store_alarm(arrival, received)
        return _store_checkin(arrival, int(time.time()) if seen is None else seen)
    except (AlertError, TypeError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class _Arrival:
    """One alarm or check-in envelope being stored: what it says (`data`, under the phone's own
    `field_id`), when it counts from, and the records this pull has touched so far."""

    vault: VaultPort
    sealed: envelope.Envelope
    field_id: str
    data: dict[str, Any]
    when: int
    touched: dict[str, Record]

    def current(self, record_id: str) -> Record | None:
        return self.touched.get(record_id) or get_or_none(self.vault, record_id)


def _store_alarm(arrival: _Arrival, received: int) -> bool:
    sealed, data, when, touched = arrival.sealed, arrival.data, arrival.when, arrival.touched
    reason, message = data.get("reason"), data.get("message")
    if reason not in REASONS or message not in MESSAGES:
        raise AlertError("bad_alert")
    nonce = _nonce(data)
    record_id = (
        nonce_record_id(sealed.author, nonce)
        if nonce
        else _record_id("alert", sealed.author, arrival.field_id)
    )
    existing = arrival.current(record_id)
    if existing is not None:
        if existing.data.get("locked") and not existing.data.get("envelope_id"):
            existing.data["envelope_id"] = sealed.id  # the same alarm, now also signed in full
            touched[record_id] = existing
            return True
        return False
    claimed = data.get("at")
    at = min(int(claimed), when) if type(claimed) is int and claimed > 0 else when
    location = parse_location(data.get("location"))
    checkin = str(data.get("checkin", ""))[:64]
    touched[record_id] = alarm_record(
        record_id,
        sealed.author,
        at=at,
        message=message,
        received=received,
        reason=reason,
        location=location.to_dict() if location is not None else None,
        wiped=bool(data.get("wiped")),
        checkin=_record_id("checkin", sealed.author, checkin) if data.get("checkin") else "",
        envelope_id=sealed.id,
        nonce=nonce,
    )
    return True


def alarm_record(
    record_id: str, device: str, *, at: int, message: str, received: int, **facts: Any
) -> Record:
    """A received alarm as a coordinator keeps it, not yet handled. `facts` set what the alarm
    said beyond the defaults (`reason`, `location`, `wiped`, `checkin`, `envelope_id`,
    `nonce`, and `locked` for one posted by a locked phone)."""
    data = {
        "device": device,
        "reason": "alarm",
        "at": at,
        "message": message,
        "location": None,
        "wiped": False,
        "checkin": "",
        "envelope_id": "",
        "nonce": "",
        "received_at": received,
        "handled_at": 0,
        "handled_by": "",
        **facts,
    }
    return Record(kind=Kind.ALERT, id=record_id, status=Status.LOCAL, data=data)


def _store_checkin(arrival: _Arrival, seen: int) -> bool:
    sealed, data, when = arrival.sealed, arrival.data, arrival.when
    state = data.get("state")
    if state not in (ARMED, DONE):
        raise AlertError("bad_checkin")
    record_id = _record_id("checkin", sealed.author, arrival.field_id)
    existing = arrival.current(record_id)
    if existing is None:
        existing = Record(
            kind=Kind.CHECKIN,
            id=record_id,
            status=Status.LOCAL,
            data={
                "device": sealed.author,
                "deadline": 0,
                "armed_at": 0,
                "done_at": 0,
                "seqs": [],
                "handled_at": 0,
                "handled_by": "",
            },
        )
    info = existing.data
    if sealed.seq in info["seqs"]:
        return False
    info["seqs"] = [*info["seqs"], sealed.seq]
    deadline = int(info["deadline"])
    if state == ARMED:
        new = data.get("deadline")
        if type(new) is not int or new <= 0:
            raise AlertError("bad_checkin")
        if not deadline or when <= deadline:  # never moved once it has passed
            info["deadline"], info["armed_at"] = new, when
    elif not info["done_at"] or sealed.header.created < int(info["done_at"]):
        # the phone's own signed time alone: the server can delay a "checked in" (a false
        # alarm) but never date it earlier than the phone signed it (silence)
        info["done_at"] = sealed.header.created
        info["done_seen"] = min(seen, int(info.get("done_seen") or seen))
        deadline = deadline or int(data.get("deadline", 0) or 0)
        info["deadline"] = deadline
    arrival.touched[record_id] = existing
    return True


def raised(vault: VaultPort, now: int) -> list[RaisedAlert]:
    """Every alarm to show at `now` (handled ones too, marked), newest first."""
    alerts: dict[str, RaisedAlert] = {}
    by_checkin: dict[str, str] = {}
    for record in vault.list(kind=Kind.ALERT):
        d = record.data
        alerts[record.id] = RaisedAlert(
            id=record.id,
            device=str(d["device"]),
            reason=str(d["reason"]),
            at=int(d["at"]),
            message=str(d["message"]),
            location=d.get("location"),
            wiped=bool(d.get("wiped")),
            handled_at=int(d.get("handled_at", 0) or 0),
            handled_by=str(d.get("handled_by", "")),
        )
        if d.get("checkin"):
            by_checkin[str(d["checkin"])] = record.id
    for record in vault.list(kind=Kind.CHECKIN):
        d = record.data
        deadline, done = int(d.get("deadline", 0) or 0), int(d.get("done_at", 0) or 0)
        seen = int(d.get("done_seen", 0) or done)  # stored before 0.3: when it was signed
        in_time = bool(done) and done <= deadline
        if not deadline or now < deadline or (in_time and seen <= deadline + SEEN_GRACE):
            continue
        sent = alerts.get(by_checkin.get(record.id, ""))
        handled = int(d.get("handled_at", 0) or 0)
        alerts[record.id] = RaisedAlert(
            id=record.id,
            device=str(d["device"]),
            reason="checkin_missed",
            at=deadline,
            message=sent.message if sent else "",
            location=sent.location if sent else None,
            wiped=sent.wiped if sent else False,
            deadline=deadline,
            late_checkin=done,
            seen_late=in_time,
            handled_at=max(handled, sent.handled_at if sent else 0),
            handled_by=str(d.get("handled_by", "")) or (sent.handled_by if sent else ""),
        )
        if sent is not None:
            del alerts[sent.id]  # the phone's own alert for it is the same alarm
    return sorted(alerts.values(), key=lambda a: (a.at, a.id), reverse=True)


def active(vault: VaultPort, now: int) -> list[RaisedAlert]:
    """The alarms nobody has marked handled yet, newest first."""
    return [a for a in raised(vault, now) if a.active]


def handle(vault: VaultPort, alert_id: str, *, by: str, now: int) -> None:
    """Mark an alarm handled (and the phone's own alert for the same check-in with it)."""
    record = get_or_none(vault, alert_id)
    if record is None or record.kind not in (Kind.ALERT, Kind.CHECKIN):
        raise KeyError(alert_id)
    changed = [record]
    if record.kind == Kind.CHECKIN:
        changed += [a for a in vault.list(kind=Kind.ALERT) if a.data.get("checkin") == record.id]
    for item in changed:
        item.data["handled_at"], item.data["handled_by"] = now, by
    vault.put_many(changed)


# --- the organisation's emergency plan -------------------------------------------------------


def check_emergency_plan(text: Any) -> str:
    """The plan as it will be published; raises `AlertError` (`plan_not_text`, `plan_too_long`,
    `plan_bad_character`)."""
    if not isinstance(text, str):
        raise AlertError("plan_not_text")
    plan = text.replace("\r\n", "\n").strip()
    if len(plan) > MAX_PLAN_CHARS:
        raise AlertError("plan_too_long")
    if any(ord(c) < 32 and c not in "\n\t" for c in plan):
        raise AlertError("plan_bad_character")
    return plan


def emergency_plan(settings: dict[str, Any] | None) -> str:
    """The plan published in the org document's settings, or "" when none (or not valid)."""
    try:
        return check_emergency_plan((settings or {}).get(PLAN_SETTING, ""))
    except AlertError:
        return ""
