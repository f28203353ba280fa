"""An idle round is one small request, and the org document held is still verified every round."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sync.client import Client
from sync.device import DeviceIdentity, load_sync_state, save_sync_state
from sync.engine import SyncEngine
from sync.errors import UntrustedDocument
from tests.integration.conftest import Org
from tests.support.fault_proxy import FaultProxy


def _proxied(proxy: FaultProxy) -> Callable[[DeviceIdentity], Client]:
    def factory(identity: DeviceIdentity) -> Client:
        return Client(proxy.url, signing_key=identity.signing_key)

    return factory


def _upstream(org: Org) -> tuple[str, int]:
    host, port = org.server.url.removeprefix("http://").split(":")
    return host, int(port)


def test_an_idle_round_asks_once_and_does_not_download_the_org_document_again(org: Org) -> None:
    device = org.new_device()
    held = load_sync_state(device).org_document
    assert held is not None and load_sync_state(device).org_etag
    with FaultProxy(_upstream(org)) as proxy:
        SyncEngine(device, client_factory=_proxied(proxy)).run_once()
        sent, received = proxy.counters()
    assert [path.split("?")[0] for _, path in proxy.requests_seen] == ["/v1/org-document"]
    assert received < 400 < len(str(held))  # an answer without the document
    assert sent + received < 1000


def test_the_org_document_held_is_verified_even_when_the_server_says_it_has_not_changed(
    org: Org,
) -> None:
    device = org.new_device()
    state = load_sync_state(device)
    assert state.org_document is not None
    state.org_document["sig"] = state.org_document["sig"][::-1]  # damaged in the vault
    save_sync_state(device, state)
    with pytest.raises(UntrustedDocument):
        SyncEngine(device).run_once()
