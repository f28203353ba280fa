"""The silent alarm and check-ins for the field app's screens: `AlarmService(field_service)`.

Use:
- `trigger(location)` from the alarm gesture, on any screen. Unlocked: the alarm is sealed and
  queued at once (`sync.alerts.raise_alarm`), and when the owner chose to wipe, the phone is
  wiped straight after and a `Courier` (returned) goes on pushing the sealed alarm from memory.
  Locked (calculator or passphrase screen): the device key is inside the vault. With a
  keystore and an armed check file (`sync.wipecheck`), the alarm is sealed at once with what
  the file holds (`sync.locked_alarm`) and a `LockedAlarmSender` (returned) posts it with the
  check key, trying again until the server has it. Either way the moment and the alarm's
  nonce are kept **in memory only**, and the ordinary alarm is sealed at the next unlock
  (`flush()`), dated to the gesture and carrying the same nonce (coordinators take the two as
  one). Nothing is written to disk before unlock.
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

from app.services.field_keystore import CHECK_FILE_KEY_NAME
from core.records import Status
from storage.checkfile import CheckFile
from sync import alerts, locked_alarm, wipecheck
from sync.alerts import AlarmSettings, AlertError, Location
from sync.device import DeviceIdentity
from sync.errors import ServerRefused, SyncError

RETRY_SECONDS = 20.0
"""A locked alarm the server has not stored yet is posted again this often, while the app runs."""


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


class LockedAlarmSender:
    """Posts one sealed locked alarm with the check key until the server has stored it.

    `deliver_once()` is True once stored (or refused: retrying cannot change a refusal), False
    after a network failure. Holds the check key in memory only while it tries."""

    def __init__(
        self,
        facts: wipecheck.CheckFacts,
        sealed: bytes,
        *,
        post: Callable[[wipecheck.CheckFacts, bytes], None] = locked_alarm.post,
    ) -> None:
        self._facts: wipecheck.CheckFacts | None = facts
        self._sealed = sealed
        self._post = post
        self.stored = False

    @property
    def done(self) -> bool:
        return self._facts is None

    def deliver_once(self) -> bool:
        facts = self._facts
        if facts is None:
            return True
        try:
            self._post(facts, self._sealed)
            self.stored = True
        except ServerRefused as exc:
            if exc.retryable:
                return False
        except SyncError:
            return False
        self._facts = None
        return True

    def run(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        while not self.deliver_once():
            sleep(RETRY_SECONDS)


class AlarmService:
    def __init__(self, field: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.field = field
        self._clock = clock
        self._pending_at = 0  # an alarm given while locked: memory only, sealed at unlock
        self._pending_nonce = ""
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

    def trigger(
        self, location: Location | None = None
    ) -> alerts.Courier | LockedAlarmSender | None:
        """*Blocking* (encryption; a wipe). Returns a courier to run when the phone was wiped,
        or, locked, a sender of the locked alarm (run it off the UI thread)."""
        with self._lock:
            vault = self._vault()
            if vault is None:
                if not self.field.has_vault():
                    return None
                first = not self._pending_at
                self._pending_at = self._pending_at or self._now()
                self._pending_nonce = self._pending_nonce or locked_alarm.new_nonce()
                return self._locked_sender() if first else None
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

    def _locked_sender(self) -> LockedAlarmSender | None:
        """The locked alarm, sealed from the check file; None without a keystore or a file
        that can seal one (the alarm then waits for the next unlock, as before)."""
        keystore = getattr(self.field, "keystore", None)
        data_dir = getattr(self.field, "data_dir", None)
        if keystore is None or data_dir is None:
            return None
        try:
            facts = wipecheck.load_facts(CheckFile(data_dir), keystore, CHECK_FILE_KEY_NAME)
            if facts is None or not facts.recipients or facts.message not in alerts.MESSAGES:
                return None
            sealed = locked_alarm.seal(
                device=facts.device,
                nonce=self._pending_nonce,
                at=self._pending_at,
                message=facts.message,
                alarm_key=facts.check_key,
                recipients=facts.recipients,
            )
        except Exception:  # a keystore that does not answer, a damaged file: wait for unlock
            return None
        return LockedAlarmSender(facts, sealed)

    def flush(self) -> bool:
        """Seal an alarm given while locked (call right after unlock). True if one was sealed."""
        with self._lock:
            at, nonce, vault = self._pending_at, self._pending_nonce, self._vault()
            if not at or vault is None:
                return False
            self._pending_at, self._pending_nonce = 0, ""
            if DeviceIdentity.load(vault) is None:
                return False
            settings = dataclasses.replace(alerts.load_settings(vault), wipe=False)
            alerts.raise_alarm(vault, settings, at=at, nonce=nonce)
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
