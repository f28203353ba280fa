"""End to end in headless Chromium: a coordinator links and merges cases and wipes every device
of one event, in Kyrgyz and Russian, on the seeded in-memory workspace (nothing leaves the
process). Screenshots at 1280×800 go to docs/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.flet_web import FletPage, FletWebApp, chromium_browser, python_app

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "screenshots" / "coordinator"
DOCS_SHOTS = REPO / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
CLOCK = 1_764_930_000

CONSENT = {"share_org": True, "statistics": True, "advocacy": True}
BASE = {
    "region": "kg.bishkek",
    "perpetrator_types": ["police"],
    "victims": "А.",
    "consent": CONSENT,
}
CASES = (  # (case id, answers, received, phone)
    (
        "a11111" + "0" * 26,
        {
            **BASE,
            "occurred_at": "2025-09-13T23:10",
            "violation_types": ["detention", "extortion"],
            "description": "Задержали после встречи из приложения знакомств, требовали деньги.",
            "perpetrator_station": "ОВД Октябрьский",
            "perpetrator_badge": "4471",
        },
        1_757_800_000,
        0,
    ),
    (
        "b22222" + "0" * 26,
        {
            **BASE,
            "occurred_at": "2025-10-02T21:00",
            "violation_types": ["entrapment", "extortion"],
            "description": "Встреча по анкете, в машине ждали двое в форме.",
            "perpetrator_station": "овд  октябрьский",
            "fake_profile": "@sweet_boy_96",
        },
        1_759_500_000,
        1,
    ),
    (
        "c33333" + "0" * 26,
        {
            **BASE,
            "occurred_at": "2025-11-20T08:30",
            "region": "kg.chuy",
            "violation_types": ["threat"],
            "description": "Угрозы аутингом по телефону.",
            "perpetrator_station": "ОВД Свердловский",
        },
        1_763_700_000,
        2,
    ),
    (
        "d44444" + "0" * 26,
        {
            **BASE,
            "occurred_at": "2025-09-13T23:30",
            "violation_types": ["detention"],
            "description": "Тот же вечер: второй задержанный рассказал то же самое.",
        },
        1_757_810_000,
        2,
    ),
)
PHONES = ("Бишкек-1", "Бишкек-2", "Ош-1")


def seed(service, lang: str):
    """Four cases from three phones: two name one station (written differently), one is the
    same event as the first, seen by another phone."""
    from tests.app.coordinator import factory

    service.setup_new(
        passphrase="correct horse battery staple",
        server_url="https://fieldvault.example.org",
        bootstrap_token="token",
        org_name="Укук коргоо тармагы",
        coordinator_name="Айгүл",
    )
    service.set_language(lang)
    phones = [factory.Device() for _ in PHONES]
    for phone, label in zip(phones, PHONES, strict=True):
        service.add_device(label, key=phone.key.public_bytes())
    for case_id, answers, received, n in CASES:
        case = factory.case_data(phones[n], answers, now=received, case_id=case_id)
        for rev in case["revisions"]:
            rev["record"]["data"]["form"] = "default-incident"
        service.receive_case(case)
    service.pull()
    return service


SEEDED = r"""
import sys
from pathlib import Path

import flet as ft

from app.coordinator.entry import HOST, make_main
from app.services.coordinator_fake import FakeCoordinatorService
from tests.e2e.test_linked_cases import CLOCK, seed

