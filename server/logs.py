"""Logging that never records who connected: no IP addresses, no user agents, no bodies.

`LOG_CONFIG` replaces uvicorn's default configuration (whose access log prints the client's
address); `AccessLogMiddleware` writes one line per request with the method, the path with ids
masked, the status and the time taken. Nothing else about a request is logged.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOGGER = "fieldvault.server.access"
_IDS = re.compile(r"/[0-9a-f]{32}(?=/|$)")

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        "fieldvault": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def masked_path(path: str) -> str:
    return _IDS.sub("/{id}", path)


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            if self.log.isEnabledFor(logging.INFO):
                self.log.info(
                    "%s %s %d %.1fms",
                    scope["method"],
                    masked_path(scope["path"])[:200],
                    status,
                    (time.perf_counter() - started) * 1000,
                )
