"""Invites, enrolment, the device list and revocation.

A coordinator creates an invite (`POST /v1/invites`): the server returns a random token once
and keeps only its hash. The new device signs `POST /v1/enrol` with its freshly generated key,
presenting the token, its age recipient and its enrolment proof (an HMAC under a secret the
invite carries but the server never sees: coordinators check it, the server only keeps it); the
token is then spent. Revoking a device refuses
its requests from then on (except fetching and acknowledging commands, see `server.auth`).
"""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Path

from server import verify
from server.auth import AsCoordinator, AsDevice, AsNewKey, Ctx
from server.db.base import Device, Refused
from server.errors import ApiError
from server.models import (
    CheckKeyBody,
    DeviceAnswer,
    DevicesAnswer,
    Done,
    EnrolAnswer,
    EnrolBody,
    InviteAnswer,
    InviteBody,
    ProblemAnswer,
    RevokeAnswer,
)
from server.routers import REFUSALS, refusal
from server.tokens import new_token, token_hash
from sync.encoding import b64u_encode

router = APIRouter(tags=["devices"], responses=REFUSALS)

DeviceId = Path(pattern=r"^[0-9a-f]{32}$")


@router.post("/v1/invites", status_code=201, response_model=InviteAnswer)
def create_invite(body: InviteBody, caller: AsCoordinator, ctx: Ctx) -> InviteAnswer:
    token = new_token()
    now = ctx.clock()
    expires_at = now + body.expires_in
    ctx.repo.create_invite(token_hash(token), body.label, caller.key_id, now, expires_at)
    return InviteAnswer(token=token, expires_at=expires_at)


@router.post("/v1/enrol", status_code=201, response_model=EnrolAnswer)
def enrol(body: EnrolBody, caller: AsNewKey, ctx: Ctx) -> EnrolAnswer:
    if caller.role != "new":
        raise ApiError(409, "already_enrolled", "this key is already enrolled")
    recipient = verify.recipient(body.recipient)
    now = ctx.clock()
    candidate = Device(
        id=caller.key_id,
        signing_key=b64u_encode(caller.public_key),
        recipient=recipient,
        label=body.label,
        enrolled_at=now,
        last_seen=now,
        proof=body.proof,
    )
    try:
        device = ctx.repo.enrol(token_hash(body.token), candidate, now)
    except Refused as exc:
        raise refusal(exc) from None
    return EnrolAnswer(device_id=device.id, enrolled_at=device.enrolled_at)


@router.get("/v1/devices", response_model=DevicesAnswer)
def list_devices(caller: AsCoordinator, ctx: Ctx) -> DevicesAnswer:
    answers = []
    for summary in ctx.repo.devices():
        d = summary.device
        answers.append(
            DeviceAnswer(
                id=d.id,
                label=d.label,
                signing_key=d.signing_key,
                recipient=d.recipient,
                enrolled_at=d.enrolled_at,
                last_seen=d.last_seen,
                envelopes=summary.envelopes,
                last_seq=summary.last_seq,
                chain=summary.chain,  # type: ignore[arg-type]
                problems=[ProblemAnswer(**dataclasses.asdict(p)) for p in summary.problems],
                revoked=d.revoked,
                revoked_at=d.revoked_at,
                wipe=summary.wipe,  # type: ignore[arg-type]
                proof=d.proof,
            )
        )
    return DevicesAnswer(devices=answers)


@router.post("/v1/devices/{device_id}/revoke", response_model=RevokeAnswer)
def revoke(caller: AsCoordinator, ctx: Ctx, device_id: str = DeviceId) -> RevokeAnswer:
    try:
        device = ctx.repo.revoke(device_id, ctx.clock())
    except Refused as exc:
        raise refusal(exc) from None
    assert device.revoked_at is not None
    return RevokeAnswer(id=device.id, revoked_at=device.revoked_at)


@router.put("/v1/devices/me/check-key", response_model=Done)
def put_check_key(body: CheckKeyBody, caller: AsDevice, ctx: Ctx) -> Done:
    """Register (or replace) the calling device's check key: the request is signed by the
    device key, `proof` by the check key over `CHECK_KEY_PROOF || device id`."""
    public = verify.check_key(body.check_key, body.proof, caller.key_id)
    try:
        ctx.repo.set_check_key(caller.key_id, b64u_encode(public))
    except Refused as exc:
        raise refusal(exc) from None
    return Done(status="ok")
