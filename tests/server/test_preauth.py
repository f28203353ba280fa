"""Who is asking is settled before a large body is read.

Today's attack: anyone who can reach the server sends a 16 MiB blob chunk or a 4 MiB envelope
batch with no valid signature, and the server reads all of it before refusing. These tests drive
the real application with a body source that counts what the server pulled: past the first
64 KiB nothing may be read until the signature over the declared digest verified (or, for older
clients without the digest header, the key is enrolled and the request current).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import time
from pathlib import Path
from typing import Any

from starlette.types import Message

from core.crypto.signing import SigningKey
from server.config import (
    BLOB_BUFFERED_LIMIT,
    BLOB_CHUNK_LIMIT,
    ENVELOPE_BATCH_LIMIT,
    PREAUTH_BODY_LIMIT,
)
from sync.auth import HEADER_CONTENT_SHA256, HEADER_UPLOAD_SHA256, sign_request
from sync.encoding import canonical_json
from tests.server.conftest import Server
from tests.server.helpers import Actor
from tests.support.live_server import start_live_server

PIECE = 64 * 1024
BLOB_ID = "ab" * 16


class Pulled:
    """An ASGI call whose body is produced on demand, counting the bytes the server pulled."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.pulled = 0

    def call(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        length: int,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, Any]]:
        path, _, query = target.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
            + [(b"content-length", str(length).encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("testserver", 80),
        }
        sent: list[Message] = []

        async def receive() -> Message:
            if self.pulled >= length:
                await asyncio.sleep(3600)  # a client that has nothing more to send
            size = min(PIECE, length - self.pulled)
            start = self.pulled
            self.pulled += size
            piece = body[start : start + size] if body is not None else b"\0" * size
            return {"type": "http.request", "body": piece, "more_body": self.pulled < length}

        async def send(message: Message) -> None:
            sent.append(message)

        asyncio.run(asyncio.wait_for(self.server.app(scope, receive, send), 60))
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return status, json.loads(answer)


def _signed(key: SigningKey, method: str, target: str, body: bytes, now: int) -> dict[str, str]:
    return sign_request(key, method, target, body, now=now)


def test_an_unsigned_large_chunk_is_refused_before_its_body_is_read(org_server: Server) -> None:
    probe = Pulled(org_server)
    status, answer = probe.call("PUT", f"/v1/blobs/{BLOB_ID}/chunks?offset=0", {}, BLOB_CHUNK_LIMIT)
    assert (status, answer["error"]) == (401, "missing_auth")
    assert probe.pulled == 0


def test_a_key_nobody_enrolled_is_refused_before_its_body_is_read(org_server: Server) -> None:
    body = b"\0" * ENVELOPE_BATCH_LIMIT
    stranger = SigningKey.generate()
    probe = Pulled(org_server)
    headers = _signed(stranger, "POST", "/v1/envelopes", body, org_server.clock())
    status, answer = probe.call("POST", "/v1/envelopes", headers, len(body))
    assert (status, answer["error"]) == (403, "unknown_key")
    assert probe.pulled == 0


def test_a_forged_signature_under_a_members_key_is_refused_before_the_body_is_read(
    org_server: Server, device: Actor
) -> None:
    # Whoever learnt a device's public key (a seized phone shows the coordinators' too) cannot
    # sign, so the signature over the declared digest fails before a byte is read.
    target = f"/v1/blobs/{BLOB_ID}/chunks?offset=0"
    real = _signed(device.key, "PUT", target, b"what was signed", org_server.clock())
    forged = {**real, HEADER_CONTENT_SHA256: hashlib.sha256(b"x" * BLOB_CHUNK_LIMIT).hexdigest()}
    probe = Pulled(org_server)
    status, answer = probe.call("PUT", target, forged, BLOB_CHUNK_LIMIT)
    assert (status, answer["error"]) == (401, "bad_signature")
    assert probe.pulled == 0


def test_a_stale_request_without_a_digest_header_is_refused_before_its_body_is_read(
    org_server: Server, device: Actor
) -> None:
    body = b"\0" * (PREAUTH_BODY_LIMIT + 1)
    old = _signed(device.key, "POST", "/v1/envelopes", body, org_server.clock() - 3600)
    old.pop(HEADER_CONTENT_SHA256)
    probe = Pulled(org_server)
    status, answer = probe.call("POST", "/v1/envelopes", old, len(body))
    assert (status, answer["error"]) == (401, "stale_request")
    assert probe.pulled == 0


def test_a_revoked_device_cannot_make_the_server_read_a_large_body(
    org_server: Server, device: Actor
) -> None:
    coordinator = org_server.org.coordinator
    revoked = org_server.api.call("POST", f"/v1/devices/{device.id}/revoke", coordinator)
    assert revoked.status_code == 200
    body = b"\0" * ENVELOPE_BATCH_LIMIT
    probe = Pulled(org_server)
    headers = _signed(device.key, "POST", "/v1/envelopes", body, org_server.clock())
    status, answer = probe.call("POST", "/v1/envelopes", headers, len(body))
    assert (status, answer["error"]) == (403, "device_revoked")
    assert probe.pulled == 0


def test_a_large_bootstrap_body_is_refused_unread_once_the_organisation_exists(
    org_server: Server,
) -> None:
    probe = Pulled(org_server)
    status, answer = probe.call(
        "POST", "/v1/bootstrap", {"Content-Type": "application/json"}, 2 * 1024 * 1024
    )
    assert (status, answer["error"]) == (409, "already_bootstrapped")
    assert probe.pulled == 0


def test_a_body_that_is_not_the_one_whose_digest_was_signed_is_refused_and_nothing_stored(
    org_server: Server, device: Actor
) -> None:
    batch = canonical_json({"envelopes": [device.envelope(ciphertext=b"\1" * 100_000)]})
    headers = _signed(device.key, "POST", "/v1/envelopes", batch, org_server.clock())
    headers["Content-Type"] = "application/json"
    swapped = batch.replace(b'"seq":1', b'"seq":2')
    assert len(swapped) == len(batch) > PREAUTH_BODY_LIMIT
    status, answer = Pulled(org_server).call(
        "POST", "/v1/envelopes", headers, len(swapped), swapped
    )
    assert (status, answer["error"]) == (401, "bad_signature")
    assert org_server.repo.row_counts()["envelopes"] == 0


def test_a_large_signed_batch_is_stored_with_or_without_the_digest_header(
    org_server: Server, device: Actor
) -> None:
    for keep_digest in (True, False):  # current clients, and those from before the header
        batch = canonical_json({"envelopes": [device.envelope(ciphertext=b"\2" * 100_000)]})
        headers = _signed(device.key, "POST", "/v1/envelopes", batch, org_server.clock())
        headers["Content-Type"] = "application/json"
        if not keep_digest:
            headers.pop(HEADER_CONTENT_SHA256)
        status, answer = Pulled(org_server).call(
            "POST", "/v1/envelopes", headers, len(batch), batch
        )
        assert status == 200, answer
        assert answer["results"][0]["status"] == "stored"
    assert org_server.repo.row_counts()["envelopes"] == 2


def test_the_real_server_answers_a_stranger_without_waiting_for_the_body(tmp_path: Path) -> None:
    # Over a real socket: announce 16 MiB, send none of it. A server that reads first would sit
    # waiting for the body; this one refuses at once.
    with start_live_server(tmp_path / "server") as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                (
                    f"PUT /v1/blobs/{BLOB_ID}/chunks?offset=0 HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{port}\r\n"
                    f"Content-Length: {BLOB_CHUNK_LIMIT}\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n"
                ).encode()
            )
            began = time.monotonic()
            answer = b""
            while b"}" not in answer:  # the head and the JSON body may come in two segments
                piece = sock.recv(4096)
                if not piece:
                    break
                answer += piece
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert b"missing_auth" in answer
        assert time.monotonic() - began < 5


