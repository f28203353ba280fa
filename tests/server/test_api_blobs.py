"""Resumable blob upload: offsets, resume, hash check, download, and what the blob store holds
(files on SQLite, rows in the database on PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import psycopg

from server.config import BLOB_CHUNK_LIMIT
from sync.auth import HEADER_SIGNATURE, HEADER_UPLOAD_SHA256, sign_request
from sync.pacing import HEADER_CHUNK_LIMIT, SERVER_CHUNK_LIMIT
from tests.server.conftest import Server
from tests.server.helpers import Actor

BLOB_ID = "0123456789abcdef0123456789abcdef"


def _begin(server: Server, actor: Actor, data: bytes, blob_id: str = BLOB_ID) -> int:
    answer = server.api.call(
        "POST",
        "/v1/blobs",
        actor,
        json={"id": blob_id, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
    )
    assert answer.status_code in (200, 201), answer.text
    offset: int = answer.json()["offset"]
    return offset


def _stored(server: Server) -> list[tuple[str, bytes]]:
    """(storage name, bytes) of every upload and blob the server's blob store holds."""
    if server.config.blob_store_kind == "directory":
        files = [p for p in server.config.blob_dir.rglob("*") if p.is_file()]
        return [(str(p.relative_to(server.config.blob_dir)), p.read_bytes()) for p in files]
    with psycopg.connect(server.config.db_url) as conn:
        names = conn.execute("SELECT id, name FROM blob_files ORDER BY id").fetchall()
        return [
            (
                str(name),
                b"".join(
                    bytes(row[0])
                    for row in conn.execute(
                        "SELECT data FROM blob_chunks WHERE file_id = %s ORDER BY start", (file,)
                    ).fetchall()
                ),
            )
            for file, name in names
        ]


def _chunk(server: Server, actor: Actor, offset: int, data: bytes, blob_id: str = BLOB_ID) -> Any:
    return server.api.call(
        "PUT", f"/v1/blobs/{blob_id}/chunks", actor, body=data, query=f"offset={offset}"
    )


def test_upload_resumes_at_the_servers_offset_and_downloads_intact(
    org_server: Server, device: Actor
) -> None:
    data = os.urandom(300_000)
    assert _begin(org_server, device, data) == 0
    first = _chunk(org_server, device, 0, data[:100_000])
    assert first.json() == {"offset": 100_000, "complete": False}
    # The connection "drops"; the device asks again where to resume.
    assert _begin(org_server, device, data) == 100_000
    wrong = _chunk(org_server, device, 0, data[:100_000])
    assert wrong.status_code == 409
    assert wrong.json()["error"] == "offset_mismatch"
    assert wrong.json()["offset"] == 100_000
    last = _chunk(org_server, device, 100_000, data[100_000:])
    assert last.json() == {"offset": 300_000, "complete": True}
    status = org_server.api.call("GET", f"/v1/blobs/{BLOB_ID}/status", org_server.org.coordinator)
    assert status.json() == {"offset": 300_000, "size": 300_000, "complete": True}
    download = org_server.api.call("GET", f"/v1/blobs/{BLOB_ID}", org_server.org.coordinator)
    assert download.status_code == 200
    assert download.content == data


def test_hash_mismatch_restarts_the_upload(org_server: Server, device: Actor) -> None:
    data = os.urandom(5000)
    _begin(org_server, device, data)
    answer = _chunk(org_server, device, 0, bytes(5000))
    assert answer.status_code == 422
    assert answer.json()["error"] == "hash_mismatch"
    assert _begin(org_server, device, data) == 0
    assert _chunk(org_server, device, 0, data).json()["complete"] is True


def test_incomplete_blob_cannot_be_downloaded(org_server: Server, device: Actor) -> None:
    data = os.urandom(1000)
    _begin(org_server, device, data)
    _chunk(org_server, device, 0, data[:10])
    answer = org_server.api.call("GET", f"/v1/blobs/{BLOB_ID}", org_server.org.coordinator)
    assert answer.status_code == 409
    assert answer.json()["error"] == "blob_incomplete"


