"""Signed commands (remote wipe): a coordinator posts, the device fetches and acknowledges.

A locked phone asks with its check key instead (`GET /v1/commands/pending`, see
`server.auth.check_key`): the same commands and the org document, and nothing else.

The server checks that the command is signed by the coordinator making the request and that
this coordinator is in the current org document; the device checks all of it again against the
document it verified itself, so the server can relay a command but never forge one.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Path

from server import verify
from server.auth import AsCheckKey, AsCoordinator, AsDeviceEvenRevoked, Ctx
from server.db.base import Refused
from server.errors import ApiError
from server.models import CommandsAnswer, CommandStored, Done, PendingAnswer, SignedCommandBody
from server.routers import REFUSALS, refusal
from sync.encoding import canonical_json

router = APIRouter(tags=["commands"], responses=REFUSALS)

CommandId = Path(pattern=r"^[0-9a-f]{32}$")


@router.post("/v1/commands", status_code=201, response_model=CommandStored)
def post_command(body: SignedCommandBody, caller: AsCoordinator, ctx: Ctx) -> CommandStored:
    org = ctx.repo.org_document()
    if org is None:
        raise ApiError(404, "not_bootstrapped", "the organisation is not set up yet")
    wire = body.model_dump()
    command = verify.command(wire, org.document)
    if command.by != caller.key_id:
        raise ApiError(422, "bad_command", "the command must be signed by the requester")
    try:
        ctx.repo.add_command(
            command.id,
            command.device,
            command.type,
            canonical_json(wire).decode("ascii"),
            ctx.clock(),
        )
    except Refused as exc:
        raise refusal(exc) from None
    return CommandStored(id=command.id)


@router.get("/v1/commands", response_model=CommandsAnswer)
def pending_commands(caller: AsDeviceEvenRevoked, ctx: Ctx) -> CommandsAnswer:
    commands = ctx.repo.pending_commands(caller.key_id)
    return CommandsAnswer(commands=[json.loads(c.document) for c in commands])


@router.get("/v1/commands/pending", response_model=PendingAnswer)
def pending_for_check_key(caller: AsCheckKey, ctx: Ctx) -> PendingAnswer:
    """For a locked phone (its check key): its pending commands and the stored org document,
    in one answer. The phone verifies both; the server can withhold, never forge."""
    org = ctx.repo.org_document()
    if org is None:
        raise ApiError(404, "not_found", "the organisation is not set up yet")
    assert caller.device is not None
    commands = ctx.repo.pending_commands(caller.device.id)
    return PendingAnswer(
        commands=[json.loads(c.document) for c in commands],
        org_document=json.loads(org.document),
    )


@router.post("/v1/commands/{command_id}/ack", response_model=Done)
def ack_command(caller: AsDeviceEvenRevoked, ctx: Ctx, command_id: str = CommandId) -> Done:
    try:
        ctx.repo.ack_command(caller.key_id, command_id, ctx.clock())
    except Refused as exc:
        raise refusal(exc) from None
    return Done(status="ok")