def test_a_time_in_other_digits_is_malformed_not_a_server_error(
    org_server: Server, device: Actor
) -> None:
    body = b"\0" * (PREAUTH_BODY_LIMIT + 1)
    headers = _signed(device.key, "POST", "/v1/envelopes", body, org_server.clock())
    headers.pop(HEADER_CONTENT_SHA256)
    headers["X-FieldVault-Time"] = "1²³"  # Latin-1 superscripts: str.isdigit() says yes
    probe = Pulled(org_server)
    status, answer = probe.call("POST", "/v1/envelopes", headers, len(body))
    assert (status, answer["error"]) == (401, "malformed_auth")
    assert probe.pulled == 0


def test_a_forged_upload_digest_signature_is_refused_before_the_chunk_is_read(
    org_server: Server, device: Actor
) -> None:
    target = f"/v1/blobs/{BLOB_ID}/chunks?offset=0"
    signed = hashlib.sha256(b"what was signed").hexdigest()
    real = sign_request(
        device.key, "PUT", target, b"", now=org_server.clock(), upload_sha256=signed
    )
    forged = {**real, HEADER_UPLOAD_SHA256: hashlib.sha256(b"x" * BLOB_CHUNK_LIMIT).hexdigest()}
    probe = Pulled(org_server)
    status, answer = probe.call("PUT", target, forged, BLOB_CHUNK_LIMIT)
    assert (status, answer["error"]) == (401, "bad_signature")
    assert probe.pulled == 0