def test_only_the_uploader_may_write_chunks(org_server: Server, device: Actor) -> None:
    data = os.urandom(1000)
    _begin(org_server, device, data)
    other = org_server.api.enrol(org_server.org, "other")
    answer = _chunk(org_server, other, 0, data)
    assert answer.status_code == 404
    assert org_server.repo.blob(BLOB_ID).offset == 0  # type: ignore[union-attr]


def test_devices_cannot_download_blobs(org_server: Server, device: Actor) -> None:
    data = os.urandom(10)
    _begin(org_server, device, data)
    _chunk(org_server, device, 0, data)
    answer = org_server.api.call("GET", f"/v1/blobs/{BLOB_ID}", device)
    assert answer.status_code == 403


def test_declaring_a_different_blob_under_a_taken_id_is_refused(
    org_server: Server, device: Actor
) -> None:
    _begin(org_server, device, b"one")
    answer = org_server.api.call(
        "POST", "/v1/blobs", device, json={"id": BLOB_ID, "size": 3, "sha256": "f" * 64}
    )
    assert answer.status_code == 409
    assert answer.json()["error"] == "blob_conflict"


def test_chunk_past_the_declared_size_is_refused(org_server: Server, device: Actor) -> None:
    _begin(org_server, device, b"abc")
    answer = _chunk(org_server, device, 0, b"abcd")
    assert answer.status_code == 422
    assert org_server.repo.blob(BLOB_ID).offset == 0  # type: ignore[union-attr]


def test_declaring_a_blob_answers_the_largest_chunk_the_server_takes(
    org_server: Server, device: Actor
) -> None:
    body = {"id": BLOB_ID, "size": 3, "sha256": hashlib.sha256(b"abc").hexdigest()}
    for status in (201, 200):  # declared, then resumed
        answer = org_server.api.call("POST", "/v1/blobs", device, json=body)
        assert answer.status_code == status
        assert answer.headers[HEADER_CHUNK_LIMIT] == str(BLOB_CHUNK_LIMIT)
    assert BLOB_CHUNK_LIMIT > SERVER_CHUNK_LIMIT  # more than a device assumes unless told


def test_chunk_over_the_chunk_limit_is_refused(org_server: Server, device: Actor) -> None:
    data = bytes(BLOB_CHUNK_LIMIT + 1)
    _begin(org_server, device, data)
    answer = _chunk(org_server, device, 0, data)
    assert answer.status_code == 413
    assert answer.json()["error"] == "body_too_large"


def test_blob_id_must_be_32_hex_digits(org_server: Server, device: Actor) -> None:
    for bad in ("..%2F..%2Fetc", "ABCDEF0123456789ABCDEF0123456789", "abc"):
        answer = org_server.api.call("GET", f"/v1/blobs/{bad}/status", device)
        assert answer.status_code in (404, 422), bad
    answer = org_server.api.call(
        "POST", "/v1/blobs", device, json={"id": "../x", "size": 1, "sha256": "f" * 64}
    )
    assert answer.status_code == 422


def test_blob_files_have_random_names_unrelated_to_the_blob_id(
    org_server: Server, device: Actor
) -> None:
    data = os.urandom(100)
    _begin(org_server, device, data)
    _chunk(org_server, device, 0, data)
    ((name, stored),) = _stored(org_server)
    assert stored == data
    assert BLOB_ID not in name
    assert device.id not in name


def test_empty_blob_completes_with_an_empty_chunk(org_server: Server, device: Actor) -> None:
    _begin(org_server, device, b"")
    assert _chunk(org_server, device, 0, b"").json() == {"offset": 0, "complete": True}


def _signed_put(server: Server, actor: Actor, offset: int, signed: bytes, sent: bytes) -> Any:
    """A chunk signed over `signed` but carrying `sent` (a forgery if they differ)."""
    target = f"/v1/blobs/{BLOB_ID}/chunks?offset={offset}"
    headers = sign_request(actor.key, "PUT", target, signed, now=server.api.clock())
    return server.api.client.request("PUT", server.api.base + target, content=sent, headers=headers)


