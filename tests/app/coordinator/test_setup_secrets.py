"""The setup screen's background work shows none of the secrets typed into it when printed:
a traceback, a log line or an error report that prints it must not carry a passphrase."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.coordinator.setup_view import SetupView
from app.services.coordinator_fake import FakeCoordinatorService
from tests.app.coordinator.fakes import FakePort, click
from tests.app.coordinator.test_views import ctx_for
from tests.app.coordinator.worlds import PASSPHRASE, FakeWorld

TOKEN = "bootstrap-token-MARKER-7f3a"
BACKUP_PASSPHRASE = "backup passphrase MARKER 9c1e"


def _printing_port() -> tuple[FakePort, list[str]]:
    """A port that runs work at once, as `FakePort` does, and keeps how each piece prints."""
    port, printed = FakePort(), []
    run_at_once = port.run

    def run(work: Callable[[], Any], *answers: Callable[[Any], None]) -> None:
        printed.extend([repr(work), str(work)])
        run_at_once(work, *answers)

    port.run = run  # type: ignore[method-assign]
    return port, printed


def test_creating_an_organisation_runs_work_that_prints_no_passphrase_or_token() -> None:
    port, printed = _printing_port()
    service = FakeCoordinatorService()
    view = SetupView(ctx_for(service, "en", port), lambda: None)
    view.passphrase.value = view.confirm.value = PASSPHRASE
    view.server.value, view.org.value, view.token.value = "http://127.0.0.1:8", "Org", TOKEN
    click(view.submit)
    assert service.info().org == "Org"
    assert printed
    for shown in printed:
        assert PASSPHRASE not in shown
        assert TOKEN not in shown


def test_joining_runs_work_that_prints_no_passphrase_or_backup(tmp_path: Path) -> None:
    first = FakeWorld(tmp_path)
    first.setup()
    backup = first.service.backup_root(BACKUP_PASSPHRASE).decode()
    port, printed = _printing_port()
    view = SetupView(ctx_for(FakeCoordinatorService(), "en", port), lambda: None)
    view.set_mode("join")
    view.passphrase.value = view.confirm.value = PASSPHRASE
    view.server.value = "http://127.0.0.1:8"
    view.backup.value = backup
    view.backup_passphrase.value = BACKUP_PASSPHRASE
    click(view.submit)
    assert printed
    for shown in printed:
        assert PASSPHRASE not in shown
        assert BACKUP_PASSPHRASE not in shown
        assert backup.strip()[:40] not in shown
