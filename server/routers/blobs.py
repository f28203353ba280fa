"""Resumable blob upload and download.

`POST /v1/blobs` declares a blob (id, size, SHA-256) and answers the current offset, so the
same call both starts and resumes. `PUT /v1/blobs/{id}/chunks?offset=N` appends bytes at exactly
the server's offset (`offset_mismatch` otherwise, with the server's offset). When the last byte
arrives the whole file is hashed: on a match it becomes downloadable, on a mismatch the upload
starts again from 0 (`hash_mismatch`). Only the uploader may write; coordinators download.
A device's new declarations count against its daily quotas (`server.quotas`); resuming one
already declared never does. A download takes one `Range: bytes=N-` or `bytes=N-M` (206 with
`Content-Range`), so a coordinator whose connection dropped asks only for the rest; anything
else in `Range` is ignored (the whole blob, 200), as HTTP allows.

A chunk whose signature covers a digest named in its headers (the upload's digest,
`X-FieldVault-Upload-SHA256`, or its body's, `X-FieldVault-Content-SHA256`) is authenticated
(signature, caller, nonce) before anything else, whatever its length; if it comes from the
upload's owner, at the right offset and with a `Content-Length`, it is then streamed into the
file as it arrives with the upload locked, and kept only if its bytes match the digest its
signature covers (otherwise the file is cut back to where the chunk started). A chunk whose
signature covers only its body is read whole (at most `BLOB_BUFFERED_LIMIT`) and authenticated
before it goes near the lock. Every other chunk takes the plain path (body read whole, then
written), so refusals keep their order; that path reads at most `BLOB_BUFFERED_LIMIT` (16 MiB),
and a larger chunk signed over its upload's digest gets the answer it would have had without
being read (`_unstreamed`). Chunks up to `BLOB_CHUNK_LIMIT` (128 MiB, told to devices in the
`X-FieldVault-Chunk-Limit` header of every `POST /v1/blobs` answer) are streamed.

The upload's lock is only ever tried, never waited for (`BlobStore.locked(wait=False)`): a
chunk for an upload another chunk is being written to is answered 409 `upload_busy` with the
upload's offset, at once. A worker thread waiting for the lock would be a thread the lock's
holder may need to let go of it; enough such chunks would stall every route. The holder lets
go on threads of its own (`_LOCK_HOLDERS`), not the shared pool, and its body has a deadline
(`server.blob_pipe.chunk_deadline`) besides the idle timeout, so no chunk holds it for long.

Hashing: a chunk signed over its upload's digest (`X-FieldVault-Upload-SHA256`, what current
devices send) is hashed once, into the upload's running SHA-256, whose value when the body is
in is what the signature must cover; one signed over its body's digest (older clients) is
hashed twice, for the signature and for the upload. A chunk whose signature holds for the
digest it announced but not for the bytes that arrived means the upload here differs from the
device's copy (a power cut took bytes back): the upload restarts (`hash_mismatch`). The
hashing and the writing run on a thread each while the event loop receives the next bytes
(`server.blob_pipe`).

Danger: on the streamed path bytes reach the store before they are authenticated; they must
never be kept and counted (`Appender.keep`) unless `_stream_chunk` accepted them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from server import quotas
from server.auth import (
    AUTH_DETAILS,
    AsCoordinator,
    AsMember,
    Caller,
    Ctx,
    is_sha256_hex,
    member,
    path_and_query,
    signed,
)
from server.blob_pipe import pipe_body
from server.blobs import Appender, UploadBusy
from server.config import BLOB_BUFFERED_LIMIT, BLOB_CHUNK_LIMIT
from server.context import Services
from server.db.base import Blob, Refused
from server.errors import ApiError, BodyTooLarge, ErrorBody
from server.models import BlobBegin, BlobOffset, BlobStatus, ChunkAnswer
from server.routers import QUOTA_REFUSALS, refusal
from sync.auth import (
    HEADER_CONTENT_SHA256,
    HEADER_UPLOAD_SHA256,
    AuthError,
    VerifiedRequest,
    upload_digest_field,
    verify_request_digest,
)
from sync.pacing import HEADER_CHUNK_LIMIT

router = APIRouter(tags=["blobs"], responses=QUOTA_REFUSALS)

BlobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
Offset = Annotated[int, Query(ge=0, le=2**53 - 1)]

_LOCK_HOLDERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fieldvault-upload-lock")
"""Where a streamed chunk keeps or undoes its bytes and lets go of its upload's lock: threads
of their own, so a lock's release never waits for the shared pool (busy with other routes)."""
_T = TypeVar("_T")


