"""Request authentication by signature. No passwords anywhere.

A client signs each HTTP request with its Ed25519 key (device or coordinator):

    signed = LABEL + METHOD \n PATH_AND_QUERY \n TIME \n NONCE \n SHA256HEX(BODY)

and sends four headers (see docs/protocol.md), plus `X-FieldVault-Content-SHA256` (the body's
SHA-256, already inside the signature) when there is a body, so the server can verify the
signature before it reads the body. Use `sign_request(...)` on the client and
`verify_request(...)` on the server; the server must also remember nonces for `WINDOW_SECONDS`
to refuse replays (verify_request checks time and signature, not nonce memory).

A blob chunk may instead be signed over the upload's digest: the SHA-256 of the blob's first
`offset + len(body)` bytes (what the server holds once it keeps the chunk), named in
`X-FieldVault-Upload-SHA256` and signed as `upload_digest_field(hex)`, so it can never be read
as a body digest. The server then hashes each byte once (its running hash of the upload is the
digest) instead of twice (the body, then the upload), and so does the device.
"""

from __future__ import annotations

import dataclasses
import re

from core.crypto.errors import BadSignature
from core.crypto.hashing import sha256_hex
from core.crypto.random import random_bytes
from core.crypto.signing import SigningKey, verify
from sync.encoding import EncodingError, ReasonError, b64u_decode, b64u_encode
from sync.keys import key_id
from sync.labels import REQUEST_SIGNATURE

HEADER_KEY = "X-FieldVault-Key"
HEADER_TIME = "X-FieldVault-Time"
HEADER_NONCE = "X-FieldVault-Nonce"
HEADER_SIGNATURE = "X-FieldVault-Signature"
HEADER_CONTENT_SHA256 = "X-FieldVault-Content-SHA256"
"""The signed body digest, sent ahead of the body so the server can check the signature first."""
HEADER_UPLOAD_SHA256 = "X-FieldVault-Upload-SHA256"
"""On a blob chunk instead of the content digest: SHA-256 of the upload through this chunk."""
HEADER_HINT_COMMANDS = "X-FieldVault-Commands"
HEADER_HINT_MESSAGES = "X-FieldVault-Messages"
"""Unsigned hints on `GET /v1/org-document` for a device (see `server.routers.org`)."""
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
WINDOW_SECONDS = 120
NONCE_SIZE = 16
# Canonical decimal only (ASCII digits, no sign, no leading zeros), so one time has one text.
_TIME = re.compile(r"\A(?:0|[1-9][0-9]{0,11})\Z")


_UPLOAD_FIELD = "upload-sha256:"


def upload_digest_field(upload_sha256: str) -> str:
    """What a chunk signed over the upload's digest puts where the body digest goes."""
    return _UPLOAD_FIELD + upload_sha256


class AuthError(ReasonError):
    """A request's signature headers are missing, malformed, stale or forged.

    `reason` is machine-readable: missing_auth, malformed_auth, stale_request, bad_signature.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class VerifiedRequest:
    public_key: bytes
    key_id: str
    nonce: str
    timestamp: int


def _message_for_digest(method: str, path: str, timestamp: int, nonce: str, digest: str) -> bytes:
    return REQUEST_SIGNATURE + "\n".join(
        [method.upper(), path, str(timestamp), nonce, digest]
    ).encode("utf-8")


def sign_request(
    key: SigningKey,
    method: str,
    path_and_query: str,
    body: bytes,
    *,
    now: int,
    body_sha256: str | None = None,
    upload_sha256: str | None = None,
) -> dict[str, str]:
    """Return the four auth headers for one request. `path_and_query` as sent, e.g. `/v1/x?a=1`.

    `body_sha256` (lowercase hex) saves hashing a body the caller already hashed; it must be
    the hash of `body`, else the server refuses the request (`bad_signature`). `upload_sha256`
    (blob chunks only) signs the upload's digest through this chunk instead; `body` is then
    not hashed at all.
    """
    nonce = b64u_encode(random_bytes(NONCE_SIZE))
    if upload_sha256 is not None:
        digest = upload_digest_field(upload_sha256)
    else:
        digest = sha256_hex(body) if body_sha256 is None else body_sha256
    signature = key.sign(_message_for_digest(method, path_and_query, now, nonce, digest))
    headers = {
        HEADER_KEY: b64u_encode(key.public_bytes()),
        HEADER_TIME: str(now),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: b64u_encode(signature),
    }
    if upload_sha256 is not None:
        headers[HEADER_UPLOAD_SHA256] = upload_sha256
    elif digest != EMPTY_SHA256:
        headers[HEADER_CONTENT_SHA256] = digest
    return headers


def verify_request(
    headers: dict[str, str], method: str, path_and_query: str, body: bytes, *, now: int
) -> VerifiedRequest:
    """Check the auth headers of one request; raise `AuthError` with a reason if they fail."""
    return verify_request_digest(headers, method, path_and_query, sha256_hex(body), now=now)


def verify_request_digest(
    headers: dict[str, str], method: str, path_and_query: str, body_sha256: str, *, now: int
) -> VerifiedRequest:
    """`verify_request` for a body already hashed while it streamed in (SHA-256, lowercase hex;
    for a chunk signed over its upload's digest, `upload_digest_field(digest)`).

    Danger: whatever was done with the body before this returns was done unauthenticated; the
    caller must be able to undo it.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    values = [
        lowered.get(h.lower()) for h in (HEADER_KEY, HEADER_TIME, HEADER_NONCE, HEADER_SIGNATURE)
    ]
    if any(v is None for v in values):
        raise AuthError("missing_auth")
    raw_key, raw_time, nonce, raw_sig = (str(v) for v in values)
    try:
        public_key = b64u_decode(raw_key, length=32)
        signature = b64u_decode(raw_sig, length=64)
        b64u_decode(nonce, length=NONCE_SIZE)
        if not _TIME.match(raw_time):
            raise EncodingError("time")
        timestamp = int(raw_time)
    except EncodingError:
        raise AuthError("malformed_auth") from None
    if abs(now - timestamp) > WINDOW_SECONDS:
        raise AuthError("stale_request")
    try:
        message = _message_for_digest(method, path_and_query, timestamp, nonce, body_sha256)
        verify(public_key, signature, message)
    except BadSignature:
        raise AuthError("bad_signature") from None
    return VerifiedRequest(public_key, key_id(public_key), nonce, timestamp)
