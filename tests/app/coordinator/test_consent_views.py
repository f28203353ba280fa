"""Coordinator screens for consent, the referral directory and the warn-list (fake service)."""

from __future__ import annotations

import pytest

from app.coordinator.case_view import CaseView
from app.coordinator.settings_view import SettingsView
from app.coordinator.warnlist_view import WarnListView
from tests.app.coordinator.fakes import FakePort, click
from tests.app.coordinator.test_service_contract import ANSWERS
from tests.app.coordinator.test_views import ctx_for, texts
from tests.app.coordinator.worlds import FakeWorld

LAWYER = {"id": "aigerim", "name": "Адвокат Айгерим", "service": "lawyer", "city": "Ош"}


@pytest.fixture
def world(tmp_path):
    w = FakeWorld(tmp_path)
    w.setup()
    w.device = w.enrol_device("phone")
    disclosed = {"disclosed_under_pressure": True, "disclosed_contacts": "Бека, Aigul ; бека"}
    w.case_id = w.report(w.device, {**ANSWERS, **disclosed})
    w.service.pull()
    return w


def test_settings_publish_a_referral_directory_and_remove_a_contact(world) -> None:
    port = FakePort()
    view = SettingsView(ctx_for(world.service, "ky", port), lambda _l: None, lambda: None)
    view.load()
    card = view.referrals
    assert "Азырынча байланыштар жок." in texts(card.control)
    card.name.value, card.city.value, card.languages.value = "Адвокат Айгерим", "Ош", "ky, ru"
    card.reach.value = "Signal гана"
    click(card.control.content.controls[-2])  # "Add and publish"
    (contact,) = world.service.referrals()
    assert (contact.name, contact.service, contact.languages) == (
        "Адвокат Айгерим",
        "lawyer",
        ("ky", "ru"),
    )
    assert "Маалымдама жарыяланды" in texts(card.status) and card.name.value == ""
    card.on_remove(contact.id)
    assert port.confirmations and world.service.referrals() == ()


def test_a_contact_without_a_name_is_not_published(world) -> None:
    view = SettingsView(ctx_for(world.service, "ru"), lambda _l: None, lambda: None)
    view.load()
    view.referrals.on_add()
    assert world.service.referrals() == ()
    assert "Укажите имя" in texts(view.referrals.status)


def test_case_view_refers_a_case_to_a_directory_contact_by_its_id(world) -> None:
    world.service.publish_referrals([LAWYER])
    view = CaseView(ctx_for(world.service, "ru"), world.case_id)
    view.load()
    assert view.directory.control.visible
    view.directory.control.value = "aigerim"
    click(view.directory.control)
    assert view.referral_to.value == "Адвокат Айгерим"
    view.on_refer()
    (referral,) = world.service.case(world.case_id).state.referrals
    assert (referral.to, referral.contact) == ("Адвокат Айгерим", "aigerim")


def test_case_view_records_a_withdrawal_only_after_confirming(world) -> None:
    port = FakePort(confirm=False)
    view = CaseView(ctx_for(world.service, "ru", port), world.case_id)
    view.load()
    assert "Дано" in texts(view.consent.lines)
    view.consent.boxes["statistics"].value = True
    view.consent.on_withdraw()
    assert port.confirmations and world.service.consent(world.case_id).withdrawn == frozenset()
    port.answer = True
    view.consent.boxes["statistics"].value = True
    view.consent.on_withdraw()
    assert world.service.consent(world.case_id).withdrawn == {"statistics"}
    assert "Отозвано" in texts(view.consent.lines)
    assert not view.consent.boxes["statistics"].visible  # nothing offers to undo it
    assert world.service.dashboard().total == 0


def test_warn_list_shows_each_disclosed_pseudonym_once_and_opens_its_case(world) -> None:
    opened = []
    ctx = ctx_for(world.service, "ky")
    ctx.navigate = lambda screen, arg="": opened.append((screen, arg))
    view = WarnListView(ctx)
    view.load()
    shown = texts(view.table)
    assert shown.count("Бека") == 1 and "Aigul" in shown and "бека" not in shown
    button = view.table.rows[0].cells[1].content.controls[0]
    click(button)
    assert opened == [("case", world.case_id)]


def test_a_withdrawn_case_leaves_the_warn_list(world) -> None:
    world.service.act(world.case_id, {"type": "withdraw", "purposes": "share_org"})
    view = WarnListView(ctx_for(world.service, "ru"))
    view.load()
    assert not view.table.visible and view.empty.visible