async def _as_holder(work: Callable[..., _T], *args: Any) -> _T:
    """`work(*args)` on a `_LOCK_HOLDERS` thread (it runs to the end even if the request is
    cancelled meanwhile, so the lock is always let go)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_LOCK_HOLDERS, functools.partial(work, *args))


def _busy(blob: Blob) -> ApiError:
    return ApiError(
        409,
        "upload_busy",
        "another chunk of this upload is being received: try again later",
        offset=blob.offset,
    )


def _owned(ctx: Services, blob_id: str, caller: Caller) -> Blob:
    blob = ctx.repo.blob(blob_id)
    if blob is None or blob.owner != caller.key_id:
        raise ApiError(404, "not_found", "no such upload")
    return blob


@router.post(
    "/v1/blobs",
    status_code=201,
    response_model=BlobOffset,
    responses={200: {"model": BlobOffset, "description": "Already declared: resume here"}},
)
def begin(body: BlobBegin, caller: AsMember, ctx: Ctx) -> Any:
    existing = ctx.repo.blob(body.id)
    if existing is None:
        quotas.check_blob_declaration(ctx, caller, body.size)  # resuming is never refused
        name = ctx.blobs.create()
        wanted = Blob(body.id, caller.key_id, body.size, body.sha256, 0, name, False)
        try:
            existing = ctx.repo.begin_blob(wanted, ctx.clock())
        except Refused as exc:
            ctx.blobs.discard(name)
            raise refusal(exc) from None
        if existing.storage_name != name:
            ctx.blobs.discard(name)
        else:
            return _offset_answer(existing.offset, 201)
    if (existing.owner, existing.size, existing.sha256) != (caller.key_id, body.size, body.sha256):
        raise ApiError(409, "blob_conflict", "a different blob with this id exists")
    return _offset_answer(existing.offset, 200)


def _offset_answer(offset: int, status: int) -> JSONResponse:
    """Where the upload stands, and the largest chunk this server takes."""
    return JSONResponse(
        {"offset": offset},
        status_code=status,
        headers={HEADER_CHUNK_LIMIT: str(BLOB_CHUNK_LIMIT)},
    )


@router.get("/v1/blobs/{blob_id}/status", response_model=BlobStatus)
def status(blob_id: BlobId, caller: AsMember, ctx: Ctx) -> BlobStatus:
    blob = ctx.repo.blob(blob_id)
    if blob is None or (caller.role != "coordinator" and blob.owner != caller.key_id):
        raise ApiError(404, "not_found", "no such blob")
    return BlobStatus(offset=blob.offset, size=blob.size, complete=blob.complete)


@router.put(
    "/v1/blobs/{blob_id}/chunks",
    response_model=ChunkAnswer,
    responses={408: {"model": ErrorBody, "description": "The chunk stopped arriving"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary", "maxLength": BLOB_CHUNK_LIMIT}
                }
            },
        }
    },
)
async def chunk(request: Request, blob_id: BlobId, ctx: Ctx, offset: Offset) -> Any:
    # A chunk signed over a digest its headers name is authenticated first, then (the common
    # case: the owner sending the next chunk with a Content-Length) streamed straight into the
    # upload; anything else reads the body first. Refusals keep the usual order (401, 403,
    # 404, 409, 422), and nothing unauthenticated ever takes, or waits for, an upload's lock.
    length = _content_length(request)
    upload = request.headers.get(HEADER_UPLOAD_SHA256)
    if upload is not None and not is_sha256_hex(upload):
        raise ApiError(401, "malformed_auth", AUTH_DETAILS["malformed_auth"])
    announced = _announced_digest(request, upload)
    if announced is None:  # signed over its body alone (an older device): read it whole first
        if length is not None and length > BLOB_BUFFERED_LIMIT:
            raise BodyTooLarge(BLOB_BUFFERED_LIMIT)  # its signature needs the body read whole
        verified = await signed(request, ctx)
        caller = await run_in_threadpool(member, verified, ctx)
        data = await _body_within(request, BLOB_BUFFERED_LIMIT)
        return await run_in_threadpool(_write_chunk, ctx, caller, blob_id, offset, data, None)
    verified = _verify_digest(request, announced, ctx)
    caller = await run_in_threadpool(member, verified, ctx)
    if length is not None and length > 0:
        stack = contextlib.ExitStack()
        opened = await run_in_threadpool(
            _open_streamed, ctx, blob_id, caller, offset, length, upload, stack
        )
        if opened is not None:
            return await _stream_chunk(
                request, ctx, caller, *opened, offset, length, upload, announced, stack
            )
    if length is not None and length > BLOB_BUFFERED_LIMIT:
        if upload is None:
            raise BodyTooLarge(BLOB_BUFFERED_LIMIT)
        return await run_in_threadpool(_unstreamed, ctx, caller, blob_id, offset, length)
    data = await _body_within(request, BLOB_BUFFERED_LIMIT)
    if upload is None and hashlib.sha256(data).hexdigest() != announced:
        raise ApiError(401, "bad_signature", AUTH_DETAILS["bad_signature"])
    return await run_in_threadpool(_write_chunk, ctx, caller, blob_id, offset, data, upload)


def _announced_digest(request: Request, upload: str | None) -> str | None:
    """The digest field the request's signature covers, if its headers name it: the upload's
    digest (current devices), else the body's `X-FieldVault-Content-SHA256`; None if only the
    body itself can tell."""
    if upload is not None:
        return upload_digest_field(upload)
    claimed = request.headers.get(HEADER_CONTENT_SHA256)
    if claimed is not None and request.headers.get(HEADER_UPLOAD_SHA256) is None:
        if not is_sha256_hex(claimed):
            raise ApiError(401, "malformed_auth", AUTH_DETAILS["malformed_auth"])
        return claimed
    return None


async def _body_within(request: Request, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it passes `limit` bytes."""
    pieces: list[bytes] = []
    received = 0
    async for piece in request.stream():
        received += len(piece)
        if received > limit:
            raise BodyTooLarge(limit)
        pieces.append(piece)
    return b"".join(pieces)


