"""What the field app's screens exchange with its service: plain data and typed errors.

`FieldService` (app/services/field.py) and `FakeFieldService` (app/services/fake_field.py) both
speak these types; screens never see a `Record`, a vault or a socket. Every error carries a
machine `reason` that `app.errors_text` maps to a catalogue key.

    FieldServiceError(reason)
    ├── PassphraseRefused     weak_passphrase | passphrase_code_too_short |
    │                         passphrase_common | passphrase_pattern |
    │                         passphrase_not_digits | duress_same_as_passphrase
    ├── UnlockFailed          wrong_passphrase (attempts_left) | wiped | vault_in_use |
    │                         vault_corrupt | vault_rolled_back | keystore_unavailable
    ├── Locked                the vault is locked: unlock first
    ├── NotFound              no incident, note, message or attachment with that id
    ├── FormInvalid           `errors` = {field_id: message key}; nothing was queued
    ├── AttachmentRefused     attachment_too_large | attachment_unreadable |
    │                         metadata_strip_failed | metadata_not_removable
    ├── InviteRefused         invalid_invite | already_enrolled | short_code_typo |
    │                         code_unknown | code_expired | code_used |
    │                         too_many_attempts | invite_tampered | bad_server_address
    └── NotSent               a withdrawal of consent about a report not yet sent (edit it)

Every `reason` is one of `FieldReason`, a closed set: mypy refuses any other. Storage errors
never cross the boundary: the service wraps them (`storage_reason`) into these errors, chained
with `from`. Sync failures raised by `sync_round` stay `sync.errors.SyncError` (the sync loop in
sync/loop.py backs off and stops on their classes); their `reason` is what `sync_status()`'s
`last_error` holds. `app.errors_text` is the one place that turns any of these reasons into text.
"""

from __future__ import annotations

import dataclasses
import mimetypes
from collections.abc import Mapping
from typing import Any, Literal, get_args

from core.strength import Problem, assess
from storage import errors as storage_errors
from sync.invite import Invite, InviteError

AUTO_LOCK_CHOICES = (30, 60, 120, 300, 900)  # seconds
WIPE_THRESHOLD_CHOICES = (0, 3, 5, 10, 20)  # 0 = never wipe on wrong passphrases
MIN_PASSPHRASE = 6
SHORT_PIN = 8
MAX_ATTACHMENT_BYTES = 200 * 1024 * 1024

FieldReason = Literal[
    "field_error",
    # passphrases
    "weak_passphrase",
    "passphrase_code_too_short",
    "passphrase_common",
    "passphrase_pattern",
    "passphrase_not_digits",
    "duress_same_as_passphrase",
    # unlock and the vault
    "wrong_passphrase",
    "wiped",
    "vault_in_use",
    "vault_corrupt",
    "vault_rolled_back",
    "vault_too_new",
    "vault_not_found",
    "vault_exists",
    "keystore_unavailable",
    "locked",
    "storage_full",
    "storage_error",
    # records and attachments
    "not_found",
    "form_invalid",
    "no_consent_to_share",
    "not_sent",
    "invalid_purpose",
    "attachment_too_large",
    "attachment_unreadable",
    "attachment_corrupt",
    "metadata_strip_failed",
    "metadata_not_removable",
    # invites and settings
    "invalid_invite",
    "already_enrolled",
    "short_code_typo",
    "code_unknown",
    "code_expired",
    "code_used",
    "too_many_attempts",
    "invite_tampered",
    "bad_server_address",
    "invalid_proxy",
]
FIELD_REASONS: frozenset[str] = frozenset(get_args(FieldReason))
"""Every reason a `FieldServiceError` may carry (app.errors_text maps each one to text)."""

SHORT_CODE_REASONS: Mapping[str, FieldReason] = {
    "bad_length": "short_code_typo",
    "bad_character": "short_code_typo",
    "bad_check": "short_code_typo",
    "tampered": "invite_tampered",
    "code_unknown": "code_unknown",
    "code_expired": "code_expired",
    "code_used": "code_used",
    "too_many_attempts": "too_many_attempts",
}
"""`sync.shortcode` and `sync.invite_drop` reasons as the field service reports them."""


