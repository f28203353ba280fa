"""Uploading a spooled blob (`sync.upload`) where the way to the server takes less than it says."""

from __future__ import annotations

import io

from core.records import Kind, Record
from sync.engine import SyncEngine
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
