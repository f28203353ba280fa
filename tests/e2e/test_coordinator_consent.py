"""The coordinator app in real headless Chromium (a seeded in-memory workspace, as the other
screenshot tests): consent binds the charts and the exports, a withdrawal recorded in the case
takes the case out of them at once, the warn-list names the people to warn, and a case is
referred to a contact of the organisation's directory. Screenshots at 1280x800 in Kyrgyz and
Russian go to docs/screenshots/.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.e2e.test_coordinator_app import DESKTOP, DOCS_SHOTS, SHOTS, download, exact
from tests.support.flet_web import FletPage, FletWebApp, chromium_browser, python_app

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

SEEDED = r"""
import sys
from pathlib import Path

import flet as ft

from app.coordinator.entry import HOST, make_main
from app.services.coordinator_fake import FakeCoordinatorService
from tests.e2e.test_coordinator_consent import seed

port, lang = int(sys.argv[1]), sys.argv[2]
main = make_main(lambda: seed(FakeCoordinatorService(clock=lambda: 1_764_930_000), lang))
assets = str(Path("assets").resolve())
ft.run(main, view=ft.AppView.WEB_BROWSER, host=HOST, port=port, assets_dir=assets, no_cdn=True)
"""

DIRECTORY = [
    {
        "id": "aigerim",
        "name": "Адвокат Айгерим",
        "service": "lawyer",
        "city": "Бишкек",
        "languages": ["ky", "ru"],
        "reach": "Signal; «китепкана» деп жазыңыз",
    },
    {"id": "nurlan", "name": "Доктор Нурлан", "service": "doctor", "city": "Ош"},
]
DISCLOSED = {
    "occurred_at": "2025-11-28T23:40",
    "region": "kg.bishkek",
    "violation_types": ["entrapment", "detention", "forced_disclosure"],
    "perpetrator_types": ["police"],
    "description": "Телефонду ачууга мажбурлашты, байланыштарды окушту.",
    "victims": "Б.",
    "disclosed_under_pressure": True,
    "disclosed_how": ["phone_unlocked", "chats_read"],
    "disclosed_contacts": "Айдана-7, Бек (Ош), Мирлан М.",
    "consent": {"share_org": True, "statistics": True, "advocacy": True},
}


def seed(service, lang: str):
    """The workspace of the other screenshots, its directory, and a report naming contacts."""
    from tests.app.coordinator import factory
    from tests.e2e.test_coordinator_app import seed as base

    base(service, lang)
    service.publish_referrals(DIRECTORY)
    phone = factory.Device()
    service.add_device("Бишкек телефону", key=phone.key.public_bytes())
    case = factory.case_data(phone, DISCLOSED, now=1_764_400_000)
    for rev in case["revisions"]:
        rev["record"]["data"]["form"] = "default-incident"
    service.receive_case(case)
    service.pull()
    return service


def _pick(ui: FletPage, label: str, option: str) -> None:
    """Open a drop-down and pick an option, opening it again if the menu did not come up."""
    exact = re.compile("^" + re.escape(option) + "$")
    box = ui.textbox(label)
    for _ in range(4):
        box.scroll_into_view_if_needed()
        ui.page.wait_for_timeout(500)
        box.click()
        try:
            ui.wait_text(exact, timeout=6)
        except Exception:  # noqa: S112 - the menu did not open: open it again
            continue
        ui._pointer_click(ui.page.locator("flt-semantics").filter(has_text=exact).last)
        ui.page.wait_for_timeout(400)
        return
    raise AssertionError(f"no option {option!r} in {label!r}")


def _csv_ids(data: bytes) -> list[str]:
    return [r["case_id"] for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))]


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_consent_binds_charts_and_exports_and_a_withdrawal_in_the_case_takes_effect_at_once(
    lang: str,
) -> None:
    from app.i18n import Translator

    t = Translator(lang, "coordinator").t
    with (
        FletWebApp([*python_app(SEEDED), "{port}", lang], env={"TZ": "Asia/Bishkek"}) as app,
        chromium_browser() as browser,
    ):
        ui = FletPage.open(browser, app.url, viewport=DESKTOP)
        with ui.screenshot_on_failure(SHOTS / f"consent-{lang}-failure.png"):
            ui.wait_text("Ош телефону")

            # the charts leave out the case whose victim did not agree to statistics
            ui.click(t("nav.dashboard"))
            ui.wait_text(t("dashboard.left_out", count=1))

            # whom to warn: the pseudonyms the report says were disclosed under pressure
            ui.click(t("nav.warnlist"))
            ui.wait_text("Айдана-7")
            ui.wait_text("Мирлан М.")
            ui.screenshot(DOCS_SHOTS / f"coordinator-warnlist-{lang}.png", settle_ms=900)

            # the case: referred to a contact of the directory
            ui.click_locator(
                ui.page.get_by_role("button", name=re.compile(r"^[0-9A-F]{3}-[0-9A-F]{3}$")).first
            )
            ui.wait_text(t("consent.title"))
            _pick(ui, t("case.referral_directory"), "Адвокат Айгерим · Юрист · Бишкек")
            ui.click(t("case.refer"))
            ui.wait_text(re.compile(r"· Адвокат Айгерим \("))
            ui.text(t("case.referrals")).first.scroll_into_view_if_needed()
            ui.page.mouse.move(900, 700)
            ui.screenshot(DOCS_SHOTS / f"coordinator-case-referral-{lang}.png", settle_ms=1200)

            # consent withdrawn for statistics: confirmed, then shown, and never offered again
            ui.text(t("consent.title")).first.scroll_into_view_if_needed()
            ui.check(t("consent.purpose_statistics"))
            ui.click(t("consent.withdraw"))
            ui.wait_text(t("consent.withdraw_title"))
            ui.page.wait_for_timeout(500)
            ui.click_locator(ui.page.get_by_role("button", name=t("consent.withdraw")).last)
            ui.wait_text(t("consent.withdrawn"))
            ui.text(t("consent.withdraw_hint")).first.scroll_into_view_if_needed()
            ui.page.mouse.move(1000, 400)
            ui.page.mouse.wheel(0, -150)  # the whole consent card
            ui.screenshot(DOCS_SHOTS / f"coordinator-case-withdrawn-{lang}.png", settle_ms=1200)

            ui.click(t("nav.dashboard"))
            ui.wait_text(t("dashboard.left_out", count=2))

            # the anonymised case list: without both cases, and it says so
            ui.click(t("nav.exports"))
            ui.wait_text(t("exports.what"))
            data = download(ui, lambda: exact(ui, t("exports.export")))
            ui.wait_text(re.compile(re.escape(t("exports.left_out", count=2))))
            assert len(_csv_ids(data)) == 2 and "Айдана" not in data.decode("utf-8-sig")
        ui.close()
