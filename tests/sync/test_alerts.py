"""The alarm and check-in formats and the coordinators' verdict, without a server: what is
refused (with a reason, storing nothing), and when a check-in is raised."""

from __future__ import annotations

from typing import Any

import pytest

from core.crypto.signing import SigningKey
from core.records import Kind
from storage.memory import MemoryVault
from sync import alerts, envelope
from sync.age.keys import generate_identity
from sync.coordinator import alerts as raised_alerts
from sync.payload import build_payload, parse_payload

DEADLINE = 1_800_000_000
_IDENTITY, RECIPIENT = generate_identity()
KEY = SigningKey.generate()


class Chain:
    """One device's envelopes, as the pull hands them over (signature and chain checked)."""

    def __init__(self) -> None:
        self.seq, self.prev = 0, envelope.ZERO_HASH

    def sealed(self, type_: str, record: dict[str, Any], created: int) -> Any:
        self.seq += 1
        sealed = envelope.seal(
            build_payload(type_, record),
            signer=KEY,
            recipients=[RECIPIENT],
            seq=self.seq,
            prev=self.prev,
            kind="report",
            now=created,
        )
        self.prev = envelope.envelope_hash(sealed)
        return sealed


def _store(
    vault: MemoryVault,
    chain: Chain,
    type_: str,
    data: dict[str, Any],
    *,
    created: int,
    received: int,
    record_id: str = "c" * 32,
    seen: int | None = None,
) -> bool | None:
    record = {"id": record_id, "kind": type_, "data": data}
    sealed = chain.sealed(type_, record, created)
    touched: dict[str, Any] = {}
    stored = raised_alerts.store_alert(
        vault,
        sealed,
        parse_payload(build_payload(type_, record)),
        received,
        touched,
        seen=received if seen is None else seen,
    )
    vault.put_many(list(touched.values()))
    return stored


def _armed(deadline: int = DEADLINE, at: int = DEADLINE - 3600) -> dict[str, Any]:
    return {"v": 1, "state": "armed", "deadline": deadline, "at": at}


def _done(at: int) -> dict[str, Any]:
    return {"v": 1, "state": "done", "deadline": DEADLINE, "at": at}


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"reason": "panic"}, "unknown_reason"),
        ({"message": "hello"}, "unknown_message"),
        ({"at": -1}, "bad_time"),
    ],
)
def test_a_bad_alarm_is_refused_with_its_reason(kwargs: dict[str, Any], reason: str) -> None:
    args: dict[str, Any] = {"reason": "alarm", "at": 1, "message": "detained", **kwargs}
    with pytest.raises(alerts.AlertError) as caught:
        alerts.alert_data(args.pop("reason"), **args)
    assert caught.value.reason == reason


def test_a_location_outside_the_globe_is_refused_and_a_bad_one_received_is_dropped() -> None:
    with pytest.raises(alerts.AlertError):
        alerts.Location.of(91.0, 10.0)
    assert alerts.parse_location({"lat": "NaN", "lon": "1"}) is None
    assert alerts.parse_location({"lat": "12", "lon": "200"}) is None
    assert alerts.parse_location("42,74") is None
    assert alerts.parse_location({"lat": "42.874611", "lon": "74.5", "accuracy": 7}) == (
        alerts.Location("42.87461", "74.50000", 7)
    )


def test_an_unknown_preset_message_is_refused_in_the_settings() -> None:
    with pytest.raises(alerts.AlertError):
        alerts.AlarmSettings(message="anything I like")


def test_alarm_and_checkin_payloads_travel_as_reports() -> None:
    from sync.payload import KIND_FOR_TYPE
    from sync.trust import DEVICE_TYPES

    assert KIND_FOR_TYPE["alert"] == KIND_FOR_TYPE["checkin"] == "report"
    assert {"alert", "checkin"} <= DEVICE_TYPES


def test_a_checkin_is_raised_at_its_deadline_and_not_a_second_before() -> None:
    vault = MemoryVault()
    assert _store(
        vault, Chain(), "checkin", _armed(), created=DEADLINE - 3600, received=DEADLINE - 3590
    )
    assert raised_alerts.active(vault, DEADLINE - 1) == []
    [alarm] = raised_alerts.active(vault, DEADLINE)
    assert alarm.reason == "checkin_missed" and alarm.at == DEADLINE


def test_a_checked_in_signed_in_time_and_seen_within_the_grace_clears_the_alarm() -> None:
    vault, chain = MemoryVault(), Chain()
    _store(vault, chain, "checkin", _armed(), created=DEADLINE - 3600, received=DEADLINE - 3590)
    _store(
        vault,
        chain,
        "checkin",
        _done(DEADLINE - 60),
        created=DEADLINE - 60,
        received=DEADLINE + 900,
    )
    assert raised_alerts.active(vault, DEADLINE + 1000) == []


