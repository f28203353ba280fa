"""The settings cards for post-quantum keys and timestamping authorities, on the fake service."""

from __future__ import annotations

import pytest

from app.coordinator.settings_keys import PostQuantumCard, TimestampsCard
from app.services import timestamps
from app.services.coordinator_fake import FakeCoordinatorService
from tests.app.coordinator.fakes import FakePort, click
from tests.app.coordinator.test_views import ctx_for, texts
from tests.app.coordinator.worlds import PASSPHRASE, FakeWorld


@pytest.fixture
def world(tmp_path):
    w = FakeWorld(tmp_path)
    w.setup()
    second = FakeCoordinatorService()
    second.setup_join(
        passphrase=PASSPHRASE,
        server_url="http://127.0.0.1:9",
        backup=w.service.backup_root("a long backup passphrase"),
        backup_passphrase="a long backup passphrase",
        coordinator_name="Бек",
    )
    w.service.add_coordinator(second.join_request())
    w.second = second
    return w


def test_prepare_shows_a_code_and_the_switch_names_who_is_missing_then_completes(world) -> None:
    port = FakePort()
    card = PostQuantumCard(ctx_for(world.service, "ky", port))
    card.load()
    assert "X25519" in card.state.value and card.steps.visible
    click(card.steps.controls[1])  # Prepare
    assert card.code.visible and card.code.value.startswith("FVK1-")
    click(card.steps.controls[4])  # Switch, with nothing pasted
    assert "Бек" in texts(card.status) and not world.service.info().post_quantum
    card.codes.value = world.second.prepare_post_quantum()
    click(card.steps.controls[4])
    assert port.confirmations and world.service.info().post_quantum
    assert "mlkem768x25519" in card.state.value and not card.steps.visible
    assert "Которулду" in texts(card.status)


def test_a_declined_confirmation_switches_nothing(world) -> None:
    card = PostQuantumCard(ctx_for(world.service, "ru", FakePort(confirm=False)))
    card.load()
    card.codes.value = world.second.prepare_post_quantum()
    click(card.steps.controls[4])
    assert not world.service.info().post_quantum


def test_authorities_are_added_for_the_laptop_or_the_organisation_and_removed(world) -> None:
    card = TimestampsCard(ctx_for(world.service, "kk"))
    card.load()
    assert "Әзірге қызмет жоқ" in texts(card.rows)
    card.url.value = "ftp://nowhere"
    click(card.control.content.controls[6])  # Add
    assert "http://" in texts(card.status) and world.service.all_timestamp_authorities() == []
    card.url.value = "https://tsa.example.org/tsr"
    click(card.control.content.controls[6])
    card.url.value, card.for_org.value = "https://tsa.example.net/tsr", True
    click(card.control.content.controls[6])
    shown = texts(card.rows)
    assert "https://tsa.example.org/tsr" in shown and "осы ноутбук" in shown and "ұйым" in shown
    assert [a.url for a in world.service.org_timestamp_authorities()] == [
        "https://tsa.example.net/tsr"
    ]
    assert card.url.value == ""
    remove_org = card.rows.controls[0].controls[2]
    click(remove_org)
    assert world.service.org_timestamp_authorities() == []
    assert world.service.timestamp_authorities() == [
        timestamps.check_authority("https://tsa.example.org/tsr")
    ]
