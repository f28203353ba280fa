"""One router per area of the API; `ROUTERS` is what `server.app.create_app` mounts.

Each handler is a plain (synchronous) function: FastAPI runs it in its thread pool, so blocking
database and file work never stalls the event loop.
"""

from __future__ import annotations

from typing import Any

from server.errors import ErrorBody

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
