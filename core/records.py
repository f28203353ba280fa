"""The plain record every vault stores: incidents, notes, settings, outbox entries, keys.

A `Record` is a dataclass with a kind, a free-form `data` dict (JSON-compatible), a sync
`status` and a `version` that the vault bumps on every save. It never holds UI objects.

Statuses follow a record through its life on a device:
`draft -> ready -> queued -> sent`, or `failed` with `status_reason`. Records that never leave
the device (settings, keys) stay `local`. Which status may follow which, per kind, is
`core.lifecycle`; change a status with `lifecycle.move`, never by assignment.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    INCIDENT = "incident"
    NOTE = "note"
    SETTING = "setting"
    OUTBOX = "outbox"
    DEVICE_KEY = "device_key"
    MESSAGE = "message"
    CASE = "case"
    CASE_EVENT = "case_event"
    STUB = "stub"
    INVITE = "invite"
    """An invite a coordinator made: its enrolment secret and label, until a device uses it."""
    ROSTER = "roster"
    """A device a coordinator admitted: its keys and label, countersigned for the others."""
    HELD = "held"
    """An envelope from a device not (yet) in the roster, kept aside unread until admitted."""
    ALERT = "alert"
    """A silent alarm: sent by a phone, or received by a coordinator (`sync.alerts`)."""
    CHECKIN = "checkin"
    """A check-in armed until a deadline, and whether its owner checked in (`sync.alerts`)."""
    DRAFT = "draft"
    """What a documenter typed into a form or a note and has not saved or sent yet (autosaved;
    never sealed or synced; deleted, and so forgotten, once it is saved or sent)."""


class Status(StrEnum):
    LOCAL = "local"
    DRAFT = "draft"
    READY = "ready"
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


def new_id() -> str:
    """A random record id (32 lowercase hex digits). Never derived from content or names."""
    return uuid.uuid4().hex


@dataclasses.dataclass(slots=True)
class Record:
    kind: str
    data: dict[str, Any]
    id: str = dataclasses.field(default_factory=new_id)
    status: str = Status.DRAFT
    status_reason: str = ""
    version: int = 0
    created_at: float = dataclasses.field(default_factory=time.time)
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the fields as plain dicts and lists: safe to keep and change."""
        return dataclasses.asdict(self)

    def to_shallow_dict(self) -> dict[str, Any]:
        """The fields in declaration order, sharing `data` with the record (no copy).

        For serialising at once (many times faster than `to_dict` on a nested `data`); never
        keep or change what it returns.
        """
        return {
            "kind": self.kind,
            "data": self.data,
            "id": self.id,
            "status": self.status,
            "status_reason": self.status_reason,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Record:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - names
        if unknown:
            raise ValueError(f"unknown record fields: {sorted(unknown)}")
        return cls(**raw)