def _unstreamed(ctx: Services, caller: Caller, blob_id: str, offset: int, length: int) -> Any:
    """A chunk too large to read whole that the streamed path did not take: the answer the
    plain path would give, without reading it. If nothing is wrong with it now (the upload
    moved while the streamed path looked), `offset_mismatch` with the upload's offset: send
    it again."""
    blob = _owned(ctx, blob_id, caller)
    if blob.complete:
        return ChunkAnswer(offset=blob.size, complete=True)
    if offset != blob.offset:
        raise ApiError(
            409, "offset_mismatch", f"the upload is at {blob.offset}", offset=blob.offset
        )
    if offset + length > blob.size:
        raise ApiError(422, "chunk_too_long", "the chunk goes past the declared size")
    try:
        with ctx.blobs.locked(blob.storage_name, wait=False):
            pass
    except FileNotFoundError:
        return _lost(ctx, caller, blob_id)
    except UploadBusy:
        raise _busy(blob) from None
    raise ApiError(409, "offset_mismatch", "the upload moved meanwhile", offset=blob.offset)


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _open_streamed(
    ctx: Services,
    blob_id: str,
    caller: Caller,
    offset: int,
    length: int,
    upload: str | None,
    stack: contextlib.ExitStack,
) -> tuple[Blob, Appender] | None:
    """(One worker-thread call.) The upload, locked (`stack` holds the lock), and an appender
    at `offset`, if this chunk can be streamed: the (authenticated) caller owns the upload,
    which is at `offset` and has room for `length` bytes. Otherwise None, holding nothing: the
    plain path answers. 409 `upload_busy` if another chunk holds the lock: never waited for."""
    blob = ctx.repo.blob(blob_id)
    if (
        blob is None
        or blob.owner != caller.key_id
        or blob.complete
        or blob.offset != offset
        or offset + length > blob.size
    ):
        return None
    try:
        appender = _open_chunk(ctx, blob, offset, upload, stack)
    except BaseException:
        stack.close()
        raise
    if appender is None:
        stack.close()
        return None
    return blob, appender


