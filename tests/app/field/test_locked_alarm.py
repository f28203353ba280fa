"""The silent alarm from a locked phone, against the real server: holding `%` on the locked
calculator reaches the coordinators without any unlock (on a phone with a keystore), nothing is
written to the phone before unlock, and the ordinary alarm sealed at the next unlock is the
same alarm at the coordinators, not a second one. Without a keystore it waits for the unlock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.field.alarm import AlarmControl
from app.field.calculator import CalculatorScreen
from app.field.context import FieldContext, RecordingNavigator
from app.i18n import Translator
from app.services.field import VaultFieldService
from app.services.field_alarm import AlarmService
from app.services.field_keystore import MemoryKeystore
from sync import coordinator
from sync.coordinator import alerts as raised_alerts
from sync.device import DeviceIdentity
from tests.integration.conftest import Org, running_org

PIN = "740218395061"


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path) as value:
        yield value


class Phone:
    def __init__(self, org: Org, data: Path, *, keystore: bool = True) -> None:
        self.service = VaultFieldService(
            data, kdf_log_n=15, keystore=MemoryKeystore() if keystore else None
        )
        self.service.create(PIN, language="en")
        self.service.join(coordinator.create_invite(org.coordinator, expires_in=3600).encode())
        self.service.sync_round()  # enrolled, the check file armed, the alarm key announced
        self.service.sync_round()  # the announcement delivered
        self.nav = RecordingNavigator()
        self.ctx = FieldContext(self.service, Translator("en"), self.nav)
        self.alarms = AlarmService(self.service)
        self.control = AlarmControl(self.ctx, self.alarms)
        self.ctx.alarm = self.control

    def device_id(self) -> str:
        identity = DeviceIdentity.load(self.service.open_vault())
        assert identity is not None
        return identity.device_id

    def hold_percent_on_the_locked_calculator(self) -> CalculatorScreen:
        calculator = CalculatorScreen(self.ctx)
        calculator.build()
        button: Any = calculator.buttons["%"]
        hold = button.on_long_press
        assert hold is not None
        asyncio.run(hold(None))
        for thread in self.control.couriers:
            thread.join(timeout=30)
        return calculator


def _raised(org: Org) -> list[raised_alerts.RaisedAlert]:
    coordinator.pull(org.coordinator)
    return raised_alerts.active(org.coordinator, 2**40)


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_holding_percent_on_the_locked_calculator_reaches_the_coordinators_without_unlock(
    org: Org, tmp_path: Path
) -> None:
    phone = Phone(org, tmp_path / "phone")
    phone.alarms.save_settings(message="medical", location=False, wipe=False)
    phone.service.sync_round()  # the preset message goes into the check file
    device = phone.device_id()
    phone.service.lock()
    before = _files(tmp_path / "phone")
    calculator = phone.hold_percent_on_the_locked_calculator()
    assert calculator.calc.display == "0" and not phone.service.unlocked
    assert _files(tmp_path / "phone") == before  # nothing written before unlock
    [alarm] = _raised(org)
    assert (alarm.device, alarm.reason, alarm.message) == (device, "alarm", "medical")
    assert len(phone.control.couriers) == 1 and "panicked" not in phone.nav.names


def test_the_alarm_sealed_at_the_next_unlock_is_the_same_alarm_at_the_coordinators(
    org: Org, tmp_path: Path
) -> None:
    phone = Phone(org, tmp_path / "phone")
    phone.service.lock()
    phone.hold_percent_on_the_locked_calculator()
    [first] = _raised(org)
    phone.service.unlock(PIN)
    assert phone.control.after_unlock()
    phone.service.sync_round()
    [again] = _raised(org)
    assert again.id == first.id and again.at == first.at


def test_without_a_keystore_the_locked_alarm_waits_for_the_next_unlock(
    org: Org, tmp_path: Path
) -> None:
    phone = Phone(org, tmp_path / "phone", keystore=False)
    phone.service.lock()
    phone.hold_percent_on_the_locked_calculator()
    assert phone.control.couriers == [] and _raised(org) == []
    phone.service.unlock(PIN)
    assert phone.control.after_unlock()
    phone.service.sync_round()
    [alarm] = _raised(org)
    assert alarm.reason == "alarm"


def test_a_locked_alarm_that_arrives_after_the_unlocks_alarm_is_not_raised_again(
    org: Org, tmp_path: Path
) -> None:
    phone = Phone(org, tmp_path / "phone")
    phone.service.lock()
    sender = phone.alarms.trigger()  # no network yet: the sender has not posted
    assert sender is not None
    phone.service.unlock(PIN)
    assert phone.control.after_unlock()
    phone.service.sync_round()
    [first] = _raised(org)
    assert sender.deliver_once()  # the locked alarm reaches the server afterwards
    [again] = _raised(org)
    assert again.id == first.id
