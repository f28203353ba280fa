"""A post-quantum organisation, for both coordinator services: the choice shows in the info,
and a join code with keys of the other kind is refused (devices could not seal to both)."""

from __future__ import annotations

import pytest

from app.services.coordinator_types import CoordinatorError
from tests.app.coordinator.worlds import PASSPHRASE, FakeWorld, RealWorld

BACKUP_PASSPHRASE = "a long backup passphrase"


@pytest.fixture(params=["fake", "real"])
def pq_world(request, tmp_path):
    w = FakeWorld(tmp_path) if request.param == "fake" else RealWorld(tmp_path)
    real = isinstance(w, RealWorld)
    try:
        w.service.setup_new(
            passphrase=PASSPHRASE,
            server_url=w.server.url if real else "http://127.0.0.1:9",
            bootstrap_token=w.server.bootstrap_token if real else "token",
            org_name="Правозащитная сеть",
            coordinator_name="Айгүл",
            post_quantum=True,
        )
        yield w
    finally:
        w.close()


def _joiner(world, tmp_path, *, post_quantum: bool):
    first = world.service
    second = world.second_service(tmp_path / ("pq" if post_quantum else "classic"))
    second.setup_join(
        passphrase=PASSPHRASE,
        server_url=first.info().server_url,
        backup=first.backup_root(BACKUP_PASSPHRASE),
        backup_passphrase=BACKUP_PASSPHRASE,
        coordinator_name="Бек",
        post_quantum=post_quantum,
    )
    return second


def test_a_post_quantum_organisation_says_so(pq_world) -> None:
    assert pq_world.service.info().post_quantum is True


def test_a_classic_join_code_is_refused_by_a_post_quantum_organisation(pq_world, tmp_path) -> None:
    first = pq_world.service
    version = first.info().org_version
    classic = _joiner(pq_world, tmp_path, post_quantum=False)
    with pytest.raises(CoordinatorError) as refused:
        first.add_coordinator(classic.join_request())
    assert refused.value.reason == "join_key_kind"
    assert first.info().org_version == version
    hybrid = _joiner(pq_world, tmp_path, post_quantum=True)
    assert first.add_coordinator(hybrid.join_request()) == version + 1


def test_a_case_from_a_post_quantum_org_shows_it_was_sealed_post_quantum(tmp_path) -> None:
    world = RealWorld(tmp_path)  # the fake does no encryption, so only the real service
    try:
        world.service.setup_new(
            passphrase=PASSPHRASE,
            server_url=world.server.url,
            bootstrap_token=world.server.bootstrap_token,
            org_name="Правозащитная сеть",
            coordinator_name="Айгүл",
            post_quantum=True,
        )
        case_id = world.report(world.enrol_device(), {"description": "задержание"})
        assert world.service.pull().cases == 1
        detail = world.service.case(case_id)
    finally:
        world.close()
    assert detail.custody.recipients == ("mlkem768x25519",) and detail.custody.post_quantum
    assert [r.recipients for r in detail.revisions] == [("mlkem768x25519",)]
