"""The plaintext inside an envelope's age payload: one record and the blobs it names.

    {"type": "incident|note|case_event|roster|message|receipt|reply|withdrawal", "record": {...},
     "blobs": [{"id", "sha256", "size", "media_type", "name"}]}

Use `build_payload(type_, record, blobs)` before `sync.envelope.seal`, and `parse_payload` after
`sync.envelope.open_`. The outer shape and blob references are strict; the `record` object is
kept as it is (it was authenticated and decrypted, so newer fields from a newer app are kept and
ignored rather than refused). `KIND_FOR_TYPE` gives the envelope `kind` for each payload type;
`received_record` is how a device or a coordinator keeps a message or event it received.

Danger: the bytes built here are plaintext. Never write them to disk or a log; encrypt them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from core.records import Record, Status
from sync.encoding import EncodingError, ReasonError, canonical_json, key_problem, parse_json_strict
from sync.envelope import Envelope

TYPES = frozenset(
    {"incident", "note", "case_event", "roster", "message", "receipt", "reply", "withdrawal"}
    | {"alert", "checkin", "alarm_key"}
)
KIND_FOR_TYPE = {
    "incident": "report",
    "note": "report",
    "case_event": "event",
    "roster": "event",
    "message": "message",
    "receipt": "message",
    "reply": "reply",
    "alert": "report",  # an alarm or check-in looks like a report to the server (sync.alerts)
    "checkin": "report",
    "alarm_key": "report",  # {"key", "at"}: the key a locked phone signs alarms with
    "withdrawal": "report",  # {"case_id", "purposes": [...]}: consent withdrawn by the documenter
}
MAX_TEXT = 255
MAX_BLOBS = 1000

_BLOB_ID = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_OUTER = frozenset({"type", "record", "blobs"})
_BLOB_FIELDS = frozenset({"id", "sha256", "size", "media_type", "name"})


class PayloadError(ReasonError, ValueError):
    """A payload does not have the documented shape. `reason` is machine-readable."""


@dataclasses.dataclass(frozen=True, slots=True)
class BlobRef:
    """An encrypted attachment uploaded separately, named by id and the SHA-256 of its bytes."""

    id: str
    sha256: str
    size: int
    media_type: str
    name: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class Payload:
    type: str
    record: dict[str, Any]
    blobs: tuple[BlobRef, ...] = ()


def received_record(kind: str, sealed: Envelope, payload: Payload, **data: Any) -> Record:
    """How a received event or message is kept: a local record at the envelope's id whose data
    names its case and envelope, then `data`."""
    return Record(
        kind=kind,
        id=sealed.id,
        status=Status.LOCAL,
        data={"case_id": str(payload.record.get("case_id", "")), "envelope_id": sealed.id, **data},
    )


def build_payload(
    type_: str, record: dict[str, Any], blobs: Iterable[BlobRef | dict[str, Any]] = ()
) -> bytes:
    """Canonical JSON of a payload. Raises `PayloadError` for a bad type, record or blob."""
    refs = tuple(b if isinstance(b, BlobRef) else _parse_blob(b) for b in blobs)
    for ref in refs:
        _parse_blob(ref.to_dict())
    payload = Payload(type_, record, refs)
    _check(payload)
    try:
        return canonical_json(
            {"type": type_, "record": record, "blobs": [ref.to_dict() for ref in refs]}
        )
    except (EncodingError, TypeError, ValueError):
        raise PayloadError("record_not_json") from None


def parse_payload(data: bytes) -> Payload:
    """Parse decrypted payload bytes. Strict on the outer shape, tolerant inside `record`."""
    try:
        obj = parse_json_strict(data)
    except EncodingError:
        raise PayloadError("malformed_json") from None
    if not isinstance(obj, dict):
        raise PayloadError("wrong_type")
    problem = key_problem(obj, _OUTER)
    if problem is not None:
        raise PayloadError(problem)
    if not isinstance(obj["blobs"], list):
        raise PayloadError("wrong_type")
    payload = Payload(obj["type"], obj["record"], tuple(_parse_blob(b) for b in obj["blobs"]))
    _check(payload)
    return payload


def _check(payload: Payload) -> None:
    if not isinstance(payload.type, str) or payload.type not in TYPES:
        raise PayloadError("unknown_type")
    if not isinstance(payload.record, dict):
        raise PayloadError("wrong_type")
    if len(payload.blobs) > MAX_BLOBS:
        raise PayloadError("too_many_blobs")


def _parse_blob(obj: Any) -> BlobRef:
    if not isinstance(obj, dict):
        raise PayloadError("wrong_type")
    problem = key_problem(obj, _BLOB_FIELDS)
    if problem is not None:
        raise PayloadError(problem)
    if not isinstance(obj["id"], str) or not _BLOB_ID.match(obj["id"]):
        raise PayloadError("bad_blob_id")
    if not isinstance(obj["sha256"], str) or not _HEX64.match(obj["sha256"]):
        raise PayloadError("bad_blob_hash")
    if type(obj["size"]) is not int or obj["size"] < 0:
        raise PayloadError("bad_blob_size")
    for name in ("media_type", "name"):
        if not isinstance(obj[name], str) or len(obj[name]) > MAX_TEXT:
            raise PayloadError("bad_blob_text")
    return BlobRef(obj["id"], obj["sha256"], obj["size"], obj["media_type"], obj["name"])
