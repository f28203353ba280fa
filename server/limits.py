"""Body size limits and who may send a large body, enforced before the body is read.

`BodyLimitMiddleware` refuses a request whose `Content-Length` is over its route's limit with
413 `body_too_large` without reading a byte of it, and counts the bytes of bodies sent without a
length (chunked), refusing as soon as the count passes the limit. Limits are in
`server.config`: blob chunks 128 MiB (`BLOB_CHUNK_LIMIT`, streamed into the upload as they
arrive; the route reads at most `BLOB_BUFFERED_LIMIT`, 16 MiB, of one it cannot stream),
envelope batches 4 MiB, org documents 2 MiB, any other body 1 MiB.

A body that may be longer than `PREAUTH_BODY_LIMIT` (64 KiB: a declared length past it, or no
length at all) is read only after `server.auth.preauthenticate` accepted the headers: the
signature over the declared body digest, or for older clients at least a current request from
an enrolled key. So someone who holds no member's key never makes the server read more than the
first 64 KiB of anything.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.auth import preauthenticate
from server.config import (
    BLOB_CHUNK_LIMIT,
    ENVELOPE_BATCH_LIMIT,
    JSON_BODY_LIMIT,
    MIB,
    PREAUTH_BODY_LIMIT,
)
from server.errors import ApiError, BodyTooLarge, error_response

ORG_DOCUMENT_LIMIT = 2 * MIB
_CHUNK_PATH = re.compile(r"\A/v1/blobs/[^/]+/chunks\Z")


def limit_for(method: str, path: str) -> int:
    if method == "PUT" and _CHUNK_PATH.match(path):
        return BLOB_CHUNK_LIMIT
    if path == "/v1/envelopes":
        return ENVELOPE_BATCH_LIMIT
    if path in ("/v1/org-document", "/v1/bootstrap"):
        return ORG_DOCUMENT_LIMIT
    return JSON_BODY_LIMIT


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["method"], scope["path"])
        declared = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None:
            if not declared.isdigit():
                await error_response(ApiError(400, "bad_request", "bad Content-Length"))(
                    scope, receive, send
                )
                return
            if int(declared) > limit:
                await error_response(BodyTooLarge(limit))(scope, receive, send)
                return
        if (declared is not None and int(declared) > PREAUTH_BODY_LIMIT) or (
            declared is None and chunked
        ):
            refusal = await preauthenticate(scope)
            if refusal is not None:
                await error_response(refusal)(scope, receive, send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await error_response(exc)(scope, receive, send)
