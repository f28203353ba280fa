"""The silent alarm gesture and the check-in screen.

**The gesture**, chosen so that someone watching the screen does not recognise it:
- on the calculator, **press and hold `%`** (a key nobody holds; nothing changes on screen);
- on every other screen (unlocked screens, the passphrase screen, setup and join), **press and
  hold the screen's title** at the top (`AlarmControl.hold_area` wraps it; nothing shows that
  it can be held, and nothing changes when it is).
Both call `AlarmControl.fire()`: with the owner's permission the phone's position is read
(never a permission prompt at that moment), then `AlarmService.trigger` seals the alarm (or,
locked, seals it from the check file and posts it with the check key where the phone has a
keystore, and keeps the moment in memory for the next unlock), sync is asked to run at once,
and if the owner chose it the phone is wiped and the sealed alarm keeps being pushed from
memory.

**The check-in screen** (`CheckinScreen`, route "checkin", from Settings): the alarm settings
(preset message, location, wipe after the alarm), the last alarm's state, and the check-in:
"check in within N minutes", then "I am safe". Views are dumb: all state is in the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import flet as ft

from app.field.context import FieldContext, Screen
from app.field.widgets import heading, hint, toggle_row
from app.services.field_alarm import AlarmService
from sync.alerts import MESSAGES, AlertError, Courier, Location

LOCATION_TIMEOUT = 8.0
WATCH_SECONDS = 20.0
CHECKIN_CHOICES = (30, 60, 120, 240)
MAX_MINUTES = 7 * 24 * 60


class AlarmControl:
    """Owned by the shell: the gesture's target, the geolocator service, the alarm service."""

    def __init__(self, ctx: FieldContext, service: AlarmService, page: Any = None) -> None:
        self.ctx = ctx
        self.service = service
        self.geolocator: Any = None
        if page is not None and not getattr(page, "web", True):
            with contextlib.suppress(Exception):  # not on every platform
                import flet_geolocator as fg

                self.geolocator = fg.Geolocator()  # a service: must stay referenced
        self.couriers: list[threading.Thread] = []
        self.fired = 0

    def hold_area(self, control: ft.Control) -> ft.Control:
        """`control` (a screen title), which fires the alarm when pressed and held."""
        return ft.GestureDetector(content=control, on_long_press_start=self.fire, data="alarm-hold")

    async def fire(self, _e: Any = None) -> None:
        """The gesture: silent on screen whatever happens (errors included)."""
        self.fired += 1
        location = await self._location()
        try:
            courier = await self.ctx.nav.run(self.service.trigger, location)
        except Exception:
            return  # silent: the alarm screen shows what was (not) sent once unlocked
        if courier is not None:
            thread = threading.Thread(target=courier.run, daemon=True, name="alarm-courier")
            thread.start()
            self.couriers.append(thread)
            if isinstance(courier, Courier):
                self.ctx.nav.panicked()  # the calculator with the owner's sign, as after a panic
                return
        if self.ctx.service.unlocked:
            self.ctx.nav.sync_now()

    async def _location(self) -> Location | None:
        if self.geolocator is None or not self.ctx.service.unlocked:
            return None
        try:
            if not self.service.settings().location:
                return None
            import flet_geolocator as fg

            status = await self.geolocator.get_permission_status()
            if status not in (
                fg.GeolocatorPermissionStatus.ALWAYS,
                fg.GeolocatorPermissionStatus.WHILE_IN_USE,
            ):
                return None
            position = await asyncio.wait_for(
                self.geolocator.get_current_position(), LOCATION_TIMEOUT
            )
            return Location.of(position.latitude, position.longitude, position.accuracy or 0)
        except Exception:  # no fix, no permission, no service: the alarm goes without it
            return None

    async def ask_location_permission(self) -> None:
        """When the owner turns location on (never at the alarm itself)."""
        if self.geolocator is not None:
            with contextlib.suppress(Exception):
                await self.geolocator.request_permission()

    async def watch(self, every: float = WATCH_SECONDS) -> None:
        """While the app runs: past a check-in's deadline the phone sends its own alarm, and
        an alarm the server has not acknowledged yet makes sync try again every `every` s."""
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(Exception):
                if not self.ctx.service.unlocked:
                    continue
                due = await asyncio.to_thread(self.service.due)
                if due or self.service.unsent():
                    self.ctx.nav.sync_now()

    def after_unlock(self) -> bool:
        """Seal an alarm given while locked; True if there was one."""
        try:
            return self.service.flush()
        except Exception:
            return False


