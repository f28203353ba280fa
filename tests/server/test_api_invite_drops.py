"""Short join codes on the server: sealed invites kept, fetched a few times, limited, cancelled."""

from __future__ import annotations

from typing import Any

from server.routers.invite_drops import FETCHES, PER_SOURCE, SOURCE_WINDOW
from sync.encoding import b64u_encode
from tests.server.conftest import Server

LOOKUP = "ab" * 16
SEALED = b"\x01sealed invite bytes\x02" * 4


def _put(server: Server, lookup: str = LOOKUP, expires_in: int = 3600) -> Any:
    body = {"lookup": lookup, "sealed": b64u_encode(SEALED), "expires_in": expires_in}
    return server.api.call("POST", "/v1/invite-drops", server.org.coordinator, json=body)


def _fetch(server: Server, lookup: str = LOOKUP) -> Any:
    return server.api.call("POST", "/v1/invite-drops/fetch", json={"lookup": lookup})


def test_a_sealed_invite_is_handed_out_exactly_as_kept(org_server: Server) -> None:
    assert _put(org_server).status_code == 201
    answer = _fetch(org_server)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"sealed": b64u_encode(SEALED)}


def test_only_a_coordinator_may_keep_a_sealed_invite(org_server: Server, device: Any) -> None:
    body = {"lookup": LOOKUP, "sealed": b64u_encode(SEALED), "expires_in": 60}
    assert org_server.api.call("POST", "/v1/invite-drops", json=body).status_code == 401
    refused = org_server.api.call("POST", "/v1/invite-drops", device, json=body)
    assert refused.status_code == 403


def test_a_lookup_id_cannot_be_taken_twice(org_server: Server) -> None:
    assert _put(org_server).status_code == 201
    again = _put(org_server)
    assert again.status_code == 409
    assert again.json()["error"] == "drop_exists"


def test_a_code_is_used_up_after_its_fetches_and_its_bytes_are_forgotten(
    org_server: Server,
) -> None:
    _put(org_server)
    for _ in range(FETCHES):
        assert _fetch(org_server).status_code == 200
    used = _fetch(org_server)
    assert used.status_code == 410
    assert used.json()["error"] == "code_used"
    assert org_server.repo.row_counts()["invite_drops"] == 1
    with org_server.repo._read() as tx:  # type: ignore[attr-defined]
        assert tx.all("SELECT sealed FROM invite_drops") == [(b"",)]


def test_an_expired_code_says_so(org_server: Server) -> None:
    _put(org_server, expires_in=60)
    org_server.clock.now += 61
    answer = _fetch(org_server)
    assert answer.status_code == 410
    assert answer.json()["error"] == "code_expired"


def test_a_cancelled_code_is_unknown(org_server: Server) -> None:
    _put(org_server)
    done = org_server.api.call(
        "POST", "/v1/invite-drops/cancel", org_server.org.coordinator, json={"lookup": LOOKUP}
    )
    assert done.status_code == 200
    answer = _fetch(org_server)
    assert answer.status_code == 404
    assert answer.json()["error"] == "code_unknown"


def test_guessing_lookup_ids_is_refused_after_a_few_misses_even_for_a_right_one(
    org_server: Server,
) -> None:
    _put(org_server)
    for n in range(PER_SOURCE):
        assert _fetch(org_server, f"{n:032x}").status_code == 404
    limited = _fetch(org_server, f"{PER_SOURCE:032x}")
    assert limited.status_code == 429
    assert limited.json()["error"] == "too_many_attempts"
    assert 0 < limited.json()["retry_after"] <= SOURCE_WINDOW
    assert limited.headers["Retry-After"] == str(limited.json()["retry_after"])
    right = _fetch(org_server)
    assert right.status_code == 429  # a hit looks like a miss past the limit
    org_server.clock.now += SOURCE_WINDOW + 1
    assert _fetch(org_server).status_code == 200


def test_a_malformed_lookup_or_sealed_invite_is_refused(org_server: Server) -> None:
    assert _fetch(org_server, "XYZ").status_code == 422
    body = {"lookup": LOOKUP, "sealed": "a" * 4000, "expires_in": 60}
    answer = org_server.api.call("POST", "/v1/invite-drops", org_server.org.coordinator, json=body)
    assert answer.status_code == 422
