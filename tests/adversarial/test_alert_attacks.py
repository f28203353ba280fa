"""Attacks on the silent alarm and check-ins, against the real server and a hostile operator.

The promise (docs/threat-model.md): an alarm or a "checked in" counts only when signed by a
device in the coordinators' verified roster; a server that forges, replays, withholds or
delays envelopes can cause a false alarm but never silence one, and never learns a deadline
or sees that an envelope is an alarm at all.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from core.crypto.signing import SigningKey
from core.records import Kind
from sync import alerts, coordinator, envelope
from sync.coordinator import alerts as raised_alerts
from sync.device import DeviceIdentity
from sync.payload import build_payload
from tests.adversarial.operator import RedTeamOperator
from tests.integration.conftest import Org, engine

HOUR = 3600


@pytest.fixture
def operator(org: Org) -> RedTeamOperator:
    return RedTeamOperator(org.server)


def _now() -> int:
    return int(time.time())


def _queued(vault: Any) -> list[envelope.Envelope]:
    """The phone's sealed envelopes still held (until a coordinator's receipt), in chain order."""
    entries = [e for e in vault.list(kind=Kind.OUTBOX) if e.data.get("type") == "envelope"]
    entries.sort(key=lambda e: int(e.data["seq"]))
    return [envelope.from_wire(e.data["wire"]) for e in entries]


def _device_id(vault: Any) -> str:
    identity = DeviceIdentity.load(vault)
    assert identity is not None
    return identity.device_id


def _alert_payload(checkin: str = "") -> bytes:
    data = alerts.alert_data("alarm", at=_now(), message="detained", checkin=checkin)
    return build_payload("alert", {"id": "a" * 32, "kind": "alert", "data": data})


def _recipients(org: Org) -> list[str]:
    document = coordinator.org_document(org.coordinator)
    assert document is not None
    return list(document.recipients)


def test_envelopes_of_alarms_and_checkins_look_like_reports_to_the_server(
    org: Org, operator: RedTeamOperator
) -> None:
    phone = org.new_device("osh")
    alerts.arm_checkin(phone, _now() + HOUR, at=_now())
    alerts.raise_alarm(phone, alerts.AlarmSettings(), at=_now())
    engine(phone).run_once()
    with operator._db() as db:
        kinds = {row[0] for row in db.execute("SELECT kind FROM envelopes")}
        stored = b"".join(row[0] for row in db.execute("SELECT payload FROM envelopes"))
    assert kinds == {"report"}
    assert b"deadline" not in stored and b"detained" not in stored


def test_a_server_withholding_the_checked_in_causes_a_false_alarm_not_silence(
    org: Org, operator: RedTeamOperator
) -> None:
    phone = org.new_device("osh")
    start = _now()
    alerts.arm_checkin(phone, start + HOUR, at=start)
    engine(phone).run_once()
    coordinator.pull(org.coordinator)
    alerts.check_in(phone, at=_now())
    engine(phone).run_once()
    operator.forget_envelopes(_device_id(phone))  # "stored", then dropped
    coordinator.pull(org.coordinator)
    [alarm] = raised_alerts.active(org.coordinator, start + HOUR + 1)
    assert alarm.reason == "checkin_missed"


def test_a_server_cannot_forge_a_checked_in_to_silence_a_missed_checkin(
    org: Org, operator: RedTeamOperator
) -> None:
    phone = org.new_device("osh")
    start = _now()
    armed = alerts.arm_checkin(phone, start + HOUR, at=start)
    engine(phone).run_once()
    coordinator.pull(org.coordinator)
    [first] = _queued(phone)
    done = {"id": armed.id, "kind": "checkin", "data": {"state": "done", "at": start + 5}}
    forged = envelope.seal(
        build_payload("checkin", done),
        signer=SigningKey.generate(),  # the operator holds no device key
        recipients=_recipients(org),
        seq=first.seq + 1,
        prev=envelope.envelope_hash(first),
        kind="report",
        now=start + 5,
    )
    forged = envelope.Envelope(
        envelope.EnvelopeHeader(**{**forged.header.to_dict(), "to": None, "author": first.author}),
        forged.sig,
        forged.payload,
    )
    operator.insert_envelope_unchecked(forged)
    report = coordinator.pull(org.coordinator)
    assert report.forged == 1
    [alarm] = raised_alerts.active(org.coordinator, start + HOUR + 1)
    assert alarm.reason == "checkin_missed"


def test_a_replayed_checked_in_of_an_earlier_checkin_does_not_silence_a_new_one(
    org: Org, operator: RedTeamOperator
) -> None:
    phone = org.new_device("osh")
    start = _now()
    alerts.arm_checkin(phone, start + HOUR, at=start)
    alerts.check_in(phone, at=start + 10)
    engine(phone).run_once()
    old_done = _queued(phone)[-1]
    alerts.arm_checkin(phone, start + 2 * HOUR, at=start + 20)
    engine(phone).run_once()
    coordinator.pull(org.coordinator)
    operator.move_to_end_of_feed(old_done.id)  # the old "checked in" again, after the rest
    coordinator.pull(org.coordinator)
    [alarm] = raised_alerts.active(org.coordinator, start + 2 * HOUR + 1)
    assert alarm.deadline == start + 2 * HOUR


def test_a_server_delaying_an_armed_checkin_cannot_move_its_deadline_past(
    org: Org, operator: RedTeamOperator
) -> None:
    phone = org.new_device("osh")
    start = _now()
    alerts.arm_checkin(phone, start + HOUR, at=start)
    engine(phone).run_once()
    [armed] = _queued(phone)
    operator.set_received_at(armed.id, start + 10 * HOUR)  # "it arrived much later"
    coordinator.pull(org.coordinator)
    [alarm] = raised_alerts.active(org.coordinator, start + HOUR + 1)
    assert alarm.deadline == start + HOUR


def test_a_forged_alarm_from_the_server_is_refused(org: Org, operator: RedTeamOperator) -> None:
    phone = org.new_device("osh")
    engine(phone).run_once()
    forged = envelope.seal(
        _alert_payload(),
        signer=SigningKey.generate(),
        recipients=_recipients(org),
        seq=1,
        prev=envelope.ZERO_HASH,
        kind="report",
        now=_now(),
    )
    forged = envelope.Envelope(
        envelope.EnvelopeHeader(
            **{**forged.header.to_dict(), "to": None, "author": _device_id(phone)}
        ),
        forged.sig,
        forged.payload,
    )
    operator.insert_envelope_unchecked(forged)
    report = coordinator.pull(org.coordinator)
    assert report.forged == 1
    assert raised_alerts.raised(org.coordinator, _now()) == []


def test_an_alarm_from_a_device_outside_the_roster_is_never_raised(
    org: Org, operator: RedTeamOperator
) -> None:
    from sync.age.keys import generate_identity

    key = SigningKey.generate()
    _identity, recipient = generate_identity()
    operator.insert_device(key.public_bytes(), recipient, "ghost")
    sealed = envelope.seal(
        _alert_payload(),
        signer=key,
        recipients=_recipients(org),
        seq=1,
        prev=envelope.ZERO_HASH,
        kind="report",
        now=_now(),
    )
    operator.insert_envelope(sealed)
    report = coordinator.pull(org.coordinator)
    assert report.held == 1 and report.stored == 0
    assert raised_alerts.raised(org.coordinator, _now()) == []


def test_a_replayed_alarm_is_one_alarm_and_stays_handled(
    org: Org, operator: RedTeamOperator
) -> None:
    phone = org.new_device("osh")
    alerts.raise_alarm(phone, alerts.AlarmSettings(), at=_now())
    engine(phone).run_once()
    [sealed] = _queued(phone)
    coordinator.pull(org.coordinator)
    [alarm] = raised_alerts.active(org.coordinator, _now())
    raised_alerts.handle(org.coordinator, alarm.id, by="aida", now=_now())
    operator.move_to_end_of_feed(sealed.id)  # answered again, after everything else
    report = coordinator.pull(org.coordinator)
    assert report.stored == 0
    assert raised_alerts.active(org.coordinator, _now()) == []
    assert len(raised_alerts.raised(org.coordinator, _now())) == 1
