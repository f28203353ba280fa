"""Ingest (`POST /v1/envelopes`), the coordinator feed and a device's messages.

Each envelope of a batch gets its own result: `stored`, `duplicate` (already stored: the
client may forget it) or `rejected` with a reason (malformed, forged, `author_not_signer`,
`kind_not_allowed`, `unknown_recipient`, `id_conflict`, `fork`). Devices send `report` and
`reply`; coordinators send `event` and `message` (a message names an enrolled device in `to`).

A device past its hourly envelope quota is refused whole with 429 `envelope_quota`
(`server.quotas`).

Feeds are read by cursor: `after` is the last cursor seen, `next` the one to pass next time.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from server import quotas, verify
from server.auth import AsCoordinator, AsDevice, AsMember, Ctx
from server.config import FEED_PAGE_BYTES, FEED_PAGE_LIMIT
from server.db.base import FeedItem, IncomingEnvelope, IngestResult
from server.models import FeedAnswer, PushAnswer, PushBody
from server.routers import QUOTA_REFUSALS, REFUSALS
from sync.encoding import b64u_encode

router = APIRouter(tags=["envelopes"], responses=REFUSALS)

KINDS_BY_ROLE = {"device": {"report", "reply"}, "coordinator": {"event", "message"}}

After = Annotated[int, Query(ge=0, le=2**63 - 1)]
Limit = Annotated[int, Query(ge=1, le=FEED_PAGE_LIMIT)]


@router.post(
    "/v1/envelopes",
    response_model=PushAnswer,
    response_model_exclude_none=True,
    responses=QUOTA_REFUSALS,
)
def push(body: PushBody, caller: AsMember, ctx: Ctx) -> Any:
    quotas.check_envelope_push(ctx, caller)
    results: list[IngestResult | None] = [None] * len(body.envelopes)
    accepted: list[tuple[int, IncomingEnvelope]] = []
    allowed = KINDS_BY_ROLE[caller.role]
    recipients_ok: dict[str, bool] = {}
    for index, item in enumerate(body.envelopes):
        wire = item.model_dump(exclude_none=True)
        try:
            env = verify.envelope(wire, caller.public_key, caller.key_id)
            if env.kind not in allowed:
                raise verify.EnvelopeRefused("kind_not_allowed")
            if env.to is not None:
                if env.to not in recipients_ok:
                    target = ctx.repo.device(env.to)
                    recipients_ok[env.to] = target is not None and not target.revoked
                if not recipients_ok[env.to]:
                    raise verify.EnvelopeRefused("unknown_recipient")
        except verify.EnvelopeRefused as exc:
            results[index] = IngestResult(verify.envelope_id_of(wire), "rejected", exc.reason)
            continue
        accepted.append((index, env))
    if accepted:
        stored = ctx.repo.ingest(caller.key_id, [env for _, env in accepted], ctx.clock())
        for (index, _), result in zip(accepted, stored, strict=True):
            results[index] = result
    return JSONResponse({"results": [r.as_json() for r in results if r is not None]})


def _page(items: list[FeedItem], after: int) -> JSONResponse:
    entries = [
        {
            "cursor": item.cursor,
            "received_at": item.received_at,
            "envelope": {
                "header": json.loads(item.header),
                "sig": item.sig,
                "payload": b64u_encode(item.payload),
            },
        }
        for item in items
    ]
    return JSONResponse({"items": entries, "next": items[-1].cursor if items else after})


@router.get("/v1/envelopes", response_model=FeedAnswer)
def feed(caller: AsCoordinator, ctx: Ctx, after: After = 0, limit: Limit = FEED_PAGE_LIMIT) -> Any:
    return _page(ctx.repo.feed(after, limit, FEED_PAGE_BYTES), after)


@router.get("/v1/messages", response_model=FeedAnswer)
def messages(caller: AsDevice, ctx: Ctx, after: After = 0, limit: Limit = FEED_PAGE_LIMIT) -> Any:
    return _page(ctx.repo.feed(after, limit, FEED_PAGE_BYTES, to_device=caller.key_id), after)
