"""A marker in every report's plaintext never reaches the server's database, blobs or logs.

Reports and attachments are age-encrypted on the device (as the field app does) before they
are pushed to the real server; afterwards every byte the server wrote is scanned.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from pathlib import Path

import psycopg
import pytest
import requests

from sync import age
from tests.server.helpers import Actor, Harness, Org
from tests.server.test_live_server import RealClock
from tests.support.live_server import postgres_database, start_live_server


def _all_rows(db_url: str) -> bytes:
    dump = io.BytesIO()
    with psycopg.connect(db_url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchall()
        ]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():  # noqa: S608
                for value in row:
                    dump.write(
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else str(value).encode()
                    )
    return dump.getvalue()


def _push_marked_reports(api: Harness, org: Org, device: Actor, marker: bytes) -> None:
    envelopes = [
        device.envelope(
            plaintext=b'{"type":"incident","record":{"victim":"' + marker + b'"},"blobs":[]}',
            recipients=[org.coordinator.recipient],
        )
        for _ in range(5)
    ]
    assert {r["status"] for r in api.push(device, envelopes)} == {"stored"}
    photo = age.encrypt(marker * 5000, [org.coordinator.recipient])
    blob_id = secrets.token_hex(16)
    begin = {"id": blob_id, "size": len(photo), "sha256": hashlib.sha256(photo).hexdigest()}
    assert api.call("POST", "/v1/blobs", device, json=begin).status_code == 201
    done = api.call("PUT", f"/v1/blobs/{blob_id}/chunks", device, body=photo, query="offset=0")
    assert done.json()["complete"] is True
    # The coordinator can read it all back: the marker really was sent, encrypted.
    page = api.call("GET", "/v1/envelopes", org.coordinator).json()
    assert len(page["items"]) == 5
    download = api.call("GET", f"/v1/blobs/{blob_id}", org.coordinator).content
    assert marker in age.decrypt(download, [org.coordinator.identity])


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_report_plaintext_marker_never_reaches_server_storage_or_logs(
    backend: str, tmp_path: Path
) -> None:
    marker = b"MARKER-" + secrets.token_hex(12).encode()
    data_dir = tmp_path / "server"
    database = postgres_database() if backend == "postgres" else None
    db_url = database.__enter__() if database else None
    try:
        with start_live_server(data_dir, db_url) as server, requests.Session() as session:
            api = Harness(session, server.url, RealClock())
            org = Org.new()
            api.bootstrap(org, server.bootstrap_token)
            device = api.enrol(org)
            _push_marked_reports(api, org, device, marker)
            server.stop()
            files = [p for p in data_dir.rglob("*") if p.is_file()]
            assert any(p.name == "server.log" for p in files)
            if db_url is None:
                assert any(p.name.startswith("server.sqlite3") for p in files)
            for path in files:
                assert marker not in path.read_bytes(), path.name
            if db_url is not None:
                rows = _all_rows(db_url)
                assert device.id.encode() in rows  # the scan does see the data
                assert marker not in rows
    finally:
        if database:
            database.__exit__(None, None, None)
