"""Silent alarm and check-ins against the real server: a phone's alarm reaches the coordinators,
a check-in whose phone never checks in is raised by the coordinators' own pull, receipts
confirm both on the phone, and an alarm that wipes the phone is still delivered."""

from __future__ import annotations

import time

from core.records import Kind
from sync import alerts, coordinator
from sync.coordinator import alerts as raised_alerts
from sync.device import DeviceIdentity
from tests.integration.conftest import Org, engine

MARK = "ZQXJ-alarm-marker"


def _now() -> int:
    return int(time.time())


def test_an_alarm_from_a_phone_is_raised_at_the_coordinators_with_its_location(org: Org) -> None:
    phone = org.new_device("osh")
    settings = alerts.save_settings(phone, alerts.AlarmSettings("detained", location=True))
    location = alerts.Location.of(40.51234, 72.80567, 15)
    alerts.raise_alarm(phone, settings, at=_now(), location=location)
    engine(phone).run_once()
    coordinator.pull(org.coordinator)
    [alarm] = raised_alerts.active(org.coordinator, _now())
    assert alarm.reason == "alarm" and alarm.message == "detained"
    assert alarm.location == {"lat": "40.51234", "lon": "72.80567", "accuracy": 15}
    assert alarm.device == DeviceIdentity.load(phone).device_id  # type: ignore[union-attr]


def test_the_coordinators_receipt_marks_the_alarm_confirmed_on_the_phone(org: Org) -> None:
    phone = org.new_device("osh")
    record = alerts.raise_alarm(phone, alerts.AlarmSettings(), at=_now())
    engine(phone).run_once()
    coordinator.pull(org.coordinator)
    engine(phone).run_once()
    assert phone.get(record.id).data.get("confirmed_at")
    assert alerts.unsent_alerts(phone) == []


def test_a_checkin_not_checked_in_by_its_deadline_is_raised_by_the_coordinators(
    org: Org,
) -> None:
    phone = org.new_device("osh")
    start = _now()
    alerts.arm_checkin(phone, start + 3600, at=start)
    engine(phone).run_once()
    coordinator.pull(org.coordinator)
    assert raised_alerts.active(org.coordinator, start + 3599) == []
    # the phone is switched off: nothing more arrives, and the deadline passes
    [alarm] = raised_alerts.active(org.coordinator, start + 3601)
    assert alarm.reason == "checkin_missed" and alarm.deadline == start + 3600


def test_a_checkin_checked_in_in_time_raises_nothing(org: Org) -> None:
    phone = org.new_device("osh")
    start = _now()
    alerts.arm_checkin(phone, start + 3600, at=start)
    engine(phone).run_once()
    alerts.check_in(phone, at=_now())
    engine(phone).run_once()
    coordinator.pull(org.coordinator)
    assert raised_alerts.active(org.coordinator, start + 7200) == []
    assert alerts.current_checkin(phone) is None


def test_the_phones_own_missed_checkin_alert_and_the_coordinators_are_one_alarm(
    org: Org,
) -> None:
    phone = org.new_device("osh")
    start = _now() - 120
    checkin = alerts.arm_checkin(phone, start + 60, at=start)
    missed = alerts.missed_checkin(phone, _now())
    assert missed is not None and missed.id == checkin.id
    alerts.raise_alarm(
        phone,
        alerts.AlarmSettings("danger"),
        at=_now(),
        reason="checkin_missed",
        checkin=missed.id,
    )
    assert alerts.missed_checkin(phone, _now()) is None
    engine(phone).run_once()
    coordinator.pull(org.coordinator)
    [alarm] = raised_alerts.active(org.coordinator, _now())
    assert alarm.reason == "checkin_missed" and alarm.message == "danger"
    raised_alerts.handle(org.coordinator, alarm.id, by="aida", now=_now())
    assert raised_alerts.active(org.coordinator, _now()) == []


def test_an_alarm_that_wipes_the_phone_is_delivered_from_memory_after_the_wipe(
    org: Org,
) -> None:
    phone = org.new_device("osh")
    settings = alerts.AlarmSettings("detained", wipe=True)
    alerts.raise_alarm(phone, settings, at=_now())
    identity = DeviceIdentity.load(phone)
    assert identity is not None
    courier = alerts.Courier(identity, alerts.queued_wires(phone))
    phone.wipe()
    assert courier.deliver_once() and courier.done
    coordinator.pull(org.coordinator)
    [alarm] = raised_alerts.active(org.coordinator, _now())
    assert alarm.wiped and alarm.message == "detained"


def test_alarm_and_checkin_records_are_ciphertext_on_the_phones_disk(org: Org) -> None:
    phone = org.new_device("osh")
    start = _now()
    alerts.arm_checkin(phone, start + 3600, at=start)
    alerts.raise_alarm(
        phone,
        alerts.AlarmSettings(location=True),
        at=start,
        location=alerts.Location.of(42.87461, 74.56983),
    )
    for path in (org.tmp / "osh").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"42.87461" not in data and b"checkin_missed" not in data
            assert b'"deadline"' not in data and b"detained" not in data, path.name
    assert phone.list(kind=Kind.ALERT)
