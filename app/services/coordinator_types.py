"""Plain data the coordinator service hands to screens and the command line. No Flet, no I/O.

Errors: `CoordinatorError` carries a machine `reason`, one of the closed set `CoordinatorReason`
(never secrets or case content; `detail` is a developer diagnostic). Each reason is the
catalogue key `error.<reason>` (coordinator catalogue, or the common one), which
`app.coordinator.context.ViewContext.error` shows; the command line prints the reason itself.
Reasons a lower layer gives (`sync.coordinator`'s key updates and invites) are taken over with
`reason_of`, which turns one this set does not know into `unexpected`.

    CoordinatorError
      reasons: locked, not_set_up, already_set_up, wrong_passphrase, weak_passphrase,
               not_found, invalid_event, form_invalid, empty_message, message_too_long,
               needs_passphrase, no_recipients, no_devices, unknown_device, unsupported,
               invalid_tls_pin, invalid_token, invalid_tag, invalid_join_request,
               join_key_kind (a join code with classic keys for a post-quantum
               organisation, or the reverse), consent_withheld (no chosen case may go
               into that export: the victims did not agree, or withdrew),
               invalid_referrals (a referral directory entry is wrong: the detail names it),
               already_verified, fingerprint_mismatch (verifying a device),
               wipe_not_confirmed, no_root_key, no_victim_key,
               already_post_quantum, missing_key_updates, and from key update codes
               invalid_key_update, unknown_coordinator, bad_signature, not_post_quantum;
               unexpected (a lower layer's reason this set does not know)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

from app.casebook.cases import CaseFilter

CoordinatorReason = Literal[
    "locked",
    "not_set_up",
    "already_set_up",
    "wrong_passphrase",
    "weak_passphrase",
    "not_found",
    "invalid_event",
    "form_invalid",
    "empty_message",
    "message_too_long",
    "needs_passphrase",
    "no_recipients",
    "no_devices",
    "unknown_device",
    "unsupported",
    "invalid_tls_pin",
    "invalid_token",
    "invalid_tag",
    "invalid_join_request",
    "join_key_kind",
    "consent_withheld",
    "invalid_referrals",
    "already_verified",
    "fingerprint_mismatch",
    "wipe_not_confirmed",
    "no_root_key",
    "no_victim_key",
    "already_post_quantum",
    "missing_key_updates",
    "invalid_key_update",
    "unknown_coordinator",
    "bad_signature",
    "not_post_quantum",
    "unexpected",
]
REASONS: frozenset[str] = frozenset(get_args(CoordinatorReason))


def reason_of(reason: str) -> CoordinatorReason:
    """A lower layer's machine reason as one of ours (`unexpected` for one we do not know)."""
    for known in get_args(CoordinatorReason):
        if known == reason:
            return known
    return "unexpected"


class CoordinatorError(Exception):
    """A coordinator operation was refused; `reason` says why (machine-readable)."""

    def __init__(self, reason: CoordinatorReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: CoordinatorReason = reason
        self.detail = detail


@dataclasses.dataclass(frozen=True, slots=True)
class NewOrganisation:
    """What `setup_new` was given (see there); `tls_pin` as typed, not yet checked."""

    passphrase: str = dataclasses.field(repr=False)
    server_url: str
    bootstrap_token: str = dataclasses.field(repr=False)
    org_name: str
    coordinator_name: str
    tls_pin: str = ""
    post_quantum: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class JoinOrganisation:
    """What `setup_join` was given (see there); `tls_pin` as typed, not yet checked."""

    passphrase: str = dataclasses.field(repr=False)
    server_url: str
    backup: bytes = dataclasses.field(repr=False)
    backup_passphrase: str = dataclasses.field(repr=False)
    coordinator_name: str
    tls_pin: str = ""
    post_quantum: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class CoordinatorInfo:
    org: str
    coordinator_id: str
    coordinator_name: str
    root_fingerprint: str
    server_url: str
    org_version: int
    coordinators: tuple[str, ...] = ()
    listed: bool = True  # False until an existing coordinator has added this one
    tls_pin: str = ""  # SHA-256 of the server certificate (hex) set at setup; "" for none
    post_quantum: bool = False  # devices seal to hybrid (mlkem768x25519) recipients


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    label: str
    enrolled_at: int
    last_seen: int
    envelopes: int
    last_seq: int
    chain: str  # ok | gap | fork
    problems: tuple[str, ...]
    revoked: bool
    wipe: str  # none | pending | done
    roster: str = "verified"  # verified | unverified (not admitted) | key_changed (server lies)
    fingerprint: str = ""  # over the keys the server reports; compare with the phone's

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> DeviceInfo:
        """A device as `sync.coordinator.list_devices` (or the fake's table) describes it."""
        return cls(
            id=str(raw.get("id", "")),
            label=str(raw.get("label") or ""),
            enrolled_at=int(raw.get("enrolled_at") or 0),
            last_seen=int(raw.get("last_seen") or 0),
            envelopes=int(raw.get("envelopes") or 0),
            last_seq=int(raw.get("last_seq") or 0),
            chain=str(raw.get("chain") or "ok"),
            problems=tuple(str(p) for p in raw.get("problems") or ()),
            revoked=bool(raw.get("revoked")),
            wipe=str(raw.get("wipe") or "none"),
            roster=str(raw.get("roster") or "unverified"),
            fingerprint=str(raw.get("fingerprint") or ""),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Invite:
    code: str
    expires_at: int
    qr_png: bytes = dataclasses.field(repr=False)
    short_code: str = ""
    """Read aloud or typed on the phone together with `server` (empty if none was made)."""
    server: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class OpenInvite:
    """An invite no phone has used yet; cancelling it means no phone is admitted with it."""

    id: str
    label: str
    created: int
    expires_at: int


@dataclasses.dataclass(frozen=True, slots=True)
class PullSummary:
    """Envelopes fetched, new ones stored, cases touched, and what was wrong (short text)."""

    envelopes: int
    stored: int
    cases: int
    problems: tuple[str, ...] = ()
    held: int = 0  # envelopes from devices outside the roster, kept aside unread
    unverified: int = 0  # devices the server lists that no coordinator admitted
    stamped: int = 0  # independent timestamps received after the pull
    unstamped: int = 0  # envelopes still waiting for a timestamp (an authority failed)


@dataclasses.dataclass(frozen=True, slots=True)
class MessageInfo:
    id: str
    case_id: str
    device: str
    direction: str  # out (to the reporter) | in (their reply)
    text: str
    created: int


@dataclasses.dataclass(frozen=True, slots=True)
class ExportRequest:
    """What `export` was given (see there): the cases `case_ids` names, or else those `flt`
    finds, as one file of `kind`."""

    kind: str
    flt: CaseFilter
    identifying: bool
    lang: str
    case_ids: tuple[str, ...]
    protection: str
    passphrase: str = dataclasses.field(repr=False)
    t: Callable[[str], str] | None
    comments: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ExportResult:
    filename: str
    data: bytes = dataclasses.field(repr=False)
    protected: bool
    media_type: str
    identifying: bool
    left_out: tuple[str, ...] = ()  # case ids consent kept out (`app.exports.consent`)