async def _stream_chunk(
    request: Request,
    ctx: Services,
    caller: Caller,
    blob: Blob,
    appender: Appender,
    offset: int,
    length: int,
    upload: str | None,
    announced: str,
    stack: contextlib.ExitStack,
) -> Any:
    """Write the body into the upload as it arrives, hashing it: into the upload's running
    hash when the chunk is signed over the upload's digest (`upload`), else into a hash of its
    own as well. The caller and the signature over the `announced` digest were checked before;
    the bytes are kept only if they match that digest and the offset still holds once the body
    is in, else undone. The lock (`stack`) is let go either way, on a `_LOCK_HOLDERS` thread,
    in the same call that keeps or undoes them."""
    try:
        body_hash = hashlib.sha256() if upload is None else None
        await pipe_body(request, appender, body_hash, blob.size - offset, length)
        if upload is not None:
            if appender.upload_digest() != upload:
                # the signature holds for the digest the device announced, not for these bytes:
                # the upload here is not the device's copy (a power cut took bytes back)
                await _as_holder(_restart_from, ctx, blob, appender, stack)
                raise _restarted()
        else:
            assert body_hash is not None
            if body_hash.hexdigest() != announced:
                raise ApiError(401, "bad_signature", AUTH_DETAILS["bad_signature"])
    except BaseException:
        await _as_holder(_undo, appender, stack)
        raise
    return await _as_holder(_accept, ctx, caller, blob, offset, appender, stack)


def _undo(appender: Appender, stack: contextlib.ExitStack) -> None:
    with stack:
        appender.undo()


def _restart_from(
    ctx: Services, blob: Blob, appender: Appender, stack: contextlib.ExitStack
) -> None:
    """Undo the chunk, start the upload again from 0 and let go of the lock."""
    with stack:
        appender.undo()
        _restart(ctx, blob)


def _open_chunk(
    ctx: Services, blob: Blob, offset: int, upload: str | None, stack: contextlib.ExitStack
) -> Appender | None:
    """Lock the upload (held by `stack`) and start appending at `offset` (ready to keep the
    upload's running hash if the chunk is signed over it); None if the upload moved."""
    try:
        stack.enter_context(ctx.blobs.locked(blob.storage_name, wait=False))
    except FileNotFoundError:
        return None
    except UploadBusy:
        raise _busy(blob) from None
    now = ctx.repo.blob(blob.id)
    if now is None or now.storage_name != blob.storage_name or now.offset != offset:
        return None
    appender = ctx.blobs.append(blob.storage_name, offset)
    if upload is not None:
        try:
            appender.hash_upload()
        except BaseException:
            appender.undo()
            raise
    return appender


def _accept(
    ctx: Services,
    caller: Caller,
    blob: Blob,
    offset: int,
    appender: Appender,
    stack: contextlib.ExitStack,
) -> Any:
    """The bytes are the ones signed for: keep the chunk (undone if anything fails); then let
    go of the upload's lock."""
    with stack:
        try:
            if caller.key_id != blob.owner:
                raise ApiError(404, "not_found", "no such upload")
            return _record_chunk(ctx, blob, offset, offset + appender.written, appender)
        except BaseException:
            appender.undo()
            raise


def _verify_digest(request: Request, digest: str, ctx: Services) -> VerifiedRequest:
    try:
        return verify_request_digest(
            dict(request.headers),
            request.method,
            path_and_query(request),
            digest,
            now=ctx.clock(),
        )
    except AuthError as exc:
        raise ApiError(401, exc.reason, AUTH_DETAILS.get(exc.reason, "refused")) from None


def _restarted() -> ApiError:
    return ApiError(422, "hash_mismatch", "the bytes do not match the declared SHA-256")


def _restart(ctx: Services, blob: Blob) -> None:
    """(Lock held.) Start the upload again from 0 in a fresh file."""
    ctx.repo.reset_blob(blob.id, ctx.blobs.create())
    ctx.blobs.discard(blob.storage_name)


def _record_chunk(ctx: Services, blob: Blob, offset: int, end: int, appender: Appender) -> Any:
    """Under the upload's lock: count the streamed bytes, and finish the blob if complete."""
    if not appender.keep(blob.id):  # the bytes and the offset move together, or neither
        raise ApiError(409, "offset_mismatch", "the upload moved", offset=offset)
    if end < blob.size:
        return ChunkAnswer(offset=end, complete=False)
    return _complete(ctx, blob)


def _write_chunk(
    ctx: Services, caller: Caller, blob_id: str, offset: int, data: bytes, upload: str | None
) -> Any:
    blob = _owned(ctx, blob_id, caller)
    if blob.complete:
        return ChunkAnswer(offset=blob.size, complete=True)
    try:
        return _write_locked(ctx, caller, blob, offset, data, upload)
    except FileNotFoundError:
        return _lost(ctx, caller, blob_id)


