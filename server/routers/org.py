"""Bootstrap and the signed org document.

`POST /v1/bootstrap` spends the one-time token printed by `fieldvault server init` to register
the root key (through its self-signed org document). `PUT /v1/org-document` replaces the
document with a newer one signed by the same root; the server checks the signature but the
devices are the ones that must trust it (they pin the root at enrolment).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from server import verify
from server.auth import AsCoordinator, AsMemberEvenRevoked, Ctx
from server.db.base import Refused
from server.errors import ApiError
from server.models import BootstrapAnswer, BootstrapBody, OrgDocumentBody, VersionAnswer
from server.routers import REFUSALS
from server.tokens import token_hash

router = APIRouter(tags=["organisation"], responses=REFUSALS)

_STATUS = {
    "already_bootstrapped": 409,
    "bad_token": 403,
    "stale_version": 409,
    "bad_document": 422,
    "not_bootstrapped": 404,
}


def refusal(exc: Refused, statuses: dict[str, int]) -> ApiError:
    return ApiError(statuses.get(exc.reason, 409), exc.reason, exc.detail)


@router.post("/v1/bootstrap", status_code=201, response_model=BootstrapAnswer)
def bootstrap(body: BootstrapBody, ctx: Ctx) -> BootstrapAnswer:
    org = verify.org_document(body.org_document.model_dump())
    try:
        ctx.repo.bootstrap(token_hash(body.token), org, ctx.clock())
    except Refused as exc:
        raise refusal(exc, _STATUS) from None
    return BootstrapAnswer(root=org.root)


@router.get(
    "/v1/org-document",
    response_model=OrgDocumentBody,
    responses={200: {"description": "The signed org document, exactly as stored"}},
)
def get_org_document(caller: AsMemberEvenRevoked, ctx: Ctx) -> Any:
    org = ctx.repo.org_document()
    if org is None:
        raise ApiError(404, "not_found", "the organisation is not set up yet")
    return JSONResponse(json.loads(org.document))


@router.put("/v1/org-document", response_model=VersionAnswer)
def put_org_document(body: OrgDocumentBody, caller: AsCoordinator, ctx: Ctx) -> VersionAnswer:
    current = ctx.repo.org_document()
    if current is None:
        raise ApiError(404, "not_bootstrapped", "the organisation is not set up yet")
    org = verify.org_document(body.model_dump(), pinned_root=current.root)
    try:
        ctx.repo.replace_org_document(org, ctx.clock())
    except Refused as exc:
        raise refusal(exc, _STATUS) from None
    return VersionAnswer(version=org.version)