def test_a_streamed_chunk_with_a_bad_signature_leaves_the_upload_as_it_was(
    org_server: Server, device: Actor
) -> None:
    data = os.urandom(3 * 1024 * 1024)
    _begin(org_server, device, data)
    assert _chunk(org_server, device, 0, data[:1_000_000]).json()["offset"] == 1_000_000
    forged = _signed_put(org_server, device, 1_000_000, data[1_000_000:], bytes(2 * 1024 * 1024))
    assert forged.status_code == 401
    assert forged.json()["error"] == "bad_signature"
    blob = org_server.repo.blob(BLOB_ID)
    assert blob is not None and blob.offset == 1_000_000
    assert [len(stored) for _, stored in _stored(org_server)] == [1_000_000]
    last = _chunk(org_server, device, 1_000_000, data[1_000_000:])
    assert last.json() == {"offset": len(data), "complete": True}
    download = org_server.api.call("GET", f"/v1/blobs/{BLOB_ID}", org_server.org.coordinator)
    assert download.content == data


def test_a_streamed_chunk_is_refused_when_its_signature_headers_are_tampered(
    org_server: Server, device: Actor
) -> None:
    data = os.urandom(2 * 1024 * 1024)
    _begin(org_server, device, data)
    target = f"/v1/blobs/{BLOB_ID}/chunks?offset=0"
    headers = sign_request(device.key, "PUT", target, data, now=org_server.api.clock())
    headers[HEADER_SIGNATURE] = headers[HEADER_SIGNATURE][::-1]
    answer = org_server.api.client.request(
        "PUT", org_server.api.base + target, content=data, headers=headers
    )
    assert answer.status_code == 401
    assert org_server.repo.blob(BLOB_ID).offset == 0  # type: ignore[union-attr]
    assert _chunk(org_server, device, 0, data).json()["complete"] is True


def test_a_replayed_streamed_chunk_is_refused_and_not_counted(
    org_server: Server, device: Actor
) -> None:
    data = os.urandom(2 * 1024 * 1024)
    _begin(org_server, device, data)
    target = f"/v1/blobs/{BLOB_ID}/chunks?offset=0"
    headers = sign_request(device.key, "PUT", target, data[:1_000_000], now=org_server.api.clock())
    first = org_server.api.client.request(
        "PUT", org_server.api.base + target, content=data[:1_000_000], headers=headers
    )
    assert first.json()["offset"] == 1_000_000
    org_server.repo.reset_blob(BLOB_ID, org_server.repo.blob(BLOB_ID).storage_name)  # type: ignore[union-attr]
    again = org_server.api.client.request(
        "PUT", org_server.api.base + target, content=data[:1_000_000], headers=headers
    )
    assert again.status_code == 401
    assert again.json()["error"] == "replayed_request"
    assert org_server.repo.blob(BLOB_ID).offset == 0  # type: ignore[union-attr]


def test_a_chunk_of_exactly_the_limit_completes_in_one_request(
    org_server: Server, device: Actor
) -> None:
    data = os.urandom(BLOB_CHUNK_LIMIT)
    _begin(org_server, device, data)
    assert _chunk(org_server, device, 0, data).json() == {"offset": len(data), "complete": True}
    download = org_server.api.call("GET", f"/v1/blobs/{BLOB_ID}", org_server.org.coordinator)
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_download_resumes_from_a_byte_range(org_server: Server, device: Actor) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    _begin(org_server, device, data)
    assert _chunk(org_server, device, 0, data).json()["complete"] is True
    coordinator, path = org_server.org.coordinator, f"/v1/blobs/{BLOB_ID}"
    whole = org_server.api.call("GET", path, coordinator)
    assert whole.headers["Accept-Ranges"] == "bytes"
    rest = org_server.api.call("GET", path, coordinator, headers={"Range": "bytes=1048577-"})
    assert rest.status_code == 206 and rest.content == data[1048577:]
    assert rest.headers["Content-Range"] == f"bytes 1048577-{len(data) - 1}/{len(data)}"
    middle = org_server.api.call("GET", path, coordinator, headers={"Range": "bytes=10-19"})
    assert middle.status_code == 206 and middle.content == data[10:20]
    past = org_server.api.call("GET", path, coordinator, headers={"Range": f"bytes={len(data)}-"})
    assert past.status_code == 416 and past.json()["error"] == "range_not_satisfiable"
    several = org_server.api.call("GET", path, coordinator, headers={"Range": "bytes=0-1,5-9"})
    assert several.status_code == 200 and several.content == data


