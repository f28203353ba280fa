"""Linked cases and the event wipe, on both coordinator services: the fake, and the real one
(a live server, an encrypted coordinator vault and real field devices)."""

from __future__ import annotations

import pytest

from app.services.coordinator_types import CoordinatorError
from tests.app.coordinator.test_service_contract import ANSWERS
from tests.app.coordinator.worlds import FakeWorld, RealWorld


@pytest.fixture(params=["fake", "real"])
def world(request, tmp_path):
    w = FakeWorld(tmp_path) if request.param == "fake" else RealWorld(tmp_path)
    try:
        w.setup()
        yield w
    finally:
        w.close()


@pytest.fixture
def three(world):
    """Three reports: two name the same station (written differently), one another."""
    device = world.enrol_device("Ош")
    ids = [
        world.report(device, {**ANSWERS, "perpetrator_station": "ОВД «Октябрьский»"}),
        world.report(device, {**ANSWERS, "perpetrator_station": "овд  октябрьский"}),
        world.report(device, {**ANSWERS, "perpetrator_station": "ОВД Ленинский"}),
    ]
    world.service.pull()
    return world, device, ids


def test_reports_naming_one_station_are_linked_and_counted_per_station(three) -> None:
    world, _, (a, b, _c) = three
    links = world.service.links(a)
    assert [p.case_id for p in links.linked] == [b]
    assert links.linked[0].reasons == (("station", "овд октябрьский"),)
    board = world.service.dashboard()
    assert board.by_station == (
        (("station", "ОВД «Октябрьский»"), 2),
        (("station", "ОВД Ленинский"), 1),
    )


def test_a_merge_is_a_signed_event_and_the_merged_report_counts_once(three) -> None:
    world, _, (a, b, _c) = three
    service = world.service
    service.merge_cases(b, a)
    service.pull()
    assert service.links(a).merged == (b,)
    assert service.links(b).merged_into == a
    assert service.case(b).summary.id == b  # the merged report stays readable
    assert service.dashboard().total == 2
    assert (("station", "ОВД «Октябрьский»"), 1) in service.dashboard().by_station
    merges = [e for e in service.case(b).state.history if e.event["type"] == "merge"]
    assert merges and merges[0].author == service.info().coordinator_id
    service.unmerge_case(b)
    assert service.links(a).merged == ()
    assert service.dashboard().total == 3


def test_merging_into_itself_twice_or_into_nothing_is_refused(three) -> None:
    world, _, (a, b, _c) = three
    service = world.service
    with pytest.raises(CoordinatorError) as same:
        service.merge_cases(a, a)
    assert same.value.detail == "same_case"
    with pytest.raises(CoordinatorError) as missing:
        service.merge_cases(a, "0" * 32)
    assert missing.value.reason == "not_found"
    service.merge_cases(b, a)
    with pytest.raises(CoordinatorError) as again:
        service.merge_cases(a, b)
    assert again.value.detail == "already_merged"
    with pytest.raises(CoordinatorError) as not_merged:
        service.unmerge_case(a)
    assert not_merged.value.detail == "not_merged"


def test_a_coordinator_links_cases_by_badge_and_by_hand(three) -> None:
    world, _, (a, _b, c) = three
    service = world.service
    service.add_entity(c, "badge", "№ 45-12")
    service.add_entity(a, "badge", "4512")
    assert ("badge", "4512") in service.links(c).linked[0].reasons
    service.remove_entity(a, "badge", "4512")
    assert service.links(c).linked == ()
    service.link_cases(c, a, "same evening, same car")
    by_hand = {p.case_id: p for p in service.links(a).linked}[c]
    assert by_hand.reasons == (("link", ""),) and by_hand.note == "same evening, same car"
    assert service.dashboard().by_perpetrator == ((("badge", "№ 45-12"), 1),)
    service.unlink_cases(a, c)
    assert all(p.case_id != c for p in service.links(a).linked)


def test_a_victim_typed_by_a_coordinator_is_kept_only_as_a_pseudonym(three) -> None:
    world, _, (a, b, _c) = three
    service = world.service
    service.add_entity(a, "victim", "+996 555 123 456")
    service.add_entity(b, "victim", "0555 12-34-56")
    reasons = service.links(a).linked[0].reasons
    victim = [v for k, v in reasons if k == "victim"]
    assert victim and victim[0].startswith("vh1:")
    history = str([e.event for e in service.case(a).state.history])
    assert "555" not in history


def test_devices_tagged_for_an_event_are_wiped_in_one_confirmed_action(world) -> None:
    service = world.service
    first, second = world.enrol_device("A"), world.enrol_device("B")
    other = world.enrol_device("C")
    service.tag_devices([first, second], "Бишкек Прайд 2026")
    service.tag_devices([other], "office")
    assert service.all_tags() == [("office", 1), ("Бишкек Прайд 2026", 2)]
    with pytest.raises(CoordinatorError) as refused:
        service.wipe_tag("Бишкек Прайд 2026", "3")
    assert refused.value.reason == "wipe_not_confirmed"
    assert all(d.wipe == "none" for d in service.devices())
    result = service.wipe_tag("Бишкек Прайд 2026", "2")
    assert sorted(result.ordered) == sorted([first, second]) and result.failed == ()
    wipes = {d.id: d.wipe for d in service.devices()}
    assert wipes[first] == wipes[second] == "pending"
    assert wipes[other] == "none"


def test_a_tag_that_reaches_no_device_orders_nothing(world) -> None:
    service = world.service
    device = world.enrol_device("A")
    service.tag_devices([device], "conf")
    service.untag_device(device, "conf")
    with pytest.raises(CoordinatorError) as none:
        service.wipe_tag("conf", "conf")
    assert none.value.reason == "no_devices"
    with pytest.raises(CoordinatorError) as bad:
        service.tag_devices([device], "   ")
    assert bad.value.reason == "invalid_tag"
    with pytest.raises(CoordinatorError) as unknown:
        service.tag_devices(["f" * 32], "conf")
    assert unknown.value.reason == "unknown_device"