def test_a_chunk_naming_both_a_content_and_an_upload_digest_is_refused_unread(
    org_server: Server, device: Actor
) -> None:
    target = f"/v1/blobs/{BLOB_ID}/chunks?offset=0"
    digest = hashlib.sha256(b"x").hexdigest()
    headers = sign_request(
        device.key, "PUT", target, b"", now=org_server.clock(), upload_sha256=digest
    )
    probe = Pulled(org_server)
    status, answer = probe.call(
        "PUT", target, {**headers, HEADER_CONTENT_SHA256: digest}, BLOB_CHUNK_LIMIT
    )
    assert (status, answer["error"]) == (401, "malformed_auth")
    assert probe.pulled == 0


def _declare(server: Server, device: Actor, size: int) -> None:
    body = {"id": BLOB_ID, "size": size, "sha256": "00" * 32}
    answer = server.api.call("POST", "/v1/blobs", device, json=body)
    assert answer.status_code == 201, answer.text


def test_a_chunk_too_large_to_read_whole_at_the_wrong_offset_gets_the_offset_unread(
    org_server: Server, device: Actor
) -> None:
    _declare(org_server, device, 4 * BLOB_BUFFERED_LIMIT)
    target = f"/v1/blobs/{BLOB_ID}/chunks?offset=4096"  # the upload is at 0
    digest = hashlib.sha256(b"the blob through the chunk's end").hexdigest()
    headers = sign_request(
        device.key, "PUT", target, b"", now=org_server.clock(), upload_sha256=digest
    )
    probe = Pulled(org_server)
    status, answer = probe.call("PUT", target, headers, 2 * BLOB_BUFFERED_LIMIT)
    assert (status, answer["error"], answer["offset"]) == (409, "offset_mismatch", 0)
    assert probe.pulled == 0


def test_a_chunk_signed_over_its_body_too_large_to_read_whole_is_refused_unread(
    org_server: Server, device: Actor
) -> None:
    _declare(org_server, device, 4 * BLOB_BUFFERED_LIMIT)
    target = f"/v1/blobs/{BLOB_ID}/chunks?offset=4096"  # not streamed: the upload is at 0
    body = bytes(BLOB_BUFFERED_LIMIT + 1)
    probe = Pulled(org_server)
    status, answer = probe.call(
        "PUT", target, _signed(device.key, "PUT", target, body, org_server.clock()), len(body)
    )
    assert (status, answer["error"]) == (413, "body_too_large")
    assert probe.pulled == 0
