"""Authentication and refusals: every bad request is a clear 4xx and leaves nothing stored."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from sync.auth import sign_request
from sync.encoding import canonical_json
from tests.server.conftest import Server
from tests.server.helpers import Actor


def _envelope_count(server: Server) -> int:
    return server.repo.row_counts()["envelopes"]


def test_health_answers_without_auth(server: Server) -> None:
    answer = server.api.call("GET", "/v1/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_unsigned_request_is_refused_with_missing_auth(org_server: Server) -> None:
    answer = org_server.api.call("GET", "/v1/devices")
    assert answer.status_code == 401
    assert answer.json()["error"] == "missing_auth"


def test_malformed_auth_headers_are_refused(org_server: Server) -> None:
    headers = sign_request(org_server.org.coordinator.key, "GET", "/v1/devices", b"", now=1)
    headers["X-FieldVault-Nonce"] = "not base64!"
    answer = org_server.api.call("GET", "/v1/devices", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "malformed_auth"


def test_forged_push_is_refused_and_nothing_stored(org_server: Server, device: Actor) -> None:
    envelope = device.envelope()
    body = canonical_json({"envelopes": [envelope]})
    headers = sign_request(device.key, "POST", "/v1/envelopes", body + b" ", now=org_server.clock())
    headers["Content-Type"] = "application/json"
    answer = org_server.api.call("POST", "/v1/envelopes", body=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "bad_signature"
    assert _envelope_count(org_server) == 0


def test_request_signed_for_another_path_is_refused(org_server: Server) -> None:
    coordinator = org_server.org.coordinator
    headers = sign_request(coordinator.key, "GET", "/v1/envelopes", b"", now=org_server.clock())
    answer = org_server.api.call("GET", "/v1/devices", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "bad_signature"


def test_replayed_request_is_refused_and_stored_once(org_server: Server, device: Actor) -> None:
    body = canonical_json({"envelopes": [device.envelope()]})
    headers = sign_request(device.key, "POST", "/v1/envelopes", body, now=org_server.clock())
    headers["Content-Type"] = "application/json"
    first = org_server.api.call("POST", "/v1/envelopes", body=body, headers=headers)
    assert first.status_code == 200
    again = org_server.api.call("POST", "/v1/envelopes", body=body, headers=headers)
    assert again.status_code == 401
    assert again.json()["error"] == "replayed_request"
    assert _envelope_count(org_server) == 1


def test_stale_request_is_refused_and_nothing_stored(org_server: Server, device: Actor) -> None:
    answer = org_server.api.call(
        "POST",
        "/v1/envelopes",
        device,
        json={"envelopes": [device.envelope()]},
        now=org_server.clock() - 121,
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "stale_request"
    assert _envelope_count(org_server) == 0


def test_request_from_the_future_is_refused(org_server: Server) -> None:
    answer = org_server.api.call(
        "GET", "/v1/devices", org_server.org.coordinator, now=org_server.clock() + 121
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "stale_request"


def test_unknown_key_is_refused_and_nothing_stored(org_server: Server) -> None:
    stranger = Actor.new()
    answer = org_server.api.call(
        "POST", "/v1/envelopes", stranger, json={"envelopes": [stranger.envelope()]}
    )
    assert answer.status_code == 403
    assert answer.json()["error"] == "unknown_key"
    counts = org_server.repo.row_counts()
    assert counts["envelopes"] == 0
    assert counts["nonces"] == 0


def test_revoked_device_is_refused_and_nothing_stored(org_server: Server, device: Actor) -> None:
    api = org_server.api
    assert (
        api.call("POST", f"/v1/devices/{device.id}/revoke", org_server.org.coordinator).status_code
        == 200
    )
    before = org_server.repo.row_counts()
    for method, path, body in (
        ("POST", "/v1/envelopes", {"envelopes": [device.envelope()]}),
        ("GET", "/v1/messages", None),
        ("POST", "/v1/blobs", {"id": "a" * 32, "size": 1, "sha256": "b" * 64}),
    ):
        answer = api.call(method, path, device, json=body)
        assert answer.status_code == 403, path
        assert answer.json()["error"] == "device_revoked"
    assert org_server.repo.row_counts() == before


def test_device_cannot_use_coordinator_endpoints(org_server: Server, device: Actor) -> None:
    for method, path, body in (
        ("GET", "/v1/devices", None),
        ("GET", "/v1/envelopes", None),
        ("POST", "/v1/invites", {"expires_in": 60}),
        ("POST", f"/v1/devices/{device.id}/revoke", None),
    ):
        answer = org_server.api.call(method, path, device, json=body)
        assert answer.status_code == 403, path
        assert answer.json()["error"] == "not_coordinator"
    assert org_server.repo.row_counts()["invites"] == 1


def test_coordinator_cannot_use_device_endpoints(org_server: Server) -> None:
    answer = org_server.api.call("GET", "/v1/messages", org_server.org.coordinator)
    assert answer.status_code == 403
    assert answer.json()["error"] == "not_device"


def test_oversize_body_is_refused_from_its_declared_length(
    org_server: Server, device: Actor
) -> None:
    big = b"{" + b" " * (4 * 1024 * 1024) + b"}"
    answer = org_server.api.call("POST", "/v1/envelopes", device, body=big)
    assert answer.status_code == 413
    assert answer.json()["error"] == "body_too_large"
    assert _envelope_count(org_server) == 0


def test_oversize_body_without_length_is_refused_while_streaming(
    org_server: Server, device: Actor
) -> None:
    client = org_server.api.client

    def pieces() -> Iterator[bytes]:
        for _ in range(3):
            yield b" " * (512 * 1024)

    assert isinstance(client, TestClient)
    # Unsigned, it is refused before a byte is read; signed, it is read and cut at the limit.
    unsigned = client.post("/v1/invites", content=pieces())
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "missing_auth")
    body = b"".join(pieces())
    coordinator = org_server.org.coordinator
    headers = sign_request(coordinator.key, "POST", "/v1/invites", body, now=org_server.clock())
    answer = client.post("/v1/invites", content=pieces(), headers=headers)
    assert answer.status_code == 413
    assert answer.json()["error"] == "body_too_large"
    assert org_server.repo.row_counts()["invites"] == 1


def test_unknown_field_is_refused_with_invalid_body(org_server: Server) -> None:
    answer = org_server.api.call(
        "POST", "/v1/invites", org_server.org.coordinator, json={"expires_in": 60, "admin": True}
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_body"
    assert org_server.repo.row_counts()["invites"] == 0


def test_string_where_integer_expected_is_refused(org_server: Server) -> None:
    answer = org_server.api.call(
        "POST", "/v1/invites", org_server.org.coordinator, json={"expires_in": "60"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_body"


def test_malformed_json_is_refused_with_a_4xx(org_server: Server) -> None:
    coordinator = org_server.org.coordinator
    answer = org_server.api.call(
        "POST",
        "/v1/invites",
        coordinator,
        body=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= answer.status_code < 500
    assert set(answer.json()) >= {"error", "detail"}
