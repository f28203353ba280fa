"""The silent alarm and check-ins on the phone: what they send, and how they are queued.

Two payload types travel in ordinary `report` envelopes (`sync.payload.KIND_FOR_TYPE`), so
the server, which sees envelope headers, cannot tell an alarm or a check-in from a report and
cannot drop alarms alone (their size is not hidden):

    alert    {"v": 1, "reason": "alarm" | "checkin_missed", "at", "message", "location",
              "wiped", "checkin", "nonce"?}
    checkin  {"v": 1, "state": "armed" | "done", "deadline", "at"}

Each is a `Kind.ALERT` / `Kind.CHECKIN` record sealed by `sync.outbox.queue_record` like an
incident (its `data` is the object above), so it is signed by the device key, encrypted to the
organisation's coordinators, chained, pushed until the server stores it, and kept sealed until a
coordinator's receipt names it (`data["confirmed_at"]`). A check-in's "done" is a revision of
the same record (same id), so coordinators match it to the armed one.

Use on the phone (vault unlocked):
- `raise_alarm(vault, settings, at=..., location=...)`: seal and queue an alarm now.
- `arm_checkin(vault, deadline, at=...)`, `check_in(vault, at=...)`, `current_checkin(vault)`,
  `missed_checkin(vault, now)` (the phone's own alert once the deadline has passed).
- `load_settings(vault)` / `save_settings(vault, AlarmSettings(...))`: the owner's choices.
- `Courier(identity, wires)`: pushes sealed envelopes from memory only, for the alarm that wipes
  the phone: the vault is gone, the courier keeps trying as long as the app runs.

Coordinators read these with `sync.coordinator.alerts`.

Danger: `location` is the most sensitive thing the app ever sends; it is only taken when the
owner allowed it (`AlarmSettings.location`). A `Courier` holds the device's signing key in
memory after the vault is wiped: drop it as soon as it has delivered.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from core.records import Kind, Record, Status
from core.vault_port import DeviceVaultPort, VaultPort
from sync.device import DeviceIdentity, fixed_id, get_or_none
from sync.encoding import ReasonError
from sync.errors import SyncError

VERSION = 1
ALERT = "alert"
CHECKIN = "checkin"
REASONS = ("alarm", "checkin_missed")
MESSAGES = ("detained", "danger", "medical", "call_me")
"""The preset messages an owner chooses from at setup or in settings (translated on screen)."""
ARMED, DONE = "armed", "done"
MIN_CHECKIN_SECONDS = 60
MAX_CHECKIN_SECONDS = 7 * 24 * 3600
SETTINGS_ID = fixed_id("alarm-settings")
MAX_FUTURE = 366 * 24 * 3600


class AlertError(ReasonError, ValueError):
    """An alarm or check-in value is not acceptable. `reason` is machine-readable."""


@dataclasses.dataclass(frozen=True, slots=True)
class AlarmSettings:
    """What the owner chose: the preset message, whether to add the phone's location, and
    whether the phone wipes itself once the alarm is sealed."""

    message: str = MESSAGES[0]
    location: bool = False
    wipe: bool = False

    def __post_init__(self) -> None:
        if self.message not in MESSAGES:
            raise AlertError("unknown_message")


@dataclasses.dataclass(frozen=True, slots=True)
class Location:
    """Degrees as decimal text (signed JSON has no floats) and accuracy in whole metres."""

    lat: str
    lon: str
    accuracy: int = 0

    @classmethod
    def of(cls, lat: float, lon: float, accuracy: float = 0.0) -> Location:
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise AlertError("bad_location")
        return cls(f"{lat:.5f}", f"{lon:.5f}", max(0, int(accuracy)))

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lon": self.lon, "accuracy": self.accuracy}


def parse_location(raw: Any) -> Location | None:
    """A location from a decrypted payload, or None when absent or not a valid one."""
    if not isinstance(raw, dict):
        return None
    try:
        lat, lon = Decimal(str(raw.get("lat"))), Decimal(str(raw.get("lon")))
        accuracy = int(raw.get("accuracy", 0) or 0)
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not (lat.is_finite() and lon.is_finite() and abs(lat) <= 90 and abs(lon) <= 180):
        return None
    return Location(f"{lat:.5f}", f"{lon:.5f}", max(0, min(accuracy, 10**7)))


# --- the owner's settings ----------------------------------------------------------------------


def load_settings(vault: VaultPort) -> AlarmSettings:
    record = get_or_none(vault, SETTINGS_ID)
    if record is None:
        return AlarmSettings()
    data = record.data
    message = str(data.get("message", MESSAGES[0]))
    return AlarmSettings(
        message=message if message in MESSAGES else MESSAGES[0],
        location=bool(data.get("location")),
        wipe=bool(data.get("wipe")),
    )


def save_settings(vault: VaultPort, settings: AlarmSettings) -> AlarmSettings:
    vault.put(
        Record(
            kind=Kind.SETTING,
            id=SETTINGS_ID,
            status=Status.LOCAL,
            data=dataclasses.asdict(settings),
        )
    )
    return settings


# --- alarms -----------------------------------------------------------------------------------


def alert_data(
    reason: str,
    *,
    at: int,
    message: str,
    location: Location | None = None,
    wiped: bool = False,
    checkin: str = "",
    nonce: str = "",
) -> dict[str, Any]:
    """The `data` of an alert record (what coordinators decrypt). Raises `AlertError`.

    `nonce` is set for an alarm first sent while locked (`sync.locked_alarm`): coordinators
    take the two as one alarm."""
    if reason not in REASONS:
        raise AlertError("unknown_reason")
    if message not in MESSAGES:
        raise AlertError("unknown_message")
    if type(at) is not int or at < 0:
        raise AlertError("bad_time")
    data = {
        "v": VERSION,
        "reason": reason,
        "at": at,
        "message": message,
        "location": location.to_dict() if location is not None else None,
        "wiped": wiped,
        "checkin": checkin,
    }
    if nonce:
        data["nonce"] = nonce
    return data


def raise_alarm(
    vault: DeviceVaultPort,
    settings: AlarmSettings,
    *,
    at: int,
    location: Location | None = None,
    reason: str = "alarm",
    checkin: str = "",
    nonce: str = "",
    now: Callable[[], float] = time.time,
) -> Record:
    """Seal and queue an alarm (status `queued`, or `ready` before the first sync)."""
    from sync.outbox import queue_record

    data = alert_data(
        reason,
        at=at,
        message=settings.message,
        location=location if settings.location else None,
        wiped=settings.wipe,
        checkin=checkin,
        nonce=nonce,
    )
    return queue_record(vault, Record(kind=Kind.ALERT, status=Status.READY, data=data), now=now)


def unsent_alerts(vault: VaultPort) -> list[Record]:
    """Alarms the server has not yet acknowledged (the phone keeps pushing them)."""
    return [r for r in vault.list(kind=Kind.ALERT) if r.status in (Status.READY, Status.QUEUED)]


# --- check-ins --------------------------------------------------------------------------------


def arm_checkin(
    vault: DeviceVaultPort, deadline: int, *, at: int, now: Callable[[], float] = time.time
) -> Record:
    """Seal "check-in armed until `deadline`" (replacing any check-in still open)."""
    from sync.outbox import queue_record

    if type(deadline) is not int or not at + MIN_CHECKIN_SECONDS <= deadline:
        raise AlertError("deadline_too_soon")
    if deadline > at + MAX_CHECKIN_SECONDS:
        raise AlertError("deadline_too_far")
    current = current_checkin(vault)
    if current is not None:
        check_in(vault, at=at, now=now)
    data = {"v": VERSION, "state": ARMED, "deadline": deadline, "at": at}
    return queue_record(vault, Record(kind=Kind.CHECKIN, status=Status.READY, data=data), now=now)


def current_checkin(vault: VaultPort) -> Record | None:
    """The armed check-in the owner has not checked in for yet, if any."""
    open_ = [r for r in vault.list(kind=Kind.CHECKIN) if r.data.get("state") == ARMED]
    return max(open_, key=lambda r: int(r.data.get("at", 0))) if open_ else None


def check_in(
    vault: DeviceVaultPort, *, at: int, now: Callable[[], float] = time.time
) -> Record | None:
    """Seal "checked in" for the open check-in (a revision of it); None if none is open."""
    from sync.outbox import queue_record

    record = current_checkin(vault)
    if record is None:
        return None
    record.data = {**record.data, "state": DONE, "at": at, "armed_at": record.data.get("at")}
    return queue_record(vault, record, now=now)


def missed_checkin(vault: VaultPort, now: int) -> Record | None:
    """The open check-in whose deadline has passed and for which the phone has not yet sent
    its own alert, if any (the caller then raises a `checkin_missed` alarm)."""
    record = current_checkin(vault)
    if record is None or now < int(record.data.get("deadline", 0)):
        return None
    sent = {str(a.data.get("checkin", "")) for a in vault.list(kind=Kind.ALERT)}
    return None if record.id in sent else record


# --- delivery from memory ---------------------------------------------------------------------


class Courier:
    """Pushes sealed envelopes (wire form) with the device key held in memory, until the server
    has stored every one: used after a wipe, when no vault is left to sync from.

    `deliver_once()` returns True when all were stored (or already were); network failures
    return False so the caller tries again later; a refusal of an envelope counts as done
    (retrying cannot change the answer).
    """

    def __init__(
        self,
        identity: DeviceIdentity,
        wires: Sequence[dict[str, Any]],
        *,
        client_factory: Callable[[DeviceIdentity], Any] | None = None,
    ) -> None:
        self._identity: DeviceIdentity | None = identity
        self._wires = list(wires)
        self._factory = client_factory

    @property
    def done(self) -> bool:
        return not self._wires

    def deliver_once(self) -> bool:
        identity = self._identity
        if not self._wires or identity is None:
            return True
        from sync.engine import default_client_factory

        factory = self._factory or default_client_factory
        try:
            with factory(identity) as client:
                results = client.push_envelopes(self._wires)
        except SyncError:
            return False
        self._wires = [w for w, r in zip(self._wires, results, strict=True) if _retry(r)]
        if not self._wires:
            self._identity = None  # the key is not kept a moment longer than needed
        return not self._wires

    def run(self, *, sleep: Callable[[float], None] = time.sleep, first: float = 2.0) -> None:
        """Try until delivered: 2 s, then doubling up to one minute between attempts."""
        wait = first
        while not self.deliver_once():
            sleep(wait)
            wait = min(wait * 2, 60.0)


def _retry(result: dict[str, Any]) -> bool:
    return result.get("status") not in ("stored", "duplicate", "rejected")


def queued_wires(vault: VaultPort) -> list[dict[str, Any]]:
    """Every envelope not yet acknowledged by the server, in chain order (for a `Courier`)."""
    from sync.outbox import pending_envelopes

    return [dict(e.data["wire"]) for e in pending_envelopes(vault)]
