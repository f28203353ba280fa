"""Whole sync rounds, run to their outcome on the fake and on the real service against the real
server: what the screens read afterwards (the sync line's `SyncStatus` and each report's status)
is the same on both."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.services.fake_field import FakeFieldService, fake_invite
from app.services.field import VaultFieldService
from app.services.field_api import FieldService
from sync import coordinator
from sync.errors import Offline
from tests.integration.conftest import running_org

PASS = "correct horse 42"


@dataclasses.dataclass
class World:
    service: FieldService
    invite: str
    cut_network: Callable[[], None]


@pytest.fixture(params=["fake", "vault"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "fake":
        fake = FakeFieldService()

        def cut() -> None:
            fake.online = False

        yield World(fake, fake_invite(), cut)
        return
    with running_org(tmp_path) as org:
        code = coordinator.create_invite(org.coordinator, expires_in=3600, label="phone").encode()
        service = VaultFieldService(tmp_path / "phone", kdf_log_n=15)
        try:
            yield World(service, code, org.server.stop)
        finally:
            service.lock()


def report() -> dict[str, Any]:
    return {
        "occurred_at": "2026-11-01T21:30",
        "region": "kg.bishkek",
        "violation_types": ["detention"],
        "description": "Held at the station for six hours.",
        "perpetrator_types": ["police"],
        "victims": "A1",
        "consent": {"share_org": True, "statistics": True, "advocacy": False},
    }


def joined(world: World) -> FieldService:
    service = world.service
    service.create(PASS, language="en")
    service.join(world.invite)
    return service


def test_a_good_round_sends_what_waits_and_leaves_only_a_stub(world: World) -> None:
    service = joined(world)
    incident = service.save_incident(None, report(), submit=True)
    assert service.sync_status().waiting == 1

    status = service.sync_round()

    assert (status.enrolled, status.waiting, status.last_error) == (True, 0, "")
    assert status.last_sync is not None and not status.revoked
    [listed] = service.list_incidents()
    assert (listed.id, listed.status, listed.status_reason, listed.stub) == (
        incident,
        "sent",
        "",
        True,
    )


def test_a_round_on_a_dead_network_keeps_what_waits_queued_and_says_why(world: World) -> None:
    service = joined(world)
    first = service.sync_round()
    incident = service.save_incident(None, report(), submit=True)
    world.cut_network()

    with pytest.raises(Offline) as caught:
        service.sync_round()

    assert caught.value.reason == "offline"
    status = service.sync_status()
    assert (status.waiting, status.last_error, status.last_sync) == (1, "offline", first.last_sync)
    [listed] = service.list_incidents()
    assert (listed.id, listed.status, listed.status_reason) == (incident, "queued", "")
