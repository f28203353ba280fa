"""The field app's composition root: the one place that builds its services.

Use these, never the service classes directly, so the phone's screens and the command line
(`fieldvault field`, app/cli_field.py) run the same service on the same vault:

- `make_service(data_dir, keystore=...)`: the real `VaultFieldService` on `data_dir` (default:
  `default_data_dir()`), wiping `cache_dirs()` with the vault and bound to the phone's keystore
  where there is one. The command line passes `unlock_floor=0`: the fixed unlock time hides
  from an onlooker how a passphrase was checked, which a script does not need.
- `preview_service()`: the in-memory fake, for `FIELDVAULT_FIELD_PREVIEW=1` only.
- `alarm_service(service)`: the silent alarm over a field service.
- `start_checked(service)`: the remote-wipe check a phone runs before its first screen.

No Flet here: `app.field.entry` adds the page (keystore, shell) on top.

Danger: `preview_service()` keeps nothing and protects nothing; never use it for real reports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.field_alarm import AlarmService
    from app.services.field_api import FieldService
    from app.services.field_keystore import DeviceKeystore

PREVIEW_ENV = "FIELDVAULT_FIELD_PREVIEW"


def default_data_dir() -> Path:
    """The app's private storage on a phone (`FLET_APP_STORAGE_DATA`), else
    `~/.fieldvault/field`."""
    device = os.environ.get("FLET_APP_STORAGE_DATA")
    if device:
        return Path(device) / "fieldvault"
    return Path.home() / ".fieldvault" / "field"


def cache_dirs() -> tuple[Path, ...]:
    """Directories outside the vault that may hold plaintext copies and go with every wipe:
    the app's temp directory (the file picker's copies) and its cache directory (where the
    camera plugin writes each photo and video before handing the bytes over)."""
    found: list[Path] = []
    for name in ("FLET_APP_STORAGE_TEMP", "FLET_APP_STORAGE_CACHE"):
        value = os.environ.get(name)
        if value and Path(value) not in found:
            found.append(Path(value))
    return tuple(found)


def make_service(
    data_dir: Path | str | None = None,
    *,
    keystore: DeviceKeystore | None = None,
    unlock_floor: float | None = None,
) -> FieldService:
    """The real field service on `data_dir` (default: `default_data_dir()`), bound to
    `keystore` where there is one (a phone; tests pass `MemoryKeystore`). `unlock_floor`
    defaults to the app's `UNLOCK_FLOOR_SECONDS`."""
    from app.services.field import UNLOCK_FLOOR_SECONDS, VaultFieldService

    return VaultFieldService(
        Path(data_dir) if data_dir else default_data_dir(),
        extra_dirs=cache_dirs(),
        unlock_floor=UNLOCK_FLOOR_SECONDS if unlock_floor is None else unlock_floor,
        keystore=keystore,
    )


def preview_wanted() -> bool:
    return os.environ.get(PREVIEW_ENV) == "1"


def preview_service() -> FieldService:
    """The in-memory fake service: UI previews and translation review only."""
    from app.services.fake_field import FakeFieldService

    return FakeFieldService()


def alarm_service(service: FieldService) -> AlarmService:
    """The silent alarm (and check-ins) of the phone holding `service`."""
    from app.services.field_alarm import AlarmService

    return AlarmService(service)


def start_checked(service: FieldService) -> bool:
    """What the app does before its first screen: the wipe check (True if it wiped). Blocking:
    run it off the UI thread."""
    from app.services.field_wipecheck import check_at_start

    return check_at_start(service)
