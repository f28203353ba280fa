"""Resumable blob upload and download.

`POST /v1/blobs` declares a blob (id, size, SHA-256) and answers the current offset, so the
same call both starts and resumes. `PUT /v1/blobs/{id}/chunks?offset=N` appends bytes at exactly
the server's offset (`offset_mismatch` otherwise, with the server's offset). When the last byte
arrives the whole file is hashed: on a match it becomes downloadable, on a mismatch the upload
starts again from 0 (`hash_mismatch`). Only the uploader may write; coordinators download.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from server.auth import AsCoordinator, AsMember, Caller, Ctx
from server.context import Services
from server.db.base import Blob, Refused
from server.errors import ApiError
from server.models import BlobBegin, BlobOffset, BlobStatus, ChunkAnswer
from server.routers import REFUSALS
from server.routers.org import refusal

router = APIRouter(tags=["blobs"], responses=REFUSALS)

BlobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
Offset = Annotated[int, Query(ge=0, le=2**53 - 1)]


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
        name = ctx.blobs.create()
        wanted = Blob(body.id, caller.key_id, body.size, body.sha256, 0, name, False)
        try:
            existing = ctx.repo.begin_blob(wanted, ctx.clock())
        except Refused as exc:
            ctx.blobs.discard(name)
            raise refusal(exc, {"blob_conflict": 409}) from None
        if existing.storage_name != name:
            ctx.blobs.discard(name)
        else:
            return JSONResponse({"offset": existing.offset}, status_code=201)
    if (existing.owner, existing.size, existing.sha256) != (caller.key_id, body.size, body.sha256):
        raise ApiError(409, "blob_conflict", "a different blob with this id exists")
    return JSONResponse({"offset": existing.offset}, status_code=200)


@router.get("/v1/blobs/{blob_id}/status", response_model=BlobStatus)
def status(blob_id: BlobId, caller: AsMember, ctx: Ctx) -> BlobStatus:
    blob = ctx.repo.blob(blob_id)
    if blob is None or (caller.role != "coordinator" and blob.owner != caller.key_id):
        raise ApiError(404, "not_found", "no such blob")
    return BlobStatus(offset=blob.offset, size=blob.size, complete=blob.complete)


@router.put(
    "/v1/blobs/{blob_id}/chunks",
    response_model=ChunkAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary", "maxLength": 4194304}
                }
            },
        }
    },
)
async def chunk(
    request: Request, blob_id: BlobId, caller: AsMember, ctx: Ctx, offset: Offset
) -> ChunkAnswer:
    data = await request.body()
    return await run_in_threadpool(_write_chunk, ctx, caller, blob_id, offset, data)


def _write_chunk(ctx: Services, caller: Caller, blob_id: str, offset: int, data: bytes) -> Any:
    blob = _owned(ctx, blob_id, caller)
    if blob.complete:
        return ChunkAnswer(offset=blob.size, complete=True)
    try:
        return _write_locked(ctx, caller, blob, offset, data)
    except FileNotFoundError:
        # Finished by another request meanwhile, or the file was lost: start a fresh one.
        blob = _owned(ctx, blob_id, caller)
        if blob.complete:
            return ChunkAnswer(offset=blob.size, complete=True)
        ctx.repo.reset_blob(blob_id, ctx.blobs.create())
        raise ApiError(409, "offset_mismatch", "the upload restarts", offset=0) from None


def _write_locked(ctx: Services, caller: Caller, blob: Blob, offset: int, data: bytes) -> Any:
    blob_id, locked_name = blob.id, blob.storage_name
    with ctx.blobs.locked(locked_name):
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
            ctx.blobs.write_at(blob.storage_name, offset, data)
            if not ctx.repo.advance_blob(blob_id, offset, end):
                raise ApiError(409, "offset_mismatch", "the upload moved", offset=offset)
        if end < blob.size:
            return ChunkAnswer(offset=end, complete=False)
        if ctx.blobs.digest(blob.storage_name) != blob.sha256:
            ctx.repo.reset_blob(blob_id, ctx.blobs.create())
            ctx.blobs.discard(blob.storage_name)
            raise ApiError(422, "hash_mismatch", "the bytes do not match the declared SHA-256")
        final = ctx.blobs.finish(blob.storage_name)
        ctx.repo.finish_blob(blob_id, final, ctx.clock())
    return ChunkAnswer(offset=end, complete=True)


@router.get(
    "/v1/blobs/{blob_id}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The blob"}},
)
def download(blob_id: BlobId, caller: AsCoordinator, ctx: Ctx) -> StreamingResponse:
    blob = ctx.repo.blob(blob_id)
    if blob is None:
        raise ApiError(404, "not_found", "no such blob")
    if not blob.complete:
        raise ApiError(409, "blob_incomplete", "the upload has not finished")
    return StreamingResponse(
        ctx.blobs.read(blob.storage_name),
        media_type="application/octet-stream",
        headers={"Content-Length": str(ctx.blobs.size(blob.storage_name))},
    )
