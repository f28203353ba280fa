"""Each app builds its services in one place, and its command line gets them from there: the
same service class on the same directory as the screens."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from app import cli_coordinator, cli_field
from app.coordinator import bootstrap as coordinator_bootstrap
from app.field import bootstrap as field_bootstrap
from app.services.coordinator import VaultCoordinatorService
from app.services.field import UNLOCK_FLOOR_SECONDS, VaultFieldService


def test_the_field_command_line_gets_the_apps_service_without_the_unlock_delay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FLET_APP_STORAGE_CACHE", str(cache))
    app_service = field_bootstrap.make_service(tmp_path / "phone")
    cli_service = cli_field._service(argparse.Namespace(data=str(tmp_path / "phone")))
    assert isinstance(app_service, VaultFieldService) and isinstance(cli_service, VaultFieldService)
    assert app_service.unlock_floor == UNLOCK_FLOOR_SECONDS > 0
    assert cli_service.unlock_floor == 0
    for service in (app_service, cli_service):
        assert service.data_dir == tmp_path / "phone"
        assert cache in service.extra_dirs  # wiped with the vault, from either


def test_the_coordinator_command_line_gets_the_apps_service(tmp_path: Path) -> None:
    service = cli_coordinator._service(argparse.Namespace(data=str(tmp_path)), unlock=False)
    app_service = coordinator_bootstrap.make_service(tmp_path)
    assert type(service) is type(app_service) is VaultCoordinatorService
    assert service._dir == app_service._dir == tmp_path
