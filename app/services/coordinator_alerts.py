"""Alarms for the coordinator app and command line: `CoordinatorAlerts(service)`.

Use `refresh()` (pull, then the alarms raised now) from a worker thread, `raised()` /
`active()` to read what the vault holds (a missed check-in is raised at its deadline without
any pull), `handle(alert_id)`, and `plan()` / `publish_plan(text)` for the organisation's
emergency plan in the signed org document (`sync.coordinator.alerts.PLAN_SETTING`).

Works on any coordinator service: one without a vault (the preview) has no alarms. Pulls are
serialised by one lock per service, so the alarm watcher and the "Pull" button never run two
pulls on one vault at once.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sync import coordinator as sync_coordinator
from sync.coordinator import alerts
from sync.coordinator.alerts import RaisedAlert

_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def pull_lock(service: Any) -> Any:
    """The one (re-entrant) lock serialising pulls on `service`."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(service)
        if lock is None:
            lock = _LOCKS[service] = threading.RLock()
        return lock


class CoordinatorAlerts:
    def __init__(self, service: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self._clock = clock

    def _vault(self) -> Any | None:
        if not getattr(self.service, "unlocked", False):
            return None
        try:
            return self.service.vault
        except Exception:  # no vault (preview service) or locked meanwhile
            return None

    def now(self) -> int:
        return int(self._clock())

    def raised(self) -> list[RaisedAlert]:
        vault = self._vault()
        return alerts.raised(vault, self.now()) if vault is not None else []

    def active(self) -> list[RaisedAlert]:
        return [a for a in self.raised() if a.active]

    def refresh(self) -> list[RaisedAlert]:
        """*Blocking* (HTTP). Pull if no other pull is running, then the active alarms."""
        lock = pull_lock(self.service)
        if self._vault() is not None and lock.acquire(blocking=False):
            try:
                self.service.pull()
            finally:
                lock.release()
        return self.active()

    def handle(self, alert_id: str) -> None:
        vault = self._vault()
        if vault is None:
            raise KeyError(alert_id)
        me = str(sync_coordinator.coordinator_info(vault).get("id", ""))
        alerts.handle(vault, alert_id, by=me, now=self.now())

    def plan(self) -> str:
        vault = self._vault()
        document = sync_coordinator.org_document(vault) if vault is not None else None
        return alerts.emergency_plan(document.settings if document is not None else None)

    def publish_plan(self, text: str) -> int:
        """Validate and publish the plan (needs the root key); returns the new version."""
        plan = alerts.check_emergency_plan(text)
        vault = self._vault()
        if vault is None:
            raise alerts.AlertError("locked")
        doc = sync_coordinator.publish_org_document(
            vault, settings={alerts.PLAN_SETTING: plan}, now=self._clock
        )
        return int(doc.version)
