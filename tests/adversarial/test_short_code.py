"""Short join codes against a hostile server and a guesser: the real server process, its
database edited behind its back, and a phone that types the code."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.records import Kind
from server.config import SQLITE_FILE
from server.routers.invite_drops import FETCHES, PER_SOURCE
from sync import coordinator, invite_drop
from sync.client import Client
from sync.device import DeviceIdentity, identity_from_invite
from sync.errors import Offline, ServerRefused
from sync.shortcode import ShortCodeError, derive, new_code
from tests.integration.conftest import Org, engine, make_vault


def _db(org: Org) -> sqlite3.Connection:
    return sqlite3.connect(Path(org.server.data_dir) / SQLITE_FILE, timeout=10)


def _sealed(org: Org, lookup: str) -> bytes:
    with _db(org) as db:
        (sealed,) = db.execute(
            "SELECT sealed FROM invite_drops WHERE lookup = ?", (lookup,)
        ).fetchone()
    return bytes(sealed)


def _set_sealed(org: Org, lookup: str, sealed: bytes) -> None:
    connection = _db(org)
    with connection:
        connection.execute("UPDATE invite_drops SET sealed = ? WHERE lookup = ?", (sealed, lookup))
    connection.close()


def test_a_phone_joins_with_the_short_code_and_the_coordinator_admits_it(
    org: Org, tmp_path: Path
) -> None:
    invite, code = coordinator.create_invite_with_code(
        org.coordinator, expires_in=3600, label="Osh phone"
    )
    fetched = invite_drop.fetch(org.server.url, code.lower().replace("-", " "))
    assert fetched == invite  # secret, org key, floor and root fingerprint all came through
    phone = make_vault(tmp_path / "phone")
    identity_from_invite(phone, fetched, label="Osh phone")
    engine(phone).run_once()
    (device,) = coordinator.list_devices(org.coordinator)
    assert device["roster"] == "verified" and device["label"] == "Osh phone"


def test_the_server_cannot_read_the_invite_it_keeps(org: Org) -> None:
    invite, code = coordinator.create_invite_with_code(org.coordinator, expires_in=3600)
    sealed = _sealed(org, derive(code).lookup)
    assert invite.token.encode() not in sealed
    assert bytes.fromhex(invite.enrol_secret or "") not in sealed
    assert invite.server_url.encode() not in sealed


def test_an_invite_the_server_altered_is_refused_on_the_phone(org: Org) -> None:
    _, code = coordinator.create_invite_with_code(org.coordinator, expires_in=3600)
    lookup = derive(code).lookup
    sealed = bytearray(_sealed(org, lookup))
    sealed[-20] ^= 0x01
    _set_sealed(org, lookup, bytes(sealed))
    with pytest.raises(ShortCodeError) as refused:
        invite_drop.fetch(org.server.url, code)
    assert refused.value.reason == "tampered"


def test_an_invite_the_server_swapped_for_another_codes_is_refused(org: Org) -> None:
    _, mine = coordinator.create_invite_with_code(org.coordinator, expires_in=3600, label="A")
    _, other = coordinator.create_invite_with_code(org.coordinator, expires_in=3600, label="B")
    _set_sealed(org, derive(mine).lookup, _sealed(org, derive(other).lookup))
    with pytest.raises(ShortCodeError) as refused:
        invite_drop.fetch(org.server.url, mine)
    assert refused.value.reason == "tampered"


def test_guessing_codes_is_rate_limited_and_then_refuses_a_right_code_too(org: Org) -> None:
    _, code = coordinator.create_invite_with_code(org.coordinator, expires_in=3600)
    reasons = []
    for _ in range(PER_SOURCE):
        with pytest.raises(ShortCodeError) as missed:
            invite_drop.fetch(org.server.url, new_code())
        reasons.append(missed.value.reason)
    assert reasons == ["code_unknown"] * PER_SOURCE
    with pytest.raises(invite_drop.TooManyAttempts) as limited:
        invite_drop.fetch(org.server.url, code)
    assert limited.value.reason == "too_many_attempts" and limited.value.retry_after > 0


def test_a_used_up_code_and_a_cancelled_one_say_so(org: Org) -> None:
    _, code = coordinator.create_invite_with_code(org.coordinator, expires_in=3600)
    for _ in range(FETCHES):
        invite_drop.fetch(org.server.url, code)
    with pytest.raises(ShortCodeError) as used:
        invite_drop.fetch(org.server.url, code)
    assert used.value.reason == "code_used"

    _, cancelled = coordinator.create_invite_with_code(org.coordinator, expires_in=3600)
    [record] = [
        r
        for r in org.coordinator.list(kind=Kind.INVITE)
        if r.data.get("drop_lookup") == derive(cancelled).lookup
    ]
    coordinator.cancel_invite(org.coordinator, record.id)
    with _db(org) as db:
        kept = db.execute(
            "SELECT COUNT(*) FROM invite_drops WHERE lookup = ?", (derive(cancelled).lookup,)
        ).fetchone()
    assert kept == (0,)
    with pytest.raises(ShortCodeError) as gone:
        invite_drop.fetch(org.server.url, cancelled)
    assert gone.value.reason == "code_unknown"


def test_an_expired_code_says_so(org: Org) -> None:
    _, code = coordinator.create_invite_with_code(org.coordinator, expires_in=3600)
    lookup = derive(code).lookup
    connection = _db(org)
    with connection:
        connection.execute("UPDATE invite_drops SET expires_at = 1 WHERE lookup = ?", (lookup,))
    connection.close()
    with pytest.raises(ShortCodeError) as expired:
        invite_drop.fetch(org.server.url, code)
    assert expired.value.reason == "code_expired"


def test_only_a_coordinator_can_plant_a_sealed_invite(org: Org) -> None:
    phone = org.new_device("osh")
    identity = DeviceIdentity.load(phone)
    assert identity is not None
    invite = coordinator.create_invite(org.coordinator, expires_in=60)
    with (
        Client(org.server.url, signing_key=identity.signing_key) as client,
        pytest.raises(ServerRefused) as refused,
    ):
        invite_drop.publish(client, invite, 60)
    assert refused.value.reason == "not_coordinator"


def test_an_invite_cancelled_while_the_server_is_unreachable_is_still_cancelled_and_says_so(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    coordinator.create_invite_with_code(org.coordinator, expires_in=3600)
    [record] = coordinator.open_invites(org.coordinator)

    def unreachable(*_args: object) -> None:
        raise Offline("ConnectionError")

    monkeypatch.setattr(invite_drop, "withdraw", unreachable)
    with pytest.raises(coordinator.CoordinatorError) as kept:
        coordinator.cancel_invite(org.coordinator, record.id)
    assert kept.value.reason == "short_code_kept"
    assert coordinator.open_invites(org.coordinator) == []  # its secret is gone: admits no one


def test_a_server_without_short_codes_still_gets_a_long_invite(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    def older_server(*_args: object) -> None:
        raise ServerRefused("not_found", status=404)

    monkeypatch.setattr(invite_drop, "publish", older_server)
    invite, code = coordinator.create_invite_with_code(org.coordinator, expires_in=3600)
    assert code == "" and invite.enrol_secret
    [record] = coordinator.open_invites(org.coordinator)
    assert record.data["drop_lookup"] is None
