"""One router per area of the API; `ROUTERS` is what `server.app.create_app` mounts.

Each handler is a plain (synchronous) function: FastAPI runs it in its thread pool, so blocking
database and file work never stalls the event loop.
"""

from __future__ import annotations

from typing import Any

from server.db.base import Refused
from server.errors import ApiError, ErrorBody

REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "Malformed request"),
        (401, "Missing, malformed, stale, forged or replayed signature"),
        (403, "Key unknown, revoked or without the required role"),
        (404, "Not found"),
        (409, "Conflicts with what is stored"),
        (413, "Body too large"),
        (422, "Body or parameters invalid"),
    )
}

QUOTA_REFUSALS: dict[int | str, dict[str, Any]] = {
    **REFUSALS,
    413: {"model": ErrorBody, "description": "Body too large, or past a device's byte quota"},
    429: {"model": ErrorBody, "description": "A device quota is used up; see retry_after"},
}
"""For the routes a device quota applies to (see `server.quotas`)."""

REFUSAL_STATUS = {
    "not_found": 404,
    # the organisation
    "already_bootstrapped": 409,
    "bad_token": 403,
    "stale_version": 409,
    "bad_document": 422,
    "not_bootstrapped": 404,
    # invites, enrolment and check keys
    "invalid_token": 403,
    "already_enrolled": 409,
    "check_key_taken": 409,
    # commands
    "duplicate_command": 409,
    # invite drops
    "drop_exists": 409,
    "code_unknown": 404,
    "code_expired": 410,
    "code_used": 410,
    "too_many_attempts": 429,
}
"""The status every route answers a repository refusal (`Refused.reason`) with; others 409."""


def refusal(exc: Refused) -> ApiError:
    """The API's answer to a rule the repository refused to break."""
    return ApiError(REFUSAL_STATUS.get(exc.reason, 409), exc.reason, exc.detail)


def sealed_bytes(text: str, *, limit: int, code: str, what: str = "sealed") -> bytes:
    """A sealed blob from a request body: canonical base64url, 1 to `limit` bytes; anything
    else is a 422 with the route's error `code`."""
    from sync.encoding import EncodingError, b64u_decode

    try:
        sealed = b64u_decode(text)
    except EncodingError:
        raise ApiError(422, code, f"{what} is not canonical base64url") from None
    if not sealed or len(sealed) > limit:
        raise ApiError(422, code, f"{what} is empty or too long")
    return sealed