def test_a_checked_in_signed_in_time_but_first_seen_long_after_stays_raised_to_confirm() -> None:
    # a phone taken after its deadline, clock set back, "checked in" under pressure
    vault, chain = MemoryVault(), Chain()
    _store(vault, chain, "checkin", _armed(), created=DEADLINE - 3600, received=DEADLINE - 3590)
    late = DEADLINE + raised_alerts.SEEN_GRACE + 1
    _store(vault, chain, "checkin", _done(DEADLINE - 60), created=DEADLINE - 60, received=late)
    [alarm] = raised_alerts.active(vault, late + 10)
    assert alarm.reason == "checkin_missed" and alarm.seen_late
    assert alarm.late_checkin == DEADLINE - 60


def test_a_checked_in_after_the_deadline_leaves_the_alarm_raised_and_says_late() -> None:
    vault, chain = MemoryVault(), Chain()
    _store(vault, chain, "checkin", _armed(), created=DEADLINE - 3600, received=DEADLINE - 3590)
    _store(
        vault, chain, "checkin", _done(DEADLINE + 60), created=DEADLINE + 60, received=DEADLINE + 61
    )
    [alarm] = raised_alerts.active(vault, DEADLINE + 100)
    assert alarm.late_checkin == DEADLINE + 60


def test_a_new_deadline_sent_after_the_old_one_passed_changes_nothing() -> None:
    vault, chain = MemoryVault(), Chain()
    _store(vault, chain, "checkin", _armed(), created=DEADLINE - 3600, received=DEADLINE - 3590)
    _store(
        vault,
        chain,
        "checkin",
        _armed(DEADLINE + 7200, DEADLINE + 10),
        created=DEADLINE + 10,
        received=DEADLINE + 11,
    )
    [alarm] = raised_alerts.active(vault, DEADLINE + 20)
    assert alarm.deadline == DEADLINE


def test_a_deadline_extended_before_it_passed_is_the_new_one() -> None:
    vault, chain = MemoryVault(), Chain()
    _store(vault, chain, "checkin", _armed(), created=DEADLINE - 3600, received=DEADLINE - 3590)
    _store(
        vault,
        chain,
        "checkin",
        _armed(DEADLINE + 3600, DEADLINE - 10),
        created=DEADLINE - 10,
        received=DEADLINE - 9,
    )
    assert raised_alerts.active(vault, DEADLINE + 10) == []


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("alert", {"v": 1, "reason": "alarm", "message": "sing a song", "at": 1}),
        ("alert", {"v": 1, "reason": "party", "message": "detained", "at": 1}),
        ("checkin", {"v": 1, "state": "maybe", "deadline": DEADLINE}),
        ("checkin", {"v": 1, "state": "armed", "deadline": "tomorrow"}),
    ],
)
def test_a_malformed_alarm_or_checkin_is_refused_and_nothing_is_stored(
    type_: str, data: dict[str, Any]
) -> None:
    vault = MemoryVault()
    assert _store(vault, Chain(), type_, data, created=1, received=1) is None
    assert vault.list(kind=Kind.ALERT) == [] and vault.list(kind=Kind.CHECKIN) == []


def test_an_alarm_claiming_a_time_after_it_reached_the_server_is_dated_when_it_arrived() -> None:
    vault = MemoryVault()
    data = alerts.alert_data("alarm", at=4_102_444_800, message="danger")
    _store(vault, Chain(), "alert", data, created=4_102_444_800, received=DEADLINE)
    [alarm] = raised_alerts.active(vault, DEADLINE)
    assert alarm.at == DEADLINE


@pytest.mark.parametrize(
    ("plan", "reason"),
    [(42, "plan_not_text"), ("x" * 4001, "plan_too_long"), ("call\x07me", "plan_bad_character")],
)
def test_a_bad_emergency_plan_is_refused_with_its_reason(plan: Any, reason: str) -> None:
    with pytest.raises(alerts.AlertError) as caught:
        raised_alerts.check_emergency_plan(plan)
    assert caught.value.reason == reason
    assert raised_alerts.emergency_plan({"emergency_plan": plan}) == ""


def test_the_emergency_plan_keeps_the_organisations_words_and_lines() -> None:
    plan = "1. Адвокатка чалыңыз.\r\n2. Үй-бүлөгө кабарлаңыз.  "
    assert raised_alerts.emergency_plan({"emergency_plan": plan}) == (
        "1. Адвокатка чалыңыз.\n2. Үй-бүлөгө кабарлаңыз."
    )
