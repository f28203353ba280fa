"""The coordinator app's composition root: the one place that builds its services.

Use these, never the service classes directly, so the screens (`app.coordinator.entry`) and the
command line (`fieldvault coordinator`, app/cli_coordinator.py and the link and referral verbs
on top of it) run the same services on the same workspace:

- `make_service(data_dir)`: the real `VaultCoordinatorService` on the coordinator's vault.
- `alerts_for(service)`: alarms and missed check-ins, read through that service.

No Flet here: `app.coordinator.entry` adds the page (port, shell, alert watcher) on top.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.coordinator import VaultCoordinatorService
    from app.services.coordinator_alerts import CoordinatorAlerts
    from app.services.coordinator_api import CoordinatorService


def make_service(data_dir: Path | str) -> VaultCoordinatorService:
    """The real coordinator service on `data_dir` (locked until `unlock`)."""
    from app.services.coordinator import VaultCoordinatorService

    return VaultCoordinatorService(Path(data_dir))


def alerts_for(service: CoordinatorService) -> CoordinatorAlerts:
    """The alarms and missed check-ins the coordinator's screens and `alerts` verb show."""
    from app.services.coordinator_alerts import CoordinatorAlerts

    return CoordinatorAlerts(service)
