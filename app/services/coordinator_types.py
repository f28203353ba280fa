"""Plain data the coordinator service hands to screens and the command line. No Flet, no I/O.

Errors: `CoordinatorError` carries a machine `reason` (mapped to text by `app.errors_text` or
the coordinator catalogue's `error.*` keys), never secrets or case content:

    CoordinatorError
      reasons: locked, not_set_up, already_set_up, wrong_passphrase, weak_passphrase,
               not_found, invalid_event, form_invalid, empty_message, needs_passphrase,
               no_recipients, unknown_device, unsupported, invalid_tls_pin,
               join_key_kind (a join code with classic keys for a post-quantum
               organisation, or the reverse), consent_withheld (no chosen case may go
               into that export: the victims did not agree, or withdrew),
               invalid_referrals (a referral directory entry is wrong: the detail names it)
"""

from __future__ import annotations

import dataclasses


class CoordinatorError(Exception):
    """A coordinator operation was refused; `reason` says why (machine-readable)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


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
class ExportResult:
    filename: str
    data: bytes = dataclasses.field(repr=False)
    protected: bool
    media_type: str
    identifying: bool
    left_out: tuple[str, ...] = ()  # case ids consent kept out (`app.exports.consent`)
