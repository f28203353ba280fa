"""The referral directory end to end: a coordinator publishes it in the signed org document on a
real server; a real phone syncs and reads it offline; a case records a referral to a contact."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.coordinator_types import CoordinatorError
from sync import referrals
from sync.device import load_sync_state
from tests.app.coordinator.test_service_contract import ANSWERS
from tests.app.coordinator.worlds import RealWorld

LAWYER = {
    "id": "lawyer-bishkek",
    "name": "Адвокат Айгерим",
    "service": "lawyer",
    "city": "Бишкек",
    "languages": ["ky", "ru"],
    "reach": "Signal only; say you come from the library",
}
SHELTER = {"id": "shelter-almaty", "name": "Уақытша баспана", "service": "shelter"}


@pytest.fixture
def world(tmp_path: Path):
    w = RealWorld(tmp_path)
    try:
        w.setup()
        yield w
    finally:
        w.close()


def _phone_directory(world: RealWorld, device: str) -> tuple[referrals.Contact, ...]:
    vault, _ = world.devices[device]
    world.sync(device)
    document = load_sync_state(vault).org_document or {}
    return referrals.from_settings(document.get("doc", {}).get("settings"))


def test_a_published_directory_reaches_the_phone_through_the_signed_org_document(world) -> None:
    device = world.enrol_device("phone")
    assert _phone_directory(world, device) == ()
    version = world.service.publish_referrals([LAWYER, SHELTER])
    assert version > 1
    on_phone = _phone_directory(world, device)
    assert [c.id for c in on_phone] == ["lawyer-bishkek", "shelter-almaty"]
    assert on_phone[0].reach == LAWYER["reach"] and on_phone[0].languages == ("ky", "ru")
    world.service.publish_referrals([SHELTER])
    assert [c.id for c in _phone_directory(world, device)] == ["shelter-almaty"]


def test_a_wrong_contact_is_refused_and_the_published_directory_is_kept(world) -> None:
    world.service.publish_referrals([LAWYER])
    with pytest.raises(CoordinatorError) as refused:
        world.service.publish_referrals([LAWYER, {**SHELTER, "service": "taxi"}])
    assert refused.value.reason == "invalid_referrals" and "shelter-almaty" in refused.value.detail
    assert [c.id for c in world.service.referrals()] == ["lawyer-bishkek"]


def test_a_case_records_a_referral_to_a_directory_contact(world) -> None:
    world.service.publish_referrals([LAWYER])
    device = world.enrol_device("phone")
    case_id = world.report(device, ANSWERS)
    world.service.pull()
    event = {"type": "referral", "to": LAWYER["name"], "contact": LAWYER["id"]}
    world.service.act(case_id, event)
    (referral,) = world.service.case(case_id).state.referrals
    assert (referral.contact, referral.to) == (LAWYER["id"], LAWYER["name"])
