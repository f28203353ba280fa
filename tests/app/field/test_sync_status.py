"""What the phone shows when the link drops in the middle of an attachment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.services.field import VaultFieldService
from sync import coordinator
from sync.client import Client
from sync.device import DeviceIdentity
from sync.engine import SyncEngine
from sync.errors import Offline
from tests.app.field.test_vault_service import full_answers
from tests.integration.conftest import Org, running_org
from tests.support.fault_proxy import Fault, FaultProxy, RequestInfo

PASS = "correct horse battery staple 42"
FIRST_CHUNK = 64 * 1024


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path) as value:
        yield value


def _second_chunk_dropped(info: RequestInfo) -> Fault:
    return Fault.DROP if "/chunks" in info.path and "offset=0" not in info.path else Fault.PASS


@pytest.mark.slow
def test_a_cut_upload_shows_waiting_for_a_connection_and_the_bytes_left(
    org: Org, tmp_path: Path
) -> None:
    host, port = org.server.url.removeprefix("http://").split(":")
    with FaultProxy((host, int(port)), plan=_second_chunk_dropped) as proxy:

        def engine(vault: Any, **kwargs: Any) -> SyncEngine:
            def client(identity: DeviceIdentity) -> Client:
                return Client(proxy.url, signing_key=identity.signing_key)

            return SyncEngine(vault, client_factory=client, chunk_size=FIRST_CHUNK, **kwargs)

        service = VaultFieldService(tmp_path / "phone", kdf_log_n=15, engine_factory=engine)
        service.create(PASS, language="en")
        service.join(coordinator.create_invite(org.coordinator, expires_in=3600).encode())
        photo = service.attach_bytes(os.urandom(300_000), name="photo.bin")
        service.save_incident(None, full_answers([photo.id]), submit=True)
        with pytest.raises(Offline):
            service.sync_round()
        status = service.sync_status()
    assert status.last_error == "offline" and status.waiting == 1
    assert 300_000 - FIRST_CHUNK < status.bytes_left < 301_000 - FIRST_CHUNK  # age adds a little
