"""The server's repository interface: the records it keeps and the one contract both databases meet.

Use `server.db.open_repository(url)` to get a `Repository` (SQLite or PostgreSQL); every method
is one transaction, so nothing half-written is ever visible, and several server processes may
share one PostgreSQL database (no state that matters lives in a process).

The repository stores what docs/server.md lists and nothing else: public keys, hashes of
tokens, envelope headers and ciphertext, blob bookkeeping, commands, the signed org document.

Error tree:

    RepositoryError
    └── Refused      a rule said no; `reason` is the protocol's machine-readable reason
        └── RateLimited  too many attempts (`too_many_attempts`, `retry_after` seconds)
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

ZERO_HASH = "0" * 64


class RepositoryError(Exception):
    """Base of every repository failure."""


class Refused(RepositoryError):
    """The operation broke a rule (bad token, stale version, …). Nothing was written."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class RateLimited(Refused):
    """Too many attempts of a kind that is limited; try again in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too_many_attempts", "too many attempts; try again later")
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True, slots=True)
class DropLimits:
    """How many short-code lookups that miss are allowed: per asking address and in all."""

    per_source: int
    source_window: int
    total: int
    total_window: int


@dataclasses.dataclass(frozen=True, slots=True)
class OrgDocument:
    root: str
    version: int
    document: str
    """The signed document as canonical JSON text."""
    coordinators: dict[str, str]
    """Coordinator key id -> b64u Ed25519 signing key."""


@dataclasses.dataclass(frozen=True, slots=True)
class Device:
    id: str
    signing_key: str
    recipient: str
    label: str
    enrolled_at: int
    last_seen: int
    revoked_at: int | None = None
    proof: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    """`gap` (sequence numbers missing), `break` (prev does not match), `fork` (seq reused)."""
    seq: int
    envelope_id: str
    detected_at: int
    detail: str


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceSummary:
    device: Device
    envelopes: int
    last_seq: int
    chain: str
    """`ok`, `gap` or `fork`."""
    problems: list[Problem]
    wipe: str
    """`none`, `pending` or `done`."""


@dataclasses.dataclass(frozen=True, slots=True)
class IncomingEnvelope:
    """A verified envelope, ready to store. The router has checked its signature and author."""

    id: str
    hash: str
    author: str
    seq: int
    prev: str
    kind: str
    to: str | None
    created: int
    header: str
    """The header as canonical JSON text."""
    sig: str
    payload: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class IngestResult:
    id: str
    status: str
    """`stored`, `duplicate` or `rejected`."""
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.reason is not None:
            answer["reason"] = self.reason
        return answer


@dataclasses.dataclass(frozen=True, slots=True)
class FeedItem:
    cursor: int
    received_at: int
    header: str
    sig: str
    payload: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Blob:
    id: str
    owner: str
    size: int
    sha256: str
    offset: int
    storage_name: str
    complete: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    id: str
    device_id: str
    document: str
    """The signed command as canonical JSON text."""
    acked_at: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class LockedAlarm:
    id: int
    device_id: str
    sealed: bytes
    received_at: int


class Repository(abc.ABC):
    """Everything the server reads and writes. Each method is atomic."""

    # -- lifecycle ------------------------------------------------------------------------------
    @abc.abstractmethod
    def migrate(self) -> int:
        """Bring the schema up to date (safe to run from several processes); return its version."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def row_counts(self) -> dict[str, int]:
        """Rows per table: for tests and operators, never for request handling."""

    # -- organisation ---------------------------------------------------------------------------
    @abc.abstractmethod
    def set_bootstrap_token(self, token_hash: str) -> None:
        """Remember the hash of a new one-time bootstrap token (refused once bootstrapped)."""

    @abc.abstractmethod
    def bootstrap(self, token_hash: str, org: OrgDocument, now: int) -> None:
        """Store the first org document if `token_hash` matches; the token is then spent."""

    @abc.abstractmethod
    def org_document(self) -> OrgDocument | None: ...

    @abc.abstractmethod
    def replace_org_document(self, org: OrgDocument, now: int) -> None:
        """Store a newer document with the same root (`stale_version`, `bad_document`)."""

    # -- authentication -------------------------------------------------------------------------
    @abc.abstractmethod
    def lookup_key(self, key_id: str) -> tuple[str | None, Device | None]:
        """(coordinator signing key, device) registered under a key id, in one read."""

    @abc.abstractmethod
    def remember_nonce(
        self, nonce: str, expires_at: int, now: int, *, seen_device: str | None = None
    ) -> bool:
        """Record a request nonce; False if it was already seen and has not expired.

        With `seen_device`, also note that this device was seen (written at most once a
        minute), in the same transaction.
        """

    # -- invites and devices --------------------------------------------------------------------
    @abc.abstractmethod
    def create_invite(
        self, token_hash: str, label: str, created_by: str, now: int, expires_at: int
    ) -> None: ...

    @abc.abstractmethod
    def enrol(self, token_hash: str, device: Device, now: int) -> Device:
        """Spend an invite and register a device (`invalid_token`, `already_enrolled`)."""

    @abc.abstractmethod
    def device(self, device_id: str) -> Device | None: ...

    @abc.abstractmethod
    def devices(self) -> list[DeviceSummary]: ...

    @abc.abstractmethod
    def revoke(self, device_id: str, now: int) -> Device:
        """Revoke a device (idempotent); `not_found` if unknown."""

    # -- short join codes -----------------------------------------------------------------------
    @abc.abstractmethod
    def put_invite_drop(
        self, lookup: str, sealed: bytes, created_by: str, now: int, expires_at: int, fetches: int
    ) -> None:
        """Keep a sealed invite under a short code's lookup id (`drop_exists`)."""

    @abc.abstractmethod
    def fetch_invite_drop(self, lookup: str, source: str, now: int, limits: DropLimits) -> bytes:
        """Hand out a sealed invite and count the fetch; the last fetch forgets its bytes.

        Refuses with `RateLimited` when `source` or everyone has missed too often lately
        (checked first, so a hit cannot be told apart from a miss past the limit), and with
        `code_unknown` (recorded as a miss), `code_expired` or `code_used`.
        """

    @abc.abstractmethod
    def cancel_invite_drop(self, lookup: str) -> None:
        """Forget a sealed invite (idempotent)."""

    @abc.abstractmethod
    def set_check_key(self, device_id: str, check_key: str) -> None:
        """Register (or replace) a device's check key, b64u (`not_found`, `check_key_taken`)."""

    @abc.abstractmethod
    def device_by_check_key(self, check_key: str) -> Device | None:
        """The device (revoked or not) whose check key this is, or None."""

    # -- alarms from locked phones --------------------------------------------------------------
    @abc.abstractmethod
    def add_locked_alarm(
        self, device_id: str, sealed: bytes, now: int, *, per_day: int, keep_until: int
    ) -> None:
        """Keep a locked phone's sealed alarm; forget every alarm received before `keep_until`
        (`alarm_quota` when the device already sent `per_day` in the last 24 hours)."""

    @abc.abstractmethod
    def locked_alarms(self, since: int) -> list[LockedAlarm]:
        """Every alarm received at or after `since`, oldest first."""

    # -- commands -------------------------------------------------------------------------------
    @abc.abstractmethod
    def add_command(
        self, command_id: str, device_id: str, kind: str, document: str, now: int
    ) -> None:
        """Store a signed command for a device (`not_found`, `duplicate_command`)."""

    @abc.abstractmethod
    def pending_commands(self, device_id: str) -> list[Command]: ...

    @abc.abstractmethod
    def ack_command(self, device_id: str, command_id: str, now: int) -> None:
        """Mark a device's command done (idempotent); `not_found` if it is not that device's."""

    # -- envelopes ------------------------------------------------------------------------------
    @abc.abstractmethod
    def ingest(
        self, author: str, envelopes: list[IncomingEnvelope], now: int
    ) -> list[IngestResult]:
        """Store one author's verified envelopes in order, idempotently, recording chain problems.

        Same id and hash again: `duplicate`. Same id, other hash: `rejected`/`id_conflict`.
        A seq already held by another envelope: `rejected`/`fork` (recorded). A seq past the
        next one, or a `prev` that does not match: stored and recorded as `gap`/`break`.
        """

    @abc.abstractmethod
    def feed(
        self, after: int, limit: int, max_bytes: int, to_device: str | None = None
    ) -> list[FeedItem]:
        """Envelopes with cursor > `after` in cursor order; with `to_device`, its messages only."""

    # -- blobs ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def begin_blob(self, blob: Blob, now: int) -> Blob:
        """Create the blob record, or return the existing one if it matches (`blob_conflict`)."""

    @abc.abstractmethod
    def blob(self, blob_id: str) -> Blob | None: ...

    @abc.abstractmethod
    def advance_blob(self, blob_id: str, old_offset: int, new_offset: int) -> bool:
        """Move the offset if it is still `old_offset` (compare and set)."""

    @abc.abstractmethod
    def finish_blob(self, blob_id: str, storage_name: str, now: int) -> None: ...

    @abc.abstractmethod
    def reset_blob(self, blob_id: str, storage_name: str) -> None:
        """Restart an upload at offset 0 in a new file (after a hash mismatch)."""

    # -- quotas ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def blobs_declared_since(self, owner: str, since: int) -> tuple[int, int, int | None]:
        """Blob uploads `owner` declared at or after `since`: count, declared bytes, and when
        the oldest of them was declared (None if none)."""

    @abc.abstractmethod
    def nth_latest_envelope_time(self, author: str, nth: int) -> int | None:
        """When the server received `author`'s `nth` latest envelope (1 is the latest), or None
        if it holds fewer. The index on (author, seq) keeps this cheap for any history."""
