"""The setup screen's background work shows none of the secrets typed into it when printed:
a traceback, a log line or an error report that prints it must not carry a passphrase."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.coordinator.setup_view import SetupView
from app.services.coordinator_fake import FakeCoordinatorService
from tests.app.coordinator.fakes import FakePort, click
from tests.app.coordinator.test_views import ctx_for
from tests.app.coordinator.worlds import PASSPHRASE

TOKEN = "bootstrap-token-MARKER-7f3a"
BACKUP_PASSPHRASE = "backup passphrase MARKER 9c1e"


class _PrintingPort(FakePort):
    """Runs work at once, as `FakePort` does, and keeps how each piece of work prints."""

    def __init__(self) -> None:
        super().__init__()
        self.printed: list[str] = []

    def run(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        self.printed += [repr(work), str(work)]
        super().run(work, done, failed)


def test_creating_an_organisation_runs_work_that_prints_no_passphrase_or_token() -> None:
    port = _PrintingPort()
    service = FakeCoordinatorService()
    view = SetupView(ctx_for(service, "en", port), lambda: None)
    view.passphrase.value = view.confirm.value = PASSPHRASE
    view.server.value, view.org.value, view.token.value = "http://127.0.0.1:8", "Org", TOKEN
    click(view.submit)
    assert service.info().org == "Org"
    assert port.printed
    for shown in port.printed:
        assert PASSPHRASE not in shown
        assert TOKEN not in shown


def test_joining_runs_work_that_prints_no_passphrase_or_backup() -> None:
    first = FakeCoordinatorService()
    first.setup_new(
        passphrase=PASSPHRASE,
        server_url="http://127.0.0.1:8",
        bootstrap_token="t",
        org_name="Org",
        coordinator_name="A",
    )
    backup = first.backup_root(BACKUP_PASSPHRASE).decode()
    port = _PrintingPort()
    view = SetupView(ctx_for(FakeCoordinatorService(), "en", port), lambda: None)
    view.set_mode("join")
    view.passphrase.value = view.confirm.value = PASSPHRASE
    view.server.value = "http://127.0.0.1:8"
    view.backup.value = backup
    view.backup_passphrase.value = BACKUP_PASSPHRASE
    click(view.submit)
    assert port.printed
    for shown in port.printed:
        assert PASSPHRASE not in shown
        assert BACKUP_PASSPHRASE not in shown
        assert backup.strip()[:40] not in shown