def _lost(ctx: Services, caller: Caller, blob_id: str) -> Any:
    """The upload's file is gone: finished by another request meanwhile, or lost (then start
    a fresh one, from 0)."""
    blob = _owned(ctx, blob_id, caller)
    if blob.complete:
        return ChunkAnswer(offset=blob.size, complete=True)
    ctx.repo.reset_blob(blob_id, ctx.blobs.create())
    raise ApiError(409, "offset_mismatch", "the upload restarts", offset=0)


def _write_locked(
    ctx: Services, caller: Caller, blob: Blob, offset: int, data: bytes, upload: str | None
) -> Any:
    blob_id, locked_name = blob.id, blob.storage_name
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(ctx.blobs.locked(locked_name, wait=False))
        except UploadBusy:
            raise _busy(blob) from None
        blob = _owned(ctx, blob_id, caller)  # as it is now that we hold the lock
        if blob.complete:
            return ChunkAnswer(offset=blob.size, complete=True)
        if offset != blob.offset or blob.storage_name != locked_name:
            raise ApiError(
                409, "offset_mismatch", f"the upload is at {blob.offset}", offset=blob.offset
            )
        end = offset + len(data)
        if end > blob.size:
            raise ApiError(422, "chunk_too_long", "the chunk goes past the declared size")
        if data:
            appender = ctx.blobs.append(blob.storage_name, offset)
            try:
                if upload is not None:
                    appender.hash_upload()
                appender.write(data)
                if upload is not None and appender.upload_digest() != upload:
                    appender.undo()
                    _restart(ctx, blob)
                    raise _restarted()
            except BaseException:
                appender.undo()
                raise
            if not appender.keep(blob_id):
                raise ApiError(409, "offset_mismatch", "the upload moved", offset=offset)
        if end < blob.size:
            return ChunkAnswer(offset=end, complete=False)
        return _complete(ctx, blob)


def _complete(ctx: Services, blob: Blob) -> Any:
    """The last byte is in (lock held): check the whole file's hash, then publish or restart."""
    if ctx.blobs.digest(blob.storage_name) != blob.sha256:
        _restart(ctx, blob)
        raise _restarted()
    final = ctx.blobs.finish(blob.storage_name)
    ctx.repo.finish_blob(blob.id, final, ctx.clock())
    return ChunkAnswer(offset=blob.size, complete=True)


@router.get(
    "/v1/blobs/{blob_id}",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The blob"},
        206: {"content": {"application/octet-stream": {}}, "description": "The range asked for"},
        416: {"model": ErrorBody, "description": "The range starts past the end"},
    },
)
def download(
    blob_id: BlobId,
    caller: AsCoordinator,
    ctx: Ctx,
    range_: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
) -> StreamingResponse:
    blob = ctx.repo.blob(blob_id)
    if blob is None:
        raise ApiError(404, "not_found", "no such blob")
    if not blob.complete:
        raise ApiError(409, "blob_incomplete", "the upload has not finished")
    size = ctx.blobs.size(blob.storage_name)
    wanted = _byte_range(range_, size)
    if wanted is None:
        return StreamingResponse(
            ctx.blobs.read(blob.storage_name),
            media_type="application/octet-stream",
            headers={"Content-Length": str(size), "Accept-Ranges": "bytes"},
        )
    start, end = wanted
    if start >= size:
        raise ApiError(
            416, "range_not_satisfiable", f"the blob has {size} bytes", content_range=f"*/{size}"
        )
    return StreamingResponse(
        _first(ctx.blobs.read(blob.storage_name, start), end - start),
        status_code=206,
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(end - start),
            "Content-Range": f"bytes {start}-{end - 1}/{size}",
            "Accept-Ranges": "bytes",
        },
    )


_RANGE = re.compile(r"\Abytes=([0-9]{1,15})-([0-9]{0,15})\Z")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """`bytes=N-` or `bytes=N-M` as (start, end exclusive); None for anything else."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    start = int(match.group(1))
    if not match.group(2):
        return start, max(start, size)
    last = int(match.group(2))
    if last < start:
        return None
    return start, min(last + 1, size)


def _first(pieces: Iterator[bytes], length: int) -> Iterator[bytes]:
    """The first `length` bytes of a stream of pieces."""
    for piece in pieces:
        if length <= 0:
            return
        yield piece[:length]
        length -= len(piece)
