"""The silent alarm and the check-in screen on a real vault and a real server: the gesture on
the calculator and on any screen's title, the alarm given while locked (sealed at unlock, never
written before), the alarm that wipes, the check-in screen's states."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flet as ft
import pytest

from app.field.alarm import AlarmControl, CheckinScreen
from app.field.calculator import CalculatorScreen
from app.field.context import FieldContext, RecordingNavigator
from app.i18n import Translator
from app.services.field import VaultFieldService
from app.services.field_alarm import AlarmService
from core.records import Kind
from sync import coordinator
from sync.coordinator import alerts as raised_alerts
from tests.app.field.test_views import find, texts
from tests.integration.conftest import Org, running_org

PIN = "740218395061"
MARK = b"call_me"


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path) as value:
        yield value


class Phone:
    def __init__(self, org: Org, data: Path, *, join: bool = True) -> None:
        self.service = VaultFieldService(data, kdf_log_n=15)
        self.service.create(PIN, language="en")
        if join:
            self.service.join(coordinator.create_invite(org.coordinator, expires_in=3600).encode())
            self.service.sync_round()
        self.nav = RecordingNavigator()
        self.ctx = FieldContext(self.service, Translator("en"), self.nav)
        self.alarms = AlarmService(self.service)
        self.control = AlarmControl(self.ctx, self.alarms)
        self.ctx.alarm = self.control

    def relock(self) -> None:
        self.service.lock()
        self.service.unlock(PIN)


def _coordinator_alarms(org: Org) -> list[raised_alerts.RaisedAlert]:
    coordinator.pull(org.coordinator)
    return raised_alerts.active(org.coordinator, 2**40)


def test_holding_percent_on_the_unlocked_app_sends_the_alarm_and_asks_for_a_sync(
    org: Org, tmp_path: Path
) -> None:
    phone = Phone(org, tmp_path / "phone")
    calculator = CalculatorScreen(phone.ctx)
    calculator.build()
    hold = calculator.buttons["%"].on_long_press
    assert hold is not None
    asyncio.run(hold(None))
    assert calculator.calc.display == "0"  # nothing on screen changed
    assert "sync_now" in phone.nav.names
    phone.service.sync_round()
    [alarm] = _coordinator_alarms(org)
    assert alarm.reason == "alarm" and alarm.message == "detained"


def test_an_alarm_given_on_the_locked_calculator_is_sealed_at_the_next_unlock_only(
    org: Org, tmp_path: Path
) -> None:
    phone = Phone(org, tmp_path / "phone")
    phone.alarms.save_settings(message="call_me", location=False, wipe=True)
    phone.service.lock()
    before = {p: p.read_bytes() for p in (tmp_path / "phone").rglob("*") if p.is_file()}
    asyncio.run(phone.control.fire())
    after = {p: p.read_bytes() for p in (tmp_path / "phone").rglob("*") if p.is_file()}
    assert before == after  # nothing written before unlock
    assert phone.alarms.pending and phone.service.has_vault()
    phone.service.unlock(PIN)
    assert phone.control.after_unlock()
    assert not phone.alarms.pending and phone.service.has_vault()  # never wipes at unlock
    phone.service.sync_round()
    [alarm] = _coordinator_alarms(org)
    assert alarm.message == "call_me" and not alarm.wiped


def test_an_alarm_that_wipes_leaves_nothing_and_still_reaches_the_coordinators(
    org: Org, tmp_path: Path
) -> None:
    phone = Phone(org, tmp_path / "phone")
    phone.alarms.save_settings(message="call_me", location=False, wipe=True)
    asyncio.run(phone.control.fire())
    assert "panicked" in phone.nav.names and not phone.service.has_vault()
    for thread in phone.control.couriers:
        thread.join(timeout=30)
    for path in (tmp_path / "phone").rglob("*"):
        assert not path.is_file() or MARK not in path.read_bytes()
    [alarm] = _coordinator_alarms(org)
    assert alarm.wiped and alarm.message == "call_me"


def test_a_phone_that_has_not_joined_sends_nothing_and_says_so(tmp_path: Path) -> None:
    with running_org(tmp_path) as org:
        phone = Phone(org, tmp_path / "alone", join=False)
        assert phone.alarms.trigger() is None
        assert phone.service.open_vault().list(kind=Kind.ALERT) == []
        screen = CheckinScreen(phone.ctx, phone.control).build()
        assert "an alarm would reach nobody" in texts(ft.Column(screen.body))


def test_the_checkin_screen_arms_confirms_and_checks_in(org: Org, tmp_path: Path) -> None:
    phone = Phone(org, tmp_path / "phone")
    screen = CheckinScreen(phone.ctx, phone.control)
    built = ft.Column(screen.build().body)
    screen.minutes.value = "0"
    screen.on_arm()
    assert screen.minutes.error and phone.alarms.checkin() is None
    find(built, "checkin-60").on_click(None)
    view = phone.alarms.checkin()
    assert view is not None and not view.sent
    assert "Not yet sent" in texts(ft.Column(screen.build().body))
    phone.service.sync_round()
    coordinator.pull(org.coordinator)
    phone.service.sync_round()
    view = phone.alarms.checkin()
    assert view is not None and view.confirmed
    body = ft.Column(screen.build().body)
    assert "The coordinators have it" in texts(body)
    find(body, "checkin-safe").on_click(None)
    assert phone.alarms.checkin() is None
    phone.service.sync_round()
    assert _coordinator_alarms(org) == []


def test_the_phone_sends_its_own_alarm_once_a_checkin_deadline_has_passed(
    org: Org, tmp_path: Path
) -> None:
    phone = Phone(org, tmp_path / "phone")
    phone.alarms.arm(1)
    assert not phone.alarms.due()
    phone.alarms._clock = lambda: 2**33  # far past the deadline
    assert phone.alarms.due() and not phone.alarms.due()  # once
    phone.service.sync_round()
    [alarm] = _coordinator_alarms(org)
    assert alarm.reason == "checkin_missed"


def test_the_alarm_settings_are_kept_in_the_vault(org: Org, tmp_path: Path) -> None:
    phone = Phone(org, tmp_path / "phone")
    screen = CheckinScreen(phone.ctx, phone.control)
    screen.build()
    screen.message.value = "medical"
    screen.wipe.value = True
    screen.on_settings()
    phone.relock()
    assert phone.alarms.settings().message == "medical" and phone.alarms.settings().wipe


def test_every_screen_title_is_a_hold_area_for_the_alarm(org: Org, tmp_path: Path) -> None:
    phone = Phone(org, tmp_path / "phone")
    area: Any = phone.control.hold_area(ft.Text("Incidents"))
    assert isinstance(area, ft.GestureDetector) and area.on_long_press_start is not None
    asyncio.run(area.on_long_press_start(None))
    assert phone.control.fired == 1
    assert len(phone.service.open_vault().list(kind=Kind.ALERT)) == 1


class FakeGeolocator:
    """Stands in for flet-geolocator's service (which needs a phone)."""

    def __init__(self, status: Any, *, hang: bool = False) -> None:
        self.status, self.hang = status, hang
        self.asked = 0

    async def get_permission_status(self) -> Any:
        return self.status

    async def request_permission(self) -> Any:
        self.asked += 1
        return self.status

    async def get_current_position(self) -> Any:
        import flet_geolocator as fg

        if self.hang:
            await asyncio.sleep(3600)
        return fg.GeolocatorPosition(latitude=42.874611, longitude=74.569763, accuracy=12.6)


