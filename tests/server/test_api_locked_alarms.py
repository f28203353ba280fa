"""Alarms from locked phones on the server (SQLite and PostgreSQL): a device's check key posts
one, coordinators fetch it as ciphertext, nobody else may do either, and a phone's quota holds."""

from __future__ import annotations

from typing import Any

from server.routers.alarms import PER_DAY
from sync import checkkey
from sync.encoding import b64u_encode
from tests.server.conftest import Server
from tests.server.helpers import Actor

SEALED = b64u_encode(b"age-encryption.org/v1 ciphertext stand-in" * 4)


def _check_key(server: Server, device: Actor) -> Actor:
    check = Actor.new()
    body = {"check_key": check.public, "proof": b64u_encode(checkkey.proof(check.key, device.id))}
    answer = server.api.call("PUT", "/v1/devices/me/check-key", device, json=body)
    assert answer.status_code == 200, answer.text
    return check


def _post(server: Server, who: Actor, sealed: str = SEALED) -> Any:
    return server.api.call("POST", "/v1/alarms", who, json={"sealed": sealed})


def test_a_check_key_posts_an_alarm_coordinators_fetch_under_its_device(
    org_server: Server, device: Actor
) -> None:
    check = _check_key(org_server, device)
    answer = _post(org_server, check)
    assert answer.status_code == 201, answer.text
    items = org_server.api.call("GET", "/v1/alarms", org_server.org.coordinator).json()["items"]
    assert [(i["device"], i["sealed"]) for i in items] == [(device.id, SEALED)]


def test_only_a_check_key_posts_and_only_a_coordinator_fetches(
    org_server: Server, device: Actor
) -> None:
    _check_key(org_server, device)
    assert _post(org_server, device).json()["error"] == "unknown_key"  # the device key
    assert _post(org_server, org_server.org.coordinator).json()["error"] == "unknown_key"
    assert _post(org_server, Actor.new()).json()["error"] == "unknown_key"
    answer = org_server.api.call("GET", "/v1/alarms", device)
    assert answer.status_code == 403 and answer.json()["error"] == "not_coordinator"
    check = _check_key(org_server, device)
    assert org_server.api.call("GET", "/v1/alarms", check).json()["error"] == "unknown_key"


def test_a_malformed_or_oversized_alarm_is_refused(org_server: Server, device: Actor) -> None:
    check = _check_key(org_server, device)
    assert _post(org_server, check, "not base64!").status_code == 422
    assert _post(org_server, check, "A" * 43_692).status_code == 422
    extra = org_server.api.call("POST", "/v1/alarms", check, json={"sealed": SEALED, "x": 1})
    assert extra.status_code == 422


def test_a_phone_past_its_daily_alarms_is_refused_with_429(
    org_server: Server, device: Actor
) -> None:
    check = _check_key(org_server, device)
    for _ in range(PER_DAY):
        assert _post(org_server, check).status_code == 201
    refused = _post(org_server, check)
    assert refused.status_code == 429 and refused.json()["error"] == "alarm_quota"
