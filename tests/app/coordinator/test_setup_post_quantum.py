"""The setup screen lets the organisation choose post-quantum keys, for creating and joining."""

from __future__ import annotations

from app.coordinator.setup_view import SetupView
from app.services.coordinator_fake import FakeCoordinatorService
from tests.app.coordinator.fakes import click
from tests.app.coordinator.test_views import ctx_for
from tests.app.coordinator.worlds import PASSPHRASE


def _created(post_quantum: bool) -> FakeCoordinatorService:
    service = FakeCoordinatorService()
    ready: list[bool] = []
    view = SetupView(ctx_for(service, "ky"), lambda: ready.append(True))
    assert view.post_quantum.label == "Посткванттык ачкычтар (mlkem768x25519)"
    view.passphrase.value = view.confirm.value = PASSPHRASE
    view.server.value, view.org.value, view.token.value = "http://127.0.0.1:8", "Уюм", "tok"
    view.post_quantum.value = post_quantum
    click(view.submit)
    assert ready == [True]
    return service


def test_ticking_post_quantum_creates_a_post_quantum_organisation() -> None:
    assert _created(post_quantum=True).info().post_quantum is True
    assert _created(post_quantum=False).info().post_quantum is False


def test_a_coordinator_joining_with_post_quantum_ticked_gets_post_quantum_keys() -> None:
    first = _created(post_quantum=True)
    backup = first.backup_root("a long backup passphrase")
    second = FakeCoordinatorService()
    view = SetupView(ctx_for(second, "en"), lambda: None)
    view.set_mode("join")
    view.passphrase.value = view.confirm.value = PASSPHRASE
    view.server.value = "http://127.0.0.1:8"
    view.backup.value = backup.decode()
    view.backup_passphrase.value = "a long backup passphrase"
    view.post_quantum.value = True
    click(view.submit)
    assert first.add_coordinator(second.join_request()) == first.info().org_version
