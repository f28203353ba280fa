"""Joining by short code, picking a date, and the accessibility check, in real headless Chromium.

A coordinator makes an invite (its short code sealed on the real server); a documenter sets
the phone up in Russian behind the calculator, types the short code as it was read aloud (lower
case, spaces) and the server address, sees the organisation's fingerprint and joins; then picks
a date from the calendar in the incident form. On every screen passed through (setup, join,
home, form, notes, settings, calculator, and the unlock screen in Kyrgyz) each control a person
can act on must have a name and a 48 x 48 target (`tests.support.a11y`); so must every
coordinator screen, where a date picked from the calendar filters the cases. A last test shows
the check failing on a screen built to fail it.
"""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path

import pytest

from core.records import Kind
from sync import coordinator
from tests.integration.conftest import running_org
from tests.support.a11y import assert_accessible, problems
from tests.support.flet_web import FletPage, FletWebApp, chromium_browser, python_app

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "field"
PIN = "740218395061"

pytestmark = [pytest.mark.chromium, pytest.mark.slow]


def _phone(data_dir: Path) -> list[str]:
    return python_app(
        "from pathlib import Path\n"
        "from app.field.entry import run\n"
        f"run(web=True, port={{port}}, data_dir=Path({str(data_dir)!r}))\n"
    )


def _first_run(ui: FletPage) -> None:
    """A new phone opens on setup (or, in builds that start disguised, on the calculator,
    where holding "=" starts it)."""
    ui.page.wait_for_timeout(1500)
    if not ui.has_text("Русский"):
        ui.wait_text("÷")
        ui.long_press("=")
    ui.wait_text("Русский")