class FieldServiceError(Exception):
    """Base of the field service's errors; `reason` is machine-readable."""

    reason: FieldReason = "field_error"

    def __init__(self, reason: FieldReason | None = None, detail: str = "") -> None:
        if reason is not None:
            self.reason = reason
        super().__init__(f"{self.reason}: {detail}" if detail else self.reason)


class ConsentWithheld(FieldServiceError):
    """The victim did not agree to share the report with the organisation: it stays on the
    phone as a draft and is never sent."""

    reason = "no_consent_to_share"


class NotSent(FieldServiceError):
    """Consent can be withdrawn only from a report already sent; before that, edit its
    consent answers (a report without consent to share is never sent)."""

    reason = "not_sent"


class PassphraseRefused(FieldServiceError):
    reason = "weak_passphrase"


class UnlockFailed(FieldServiceError):
    """Unlock did not succeed. `attempts_left` counts down to the wipe threshold (None: none)."""

    reason = "wrong_passphrase"

    def __init__(
        self, reason: FieldReason = "wrong_passphrase", attempts_left: int | None = None
    ) -> None:
        super().__init__(reason)
        self.attempts_left = attempts_left


class Locked(FieldServiceError):
    reason = "locked"


class NotFound(FieldServiceError):
    reason = "not_found"


class FormInvalid(FieldServiceError):
    reason = "form_invalid"

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("form_invalid", f"{len(errors)} fields")
        self.errors = dict(errors)


class AttachmentRefused(FieldServiceError):
    reason = "attachment_unreadable"


class InviteRefused(FieldServiceError):
    reason = "invalid_invite"


@dataclasses.dataclass(frozen=True, slots=True)
class LaunchPrefs:
    """What the app must know before unlock. Stored unencrypted: nothing about any case."""

    language: str = ""
    disguise: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class AttachmentInfo:
    id: str
    name: str
    media_type: str
    size: int


@dataclasses.dataclass(frozen=True, slots=True)
class IncidentSummary:
    id: str
    title: str
    status: str  # draft | queued | sent | failed
    status_reason: str
    created_at: float
    updated_at: float
    attachments: int = 0
    messages: int = 0
    stub: bool = False  # sent and forgotten: only the status remains on this phone
    confirmed: bool = False  # a coordinator's signed receipt arrived: nothing of it is kept
    withdrawn: tuple[str, ...] = ()  # consent purposes the documenter withdrew after sending


@dataclasses.dataclass(frozen=True, slots=True)
class Incident:
    id: str
    answers: Mapping[str, Any]
    status: str
    status_reason: str
    version: int
    created_at: float
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Note:
    id: str
    text: str
    shared: bool
    status: str
    status_reason: str
    created_at: float
    updated_at: float


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    id: str
    incident_id: str
    text: str
    from_coordinator: bool
    created_at: float


@dataclasses.dataclass(frozen=True, slots=True)
class Draft:
    """What was typed into a form or a note and not yet saved or sent (autosaved, encrypted).

    `form` is `incident` or `note`; `target` the incident or note it edits ("" for a new one);
    `content` the form's answers (`{"answers": {...}}`) or the note's text and sharing
    (`{"text": ..., "shared": ...}`).
    """

    id: str
    form: str
    target: str
    content: Mapping[str, Any]
    updated_at: float


DRAFT_FORMS = ("incident", "note")


@dataclasses.dataclass(frozen=True, slots=True)
class SyncStatus:
    enrolled: bool
    last_sync: float | None
    waiting: int
    last_error: str = ""  # machine reason of the last failure, "" after a good round
    revoked: bool = False
    progress: tuple[int, int] | None = None  # bytes sent, bytes total of the current upload
    bytes_left: int = 0  # attachment bytes still to send (at most; the server may hold more)


