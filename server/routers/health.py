"""`GET /v1/health`: unauthenticated liveness and version; touches nothing."""

from __future__ import annotations

from fastapi import APIRouter

from app.version import __version__
from server.models import Health

router = APIRouter(tags=["health"])


@router.get("/v1/health", response_model=Health)
def health() -> Health:
    return Health(status="ok", version=__version__)
