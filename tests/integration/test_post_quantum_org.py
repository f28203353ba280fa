"""A post-quantum organisation end to end: hybrid coordinator and organisation identities, a
phone that reads the sealed org document and seals its reports to post-quantum recipients, and a
coordinator who opens them. Runs on cryptography 43.0.1 (the phone's) as on 50."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.crypto import pq
from core.records import Kind, Record
from sync import coordinator, envelope, orgseal
from sync.engine import SyncEngine
from sync.outbox import queue_record
from tests.integration.conftest import Org, make_vault
from tests.support.live_server import start_live_server

MARKER = "post-quantum-report-5d2e"


@contextlib.contextmanager
def _post_quantum_org(tmp: Path) -> Iterator[Org]:
    with start_live_server(tmp / "server") as server:
        coord = make_vault(tmp / "coordinator")
        coordinator.create_organisation(
            coord,
            server.url,
            server.bootstrap_token,
            "PQ Org",
            coordinator_name="Aida",
            post_quantum=True,
        )
        org = Org(server, coord, tmp)
        try:
            yield org
        finally:
            for vault in [coord, *org.devices]:
                with contextlib.suppress(Exception):
                    vault.lock()


@pytest.fixture
def pq_org(tmp_path: Path) -> Iterator[Org]:
    with _post_quantum_org(tmp_path) as value:
        yield value


def _stanza_types(payload: bytes) -> list[str]:
    header = payload.split(b"\n---", 1)[0].decode()
    return [line.split()[1] for line in header.splitlines() if line.startswith("-> ")]


@pytest.mark.parametrize("backend", ["this platform's", "pure-Python"])
def test_a_phone_in_a_post_quantum_org_seals_reports_the_coordinator_opens(
    pq_org: Org, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "pure-Python":  # what a phone on cryptography 43.0.1 runs
        monkeypatch.setattr(pq, "native_available", lambda: False)
    document = coordinator.org_document(pq_org.coordinator)
    assert document is not None and coordinator.is_post_quantum(document)
    device = pq_org.new_device()  # enrols: reads the sealed org document with the invite's key
    saved = queue_record(device, Record(kind=Kind.INCIDENT, data={"title": MARKER}))
    (entry,) = device.list(kind=Kind.OUTBOX)
    assert _stanza_types(envelope.from_wire(entry.data["wire"]).payload) == ["mlkem768x25519"]

    assert SyncEngine(device).run_once().envelopes_sent == 1
    pulled = coordinator.pull(pq_org.coordinator)
    assert (pulled.stored, pulled.forged) == (1, 0)
    assert pq_org.coordinator.get(saved.id).data["latest"]["title"] == MARKER


def test_the_organisation_identity_of_a_post_quantum_org_is_hybrid_and_fits_an_invite() -> None:
    identity = orgseal.new_org_identity(post_quantum=True)
    assert identity.startswith("AGE-SECRET-KEY-PQ-1")
    raw = orgseal.identity_bytes(identity)
    assert len(raw) == 32
    # What a phone keeps is the X25519 spelling of those bytes; opening tries both kinds.
    assert orgseal.identity_from_bytes(raw).startswith("AGE-SECRET-KEY-1")


def test_a_classic_coordinator_cannot_join_a_post_quantum_org(pq_org: Org) -> None:
    root = coordinator.load_identity(pq_org.coordinator).root_fingerprint
    classic = coordinator.join_organisation(
        make_vault(pq_org.tmp / "classic"), pq_org.server.url, root_fingerprint=root
    )
    with pytest.raises(ValueError, match="post-quantum"):
        coordinator.publish_org_document(pq_org.coordinator, add_coordinator=classic)
    hybrid = coordinator.join_organisation(
        make_vault(pq_org.tmp / "hybrid"),
        pq_org.server.url,
        root_fingerprint=root,
        post_quantum=True,
    )
    document = coordinator.publish_org_document(pq_org.coordinator, add_coordinator=hybrid)
    assert len(document.recipients) == 2 and coordinator.is_post_quantum(document)
