"""Who is asking: request signatures checked, keys mapped to roles, nonces remembered.

Route dependencies, strongest first:

- `coordinator`: a key listed in the current org document's `coordinators[].signing_key`.
- `device`: an enrolled, unrevoked device.
- `member`: either of the above.
- `device_even_revoked` / `member_even_revoked`: also a revoked device. Only fetching the org
  document and fetching and acknowledging commands use them, so a wipe ordered for a seized,
  revoked phone still reaches it and can be verified there; everything else is refused with
  `device_revoked`.
- `new_key`: any correctly signed key (enrolment), except a registered check key.
- `check_key`: a device's check key (`PUT /v1/devices/me/check-key`), revoked device or not.
  It is accepted by `GET /v1/commands/pending` and `POST /v1/alarms` alone: everywhere else the
  key is unknown (`unknown_key`), and it can never enrol (`check_key_only`), so a phone's check
  key, which sits outside its vault, fetches that phone's commands and posts its sealed alarm,
  and does nothing else.

Every check happens before anything is written: a refused request leaves no trace, not even its
nonce. The nonce is then stored in the database (not in process memory) until the request's time
window has passed, so a replay is refused by every server process sharing the database.

Before a large body is read (`preauthenticate`, called by `server.limits` for any body that may
pass `PREAUTH_BODY_LIMIT`): when the client names the body's SHA-256 in
`X-FieldVault-Content-SHA256` (current clients always do), the signature is verified over that
digest before a byte of the body is read, and the body must then hash to it (the route verifies
the signature again over what arrived). Without the header (older clients) the headers must at
least be well-formed and current and the key an enrolled device's or a coordinator's. The only
large body taken from someone unknown is the bootstrap document, and only until bootstrap.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Literal, TypeGuard

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import Scope

from server.context import Services, services
from server.db.base import Device
from server.errors import ApiError
from sync.auth import (
    HEADER_CONTENT_SHA256,
    HEADER_KEY,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIME,
    HEADER_UPLOAD_SHA256,
    NONCE_SIZE,
    WINDOW_SECONDS,
    AuthError,
    VerifiedRequest,
    upload_digest_field,
    verify_request,
    verify_request_digest,
)
from sync.encoding import EncodingError, b64u_decode, b64u_encode
from sync.keys import key_id

Ctx = Annotated[Services, Depends(services)]

AUTH_DETAILS = {
    "missing_auth": "this request must carry the X-FieldVault signature headers",
    "malformed_auth": "the X-FieldVault signature headers are malformed",
    "stale_request": f"the request time is more than {WINDOW_SECONDS} s off the server's clock",
    "bad_signature": "the request signature does not verify",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Caller:
    key_id: str
    public_key: bytes
    role: Literal["coordinator", "device", "new", "check"]
    device: Device | None = None


def path_and_query(request: Request) -> str:
    """The request target exactly as the client sent (and signed) it."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    target = bytes(raw).decode("latin-1")
    query = request.scope.get("query_string", b"")
    return f"{target}?{query.decode('latin-1')}" if query else target


async def signed(request: Request, ctx: Ctx) -> VerifiedRequest:
    body = await request.body()
    try:
        return verify_request(
            dict(request.headers), request.method, path_and_query(request), body, now=ctx.clock()
        )
    except AuthError as exc:
        raise ApiError(401, exc.reason, AUTH_DETAILS.get(exc.reason, "refused")) from None


_SHA256_HEX = frozenset("0123456789abcdef")


def is_sha256_hex(value: str | None) -> TypeGuard[str]:
    """64 lowercase hex digits (how digests travel in headers)."""
    return value is not None and len(value) == 64 and set(value) <= _SHA256_HEX


async def preauthenticate(scope: Scope) -> ApiError | None:
    """Who is asking, decided from the headers alone: None to go on and read the body, or the
    refusal to send without reading it. Writes nothing (the nonce is taken by the route)."""
    request = Request(scope)
    ctx: Services = request.app.state.services
    if scope["path"] == "/v1/bootstrap":
        if await run_in_threadpool(ctx.repo.org_document) is None:
            return None  # the bootstrap token travels in the body, checked by the route
        return ApiError(409, "already_bootstrapped", "the organisation is already set up")
    headers = request.headers
    claimed = headers.get(HEADER_CONTENT_SHA256)
    upload = headers.get(HEADER_UPLOAD_SHA256)
    try:
        if claimed is not None or upload is not None:
            digest = claimed if upload is None else upload
            if claimed is not None and upload is not None:
                raise AuthError("malformed_auth")
            if not is_sha256_hex(digest):
                raise AuthError("malformed_auth")
            field = digest if upload is None else upload_digest_field(digest)
            verified = verify_request_digest(
                dict(headers), request.method, path_and_query(request), field, now=ctx.clock()
            )
            public = verified.public_key
        else:
            public = _current_key(headers, ctx.clock())
    except AuthError as exc:
        return ApiError(401, exc.reason, AUTH_DETAILS.get(exc.reason, "refused"))
    coordinator_key, device = await run_in_threadpool(ctx.repo.lookup_key, key_id(public))
    encoded = b64u_encode(public)
    if coordinator_key == encoded:
        return None
    if device is not None and device.signing_key == encoded:
        if device.revoked:
            return ApiError(403, "device_revoked", "this device has been revoked")
        return None
    return ApiError(403, "unknown_key", "this key is not enrolled")


