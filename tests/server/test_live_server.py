"""The real server (uvicorn in a subprocess) on a loopback port, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext

import pytest
import requests

from sync import age
from sync.encoding import canonical_json
from tests.server.helpers import Actor, Clock, Harness, Org
from tests.support.live_server import LiveServer, postgres_database, start_live_server

USER_AGENT = "UniqueAgentMarker/7.3"


class RealClock(Clock):
    def __call__(self) -> int:
        return int(time.time())


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Harness, Org]]:
    """One real server per database for this module (each test enrols its own devices)."""
    tmp_path = tmp_path_factory.mktemp("live")
    database = postgres_database() if request.param == "postgres" else nullcontext()
    with (
        database as db_url,
        start_live_server(
            tmp_path / "server", db_url, workers=2 if request.param == "postgres" else 1
        ) as server,
        requests.Session() as session,
    ):
        session.headers["User-Agent"] = USER_AGENT
        api = Harness(session, server.url, RealClock())
        org = Org.new()
        api.bootstrap(org, server.bootstrap_token)
        yield server, api, org


def test_enrol_push_pull_and_blob_round_trip_over_http(
    live: tuple[LiveServer, Harness, Org],
) -> None:
    _, api, org = live
    device = api.enrol(org)
    report = b'{"type":"incident","record":{"title":"x"}}'
    envelopes = [
        device.envelope(plaintext=report, recipients=[org.coordinator.recipient]) for _ in range(3)
    ]
    assert [r["status"] for r in api.push(device, envelopes)] == ["stored"] * 3
    assert [r["status"] for r in api.push(device, envelopes[:1])] == ["duplicate"]
    page = api.call("GET", "/v1/envelopes", org.coordinator, query="after=0&limit=100").json()
    assert [i["envelope"] for i in page["items"]] == envelopes
    from sync import envelope as sync_envelope

    opened = sync_envelope.open_(
        sync_envelope.from_wire(page["items"][0]["envelope"]), [org.coordinator.identity]
    )
    assert opened == report

    data = os.urandom(1_500_000)
    blob_id = "ab" * 16
    begin = {"id": blob_id, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert api.call("POST", "/v1/blobs", device, json=begin).json() == {"offset": 0}
    put = api.call(
        "PUT", f"/v1/blobs/{blob_id}/chunks", device, body=data[:600_000], query="offset=0"
    )
    assert put.json() == {"offset": 600_000, "complete": False}
    assert api.call("POST", "/v1/blobs", device, json=begin).json() == {"offset": 600_000}
    rest = api.call(
        "PUT", f"/v1/blobs/{blob_id}/chunks", device, body=data[600_000:], query="offset=600000"
    )
    assert rest.json() == {"offset": len(data), "complete": True}
    download = api.call("GET", f"/v1/blobs/{blob_id}", org.coordinator)
    assert download.content == data


def test_replay_is_refused_by_every_server_process(live: tuple[LiveServer, Harness, Org]) -> None:
    server, api, org = live
    device = api.enrol(org)
    from sync.auth import sign_request

    body = canonical_json({"envelopes": [device.envelope()]})
    headers = sign_request(device.key, "POST", "/v1/envelopes", body, now=int(time.time()))
    headers["Content-Type"] = "application/json"
    statuses = [
        requests.post(
            server.url + "/v1/envelopes", data=body, headers=headers, timeout=10
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [200] + [401] * 5


def test_concurrent_devices_and_a_reader_lose_and_repeat_nothing(
    live: tuple[LiveServer, Harness, Org],
) -> None:
    server, api, org = live
    devices = [api.enrol(org, f"phone {i}") for i in range(6)]
    batches = {d.id: [[d.envelope() for _ in range(5)] for _ in range(6)] for d in devices}
    expected = {e["header"]["id"] for bs in batches.values() for b in bs for e in b}
    errors: list[BaseException] = []

    def pusher(device: Actor) -> None:
        with requests.Session() as session:
            mine = Harness(session, server.url, RealClock())
            try:
                for batch in batches[device.id]:
                    assert all(r["status"] == "stored" for r in mine.push(device, batch))
            except BaseException as exc:
                errors.append(exc)

    after = 0
    while page := api.call(
        "GET", "/v1/envelopes", org.coordinator, query=f"after={after}&limit=100"
    ).json()["items"]:
        after = page[-1]["cursor"]
    threads = [threading.Thread(target=pusher, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    seen: list[str] = []
    while True:
        writers_done = not any(t.is_alive() for t in threads)
        page = api.call(
            "GET", "/v1/envelopes", org.coordinator, query=f"after={after}&limit=100"
        ).json()
        seen += [i["envelope"]["header"]["id"] for i in page["items"]]
        after = page["next"]
        if writers_done and not page["items"]:
            break
    assert not errors
    assert len(seen) == len(set(seen))
    assert set(seen) == expected


def test_server_log_holds_no_client_address_or_user_agent(
    live: tuple[LiveServer, Harness, Org],
) -> None:
    server, api, org = live
    device = api.enrol(org)
    api.push(device, [device.envelope()])
    api.call("GET", "/v1/devices")  # a refusal is logged too
    deadline = time.monotonic() + 10
    while "/v1/devices 401" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = server.log()
    assert "/v1/envelopes 200" in log
    assert USER_AGENT not in log
    for line in log.splitlines():
        if "127.0.0.1" in line:
            assert "Uvicorn running on" in line, line


def test_post_quantum_age_recipient_can_enrol(live: tuple[LiveServer, Harness, Org]) -> None:
    if not age.pq_supported():
        pytest.skip("this platform's cryptography has no ML-KEM")
    _, api, org = live
    invite = api.call("POST", "/v1/invites", org.coordinator, json={"expires_in": 60}).json()
    device = Actor.new()
    _, recipient = age.generate_identity(pq=True)
    answer = api.call(
        "POST", "/v1/enrol", device, json={"token": invite["token"], "recipient": recipient}
    )
    assert answer.status_code == 201, answer.text
