"""Short join codes: sealed invites kept under a lookup id, fetched by a phone that has no key yet.

- `POST /v1/invite-drops` (coordinator): keep `sealed` (an invite sealed under a key derived
  from the short code, `sync.shortcode`) under `lookup` until `expires_in` has passed, for at
  most `FETCHES` fetches. The server never sees the code, so it can neither read nor alter the
  invite: a changed byte fails to open on the phone.
- `POST /v1/invite-drops/fetch` (anyone): `{"lookup"}` -> `{"sealed"}`. The lookup id travels
  in the body, never in a URL a log could keep. Refusals: 404 `code_unknown`, 410
  `code_expired` / `code_used`, 429 `too_many_attempts` (with `retry_after`).
- `POST /v1/invite-drops/cancel` (coordinator): forget one (idempotent), when its invite is
  cancelled.

Guessing: every lookup that misses is counted under an HMAC of the asking address with a key
that lives only in this process's memory (so the database never holds an address, and the
count is per process); past `PER_SOURCE` misses in `SOURCE_WINDOW`, or `TOTAL` misses from
everyone in `TOTAL_WINDOW`, every lookup is refused until the window moves on, a right one
too, so a hit cannot be told from a miss. Behind a reverse proxy every phone shares the
proxy's address, so the per-address limit becomes a second global one; phones that cannot
fetch still join with the long code. On PostgreSQL two misses at the same instant may both
pass the count: the limits are approximate by one or two per process, not a wall.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request

from core.crypto.hashing import hmac_sha256
from core.crypto.random import random_bytes
from server.auth import AsCoordinator, Ctx
from server.config import MAX_INVITE_SECONDS
from server.db.base import DropLimits, RateLimited, Refused
from server.errors import ApiError
from server.models import Done, Strict
from server.routers import REFUSALS, refusal, sealed_bytes
from sync.encoding import b64u_encode
from sync.shortcode import MAX_SEALED

router = APIRouter(tags=["invite-drops"], responses=REFUSALS)

FETCHES = 3
"""A phone whose first fetch was cut off, or that crashed before joining, may fetch again."""
PER_SOURCE = 10
SOURCE_WINDOW = 600
TOTAL = 600
TOTAL_WINDOW = 3600
LIMITS = DropLimits(PER_SOURCE, SOURCE_WINDOW, TOTAL, TOTAL_WINDOW)

_SOURCE_KEY = random_bytes(32)
Lookup = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Sealed = Annotated[str, Field(min_length=1, max_length=MAX_SEALED * 4 // 3 + 4)]


class DropBody(Strict):
    lookup: Lookup
    sealed: Sealed
    expires_in: Annotated[int, Field(ge=1, le=MAX_INVITE_SECONDS)]


class LookupBody(Strict):
    lookup: Lookup


class DropStored(BaseModel):
    expires_at: int
    fetches: int


class DropAnswer(BaseModel):
    sealed: str


@router.post("/v1/invite-drops", status_code=201, response_model=DropStored)
def put_drop(body: DropBody, caller: AsCoordinator, ctx: Ctx) -> DropStored:
    sealed = sealed_bytes(body.sealed, limit=MAX_SEALED, code="bad_sealed")
    now = ctx.clock()
    try:
        ctx.repo.put_invite_drop(
            body.lookup, sealed, caller.key_id, now, now + body.expires_in, FETCHES
        )
    except Refused as exc:
        raise refusal(exc) from None
    return DropStored(expires_at=now + body.expires_in, fetches=FETCHES)


@router.post("/v1/invite-drops/fetch", response_model=DropAnswer)
def fetch_drop(body: LookupBody, request: Request, ctx: Ctx) -> DropAnswer:
    address = request.client.host if request.client else ""
    source = hmac_sha256(_SOURCE_KEY, address.encode("utf-8"))[:16].hex()
    try:
        sealed = ctx.repo.fetch_invite_drop(body.lookup, source, ctx.clock(), LIMITS)
    except RateLimited as exc:
        error = ApiError(429, exc.reason, exc.detail, retry_after=exc.retry_after)
        error.headers = {"Retry-After": str(exc.retry_after)}
        raise error from None
    except Refused as exc:
        raise refusal(exc) from None
    return DropAnswer(sealed=b64u_encode(sealed))


@router.post("/v1/invite-drops/cancel", response_model=Done)
def cancel_drop(body: LookupBody, caller: AsCoordinator, ctx: Ctx) -> Done:
    ctx.repo.cancel_invite_drop(body.lookup)
    return Done(status="ok")