def _current_key(headers: Mapping[str, str], now: int) -> bytes:
    """The claimed key of a request whose headers are complete, well-formed and current."""
    raw_key, raw_time, nonce, signature = (
        headers.get(HEADER_KEY),
        headers.get(HEADER_TIME),
        headers.get(HEADER_NONCE),
        headers.get(HEADER_SIGNATURE),
    )
    if raw_key is None or raw_time is None or nonce is None or signature is None:
        raise AuthError("missing_auth")
    try:
        public = b64u_decode(raw_key, length=32)
        b64u_decode(nonce, length=NONCE_SIZE)
        b64u_decode(signature, length=64)
    except EncodingError:
        raise AuthError("malformed_auth") from None
    if not (raw_time.isascii() and raw_time.isdigit()) or len(raw_time) > 12:
        raise AuthError("malformed_auth")
    if abs(now - int(raw_time)) > WINDOW_SECONDS:
        raise AuthError("stale_request")
    return public


def _identify(
    ctx: Services,
    verified: VerifiedRequest,
    *,
    allow: frozenset[str],
    allow_revoked: bool = False,
) -> Caller:
    repo = ctx.repo
    public = b64u_encode(verified.public_key)
    coordinator_key, device = repo.lookup_key(verified.key_id)
    caller: Caller | None = None
    if coordinator_key == public:
        caller = Caller(verified.key_id, verified.public_key, "coordinator")
    elif device is not None and device.signing_key == public:
        if device.revoked and not allow_revoked:
            raise ApiError(403, "device_revoked", "this device has been revoked")
        caller = Caller(verified.key_id, verified.public_key, "device", device)
    if caller is None:
        if "new" not in allow:
            raise ApiError(403, "unknown_key", "this key is not enrolled")
        if repo.device_by_check_key(public) is not None:
            raise ApiError(403, "check_key_only", "a check key may only fetch commands")
        caller = Caller(verified.key_id, verified.public_key, "new")
    if caller.role not in allow:
        if allow == {"coordinator"}:
            raise ApiError(403, "not_coordinator", "only a coordinator may do this")
        raise ApiError(403, "not_device", "only an enrolled device may do this")
    now = ctx.clock()
    seen = (
        caller.key_id if caller.device is not None and caller.device.last_seen < now - 60 else None
    )
    if not repo.remember_nonce(
        verified.nonce, verified.timestamp + WINDOW_SECONDS + 1, now, seen_device=seen
    ):
        raise ApiError(401, "replayed_request", "this request was already received")
    return caller


_COORDINATOR = frozenset({"coordinator"})
_DEVICE = frozenset({"device"})
_MEMBER = frozenset({"coordinator", "device"})
_ANY = frozenset({"coordinator", "device", "new"})


def coordinator(verified: Annotated[VerifiedRequest, Depends(signed)], ctx: Ctx) -> Caller:
    return _identify(ctx, verified, allow=_COORDINATOR)


def device(verified: Annotated[VerifiedRequest, Depends(signed)], ctx: Ctx) -> Caller:
    return _identify(ctx, verified, allow=_DEVICE)


def member(verified: Annotated[VerifiedRequest, Depends(signed)], ctx: Ctx) -> Caller:
    return _identify(ctx, verified, allow=_MEMBER)


def device_even_revoked(verified: Annotated[VerifiedRequest, Depends(signed)], ctx: Ctx) -> Caller:
    return _identify(ctx, verified, allow=_DEVICE, allow_revoked=True)


def member_even_revoked(verified: Annotated[VerifiedRequest, Depends(signed)], ctx: Ctx) -> Caller:
    return _identify(ctx, verified, allow=_MEMBER, allow_revoked=True)


def new_key(verified: Annotated[VerifiedRequest, Depends(signed)], ctx: Ctx) -> Caller:
    return _identify(ctx, verified, allow=_ANY)


def check_key(verified: Annotated[VerifiedRequest, Depends(signed)], ctx: Ctx) -> Caller:
    """A device's check key (see the module docstring); the nonce is remembered as for others."""
    device = ctx.repo.device_by_check_key(b64u_encode(verified.public_key))
    if device is None:
        raise ApiError(403, "unknown_key", "this key is not enrolled")
    now = ctx.clock()
    if not ctx.repo.remember_nonce(verified.nonce, verified.timestamp + WINDOW_SECONDS + 1, now):
        raise ApiError(401, "replayed_request", "this request was already received")
    return Caller(verified.key_id, verified.public_key, "check", device)


AsCoordinator = Annotated[Caller, Depends(coordinator)]
AsDevice = Annotated[Caller, Depends(device)]
AsMember = Annotated[Caller, Depends(member)]
AsDeviceEvenRevoked = Annotated[Caller, Depends(device_even_revoked)]
AsMemberEvenRevoked = Annotated[Caller, Depends(member_even_revoked)]
AsNewKey = Annotated[Caller, Depends(new_key)]
AsCheckKey = Annotated[Caller, Depends(check_key)]
