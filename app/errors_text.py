"""The one mapper from typed errors to catalogue keys, for both apps and the command line.

Use `error_key(exc)` to get a key in the `common` catalogue (`error.*`), or
`error_text(exc, translator)` for the translated sentence. Errors are matched by their machine
`reason` only: the field service's closed set (`app.services.field_types.FieldReason`), sync's
(`sync.errors`) and the server's refusals, all in `REASON_KEYS`. A storage error that reaches
this module unwrapped (the coordinator's services still pass them) gets its reason from
`field_types.storage_reason`, by class, never by class name. Anything unknown maps to
`error.unexpected`; an unknown sync or server reason to the generic sync or refusal sentence.

Danger: never show `str(exc)` to a user: it is a developer diagnostic. Show this mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

UNEXPECTED = "error.unexpected"

# machine reasons: sync.errors (`SyncError.reason`), server refusals, and app/services errors
REASON_KEYS: Mapping[str, str] = {
    # storage, as app.services.field_types.storage_reason names it
    "vault_too_new": "error.vault_too_new",
    "vault_not_found": "error.vault_not_found",
    "vault_exists": "error.vault_exists",
    "attachment_corrupt": "error.attachment_corrupt",
    "storage_error": "error.storage",
    # sync.errors
    "offline": "error.offline",
    "timeout": "error.timeout",
    "server_unavailable": "error.server_unavailable",
    "tls_pin_mismatch": "error.tls_pin_mismatch",
    "tls_error": "error.tls_error",
    "device_revoked": "error.device_revoked",
    "server_key_changed": "error.server_key_changed",
    "untrusted_document": "error.untrusted_document",
    "org_document_expired": "error.org_document_expired",
    "attachment_altered": "error.attachment_altered",
    "device_not_verified": "error.device_not_verified",
    "unknown_device": "error.unknown_device",
    "already_verified": "error.already_verified",
    "fingerprint_mismatch": "error.fingerprint_mismatch",
    "not_enrolled": "error.not_enrolled",
    "protocol_error": "error.protocol_error",
    "server_refused": "error.server_refused",
    "sync_error": "error.sync",
    # server machine reasons a person can act on
    "invalid_token": "error.invalid_token",
    "body_too_large": "error.too_large",
    "stale_request": "error.clock",
    "envelope_quota": "error.quota",
    "blob_quota": "error.quota",
    "blob_bytes_quota": "error.quota",
    "upload_busy": "error.upload_busy",
    # sync.invite parsing and the field service
    "invalid_invite": "error.invalid_invite",
    "short_code_typo": "error.short_code_typo",
    "code_unknown": "error.code_unknown",
    "code_expired": "error.code_expired",
    "code_used": "error.code_used",
    "too_many_attempts": "error.too_many_attempts",
    "invite_tampered": "error.invite_tampered",
    "bad_server_address": "error.bad_server_address",
    "short_code_kept": "error.short_code_kept",
    "weak_passphrase": "error.weak_passphrase",
    "passphrase_code_too_short": "error.passphrase_code_too_short",
    "passphrase_common": "error.passphrase_common",
    "passphrase_pattern": "error.passphrase_pattern",
    "passphrase_not_digits": "error.passphrase_not_digits",
    "duress_same_as_passphrase": "error.duress_same",
    "passphrase_mismatch": "error.passphrase_mismatch",
    "wrong_passphrase": "error.wrong_passphrase",
    "wiped": "error.wiped",
    "locked": "error.locked",
    "not_found": "error.not_found",
    "form_invalid": "error.form_invalid",
    "no_consent_to_share": "error.no_consent_to_share",
    "not_sent": "error.not_sent",
    "invalid_purpose": "error.invalid_purpose",
    "attachment_too_large": "error.attachment_too_large",
    "attachment_unreadable": "error.attachment_unreadable",
    "already_enrolled": "error.already_enrolled",
    "invalid_proxy": "error.invalid_proxy",
    "vault_in_use": "error.vault_in_use",
    "keystore_unavailable": "error.keystore_unavailable",
    "vault_corrupt": "error.vault_corrupt",
    "vault_rolled_back": "error.vault_rolled_back",
    "storage_full": "error.storage_full",
    "metadata_strip_failed": "error.metadata_strip_failed",
    "metadata_not_removable": "error.metadata_not_removable",
}

ALL_KEYS = frozenset({UNEXPECTED, "error.sync", "error.server_refused", *REASON_KEYS.values()})


class _Translates(Protocol):
    def t(self, key: str, **params: Any) -> str: ...


def reason_key(reason: str) -> str:
    """The catalogue key for a machine reason (unknown server refusals get the generic one)."""
    return REASON_KEYS.get(reason, "error.server_refused" if reason else UNEXPECTED)


def error_key(exc: BaseException) -> str:
    from app.services.field_types import storage_reason
    from storage.errors import VaultError
    from sync.errors import ServerRefused, SyncError

    if isinstance(exc, VaultError):
        return reason_key(storage_reason(exc))
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason and reason in REASON_KEYS:
        return REASON_KEYS[reason]
    if isinstance(exc, ServerRefused):
        return "error.server_refused"
    if isinstance(exc, SyncError):
        return "error.sync"
    return UNEXPECTED


def error_text(exc: BaseException, translator: _Translates) -> str:
    """The translated sentence for `exc`, with `attempts_left` filled in where it applies."""
    key = error_key(exc)
    attempts = getattr(exc, "attempts_left", None)
    if key == "error.wrong_passphrase" and isinstance(attempts, int):
        return translator.t("error.wrong_passphrase_left", attempts=attempts)
    return translator.t(key)
