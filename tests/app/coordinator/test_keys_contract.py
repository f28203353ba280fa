"""The post-quantum switch and the timestamping authority lists, on the fake and the real
coordinator service alike (the real one against a live server)."""

from __future__ import annotations

import pytest

from app.services import timestamps
from app.services.coordinator_types import CoordinatorError
from tests.app.coordinator.worlds import PASSPHRASE, FakeWorld, RealWorld

BACKUP_PASSPHRASE = "a long backup passphrase"


@pytest.fixture(params=["fake", "real"])
def pair(request, tmp_path):
    """A classic organisation with two coordinators: (world, first, second)."""
    w = FakeWorld(tmp_path) if request.param == "fake" else RealWorld(tmp_path)
    try:
        w.setup()
        first = w.service
        second = w.second_service(tmp_path)
        second.setup_join(
            passphrase=PASSPHRASE,
            server_url=first.info().server_url,
            backup=first.backup_root(BACKUP_PASSPHRASE),
            backup_passphrase=BACKUP_PASSPHRASE,
            coordinator_name="Бек",
        )
        first.add_coordinator(second.join_request())
        yield w, first, second
    finally:
        w.close()


def test_the_switch_needs_every_coordinators_signed_code_then_makes_the_org_post_quantum(
    pair,
) -> None:
    _, first, second = pair
    version = first.info().org_version
    with pytest.raises(CoordinatorError) as missing:
        first.switch_to_post_quantum([])
    assert missing.value.reason == "missing_key_updates" and "Бек" in missing.value.detail
    own_code = first.prepare_post_quantum()  # a code naming the root holder is not Бек's
    with pytest.raises(CoordinatorError) as still:
        first.switch_to_post_quantum([own_code])
    assert still.value.reason == "missing_key_updates"
    with pytest.raises(CoordinatorError) as junk:
        first.switch_to_post_quantum(["FVK1-AAAA"])
    assert junk.value.reason == "invalid_key_update"
    assert not first.info().post_quantum and first.info().org_version == version
    assert first.switch_to_post_quantum([second.prepare_post_quantum()]) == version + 1
    assert first.info().post_quantum
    with pytest.raises(CoordinatorError) as again:
        first.switch_to_post_quantum([])
    assert again.value.reason == "already_post_quantum"


def test_authorities_are_kept_per_laptop_and_published_for_the_organisation(pair) -> None:
    _, first, _ = pair
    own = timestamps.check_authority("https://tsa.example.org/tsr")
    org = timestamps.check_authority("https://tsa.example.net/tsr")
    first.set_timestamp_authorities([own])
    version = first.info().org_version
    assert first.publish_org_timestamp_authorities([org]) == version + 1
    assert first.timestamp_authorities() == [own]
    assert first.org_timestamp_authorities() == [org]
    assert first.all_timestamp_authorities() == [org, own]
    with pytest.raises(ValueError):
        first.set_timestamp_authorities([own, own])
