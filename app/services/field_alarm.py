"""The silent alarm and check-ins for the field app's screens: `AlarmService(field_service)`.

Use:
- `trigger(location)` from the alarm gesture, on any screen. Unlocked: the alarm is sealed and
  queued at once (`sync.alerts.raise_alarm`), and when the owner chose to wipe, the phone is
  wiped straight after and a `Courier` (returned) goes on pushing the sealed alarm from memory.
  Locked (calculator or passphrase screen): the device key is inside the vault, so nothing can
  be signed; the moment is kept **in memory only** and the alarm is sealed at the next unlock
  (`flush()`), dated to the moment of the gesture. Nothing is written to disk before unlock.
- `arm(minutes)`, `check_in()`, `checkin()`: the check-in screen; `due()` once in a while while
  unlocked: past the deadline, the phone sends its own "check-in missed" alarm.
- `settings()` / `save_settings(...)`: the preset message, location, wipe.

Danger: a phone switched off or locked at the deadline cannot send anything itself; the
coordinators' tools raise the missed check-in from the armed one (`sync.coordinator.alerts`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from core.records import Status
from sync import alerts
from sync.alerts import AlarmSettings, AlertError, Location
from sync.device import DeviceIdentity


@dataclasses.dataclass(frozen=True, slots=True)
class CheckinView:
    """The open check-in: its deadline, and whether a coordinator's receipt confirmed it."""

    deadline: int
    sent: bool
    confirmed: bool


@dataclasses.dataclass(frozen=True, slots=True)
class AlarmView:
    """The last alarm: when, and how far it got (`waiting`, `sent`, `confirmed`)."""

    at: int
    state: str


class AlarmService:
    def __init__(self, field: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.field = field
        self._clock = clock
        self._pending_at = 0  # an alarm given while locked: memory only, sealed at unlock
        self._lock = threading.Lock()

    # ------------------------------------------------------------ state
    def _vault(self) -> Any | None:
        opener = getattr(self.field, "open_vault", None)
        if opener is None or not self.field.unlocked:
            return None
        try:
            return opener()
        except Exception:  # locked or wiped in the meantime
            return None

    def enrolled(self) -> bool:
        vault = self._vault()
        identity = DeviceIdentity.load(vault) if vault is not None else None
        return identity is not None

    def _now(self) -> int:
        return int(self._clock())

    # ------------------------------------------------------------ settings
    def settings(self) -> AlarmSettings:
        vault = self._vault()
        return alerts.load_settings(vault) if vault is not None else AlarmSettings()

    def save_settings(self, *, message: str, location: bool, wipe: bool) -> AlarmSettings:
        vault = self._vault()
        if vault is None:
            raise AlertError("locked")
        return alerts.save_settings(vault, AlarmSettings(message, location, wipe))

    # ------------------------------------------------------------ the alarm
    @property
    def pending(self) -> bool:
        return bool(self._pending_at)

    def trigger(self, location: Location | None = None) -> alerts.Courier | None:
        """*Blocking* (encryption; a wipe). Returns a courier to run when the phone was wiped."""
        with self._lock:
            vault = self._vault()
            if vault is None:
                if self.field.has_vault():
                    self._pending_at = self._pending_at or self._now()
                return None
            if DeviceIdentity.load(vault) is None:
                return None  # not joined: nobody to tell
            settings = alerts.load_settings(vault)
            alerts.raise_alarm(vault, settings, at=self._now(), location=location)
            if not settings.wipe:
                return None
            identity = DeviceIdentity.load(vault)
            assert identity is not None
            courier = alerts.Courier(identity, alerts.queued_wires(vault))
        self.field.wipe()
        return courier

    def flush(self) -> bool:
        """Seal an alarm given while locked (call right after unlock). True if one was sealed."""
        with self._lock:
            at, vault = self._pending_at, self._vault()
            if not at or vault is None:
                return False
            self._pending_at = 0
            if DeviceIdentity.load(vault) is None:
                return False
            settings = dataclasses.replace(alerts.load_settings(vault), wipe=False)
            alerts.raise_alarm(vault, settings, at=at)
            return True

    def unsent(self) -> bool:
        """An alarm or check-in the server has not acknowledged yet."""
        vault = self._vault()
        if vault is None:
            return False
        return any(
            r.status in (Status.READY, Status.QUEUED)
            for kind in ("alert", "checkin")
            for r in vault.list(kind=kind)
        )

    def last_alarm(self) -> AlarmView | None:
        vault = self._vault()
        if vault is None:
            return None
        records = vault.list(kind="alert")
        if not records:
            return None
        last = max(records, key=lambda r: int(r.data.get("at", 0)))
        state = "waiting"
        if last.data.get("confirmed_at"):
            state = "confirmed"
        elif last.status == Status.SENT:
            state = "sent"
        return AlarmView(int(last.data.get("at", 0)), state)

    # ------------------------------------------------------------ check-ins
    def checkin(self) -> CheckinView | None:
        vault = self._vault()
        record = alerts.current_checkin(vault) if vault is not None else None
        if record is None:
            return None
        return CheckinView(
            deadline=int(record.data["deadline"]),
            sent=record.status == Status.SENT,
            confirmed=bool(record.data.get("confirmed_at")),
        )

    def arm(self, minutes: int) -> CheckinView:
        vault = self._vault()
        if vault is None:
            raise AlertError("locked")
        if DeviceIdentity.load(vault) is None:
            raise AlertError("not_joined")
        now = self._now()
        alerts.arm_checkin(vault, now + int(minutes) * 60, at=now)
        view = self.checkin()
        assert view is not None
        return view

    def check_in(self) -> None:
        vault = self._vault()
        if vault is None:
            raise AlertError("locked")
        alerts.check_in(vault, at=self._now())

    def due(self) -> bool:
        """Past an open check-in's deadline, seal the phone's own alarm for it (once)."""
        with self._lock:
            vault = self._vault()
            if vault is None:
                return False
            missed = alerts.missed_checkin(vault, self._now())
            if missed is None:
                return False
            alerts.raise_alarm(
                vault,
                dataclasses.replace(alerts.load_settings(vault), wipe=False),
                at=self._now(),
                reason="checkin_missed",
                checkin=missed.id,
            )
            return True