port, lang = int(sys.argv[1]), sys.argv[2]
main = make_main(lambda: seed(FakeCoordinatorService(clock=lambda: CLOCK), lang))
assets = str(Path("assets").resolve())
ft.run(main, view=ft.AppView.WEB_BROWSER, host=HOST, port=port, assets_dir=assets, no_cdn=True)
"""


def _catalogue(lang: str):
    from app.i18n import Translator

    return Translator(lang, "coordinator")


def _title(lang: str, case_id: str) -> str:
    from app.services.coordinator_fake import FakeCoordinatorService

    service = seed(FakeCoordinatorService(clock=lambda: CLOCK), lang)
    summary = service.case(case_id, lang).summary
    return f"{summary.reference} · {summary.title_in(lang)}"


def _scroll(ui: FletPage, dy: int, x: int = 1000) -> None:
    ui.page.mouse.move(x, 500)
    ui.page.mouse.wheel(0, dy)
    ui.page.wait_for_timeout(400)


def _last_button(ui: FletPage, name: str) -> None:
    ui.click_locator(ui.page.get_by_role("button", name=name, exact=True).last)


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_a_coordinator_links_and_merges_reports_and_sees_them_per_station(lang) -> None:
    t = _catalogue(lang).t
    same_event = CASES[3][0]
    merged_option = _title(lang, same_event)
    with (
        FletWebApp([*python_app(SEEDED), "{port}", lang]) as app,
        chromium_browser() as browser,
    ):
        ui = FletPage.open(browser, app.url, viewport=DESKTOP)
        with ui.screenshot_on_failure(SHOTS / f"links-{lang}-failure.png"):
            ui.wait_text(PHONES[0])
            ui.click(re.compile("A11-111"))
            # the second report names the same station, written differently: linked already
            ui.wait_text(t("links.title"))
            ui.wait_text(re.compile(re.escape(t("links.kind_station")) + ": ОВД Октябрьский"))
            ui.wait_text(re.compile("B22-222"))

            # the same event seen by another phone: merged here, after a confirmation
            _scroll(ui, 600)
            ui.choose(t("links.other_case"), merged_option)
            ui.click(t("links.merge_here"), exact=True)
            ui.wait_text(t("links.confirm_merge_title"))
            _last_button(ui, t("links.merge_here"))
            ui.wait_text(t("links.merged_reports", count=1))

            # a fake profile typed by the coordinator links the case to a third one
            ui.choose(t("links.kind"), t("links.kind_profile"))
            ui.fill(t("links.value"), "sweet_boy_96")
            ui.click(t("links.add_entity"))
            # shown as the report spelt it; the two cases now share two reasons
            ui.wait_text(re.compile(re.escape(t("links.kind_profile")) + ": @sweet_boy_96"))
            ui.screenshot(DOCS_SHOTS / f"coordinator-case-links-{lang}.png", settle_ms=1200)

            # the dashboard counts the merged report once, per station
            ui.click(t("nav.dashboard"))
            ui.wait_text(t("dashboard.by_station"))
            ui.wait_text(t("dashboard.total", count=3))
            ui.page.mouse.move(640, 500)
            ui.page.mouse.wheel(0, 900)
            ui.wait_text("ОВД Октябрьский")
            ui.screenshot(DOCS_SHOTS / f"coordinator-dashboard-stations-{lang}.png", settle_ms=1500)
        ui.close()


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_a_coordinator_wipes_every_device_of_an_event_after_typing_the_tag(lang) -> None:
    t = _catalogue(lang).t
    tag = {"ky": "Бишкек Прайд", "ru": "Бишкек Прайд"}[lang]
    with (
        FletWebApp([*python_app(SEEDED), "{port}", lang]) as app,
        chromium_browser() as browser,
    ):
        ui = FletPage.open(browser, app.url, viewport=DESKTOP)
        with ui.screenshot_on_failure(SHOTS / f"event-wipe-{lang}-failure.png"):
            ui.wait_text(PHONES[0])
            ui.click(t("nav.devices"))
            ui.wait_text(t("devices.event_wipe_title"))
            ui.check(PHONES[0])
            ui.check(PHONES[1])
            ui.fill(re.compile("^" + re.escape(t("devices.tag_name")) + "$"), tag)
            ui.click(t("devices.tag_apply"))
            ui.wait_text(t("devices.tag_line", tag=tag, count=2))

            _scroll(ui, 900, x=640)
            ui.click(t("devices.event_wipe", tag=tag))
            ui.wait_text(t("devices.event_wipe_warning", tag=tag, count=2))
            _scroll(ui, 900, x=640)
            ui.fill(
                re.compile("^" + re.escape(t("devices.event_wipe_type")) + "$"), "3"
            )  # a wrong count: nothing is wiped
            ui.click(t("devices.event_wipe_go"), exact=True)
            ui.wait_text(t("error.wipe_not_confirmed"))
            assert not ui.has_text(t("devices.wipe_pending"))
            ui.fill(re.compile("^" + re.escape(t("devices.event_wipe_type")) + "$"), "2")
            _scroll(ui, 900, x=640)
            ui.screenshot(DOCS_SHOTS / f"coordinator-event-wipe-{lang}.png", settle_ms=900)
            ui.click(t("devices.event_wipe_go"), exact=True)
            ui.wait_text(t("devices.event_wipe_done", count=2, tag=tag))
            _scroll(ui, -3000, x=640)  # the device table, at the top
            ui.wait_text(t("devices.wipe_pending"))
            pending = ui.page.locator("flt-semantics").filter(
                has_text=re.compile("^" + re.escape(t("devices.wipe_pending")) + "$")
            )
            assert pending.count() == 2
        ui.close()
