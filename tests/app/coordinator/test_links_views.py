"""The links card of a case, the dashboard's per-station counts and the event wipe card, without
a page: handlers called with fake events, the in-memory service."""

from __future__ import annotations

import pytest

from app.coordinator.case_view import CaseView
from app.coordinator.dashboard_view import DashboardView
from app.coordinator.devices_view import DevicesView
from app.i18n import Translator
from tests.app.coordinator.fakes import FakePort, click
from tests.app.coordinator.test_service_contract import ANSWERS
from tests.app.coordinator.test_views import ctx_for, texts
from tests.app.coordinator.worlds import FakeWorld


@pytest.fixture
def world(tmp_path):
    w = FakeWorld(tmp_path)
    w.setup()
    device = w.enrol_device("Ош")
    w.case_ids = [
        w.report(device, {**ANSWERS, "perpetrator_station": "ОВД Октябрьский"}),
        w.report(device, {**ANSWERS, "perpetrator_station": "овд октябрьский"}),
        w.report(device, {**ANSWERS, "description": "Третье дело"}),
    ]
    w.service.pull()
    return w


def test_the_case_shows_a_case_linked_by_its_station_in_the_readers_language(world) -> None:
    a, b, _c = world.case_ids
    view = CaseView(ctx_for(world.service, "ky"), a)
    view.load()
    shown = texts(view.links.control)
    assert "Милиция бөлүмү: ОВД Октябрьский" in shown
    assert world.service.case(b).summary.reference in shown
    assert "Башка иштер менен байланыштар" in shown


def test_merging_asks_first_then_shows_the_merged_report_readable_under_the_case(world) -> None:
    a, _b, c = world.case_ids
    port = FakePort()
    view = CaseView(ctx_for(world.service, "ru", port), a)
    view.load()
    view.links.other.value = c
    click(view.links.control.content.controls[-1].controls[1])  # "merge into this case"
    assert port.confirmations and "объединить" in port.confirmations[0][0].casefold()
    assert world.service.links(a).merged == (c,)
    shown = texts(view.links.control)
    assert "Отчётов, объединённых с этим делом: 1" in shown
    assert "Третье дело" in shown  # the merged report, readable here


def test_a_refused_merge_keeps_everything_and_says_why(world) -> None:
    a, _b, _c = world.case_ids
    view = CaseView(ctx_for(world.service, "ru", FakePort(confirm=True)), a)
    view.load()
    view.links.other.value = a
    view.links.on_merge()
    assert view.links.error.visible
    assert world.service.links(a).merged == ()


def test_an_entity_typed_in_the_case_is_added_as_a_signed_event(world) -> None:
    a, _b, c = world.case_ids
    view = CaseView(ctx_for(world.service, "ru"), c)
    view.load()
    view.links.kind.value = "badge"
    view.links.value.value = "№ 44-71"
    view.links.on_add_entity()
    assert ("badge", "4471") in {(e.kind, e.value) for e in world.service.links(c).entities}
    assert "Жетон: № 44-71" in texts(view.links.control)
    assert view.links.value.value == ""
    assert world.service.links(a).linked[0].case_id != c


def test_the_dashboard_counts_cases_per_station(world) -> None:
    view = DashboardView(ctx_for(world.service, "ru"))
    view.load()
    shown = "\n".join(texts(panel) for panel in view.grid.controls[4:])  # after the month chart
    assert "Дела по отделам полиции" in shown
    assert "ОВД Октябрьский" in shown


def test_event_wipe_tags_devices_and_wipes_only_after_the_typed_confirmation(world) -> None:
    service = world.service
    other = world.enrol_device("Бишкек")
    view = DevicesView(ctx_for(service, "ru"))
    view.load()
    section = view.event_wipe
    for box in section.checks.controls:
        box.value = True
    section.tag.value = "Конференция"
    section.on_tag()
    assert service.all_tags() == [("Конференция", 2)]
    section.on_ask("Конференция")
    assert section.confirm_box.visible and "2" in section.warning.value
    section.confirmation.value = "3"
    section.on_wipe()
    assert section.refused.visible and section.confirm_box.visible
    assert all(d.wipe == "none" for d in service.devices())
    section.confirmation.value = "Конференция"
    section.on_wipe()
    assert {d.wipe for d in service.devices()} == {"pending"}
    assert other in {d.id for d in service.devices()}
    assert "2" in texts(section.result)


def test_every_new_text_exists_in_every_language() -> None:
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "assets" / "i18n" / "coordinator"
    english = json.loads((root / "en.json").read_text(encoding="utf-8"))
    ours = [k for k in english if k.startswith(("links.", "devices.event_wipe", "devices.tag"))]
    assert len(ours) > 30
    for lang in ("ru", "ky", "kk"):
        catalogue = Translator(lang, "coordinator")
        for key in ours:
            translated = catalogue.has(key) and catalogue.t(key) != english[key]
            assert translated or "{" in english[key], (lang, key)
