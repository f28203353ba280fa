"""Refusals: every error the server sends is a 4xx with `{"error": reason, "detail": text}`.

Raise `ApiError(status, reason, detail)` anywhere in a request; `install_error_handlers(app)`
turns it, FastAPI's validation errors and Starlette's HTTP errors into that shape. Reasons are
the machine-readable names of docs/protocol.md. A detail is for developers: it must never carry
a key, a token, a nonce, a payload or anything else a client sent.

Error tree:

    ApiError               a refusal with a status, a reason and optional extra fields
    └── BodyTooLarge       raised while a body is streamed in past its limit (413)
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("fieldvault.server")


class ApiError(StarletteHTTPException):
    """A refusal. Subclasses Starlette's HTTPException so it passes through body parsing."""

    def __init__(self, status: int, reason: str, detail: str, **extra: Any) -> None:
        super().__init__(status_code=status, detail=detail)
        self.reason = reason
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.reason, "detail": str(self.detail), **self.extra}


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, "body_too_large", f"request body exceeds {limit} bytes")


class ErrorBody(BaseModel):
    """What every refusal looks like (documented in the OpenAPI document)."""

    model_config = ConfigDict(extra="allow")
    error: str
    detail: str


_STATUS_REASONS = {
    400: "bad_request",
    401: "missing_auth",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_body",
}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for item in exc.errors()[:5]:
        location = ".".join(str(p) for p in item.get("loc", ()))
        parts.append(f"{location}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Route every refusal through one JSON shape; nothing user-supplied is echoed back."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = {str(item.get("loc", ("",))[0]) for item in exc.errors()}
        reason = "invalid_body" if where <= {"body"} else "invalid_request"
        return JSONResponse({"error": reason, "detail": _describe_validation(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        reason = _STATUS_REASONS.get(status, "bad_request")
        detail = str(exc.detail) if isinstance(exc.detail, str) else reason
        return JSONResponse(
            {"error": reason, "detail": detail}, status_code=status, headers=exc.headers
        )
