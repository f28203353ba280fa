"""The phone in real headless Chromium, a real vault, a real server and a coordinator: the
organisation's referral directory opens on the phone (published in the signed org document),
the new form sections are there in the documenter's language, and consent withdrawn from a
report already sent and forgotten reaches the coordinator, signed by the phone, and takes the
case out of the statistics. Screenshots at 360x640 in Kyrgyz and Russian go to docs/screenshots/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from app.casebook.cases import CaseIndex
from app.exports import consent as export_consent
from app.i18n import Translator
from app.services.coordinator_api import load_default_forms
from app.services.field import VaultFieldService
from core.forms import parse_form
from core.records import Kind
from sync import coordinator
from tests.app.field.test_service_contract import complete_answers
from tests.e2e.test_field_app import app_argv
from tests.integration.conftest import Org, running_org
from tests.support.flet_web import FletPage, FletWebApp, chromium_browser

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASS = "correct horse 42 field"
DIRECTORY = [
    {
        "id": "aigerim",
        "name": "Адвокат Айгерим",
        "service": "lawyer",
        "city": "Бишкек",
        "languages": ["ky", "ru"],
        "reach": "Signal: +996 555 000 111 — «китепкана» деп жазыңыз",
    },
    {
        "id": "doctor-osh",
        "name": "Доктор Нурлан",
        "service": "doctor",
        "city": "Ош",
        "languages": ["ky", "uz", "ru"],
        "reach": "Clinic reception, ask for the morning shift",
    },
    {"id": "shelter", "name": "Баш калкалоочу жай «Үмүт»", "service": "shelter", "city": "Бишкек"},
]
ALL = {"share_org": True, "statistics": True, "advocacy": True}


def _phone_with_a_sent_report(org: Org, data_dir: Path, lang: str) -> str:
    """A documenter's phone that joined, sent a report and forgot it (send and forget)."""
    service = VaultFieldService(data_dir, kdf_log_n=15)
    service.create(PASS, language=lang)
    invite = coordinator.create_invite(org.coordinator, expires_in=3600, label="phone")
    service.join(invite.encode())
    service.sync_round()
    incident = service.save_incident(None, complete_answers(consent=ALL), submit=True)
    service.sync_round()
    coordinator.pull(org.coordinator)
    service.sync_round()  # the receipt: only the stub stays
    service.lock()
    return incident


def _index(org: Org) -> CaseIndex:
    forms = [parse_form(raw) for raw in load_default_forms()]
    return CaseIndex.build(
        org.coordinator.list(kind=Kind.CASE), org.coordinator.list(kind=Kind.CASE_EVENT), forms
    )


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_the_directory_opens_and_a_withdrawal_after_sending_reaches_every_export(
    tmp_path: Path, lang: str
) -> None:
    t = Translator(lang).t
    data_dir = tmp_path / "phone"
    with running_org(tmp_path) as org:
        coordinator.publish_org_document(org.coordinator, settings={"referrals": DIRECTORY})
        case_id = _phone_with_a_sent_report(org, data_dir, lang)
        assert export_consent.permitted(_index(org), _index(org).query(), "stats")[1] == []
        with FletWebApp(app_argv(data_dir)) as app, chromium_browser() as browser:
            ui = FletPage.open(browser, app.url)
            with ui.screenshot_on_failure(DOCS_SHOTS.parent.parent / "artifacts" / "consent.png"):
                ui.wait_text(t("unlock.title"), timeout=60)
                ui.fill(t("unlock.passphrase"), PASS)
                ui.click_until(t("unlock.button"), t("list.directory"), timeout=60)

                # the directory, offline from the signed org document the phone holds
                ui.click_until(t("list.directory"), "Адвокат Айгерим")
                ui.wait_text(re.compile("«китепкана»"))  # how to reach them safely
                ui.screenshot(DOCS_SHOTS / f"field-directory-{lang}.png", settle_ms=900)
                back_arrow = ui.page.get_by_label(t("common.back"), exact=True).first
                ui._pointer_click(back_arrow)
                ui.wait_text(t("list.withdraw"))

                # consent withdrawn from the stub of a report already sent and forgotten
                ui.click_until(t("list.withdraw"), t("withdraw.hint"))
                ui.toggle(t("withdraw.purpose_statistics"))
                ui.click_until(t("withdraw.next"), t("withdraw.confirm"))
                ui.page.mouse.move(180, 620)  # no tooltip over the screen
                ui.screenshot(DOCS_SHOTS / f"field-withdraw-{lang}.png", settle_ms=900)
                ui.click_until(t("withdraw.button"), t("withdraw.done"))
                ui.wait_text(f"{t('withdraw.purpose_statistics')}: {t('withdraw.already')}")

                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    coordinator.pull(org.coordinator)
                    if org.coordinator.get(case_id).data.get("withdrawals"):
                        break
                    time.sleep(2)
                index = _index(org)
                assert export_consent.permitted(index, index.query(), "stats") == ([], [case_id])
                assert [s.id for s in export_consent.permitted(index, index.query(), "pdf")[0]] == [
                    case_id
                ]
            ui.close()


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_the_new_form_sections_read_in_the_documenters_language(tmp_path: Path, lang: str) -> None:
    t = Translator(lang).t
    form = parse_form(load_default_forms()[0])
    injuries = next(s for s in form.sections if s.id == "injuries")
    person = next(s for s in form.sections if s.id == "person")
    data_dir = tmp_path / "phone"
    service = VaultFieldService(data_dir, kdf_log_n=15)
    service.create(PASS, language=lang)
    service.lock()
    with FletWebApp(app_argv(data_dir)) as app, chromium_browser() as browser:
        ui = FletPage.open(browser, app.url)
        with ui.screenshot_on_failure(DOCS_SHOTS.parent.parent / "artifacts" / "form.png"):
            ui.wait_text(t("unlock.title"), timeout=60)
            ui.fill(t("unlock.passphrase"), PASS)
            ui.click_until(t("unlock.button"), t("list.new"), timeout=60)
            ui.click_until(t("list.new"), person.labels[lang])
            ui.text(person.labels[lang]).first.scroll_into_view_if_needed()
            ui.screenshot(DOCS_SHOTS / f"field-form-person-{lang}.png", settle_ms=900)
            # injuries: "yes" opens where on the body, what kind, photographs, the examination
            heading = ui.text(injuries.labels[lang]).first
            heading.scroll_into_view_if_needed()
            top = heading.bounding_box()["y"]
            yes = ui.page.get_by_role("radio", name=t("common.yes"), exact=True)
            below = [r for r in yes.all() if (r.bounding_box() or {"y": -1})["y"] > top]
            ui.click_locator(below[0])
            ui.wait_text(injuries.fields[1].labels[lang])
            ui.page.mouse.move(180, 400)
            ui.page.mouse.wheel(0, 150)
            ui.screenshot(DOCS_SHOTS / f"field-form-injuries-{lang}.png", settle_ms=900)
        ui.close()