def test_a_documenter_joins_by_the_short_code_and_picks_a_date_in_russian(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "phone"
    with (
        running_org(tmp_path) as org,
        FletWebApp(_phone(data_dir)) as app,
        chromium_browser() as browser,
    ):
        ui = FletPage.open(browser, app.url)
        with ui.screenshot_on_failure(SHOTS / "failure_short_code.png"):
            _first_run(ui)
            assert_accessible(ui, "language")
            ui.click_until("Русский", "Далее")
            ui.click_until("Далее", "Придумайте пароль")
            ui.fill("Пароль", PIN)
            ui.fill("Повторите пароль", PIN)
            ui.toggle("Замаскировать приложение под калькулятор")
            assert_accessible(ui, "passphrase", scrolls=4)
            ui.click_until("Создать", "Подключиться к организации", timeout=60)

            # ---- the coordinator reads the short code aloud; the phone types it
            invite, code = coordinator.create_invite_with_code(
                org.coordinator, expires_in=3600, label="Ош"
            )
            ui.fill("Код приглашения", code.lower().replace("-", " "))
            ui.fill("Адрес сервера", org.server.url)
            assert_accessible(ui, "join")
            groups = " ".join(re.findall("....", invite.root_fingerprint))
            ui.click_until("Проверить код", groups, timeout=60)
            ui.screenshot(SHOTS / "setup_short_code.png")
            ui.click_until("Совпадает: подключиться", "Инциденты", timeout=60)
            assert_accessible(ui, "home")

            # ---- the phone enrols with the fetched invite and the coordinator admits it
            for _ in range(30):
                devices = coordinator.list_devices(org.coordinator)
                if devices:
                    break
                ui.page.wait_for_timeout(1000)
            assert [d["roster"] for d in devices] == ["verified"]
            assert [d["label"] for d in devices] == ["Ош"]
            assert org.coordinator.list(kind=Kind.INVITE)[0].data["used_by"]

            # ---- a date picked from the calendar, shown the Russian way
            ui.click_until("Новый инцидент", "Когда и где")
            assert_accessible(ui, "incident form", scrolls=30)
            ui.page.mouse.wheel(0, -20000)
            ui.page.wait_for_timeout(500)
            ui.click("Выбрать дату")
            ui.wait_text(re.compile("Выберите дату|Выбрать дату"))
            ui.screenshot(SHOTS / "date_picker.png")
            today = datetime.date.today()
            day = 15 if today.day != 15 else 14
            ui.click(re.compile(f"^{day}, "))  # "15, вторник, 15 декабря 2026 г."
            ui.click(re.compile("^(ОК|OK)$"))
            shown = today.replace(day=day).strftime("%d.%m.%Y")
            ui.page.wait_for_timeout(800)
            # Flutter copies a field's text into the page's input element when it is focused
            ui._focus(ui.textbox("Дата"))
            assert ui.textbox("Дата").input_value() == shown
            ui.screenshot(SHOTS / "incident_date_picked.png")

            # ---- notes, settings, and the calculator after locking
            ui.click_until("Назад", "Новый инцидент")
            ui.click_until("Заметки", "Сохранить заметку")
            assert_accessible(ui, "notes", scrolls=3)
            ui.click_until("Настройки", "Безопасность")
            assert_accessible(ui, "settings", scrolls=15)
            ui.page.mouse.wheel(0, -20000)
            ui.click_until("Заблокировать сейчас", "÷")
            assert_accessible(ui, "calculator")
            ui.close()


def test_the_unlock_screen_passes_the_check_in_kyrgyz(tmp_path: Path) -> None:
    data_dir = tmp_path / "phone"
    with FletWebApp(_phone(data_dir)) as app, chromium_browser() as browser:
        ui = FletPage.open(browser, app.url)
        with ui.screenshot_on_failure(SHOTS / "failure_unlock_accessibility.png"):
            _first_run(ui)
            ui.click_until("Кыргызча", "Кийинки")
            ui.click_until("Кийинки", "Сырсөз ойлоп табыңыз")
            ui.fill("Сырсөз", "тоо-шамал-2026!")
            ui.fill("Сырсөздү кайталаңыз", "тоо-шамал-2026!")
            ui.click_until("Түзүү", "Уюмга кошулуу", timeout=60)
            ui.click("Кийинчерээк")
            ui.click_until("Жөндөөлөр", "Коопсуздук")
            ui.click_until("Азыр кулпулоо", "Сырсөздү жазыңыз")
            assert_accessible(ui, "unlock")
            ui.fill("Сырсөз", "тоо-шамал-2026!")
            ui.click_until("Ачуу", "Жөндөөлөр", timeout=60)
            ui.close()


_BAD_SCREEN = """
import sys
import flet as ft

def main(page: ft.Page):
    page.add(
        ft.IconButton(ft.Icons.DELETE),
        ft.RadioGroup(ft.Row([ft.Radio(value="y", label="Yes")])),
        ft.TextField(),
    )

ft.run(main, view=ft.AppView.WEB_BROWSER, host="127.0.0.1", port=int(sys.argv[1]))
"""


def test_the_accessibility_check_names_a_nameless_button_a_small_radio_and_an_unlabelled_field(
    tmp_path: Path,
) -> None:
    script = tmp_path / "bad_screen.py"
    script.write_text(_BAD_SCREEN, encoding="utf-8")
    with (
        FletWebApp([sys.executable, str(script), "{port}"]) as app,
        chromium_browser() as browser,
    ):
        ui = FletPage.open(browser, app.url)
        ui.page.wait_for_timeout(3000)
        found = problems(ui)
        assert any(p.startswith("no name: button") for p in found), found
        assert any(p.startswith("no name: textbox") for p in found), found
        assert any(p.endswith("px: radio 'Yes'") for p in found), found
        with pytest.raises(AssertionError):
            assert_accessible(ui, "bad screen")
        ui.close()


def test_every_coordinator_screen_passes_the_check_and_a_filter_date_is_picked(
    tmp_path: Path,
) -> None:
    from app.i18n import Translator
    from tests.e2e.test_coordinator_app import DESKTOP, SEEDED

    t = Translator("ru", "coordinator").t
    shots = SHOTS.parent / "coordinator"
    with (
        FletWebApp([*python_app(SEEDED), "{port}", "ru"], env={"TZ": "Asia/Bishkek"}) as app,
        chromium_browser() as browser,
    ):
        ui = FletPage.open(browser, app.url, viewport=DESKTOP)
        with ui.screenshot_on_failure(shots / "failure_accessibility.png"):
            ui.wait_text("Ош телефону")
            assert_accessible(ui, "cases", scrolls=3)

            # a date picked from the Russian calendar filters the cases at once
            ui.click_locator(ui.page.get_by_role("button", name="Выбрать дату").first)
            ui.button(re.compile("^15, ")).wait_for(state="attached")
            ui.screenshot(shots / "filter_date_picker.png", settle_ms=600)
            ui.click(re.compile("^15, "))
            ui.click(re.compile("^(ОК|OK)$"))
            ui.wait_text(re.compile("^Дел: 0$"))
            ui.click(t("filters.clear"))
            ui.wait_text(re.compile("^Дел: 3$"))

            ui.click(re.compile("Новых ответов: 1"))
            ui.wait_text("Жетон 4471")
            assert_accessible(ui, "case", scrolls=12)
            for screen in ("dashboard", "exports", "forms", "settings"):
                ui.click(t(f"nav.{screen}"))
                ui.page.wait_for_timeout(1500)
                assert_accessible(ui, screen, scrolls=6)
            ui.click(t("nav.devices"))
            ui.click(t("devices.invite"))
            ui.wait_text(t("devices.invite_ready"))
            assert ui.textbox(t("devices.short_code")).count() == 1
            assert_accessible(ui, "devices", scrolls=4)
            ui.screenshot(shots / "devices_short_code.png", settle_ms=900)
            ui.close()
