"""Bootstrap and the signed org document.

`POST /v1/bootstrap` spends the one-time token printed by `fieldvault server init` to register
the root key (through its self-signed org document). `PUT /v1/org-document` replaces the
document with a newer one signed by the same root; the server checks the signature but the
devices are the ones that must trust it (they pin the root at enrolment).

`GET /v1/org-document` carries an `ETag` (from the stored bytes); a request whose
`If-None-Match` names it is answered 304 with no body, so a device that already holds the
current document pays a few hundred bytes per round instead of the document. To a device it also
gives two hints, so an idle round needs no other request: `X-FieldVault-Commands` (how many
commands wait for it) and, when the request names its message cursor (`?messages_after=N`),
`X-FieldVault-Messages` (`1` if a message waits after N, else `0`). Hints are not trusted:
a server can always withhold commands or messages, and the device verifies whatever it fetches.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response

from server import verify
from server.auth import AsCoordinator, AsMemberEvenRevoked, Caller, Ctx
from server.context import Services
from server.db.base import Refused
from server.errors import ApiError
from server.models import BootstrapAnswer, BootstrapBody, OrgDocumentBody, VersionAnswer
from server.routers import REFUSALS, refusal
from server.tokens import token_hash
from sync.auth import HEADER_HINT_COMMANDS, HEADER_HINT_MESSAGES

router = APIRouter(tags=["organisation"], responses=REFUSALS)


@router.post("/v1/bootstrap", status_code=201, response_model=BootstrapAnswer)
def bootstrap(body: BootstrapBody, ctx: Ctx) -> BootstrapAnswer:
    org = verify.org_document(body.org_document.model_dump())
    try:
        ctx.repo.bootstrap(token_hash(body.token), org, ctx.clock())
    except Refused as exc:
        raise refusal(exc) from None
    return BootstrapAnswer(root=org.root)


@router.get(
    "/v1/org-document",
    response_model=OrgDocumentBody,
    responses={
        200: {"description": "The signed org document, exactly as stored"},
        304: {"description": "Not modified: the document named by If-None-Match is current"},
    },
)
def get_org_document(
    caller: AsMemberEvenRevoked,
    ctx: Ctx,
    if_none_match: Annotated[str | None, Header(max_length=512)] = None,
    messages_after: Annotated[int | None, Query(ge=0, le=2**53 - 1)] = None,
) -> Any:
    org = ctx.repo.org_document()
    if org is None:
        raise ApiError(404, "not_found", "the organisation is not set up yet")
    etag = document_etag(org.document)
    headers = {"ETag": etag, **_hints(caller, ctx, messages_after)}
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(json.loads(org.document), headers=headers)


def document_etag(stored: str) -> str:
    """A strong entity tag for the stored document: 128 bits of its SHA-256, quoted."""
    return '"' + hashlib.sha256(stored.encode("utf-8")).hexdigest()[:32] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _hints(caller: Caller, ctx: Services, messages_after: int | None) -> dict[str, str]:
    """What waits for a device, so that an idle round can skip asking (see the docstring)."""
    if caller.role != "device":
        return {}
    hints = {HEADER_HINT_COMMANDS: str(len(ctx.repo.pending_commands(caller.key_id)))}
    revoked = caller.device is not None and caller.device.revoked
    if messages_after is not None and not revoked:
        waiting = ctx.repo.feed(messages_after, 1, 1, to_device=caller.key_id)
        hints[HEADER_HINT_MESSAGES] = "1" if waiting else "0"
    return hints


@router.put("/v1/org-document", response_model=VersionAnswer)
def put_org_document(body: OrgDocumentBody, caller: AsCoordinator, ctx: Ctx) -> VersionAnswer:
    current = ctx.repo.org_document()
    if current is None:
        raise ApiError(404, "not_bootstrapped", "the organisation is not set up yet")
    org = verify.org_document(body.model_dump(), pinned_root=current.root)
    try:
        ctx.repo.replace_org_document(org, ctx.clock())
    except Refused as exc:
        raise refusal(exc) from None
    return VersionAnswer(version=org.version)
