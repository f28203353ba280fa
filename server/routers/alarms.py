"""Alarms from locked phones: a phone posts one with its check key, coordinators fetch them.

A locked phone cannot sign with its device key (it is inside the vault), so its silent alarm is
sealed with what the phone keeps outside it (`sync.locked_alarm`) and posted with the check key
(`POST /v1/alarms`, see `server.auth.check_key`). The server cannot read it: it is age
ciphertext for the coordinators, signed inside by a key the device announced to them in one of
its own signed envelopes. The server learns which device sent an alarm, when, and its size
(the same for every alarm of an organisation); it keeps each for `KEEP_DAYS` and relays it to
coordinators (`GET /v1/alarms`), who verify everything. It can withhold or delay an alarm, never
forge, move or replay one that a coordinator would raise.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from server.auth import AsCheckKey, AsCoordinator, Ctx
from server.db.base import Refused
from server.errors import ApiError
from server.models import Done, LockedAlarmBody, LockedAlarmItem, LockedAlarmsAnswer
from server.routers import QUOTA_REFUSALS, sealed_bytes
from sync.encoding import b64u_encode

router = APIRouter(tags=["alarms"], responses=QUOTA_REFUSALS)

KEEP_DAYS = 8
"""How long the server keeps an alarm (coordinators refuse one older than a week as stale)."""
PER_DAY = 20
"""Alarms one device may post in 24 hours (a seized phone's keystore must not fill the disk)."""
MAX_SEALED = 32 * 1024


@router.post("/v1/alarms", status_code=201, response_model=Done)
def post_alarm(body: LockedAlarmBody, caller: AsCheckKey, ctx: Ctx) -> Done:
    """A locked phone's sealed alarm (check key only)."""
    sealed = sealed_bytes(body.sealed, limit=MAX_SEALED, code="invalid_body")
    assert caller.device is not None
    now = ctx.clock()
    try:
        ctx.repo.add_locked_alarm(
            caller.device.id,
            sealed,
            now,
            per_day=PER_DAY,
            keep_until=now - KEEP_DAYS * 86400,
        )
    except Refused as exc:
        raise ApiError(429, exc.reason, exc.detail, limit=PER_DAY) from None
    return Done(status="ok")


@router.get("/v1/alarms", response_model=LockedAlarmsAnswer)
def list_alarms(
    caller: AsCoordinator, ctx: Ctx, since: int = Query(default=0, ge=0, le=2**53 - 1)
) -> LockedAlarmsAnswer:
    """Every alarm received at or after `since` and still kept, oldest first."""
    items = [
        LockedAlarmItem(
            id=a.id, device=a.device_id, received_at=a.received_at, sealed=b64u_encode(a.sealed)
        )
        for a in ctx.repo.locked_alarms(max(since, ctx.clock() - KEEP_DAYS * 86400))
    ]
    return LockedAlarmsAnswer(items=items)
