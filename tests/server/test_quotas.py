"""Per-device quotas: one seized or hostile phone cannot fill the organisation's server.

The attack: an enrolled device (its key is valid, so every signature checks) declares blob after
4 GiB blob and pushes envelopes without end. Each quota answers with a clear status (429 for
"too many, come back later", 413 for "too many bytes"), a machine-readable reason, the limit,
what was used and when to retry, and stores nothing of the refused request.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient

from server.app import create_app
from server.config import Quotas, ServerConfig
from server.db.base import Repository
from server.quotas import DAY, HOUR
from server.tokens import new_token, token_hash
from sync import envelope as sync_envelope
from sync.client import Client
from sync.errors import ServerUnavailable
from tests.server.helpers import Actor, Clock, Harness, Org
from tests.support.live_server import start_live_server

SMALL = {"envelopes_per_hour": 3, "blobs_per_day": 2, "blob_bytes_per_day": 1000}


@dataclasses.dataclass
class Quoted:
    api: Harness
    repo: Repository
    clock: Clock
    org: Org
    device: Actor


def _serve(db_url: str, tmp_path: Path, **quotas: int) -> Iterator[Quoted]:
    clock = Clock()
    config = ServerConfig(data_dir=tmp_path / "data", db_url=db_url, quotas=Quotas(**quotas))
    app = create_app(config, clock=clock)
    token = new_token()
    app.state.services.repo.set_bootstrap_token(token_hash(token))
    with TestClient(app) as client:
        api = Harness(client, "", clock)
        org = Org.new()
        api.bootstrap(org, token)
        yield Quoted(api, app.state.services.repo, clock, org, api.enrol(org))


@pytest.fixture
def quoted(db_url: str, tmp_path: Path) -> Iterator[Quoted]:
    yield from _serve(db_url, tmp_path, **SMALL)


def _push(q: Quoted, actor: Actor, count: int) -> Any:
    body = {"envelopes": [actor.envelope() for _ in range(count)]}
    return q.api.call("POST", "/v1/envelopes", actor, json=body)


def _declare(q: Quoted, blob_id: str, size: int) -> Any:
    body = {"id": blob_id, "size": size, "sha256": "f" * 64}
    return q.api.call("POST", "/v1/blobs", q.device, json=body)


def test_a_device_past_its_hourly_envelopes_is_refused_with_429_until_the_hour_moves_on(
    quoted: Quoted,
) -> None:
    assert _push(quoted, quoted.device, 3).status_code == 200
    quoted.clock.now += 600
    refused = _push(quoted, quoted.device, 1)
    assert refused.status_code == 429
    body = refused.json()
    assert (body["error"], body["limit"], body["used"]) == ("envelope_quota", 3, 3)
    assert body["retry_after"] == HOUR - 600
    assert refused.headers["Retry-After"] == str(HOUR - 600)
    assert quoted.repo.row_counts()["envelopes"] == 3

    quoted.clock.now += HOUR - 600
    quoted.device.seq -= 1  # the refused envelope was never stored: send its seq again
    quoted.device.prev = _last_hash(quoted)
    assert _push(quoted, quoted.device, 1).json()["results"][0]["status"] == "stored"


def _last_hash(q: Quoted) -> str:
    feed = q.api.call("GET", "/v1/envelopes", q.org.coordinator, query="after=0&limit=100")
    last = feed.json()["items"][-1]["envelope"]
    return sync_envelope.envelope_hash(sync_envelope.from_wire(last))


def test_declaring_more_uploads_than_the_daily_count_is_refused_with_429(quoted: Quoted) -> None:
    assert _declare(quoted, "a" * 32, 10).status_code == 201
    quoted.clock.now += 100
    assert _declare(quoted, "b" * 32, 10).status_code == 201
    refused = _declare(quoted, "c" * 32, 10)
    assert refused.status_code == 429
    body = refused.json()
    assert (body["error"], body["limit"], body["used"]) == ("blob_quota", 2, 2)
    assert body["retry_after"] == DAY - 100
    assert quoted.repo.blob("c" * 32) is None
    # Resuming an upload already declared is never refused.
    assert _declare(quoted, "a" * 32, 10).status_code == 200
    quoted.clock.now += DAY
    assert _declare(quoted, "c" * 32, 10).status_code == 201


def test_declaring_more_bytes_than_the_daily_quota_is_refused_with_413(quoted: Quoted) -> None:
    assert _declare(quoted, "a" * 32, 600).status_code == 201
    refused = _declare(quoted, "b" * 32, 500)
    assert refused.status_code == 413
    body = refused.json()
    assert (body["error"], body["limit"], body["used"]) == ("blob_bytes_quota", 1000, 600)
    assert body["retry_after"] == DAY
    alone_too_large = _declare(quoted, "c" * 32, 4 * 1024**3).json()
    assert alone_too_large["error"] == "blob_bytes_quota"
    assert "retry_after" not in alone_too_large  # waiting would not help
    assert quoted.repo.blob("b" * 32) is None and quoted.repo.blob("c" * 32) is None


def test_coordinators_are_not_held_to_device_quotas(quoted: Quoted) -> None:
    coordinator = quoted.org.coordinator
    for _ in range(3):
        body = {"envelopes": [coordinator.envelope(kind="event") for _ in range(2)]}
        answer = quoted.api.call("POST", "/v1/envelopes", coordinator, json=body)
        assert answer.status_code == 200, answer.text


def test_a_quota_of_zero_is_switched_off(db_url: str, tmp_path: Path) -> None:
    off = {"envelopes_per_hour": 0, "blobs_per_day": 0, "blob_bytes_per_day": 0}
    for q in _serve(db_url, tmp_path, **off):
        for _ in range(3):
            assert _push(q, q.device, 5).status_code == 200
        for index in range(4):
            assert _declare(q, f"{index:032x}", 1024**3).status_code == 201


def test_the_real_server_takes_its_quotas_from_the_environment(tmp_path: Path) -> None:
    environment = {"FIELDVAULT_QUOTA_ENVELOPES_PER_HOUR": "2"}
    with (
        start_live_server(tmp_path / "server", environment=environment) as server,
        requests.Session() as session,
    ):
        api = Harness(session, server.url, Clock(int(time.time())))
        org = Org.new()
        api.bootstrap(org, server.bootstrap_token)
        device = api.enrol(org)
        assert [r["status"] for r in api.push(device, [device.envelope() for _ in range(2)])] == [
            "stored",
            "stored",
        ]
        # The device's own client sees "come back later" and keeps the envelope queued.
        with (
            Client(server.url, signing_key=device.key) as client,
            pytest.raises(ServerUnavailable),
        ):
            client.push_envelopes([device.envelope()])


def test_the_nth_latest_envelope_time_is_known_only_once_the_device_sent_that_many(
    quoted: Quoted,
) -> None:
    repo, device = quoted.repo, quoted.device
    assert repo.nth_latest_envelope_time(device.id, 1) is None
    _push(quoted, device, 1)
    quoted.clock.now += 10
    _push(quoted, device, 1)
    assert repo.nth_latest_envelope_time(device.id, 1) == quoted.clock.now
    assert repo.nth_latest_envelope_time(device.id, 2) == quoted.clock.now - 10
    assert repo.nth_latest_envelope_time(device.id, 3) is None
    assert repo.nth_latest_envelope_time(quoted.org.coordinator.id, 1) is None


def test_blob_declarations_are_counted_per_owner_and_window(quoted: Quoted) -> None:
    repo, device = quoted.repo, quoted.device
    start = quoted.clock.now
    assert repo.blobs_declared_since(device.id, start) == (0, 0, None)
    _declare(quoted, "a" * 32, 100)
    quoted.clock.now += 50
    _declare(quoted, "b" * 32, 200)
    assert repo.blobs_declared_since(device.id, start) == (2, 300, start)
    assert repo.blobs_declared_since(device.id, start + 1) == (1, 200, start + 50)
    assert repo.blobs_declared_since(quoted.org.coordinator.id, start) == (0, 0, None)