class CheckinScreen:
    def __init__(self, ctx: FieldContext, alarm: AlarmControl) -> None:
        self.ctx = ctx
        self.alarm = alarm
        self.service = alarm.service
        self.status = hint("", data="checkin-status")

    def build(self) -> Screen:
        t = self.ctx.t
        settings = self.service.settings()
        self.message = ft.Dropdown(
            label=t("alarm.message"),
            value=settings.message,
            options=[ft.DropdownOption(key=m, text=t(f"alarm.message_{m}")) for m in MESSAGES],
            on_select=self.on_settings,
            data="alarm-message",
        )
        self.location = ft.Switch(value=settings.location, on_change=self.on_location)
        self.wipe = ft.Switch(value=settings.wipe, on_change=self.on_settings)
        self.minutes = ft.TextField(
            label=t("checkin.minutes"),
            value="60",
            keyboard_type=ft.KeyboardType.NUMBER,
            data="checkin-minutes",
        )
        body: list[ft.Control] = [
            heading(t("checkin.title")),
            *self._checkin_controls(),
            hint(t("checkin.how")),
            self.status,
            ft.Divider(),
            heading(t("alarm.title")),
            hint(t("alarm.how")),
            self.message,
            toggle_row(self.location, t("alarm.location"), data="alarm-location"),
            toggle_row(self.wipe, t("alarm.wipe"), data="alarm-wipe"),
            hint(self._last_alarm()),
        ]
        if not self.service.enrolled():
            body.insert(
                0, ft.Text(t("alarm.not_joined"), color=ft.Colors.ERROR, data="alarm-alone")
            )
        return Screen(t("checkin.screen"), body, back="settings")

    def _last_alarm(self) -> str:
        last = self.service.last_alarm()
        if last is None:
            return self.ctx.t("alarm.none")
        return self.ctx.t(f"alarm.state_{last.state}", time=_clock(last.at))

    def _checkin_controls(self) -> list[ft.Control]:
        t = self.ctx.t
        current = self.service.checkin()
        if current is None:
            quick: list[ft.Control] = [
                ft.OutlinedButton(
                    t("checkin.in_minutes", minutes=m),
                    on_click=lambda _e, m=m: self._arm(m),
                    data=f"checkin-{m}",
                )
                for m in CHECKIN_CHOICES
            ]
            return [
                ft.Row(quick, wrap=True),
                self.minutes,
                ft.FilledButton(t("checkin.arm"), on_click=self.on_arm, data="checkin-arm"),
            ]
        state = "confirmed" if current.confirmed else ("sent" if current.sent else "waiting")
        return [
            ft.Text(
                t("checkin.armed_until", time=_clock(current.deadline)),
                size=18,
                weight=ft.FontWeight.BOLD,
                data="checkin-armed",
            ),
            hint(t(f"checkin.state_{state}")),
            ft.FilledButton(
                t("checkin.safe"),
                on_click=self.on_safe,
                data="checkin-safe",
                style=ft.ButtonStyle(bgcolor=ft.Colors.GREEN_700, color=ft.Colors.WHITE),
            ),
        ]

    # ------------------------------------------------------------ handlers
    def on_settings(self, _e: Any = None) -> None:
        try:
            self.service.save_settings(
                message=str(self.message.value or MESSAGES[0]),
                location=bool(self.location.value),
                wipe=bool(self.wipe.value),
            )
        except AlertError as exc:
            self.status.value = self.ctx.t(f"alarm.error_{exc.reason}")
            return
        self.status.value = self.ctx.t("alarm.saved")

    async def on_location(self, e: Any = None) -> None:
        self.on_settings(e)
        if self.location.value:
            await self.alarm.ask_location_permission()

    def on_arm(self, _e: Any = None) -> None:
        text = str(self.minutes.value or "").strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_MINUTES:
            self.minutes.error = self.ctx.t("checkin.bad_minutes", max=MAX_MINUTES)
            return
        self.minutes.error = None
        self._arm(int(text))

    def _arm(self, minutes: int) -> None:
        try:
            self.service.arm(minutes)
        except AlertError as exc:
            self.status.value = self.ctx.t(f"alarm.error_{exc.reason}")
            return
        except Exception as exc:
            self.status.value = self.ctx.error(exc)
            return
        self.ctx.nav.sync_now()
        self.ctx.nav.refresh()

    def on_safe(self, _e: Any = None) -> None:
        try:
            self.service.check_in()
        except Exception as exc:
            self.status.value = self.ctx.error(exc)
            return
        self.ctx.nav.sync_now()
        self.ctx.nav.refresh()


def _clock(ts: int) -> str:
    return time.strftime("%H:%M", time.localtime(ts))
