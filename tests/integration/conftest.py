"""Fixtures for end-to-end sync tests: the real server, real vaults, real age.

`org` starts the server (`tests.support.live_server`), creates an organisation with a
coordinator vault, and offers `org.new_device()` which enrols a field vault with a fresh invite.
Vaults use the smallest scrypt cost the vault accepts so tests stay fast.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage import Vault
from sync import coordinator
from sync.client import Client
from sync.device import DeviceIdentity, identity_from_invite
from sync.engine import SyncEngine
from tests.support.live_server import LiveServer, start_live_server

PASSPHRASE = "correct horse battery staple"
FAST_KDF = 15


def make_vault(path: Path) -> Vault:
    return Vault.create(path, PASSPHRASE, kdf_log_n=FAST_KDF, wipe_threshold=0)


@dataclasses.dataclass
class Org:
    server: LiveServer
    coordinator: Vault
    tmp: Path
    devices: list[Vault] = dataclasses.field(default_factory=list)

    def new_device(
        self,
        name: str = "phone",
        *,
        server_url: str | None = None,
        proxy: str | None = None,
        enrol: bool = True,
        client_factory: Callable[[DeviceIdentity], Client] | None = None,
    ) -> Vault:
        invite = coordinator.create_invite(self.coordinator, expires_in=3600, label=name)
        vault = make_vault(self.tmp / name)
        identity_from_invite(
            vault,
            invite,
            server_url=server_url or invite.server_url,
            proxy=proxy,
            label=name,
        )
        self.devices.append(vault)
        if enrol:
            engine(vault, client_factory=client_factory).run_once()
        return vault


def engine(vault: Vault, **kwargs: Any) -> SyncEngine:
    if kwargs.get("client_factory") is None:
        kwargs.pop("client_factory", None)
    return SyncEngine(vault, **kwargs)


@contextlib.contextmanager
def running_org(tmp: Path) -> Iterator[Org]:
    with start_live_server(tmp / "server") as server:
        coord = make_vault(tmp / "coordinator")
        coordinator.create_organisation(
            coord, server.url, server.bootstrap_token, "Test Org", coordinator_name="Aida"
        )
        org = Org(server, coord, tmp)
        try:
            yield org
        finally:
            for vault in [coord, *org.devices]:
                with contextlib.suppress(Exception):
                    vault.lock()


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path) as value:
        yield value
