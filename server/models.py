"""The JSON shapes of the HTTP API (docs/protocol.md), as strict pydantic models.

Request models forbid unknown fields and refuse type coercion (`"1"` is not an integer); they
are what the OpenAPI document shows. Signed objects (envelopes, org documents, commands) are
then parsed again by their own strict parsers in `sync` before anything trusts them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.config import MAX_BATCH, MAX_BLOB_SIZE, MAX_INVITE_SECONDS

Hex32 = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
B64u = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]*$", max_length=400_000)]
Label = Annotated[str, Field(max_length=200)]
Token = Annotated[str, Field(min_length=1, max_length=200)]
UInt = Annotated[int, Field(ge=0, le=2**53 - 1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# -- requests --------------------------------------------------------------------------------


class SignedOrgDocumentBody(Strict):
    """A plain signed org document (organisations created before 0.2)."""

    doc: dict[str, Any]
    sig: B64u


class SealedOrgDocumentBody(Strict):
    """A sealed org document (`sync/orgseal.py`): the server reads only the clear part."""

    sealed: Literal[1]
    root: B64u
    version: UInt
    expires: UInt
    coordinators: dict[str, B64u]
    payload: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]*$", max_length=2 * 1024 * 1024)]
    sig: B64u


OrgDocumentBody = SealedOrgDocumentBody | SignedOrgDocumentBody


class BootstrapBody(Strict):
    token: Token
    org_document: OrgDocumentBody


class InviteBody(Strict):
    expires_in: Annotated[int, Field(ge=1, le=MAX_INVITE_SECONDS)]
    label: Label = ""


class EnrolBody(Strict):
    token: Token
    recipient: Annotated[str, Field(min_length=1, max_length=4096)]
    label: Label = ""
    proof: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")] | None = None


class CommandFields(Strict):
    v: UInt
    id: Hex32
    device: Hex32
    type: Annotated[str, Field(max_length=40)]
    issued: UInt
    by: Hex32


class SignedCommandBody(Strict):
    cmd: CommandFields
    sig: B64u


class CheckKeyBody(Strict):
    """A device's check key and the check key's signature over its device id (possession)."""

    check_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")]
    proof: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{86}$")]


class LockedAlarmBody(Strict):
    """A locked phone's alarm: age ciphertext for the coordinators (`sync.locked_alarm`)."""

    sealed: Annotated[str, Field(min_length=1, max_length=43691, pattern=r"^[A-Za-z0-9_-]+$")]


class EnvelopeHeader(Strict):
    v: UInt
    id: Hex32
    author: Hex32
    seq: UInt
    prev: Hex64
    created: UInt
    kind: Literal["report", "event", "message", "reply"]
    to: Hex32 | None = None
    size: UInt
    payload: Hex64


class EnvelopeBody(Strict):
    header: EnvelopeHeader
    sig: B64u
    payload: B64u


class PushBody(Strict):
    envelopes: Annotated[list[EnvelopeBody], Field(min_length=1, max_length=MAX_BATCH)]


class BlobBegin(Strict):
    id: Hex32
    size: Annotated[int, Field(ge=0, le=MAX_BLOB_SIZE)]
    sha256: Hex64


# -- answers ---------------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]
    version: str | None = None
    """Only when the server publishes its API description (`publish_api`)."""


class BootstrapAnswer(BaseModel):
    root: str


class VersionAnswer(BaseModel):
    version: int


class InviteAnswer(BaseModel):
    token: str
    expires_at: int


class EnrolAnswer(BaseModel):
    device_id: str
    enrolled_at: int


class ProblemAnswer(BaseModel):
    kind: Literal["gap", "break", "fork"]
    seq: int
    envelope_id: str
    detected_at: int
    detail: str


class DeviceAnswer(BaseModel):
    id: str
    label: str
    signing_key: str
    recipient: str
    enrolled_at: int
    last_seen: int
    envelopes: int
    last_seq: int
    chain: Literal["ok", "gap", "fork"]
    problems: list[ProblemAnswer]
    revoked: bool
    revoked_at: int | None
    wipe: Literal["none", "pending", "done"]
    proof: str | None = None


class DevicesAnswer(BaseModel):
    devices: list[DeviceAnswer]


class RevokeAnswer(BaseModel):
    id: str
    revoked_at: int


class CommandStored(BaseModel):
    id: str


class CommandsAnswer(BaseModel):
    commands: list[dict[str, Any]]


class PendingAnswer(BaseModel):
    """What a locked phone fetches with its check key: its commands and the org document as
    stored (a sealed container, whose root-signed clear part names the coordinators)."""

    commands: list[dict[str, Any]]
    org_document: dict[str, Any]


class LockedAlarmItem(BaseModel):
    id: int
    device: str
    received_at: int
    sealed: str


class LockedAlarmsAnswer(BaseModel):
    """Alarms locked phones sent, oldest first (coordinators verify and decrypt them)."""

    items: list[LockedAlarmItem]


class Done(BaseModel):
    status: Literal["ok"]


class PushResult(BaseModel):
    id: str
    status: Literal["stored", "duplicate", "rejected"]
    reason: str | None = None


class PushAnswer(BaseModel):
    results: list[PushResult]


class FeedEntry(BaseModel):
    cursor: int
    received_at: int
    envelope: dict[str, Any]


class FeedAnswer(BaseModel):
    items: list[FeedEntry]
    next: int


class BlobOffset(BaseModel):
    offset: int


class ChunkAnswer(BaseModel):
    offset: int
    complete: bool


class BlobStatus(BaseModel):
    offset: int
    size: int
    complete: bool
