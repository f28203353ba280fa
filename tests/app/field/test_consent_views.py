"""The phone's referral directory and consent withdrawal screens (fake service)."""

from __future__ import annotations

from app.field.directory import DirectoryScreen
from app.field.incidents import IncidentListScreen
from app.field.withdraw import WithdrawScreen
from sync.referrals import Contact
from tests.app.field.test_service_contract import complete_answers
from tests.app.field.test_views import click, find, texts, unlocked

LAWYER = Contact(
    "aigerim", "Адвокат Айгерим", "lawyer", "Ош", ("ky", "ru"), "Signal: кітапхана деп айтыңыз"
)


def test_the_directory_shows_each_contact_and_how_to_reach_them_safely() -> None:
    ctx = unlocked("ky")
    ctx.service.directory = (LAWYER,)  # type: ignore[attr-defined]
    shown = texts(DirectoryScreen(ctx).build().body)
    assert "Адвокат Айгерим" in shown and "Юрист · Ош" in shown
    assert "Тилдер: ky, ru" in shown and "Signal: кітапхана деп айтыңыз" in shown


def test_an_empty_directory_says_the_organisation_published_none() -> None:
    ctx = unlocked("ru")
    body = DirectoryScreen(ctx).build().body
    assert find(body, "directory-empty").value == "Организация пока не опубликовала контакты."


def test_the_incident_list_opens_the_directory() -> None:
    ctx = unlocked("ru")
    click(find(IncidentListScreen(ctx).build().body, "open-directory"))
    assert ctx.nav.events[-1] == ("go:directory", {})  # type: ignore[attr-defined]


def test_only_a_report_that_left_the_phone_offers_to_withdraw_consent() -> None:
    ctx = unlocked("ru")
    draft = ctx.service.save_incident(None, {"description": "x"}, submit=False)
    sent = ctx.service.save_incident(None, complete_answers(), submit=True)
    body = IncidentListScreen(ctx).build().body
    click(find(body, f"withdraw-{sent}"))
    assert ctx.nav.events[-1] == ("go:withdraw", {"id": sent})  # type: ignore[attr-defined]
    try:
        find(body, f"withdraw-{draft}")
    except AssertionError:
        pass
    else:
        raise AssertionError("a draft offered a withdrawal")


def test_withdrawing_asks_for_confirmation_then_is_shown_as_withdrawn() -> None:
    ctx = unlocked("ky")
    sent = ctx.service.save_incident(None, complete_answers(), submit=True)
    screen = WithdrawScreen(ctx, sent)
    body = screen.build().body
    click(find(body, "withdraw-next"))
    assert screen.banner.visible and not screen.confirming  # nothing ticked
    screen.boxes["statistics"].value = True
    click(find(screen.build().body, "withdraw-next"))
    assert screen.confirming and ctx.service.list_incidents()[0].withdrawn == ()
    click(find(screen.build().body, "withdraw-confirm"))
    assert ctx.service.list_incidents()[0].withdrawn == ("statistics",)
    body = screen.build().body
    assert "Аноним статистика: кайра алынган" in texts(body)
    assert "макулдук кайра алынган" in texts(IncidentListScreen(ctx).build().body)