def test_the_alarm_carries_the_location_only_when_the_owner_allowed_it(
    org: Org, tmp_path: Path
) -> None:
    import flet_geolocator as fg

    phone = Phone(org, tmp_path / "phone")
    phone.control.geolocator = FakeGeolocator(fg.GeolocatorPermissionStatus.WHILE_IN_USE)
    asyncio.run(phone.control.fire())  # location not allowed: none is read
    phone.alarms.save_settings(message="danger", location=True, wipe=False)
    asyncio.run(phone.control.fire())
    phone.service.sync_round()
    located = [a.location for a in _coordinator_alarms(org)]
    assert sorted(located, key=bool) == [
        None,
        {"lat": "42.87461", "lon": "74.56976", "accuracy": 12},
    ]


def test_without_permission_or_a_fix_the_alarm_goes_without_a_location_and_asks_nothing(
    org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flet_geolocator as fg

    from app.field import alarm as alarm_module

    phone = Phone(org, tmp_path / "phone")
    phone.alarms.save_settings(message="danger", location=True, wipe=False)
    denied = FakeGeolocator(fg.GeolocatorPermissionStatus.DENIED)
    phone.control.geolocator = denied
    assert asyncio.run(phone.control._location()) is None and denied.asked == 0
    monkeypatch.setattr(alarm_module, "LOCATION_TIMEOUT", 0.2)
    phone.control.geolocator = FakeGeolocator(fg.GeolocatorPermissionStatus.WHILE_IN_USE, hang=True)
    assert asyncio.run(phone.control._location()) is None
