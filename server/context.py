"""What every request handler works with: the repository, the blob store and the clock.

`create_app` builds one `Services` and keeps it on `app.state`; handlers get it with
`Depends(services)`. `quotas` are the per-device limits `server.quotas` enforces. Tests pass
their own clock to move time without sleeping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from starlette.requests import Request

from server.blobs import BlobStore
from server.config import Quotas
from server.db.base import Repository


@dataclasses.dataclass
class Services:
    repo: Repository
    blobs: BlobStore
    clock: Callable[[], int]
    quotas: Quotas = dataclasses.field(default_factory=Quotas)


async def services(request: Request) -> Services:
    """Async on purpose: FastAPI runs plain functions in its thread pool, a needless hop here."""
    found: Services = request.app.state.services
    return found
