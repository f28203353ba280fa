"""The closed set of sync failures the apps can show.

Every failure of the HTTP client, the sync engine and the coordinator pull is one of these.
Each carries a machine-readable `reason` (a short snake_case string) that the app's one
error-to-message mapper turns into translated text; messages here are developer diagnostics and
never contain keys, passphrases or plaintext.

    SyncError                      base; `reason`, `retryable`
    ├── Offline                    no route, DNS failure, refused or reset connection, proxy down
    ├── Timeout                    connect or read timed out
    ├── ServerUnavailable          the server answered 5xx or something that is not our API
    ├── TlsPinMismatch             the server's certificate is not the pinned one (possible MITM)
    ├── TlsError                   TLS failed for another reason (no pin and an untrusted cert)
    ├── ServerRefused              a 4xx with the server's machine reason (`reason`, `status`)
    │   ├── DeviceRevoked          revoked: never pushes again, only checks for a wipe
    │   └── OffsetMismatch         a blob chunk was sent at the wrong offset (`offset` = server's)
    ├── ServerKeyChanged           the org document's root is not the pinned root fingerprint
    ├── UntrustedDocument          an org document, command or envelope failed verification
    │   ├── OrgDocumentExpired     the newest org document this device holds has lapsed: reports
    │   │                          stay queued until the server hands over a renewed one
    │   └── AttachmentAltered      an attachment's bytes are not the ones its author signed
    │       └── BlobTooLarge       more bytes than signed: the download stopped there
    ├── NotEnrolled                the device has no identity yet and no invite to enrol with
    └── ProtocolError              the server's answer does not match the documented shape

`retryable` says whether the opportunistic loop should try again later (with backoff);
`progressed` (set by the engine) says the round moved data before it failed, so the link works,
only badly: the loop then retries soon instead of backing off further.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every sync failure. `reason` is machine-readable; `retryable` guides the loop."""

    reason = "sync_error"
    retryable = False
    progressed = False

    def __init__(self, detail: str = "", *, reason: str | None = None) -> None:
        if reason is not None:
            self.reason = reason
        super().__init__(f"{self.reason}: {detail}" if detail else self.reason)
        self.detail = detail


class Offline(SyncError):
    reason = "offline"
    retryable = True


class Timeout(SyncError):
    reason = "timeout"
    retryable = True


class ServerUnavailable(SyncError):
    reason = "server_unavailable"
    retryable = True


class TlsPinMismatch(SyncError):
    reason = "tls_pin_mismatch"


class TlsError(SyncError):
    reason = "tls_error"


RETRYABLE_REFUSALS = frozenset({"replayed_request", "upload_busy"})
"""Refusals that a later try can get past: a duplicate of our own request got there first
(`replayed_request`); another chunk of the upload is still being received, usually our own
from a connection the server has not yet seen cut (`upload_busy`)."""


class ServerRefused(SyncError):
    """The server refused a request with a 4xx answer; `reason` is its machine reason."""

    reason = "server_refused"

    def __init__(self, reason: str, *, status: int = 400, detail: str = "") -> None:
        super().__init__(detail, reason=reason)
        self.status = status
        # A duplicated copy of our own request reached the server first, or another chunk of
        # the upload is still in: trying again later (with a fresh nonce) is right.
        self.retryable = reason in RETRYABLE_REFUSALS


class DeviceRevoked(ServerRefused):
    reason = "device_revoked"

    def __init__(self, detail: str = "this device was revoked by the organisation") -> None:
        super().__init__("device_revoked", status=403, detail=detail)


class OffsetMismatch(ServerRefused):
    """A blob chunk was refused because the server holds `offset` bytes, not what we sent."""

    def __init__(self, offset: int, *, detail: str = "") -> None:
        super().__init__("offset_mismatch", status=409, detail=detail)
        self.offset = offset


class ServerKeyChanged(SyncError):
    """The org document is signed by a root key other than the one pinned at enrolment."""

    reason = "server_key_changed"


class UntrustedDocument(SyncError):
    """Something signed (org document, command, envelope) failed verification and was refused."""

    reason = "untrusted_document"


class OrgDocumentExpired(UntrustedDocument):
    """The newest org document held has expired; a hostile server may be withholding a newer
    one. Nothing is sealed or pushed until a renewed document arrives; retrying is right."""

    reason = "org_document_expired"
    retryable = True


class AttachmentAltered(UntrustedDocument):
    """A downloaded attachment does not match the SHA-256 and size its author signed."""

    reason = "attachment_altered"


class BlobTooLarge(AttachmentAltered):
    """The server sent more bytes than the attachment's signed size; the download stopped."""


class NotEnrolled(SyncError):
    reason = "not_enrolled"


class ProtocolError(SyncError):
    """The server's answer does not have the documented shape."""

    reason = "protocol_error"
    retryable = True