def groups_of_four(fingerprint: str) -> str:
    """A fingerprint in groups of four characters, for reading aloud and comparing by eye."""
    return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))


class _ReadAloud:
    """The organisation's root fingerprint in groups of four, for reading aloud over the
    phone (`fingerprint_groups`)."""

    __slots__ = ()
    root_fingerprint: str

    @property
    def fingerprint_groups(self) -> str:
        return groups_of_four(self.root_fingerprint)


@dataclasses.dataclass(frozen=True, slots=True)
class InvitePreview(_ReadAloud):
    server: str
    root_fingerprint: str


@dataclasses.dataclass(frozen=True, slots=True)
class OrgInfo(_ReadAloud):
    server: str
    root_fingerprint: str
    device_id: str
    org_name: str
    enrolled: bool
    device_fingerprint: str = ""  # what a coordinator compares before verifying by hand

    @property
    def device_fingerprint_groups(self) -> str:
        return groups_of_four(self.device_fingerprint)


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    language: str
    auto_lock_seconds: int = 120
    wipe_threshold: int = 10
    send_and_forget: bool = True
    proxy: str = ""
    has_duress: bool = False
    disguise: bool = False
    panic_immediate: bool = False  # the panic control wipes at once: no countdown, no cancel


@dataclasses.dataclass(frozen=True, slots=True)
class About:
    app_version: str
    cryptography_version: str
    openssl_version: str


@dataclasses.dataclass(frozen=True, slots=True)
class Strength:
    """Passphrase strength: `score` 0 (very weak) .. 4 (strong) and warning catalogue keys."""

    score: int
    warnings: tuple[str, ...]


def passphrase_strength(passphrase: str) -> Strength:
    """A rough, offline estimate: length and character variety; warns on short PINs."""
    warnings: list[str] = []
    n = len(passphrase)
    classes = sum(
        (
            any(c.islower() for c in passphrase),
            any(c.isupper() for c in passphrase),
            any(c.isdigit() for c in passphrase),
            any(not c.isalnum() for c in passphrase),
        )
    )
    if n < MIN_PASSPHRASE:
        warnings.append("setup.warn_too_short")
    if passphrase.isdigit() and n < SHORT_PIN:
        warnings.append("setup.warn_short_pin")
    if n and len(set(passphrase)) <= 2:
        warnings.append("setup.warn_repetitive")
    bits = n * {0: 0, 1: 3.3, 2: 4.7, 3: 5.5, 4: 6.0}[classes]
    if len(set(passphrase)) <= 2:
        bits = min(bits, 10)
    score = 0 if bits < 20 else 1 if bits < 35 else 2 if bits < 50 else 3 if bits < 70 else 4
    return Strength(score, tuple(warnings))


PROBLEM_REASONS: Mapping[Problem, FieldReason] = {
    Problem.CODE_TOO_SHORT: "passphrase_code_too_short",
    Problem.COMMON: "passphrase_common",
    Problem.PATTERN: "passphrase_pattern",
    Problem.TOO_GUESSABLE: "weak_passphrase",
}


SETTING_NAMES = frozenset(
    {
        "auto_lock_seconds",
        "wipe_threshold",
        "send_and_forget",
        "proxy",
        "disguise",
        "panic_immediate",
    }
)
"""What `update_settings` may change."""


def check_setting_changes(changes: Mapping[str, Any], *, digits: bool) -> None:
    """Refuse unknown settings (`ValueError`, a caller's mistake) and the calculator disguise
    when the passphrase is not a number the calculator can take (`PassphraseRefused`)."""
    unknown = set(changes) - SETTING_NAMES
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}")
    if changes.get("disguise") and not digits:
        raise PassphraseRefused("passphrase_not_digits")