def _upload_put(
    server: Server, actor: Actor, offset: int, through: bytes, sent: bytes | None = None
) -> Any:
    """A chunk signed over the upload's digest: SHA-256 of `through` (the blob's first bytes up
    to this chunk's end), carrying the chunk `sent` (by default the tail of `through`)."""
    target = f"/v1/blobs/{BLOB_ID}/chunks?offset={offset}"
    body = through[offset:] if sent is None else sent
    digest = hashlib.sha256(through).hexdigest()
    headers = sign_request(
        actor.key, "PUT", target, body, now=server.api.clock(), upload_sha256=digest
    )
    return server.api.client.request("PUT", server.api.base + target, content=body, headers=headers)


def test_chunks_signed_over_the_upload_digest_complete_the_blob_small_and_streamed(
    org_server: Server, device: Actor
) -> None:
    data = os.urandom(3 * 1024 * 1024)
    _begin(org_server, device, data)
    first = _upload_put(org_server, device, 0, data[:1000])  # small: read whole
    assert first.json() == {"offset": 1000, "complete": False}
    second = _upload_put(org_server, device, 1000, data[:2_000_000])  # streamed
    assert second.json() == {"offset": 2_000_000, "complete": False}
    last = _upload_put(org_server, device, 2_000_000, data)
    assert last.json() == {"offset": len(data), "complete": True}
    download = org_server.api.call("GET", f"/v1/blobs/{BLOB_ID}", org_server.org.coordinator)
    assert download.content == data


def test_a_chunk_not_matching_its_signed_upload_digest_restarts_the_upload(
    org_server: Server, device: Actor
) -> None:
    data = os.urandom(3 * 1024 * 1024)
    _begin(org_server, device, data)
    assert _upload_put(org_server, device, 0, data[:1_000_000]).json()["offset"] == 1_000_000
    # The device's copy and the server's differ (as after a power cut took bytes back).
    wrong = _upload_put(org_server, device, 1_000_000, data, sent=bytes(len(data) - 1_000_000))
    assert wrong.status_code == 422
    assert wrong.json()["error"] == "hash_mismatch"
    assert _begin(org_server, device, data) == 0
    assert [stored for _, stored in _stored(org_server)] == [b""]
    assert _upload_put(org_server, device, 0, data).json()["complete"] is True


def test_a_chunk_whose_announced_upload_digest_was_swapped_is_refused_and_not_kept(
    org_server: Server, device: Actor
) -> None:
    data = os.urandom(3 * 1024 * 1024)
    _begin(org_server, device, data)
    assert _upload_put(org_server, device, 0, data[:1_000_000]).json()["offset"] == 1_000_000
    target = f"/v1/blobs/{BLOB_ID}/chunks?offset=1000000"
    headers = sign_request(
        device.key,
        "PUT",
        target,
        b"",
        now=org_server.api.clock(),
        upload_sha256=hashlib.sha256(data).hexdigest(),
    )
    other = data[:1_000_000] + bytes(len(data) - 1_000_000)
    headers[HEADER_UPLOAD_SHA256] = hashlib.sha256(other).hexdigest()
    forged = org_server.api.client.request(
        "PUT", org_server.api.base + target, content=other[1_000_000:], headers=headers
    )
    assert forged.status_code == 401
    assert forged.json()["error"] == "bad_signature"
    assert org_server.repo.blob(BLOB_ID).offset == 1_000_000  # type: ignore[union-attr]
    assert [len(stored) for _, stored in _stored(org_server)] == [1_000_000]


def test_an_upload_digest_chunk_after_the_servers_running_hash_is_lost_rereads_the_upload(
    org_server: Server, device: Actor
) -> None:
    data = os.urandom(3 * 1024 * 1024)
    _begin(org_server, device, data)
    assert _upload_put(org_server, device, 0, data[:1_500_000]).json()["offset"] == 1_500_000
    org_server.app.state.services.blobs._hashes.clear()  # as after a restart
    last = _upload_put(org_server, device, 1_500_000, data)
    assert last.json() == {"offset": len(data), "complete": True}
