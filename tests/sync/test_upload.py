"""Uploading a spooled blob (`sync.upload`) where the way to the server takes less than it says."""

from __future__ import annotations

import io
from typing import Any

import pytest

from core.records import Kind, Record
from sync.engine import SyncEngine
from sync.errors import ServerRefused
from sync.outbox import queue_record
from tests.sync.sync_fakes import FakeOrg, FakeServer, enrolled_device

MIB = 1024 * 1024


def test_a_proxy_that_refuses_the_chunks_the_server_takes_gets_a_quarter_of_them() -> None:
    org = FakeOrg.create()
    server = FakeServer(org)
    vault = enrolled_device(org)
    stored = vault.attach(io.BytesIO(b"v" * 90 * MIB), media_type="video/mp4", name="v")
    queue_record(vault, Record(kind=Kind.INCIDENT, data={"attachments": [stored.to_dict()]}))

    def through_a_proxy(identity: object) -> object:
        client = server.client(identity)  # type: ignore[arg-type]
        client.chunk_limit = 128 * MIB  # what the server says; the proxy takes 16 MiB
        return client

    server.chunk_limit = 16 * MIB
    engine = SyncEngine(vault, client_factory=through_a_proxy)  # type: ignore[arg-type]
    assert engine.run_once().blobs_sent == 1  # the fake checks the blob's SHA-256
    accepted = [length for _, _, length in server.chunks]
    assert max(server.streamed) > 16 * MIB  # refused, then sent again in smaller chunks
    assert max(accepted) <= 16 * MIB and engine.pacer.largest < 128 * MIB


def test_an_upload_the_server_is_still_receiving_ends_the_round_retryable_and_resumes_later() -> (
    None
):
    org = FakeOrg.create()
    server = FakeServer(org)
    vault = enrolled_device(org)
    stored = vault.attach(io.BytesIO(b"p" * 3 * MIB), media_type="image/jpeg", name="p")
    queue_record(vault, Record(kind=Kind.INCIDENT, data={"attachments": [stored.to_dict()]}))
    busy_answers: list[int] = []

    def busy_once(identity: object) -> object:
        client = server.client(identity)  # type: ignore[arg-type]
        sending = client.blob_chunk

        def blob_chunk(blob_id: str, offset: int, data: Any, **signed: Any) -> tuple[int, bool]:
            if not busy_answers:  # the server still receives a chunk from a cut connection
                busy_answers.append(offset)
                raise ServerRefused("upload_busy", status=409)
            return sending(blob_id, offset, data, **signed)

        client.blob_chunk = blob_chunk  # type: ignore[method-assign]
        return client

    engine = SyncEngine(vault, client_factory=busy_once)  # type: ignore[arg-type]
    with pytest.raises(ServerRefused) as busy:
        engine.run_once()
    assert busy.value.reason == "upload_busy" and busy.value.retryable  # the loop backs off
    assert busy_answers == [0] and server.chunks == []  # one try, no hot loop
    assert engine.run_once().blobs_sent == 1  # the next round resumes and finishes