def check_new_passphrase(passphrase: str, duress: str | None, *, disguise: bool) -> None:
    """Refuse passphrases the app cannot accept (raises `PassphraseRefused`).

    Every new passphrase and duress passphrase, from any path (setup, settings, the command
    line), must clear `core.strength`'s floor (about 40 bits of guessing work); the reason
    names which rule was broken so the refusal can say why in plain words.
    """
    for p in (passphrase, duress):
        if p is None:
            continue
        if disguise and not p.isdigit():
            raise PassphraseRefused("passphrase_not_digits")
        problem = assess(p).problem
        if problem is not None:
            raise PassphraseRefused(PROBLEM_REASONS[problem])
    if duress is not None and duress == passphrase:
        raise PassphraseRefused("duress_same_as_passphrase")


def guess_type(name: str) -> str:
    """The media type an attachment named `name` gets when the picker gave none."""
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def parse_invite(code: str) -> Invite:
    """An invite code read strictly (`sync.invite`); `InviteRefused("invalid_invite")` if not."""
    try:
        return Invite.parse(code)
    except InviteError:
        raise InviteRefused("invalid_invite") from None


def invite_preview(code: str) -> InvitePreview:
    """What the join screen shows before the owner accepts an invite."""
    invite = parse_invite(code)
    return InvitePreview(server=invite.server_url, root_fingerprint=invite.root_fingerprint)


def incident_answers(data: Mapping[str, Any]) -> dict[str, Any]:
    """The form answers inside an incident record's `data`: the one place that reads both shapes.

    Records hold `{"form", "form_version", "answers", "attachments"}`. Before 0.3,
    `fieldvault field add` stored what it was given instead, usually `{"title", "values"}`:
    their `values` are the answers, and the `title` is kept under `title` unless a value has
    that name. Anything else without `answers` has none. (The coordinator's
    `coordinator_cases.answers_of` reads records that came in from phones; it can delegate here.)
    """
    answers = data.get("answers")
    if isinstance(answers, Mapping):
        return dict(answers)
    values = data.get("values")
    old: dict[str, Any] = dict(values) if isinstance(values, Mapping) else {}
    title = data.get("title")
    if isinstance(title, str) and title:
        old.setdefault("title", title)
    return old


_STORAGE_REASONS: tuple[tuple[type[storage_errors.VaultError], FieldReason], ...] = (
    (storage_errors.WrongPassphrase, "wrong_passphrase"),
    (storage_errors.VaultInUse, "vault_in_use"),
    (storage_errors.VaultRolledBack, "vault_rolled_back"),  # before VaultCorrupt, its base
    (storage_errors.VaultCorrupt, "vault_corrupt"),
    (storage_errors.VaultFormatTooNew, "vault_too_new"),
    (storage_errors.VaultNotFound, "vault_not_found"),
    (storage_errors.VaultExists, "vault_exists"),
    (storage_errors.VaultLocked, "locked"),
    (storage_errors.RecordNotFound, "not_found"),
    (storage_errors.AttachmentNotFound, "not_found"),
    (storage_errors.AttachmentCorrupt, "attachment_corrupt"),
    (storage_errors.MetadataStripFailed, "metadata_strip_failed"),
    (storage_errors.StorageFull, "storage_full"),
)


def storage_reason(exc: storage_errors.VaultError) -> FieldReason:
    """The reason a storage error crosses the field service boundary with (by class, never by
    class name); `storage_error` for one not listed."""
    for cls, reason in _STORAGE_REASONS:
        if isinstance(exc, cls):
            return reason
    return "storage_error"


def service_error(exc: storage_errors.VaultError) -> FieldServiceError:
    """A storage error as the field service raises it (raise it `from exc`)."""
    reason = storage_reason(exc)
    if reason == "locked":
        return Locked()
    if reason == "not_found":
        return NotFound()
    if reason in ("metadata_strip_failed", "attachment_corrupt"):
        return AttachmentRefused(reason)
    if isinstance(exc, storage_errors.WrongPassphrase):
        return UnlockFailed(reason, attempts_left=exc.attempts_left)
    return FieldServiceError(reason)
