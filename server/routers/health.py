"""`GET /v1/health`: unauthenticated liveness; touches nothing.

It answers `{"status": "ok"}`, for load balancers, proxies' health checks and the apps' "is the
server there" probe. The server's version is added only when the operator publishes the API
description (`ServerConfig.publish_api`): a release number answered to anyone tells a scanner
which known weaknesses to try, and which organisations run this software.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from core.version import __version__
from server.models import Health

router = APIRouter(tags=["health"])


@router.get("/v1/health", response_model=Health, response_model_exclude_none=True)
def health(request: Request) -> Health:
    if request.app.state.config.publish_api:
        return Health(status="ok", version=__version__)
    return Health(status="ok")
