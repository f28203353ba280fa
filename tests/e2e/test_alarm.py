"""End to end in Chromium: the silent alarm and the check-in, a real server, the field app and
the coordinator app side by side.

1. On the disguised phone's calculator the owner holds "%" (the display does not change), then
   unlocks: the alarm is sealed, pushed, and the coordinator app, already open in Kyrgyz, shows
   the red banner above its screens and the alarm beside the organisation's emergency plan.
2. The owner arms a one-minute check-in on the phone (in Russian); the phone's process is then
   stopped (switched off). Nobody checks in: the coordinator app raises the missed check-in by
   itself when the minute is over.

Screenshots (looked at, kept in docs/screenshots/): the coordinator at 1280x800 in Kyrgyz and
Russian, the phone's check-in screen at 360x640 in Russian and, with the last alarm, in Kyrgyz.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from app.services.coordinator import VaultCoordinatorService
from app.services.coordinator_alerts import CoordinatorAlerts
from app.services.field import VaultFieldService
from server.config import SQLITE_FILE
from tests.support.flet_web import FletPage, FletWebApp, chromium_browser, python_app
from tests.support.live_server import LiveServer, start_live_server

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "screenshots"
SHOTS = REPO / "artifacts" / "screenshots" / "alarm"
DESKTOP = {"width": 1280, "height": 800}
PASSPHRASE = "coordinator passphrase one"
PIN = "740218395061"
PLAN = (
    "1. Позвоните адвокату Айгерим: +996 555 000 111 (круглосуточно).\n"
    "2. Второй координатор едет в ближайший РОВД; спросите номер жетона.\n"
    "3. Ничего не публикуйте без согласия семьи."
)


def _coordinator(tmp: Path, server: LiveServer) -> tuple[Path, str]:
    """A workspace with a published emergency plan and an invite for the phone."""
    data = tmp / "coordinator"
    service = VaultCoordinatorService(data)
    service.setup_new(
        passphrase=PASSPHRASE,
        server_url=server.url,
        bootstrap_token=server.bootstrap_token,
        org_name="Кыргыз укук коргоо тармагы",
        coordinator_name="Айгүл",
    )
    CoordinatorAlerts(service).publish_plan(PLAN)
    code = service.create_invite(3600, "Ош телефону").code
    service.lock()
    return data, code


def _phone(tmp: Path, code: str, language: str) -> Path:
    """A disguised phone that has joined and synced once, then locked."""
    data = tmp / "phone"
    phone = VaultFieldService(data, kdf_log_n=15)
    phone.create(PIN, language=language, disguise=True)
    phone.join(code)
    phone.sync_round()
    phone.lock()
    return data


def _field_app(data: Path) -> FletWebApp:
    script = (
        "from pathlib import Path\n"
        "from app.field.entry import run\n"
        f"run(web=True, port={{port}}, data_dir=Path({str(data)!r}))\n"
    )
    return FletWebApp(python_app(script))


def _coordinator_app(data: Path) -> FletWebApp:
    argv = [sys.executable, "-m", "app.cli", "coordinator", "--web", "--port", "{port}"]
    return FletWebApp([*argv, "--data", str(data)], env={"FIELDVAULT_ALERT_POLL": "2"})


def _unlock_coordinator(ui: FletPage, language: str, label: str, button: str) -> None:
    ui.wait_text("Русский")
    ui.click(language)
    ui.fill(label, PASSPHRASE)
    ui.click(button)


def _unlock_calculator(ui: FletPage) -> None:
    """Type the code with real pointer taps, checking each digit arrived (Flutter's web engine
    drops synthetic taps for a moment after a pointer gesture such as a long press), then "="."""
    for i, key in enumerate(PIN):
        for _ in range(3):
            ui.page.mouse.move(5, 630)
            ui.button(key, exact=True).click()
            with contextlib.suppress(Exception):
                ui.wait_text(re.compile("^" + PIN[: i + 1] + "$"), timeout=3)
                break
    ui.wait_text(PIN)
    ui.button("=", exact=True).click()


def _reports_on_server(server: LiveServer) -> int:
    with sqlite3.connect(server.data_dir / SQLITE_FILE, timeout=10) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM envelopes WHERE kind = 'report'").fetchone()
    return int(count)


def test_an_alarm_held_on_the_calculator_reaches_the_coordinator_app(tmp_path: Path) -> None:
    with start_live_server(tmp_path / "server") as server:
        coordinator_data, code = _coordinator(tmp_path, server)
        phone_data = _phone(tmp_path, code, "ky")
        with (
            _coordinator_app(coordinator_data) as desk_app,
            _field_app(phone_data) as phone_app,
            chromium_browser() as browser,
        ):
            desk = FletPage.open(browser, desk_app.url, viewport=DESKTOP)
            with desk.screenshot_on_failure(SHOTS / "failure-coordinator-ky.png"):
                _unlock_coordinator(desk, "Кыргызча", "Сырсөз айкашы", "Ачуу")
                desk.wait_text("Коркунуч белгилери", timeout=60)  # the rail
            phone = FletPage.open(browser, phone_app.url)
            with phone.screenshot_on_failure(SHOTS / "failure-phone.png"):
                phone.wait_text("÷")
                phone.long_press("%")  # the silent alarm: nothing changes on the display
                phone.wait_text(re.compile("^0$"))
                assert not desk.has_text(re.compile("КОРКУНУЧ БЕЛГИСИ"))
                _unlock_calculator(phone)
                phone.wait_text("Окуялар", timeout=60)
            with desk.screenshot_on_failure(SHOTS / "failure-coordinator-ky.png"):
                desk.wait_text(re.compile("КОРКУНУЧ БЕЛГИСИ: Ош телефону"), timeout=90)
                desk.wait_text(re.compile("Мени кармашты"))
                desk.screenshot(DOCS / "coordinator-alarm-banner-ky.png", settle_ms=900)
                desk.click("Белгилерди ачуу")
                desk.wait_text(re.compile("Позвоните адвокату Айгерим"))
                desk.wait_text("Иштелди деп белгилөө")
                desk.screenshot(DOCS / "coordinator-alarms-ky.png", settle_ms=900)
                desk.click("Иштелди деп белгилөө")
                desk.wait_text(re.compile("^Иштеген: Айгүл"))
                desk.page.wait_for_timeout(500)
                assert not desk.has_text(re.compile("КОРКУНУЧ БЕЛГИСИ:"))
            with phone.screenshot_on_failure(SHOTS / "failure-phone-ky.png"):
                # the owner sees how far the alarm got, where the alarm is set up
                phone.click_until("Жөндөөлөр", "Коопсуздук", timeout=60)
                phone.click_until("Коопсуздук белгиси", "«Мен аманмын» белгиси")
                phone.scroll_to_bottom()
                phone.wait_text(re.compile("^Акыркы белги .*: серверге жөнөтүлдү"))
                phone.screenshot(DOCS / "field-alarm-ky.png", settle_ms=600)


def test_a_missed_checkin_of_a_switched_off_phone_is_raised_by_the_coordinator_app(
    tmp_path: Path,
) -> None:
    with start_live_server(tmp_path / "server") as server:
        coordinator_data, code = _coordinator(tmp_path, server)
        phone_data = _phone(tmp_path, code, "ru")
        with _coordinator_app(coordinator_data) as desk_app, chromium_browser() as browser:
            desk = FletPage.open(browser, desk_app.url, viewport=DESKTOP)
            with desk.screenshot_on_failure(SHOTS / "failure-coordinator-ru.png"):
                _unlock_coordinator(desk, "Русский", "Парольная фраза", "Разблокировать")
                desk.wait_text("Тревоги", timeout=60)
            with _field_app(phone_data) as phone_app:
                phone = FletPage.open(browser, phone_app.url)
                with phone.screenshot_on_failure(SHOTS / "failure-phone-ru.png"):
                    phone.wait_text("÷")
                    _unlock_calculator(phone)
                    phone.click_until("Настройки", "Безопасность", timeout=60)
                    phone.click_until("Тревога и отметка", "Тихий сигнал тревоги")
                    phone.fill("Отметиться в течение (минут)", "1")
                    phone.click("Включить отметку")
                    phone.wait_text(re.compile("^Отметьтесь до"))
                    armed = time.monotonic()
                    deadline = time.monotonic() + 60
                    while _reports_on_server(server) < 1:  # the armed check-in is stored
                        assert time.monotonic() < deadline, "the check-in never reached the server"
                        time.sleep(0.5)
                    phone.wait_text("Отправлено на сервер; ждём подтверждения координаторов.")
                    phone.screenshot(DOCS / "field-checkin-ru.png", settle_ms=600)
                    phone.close()
            # the phone is switched off (its process stopped): nobody can press "I am safe"
            assert not desk.has_text(re.compile("ТРЕВОГА:"))
            with desk.screenshot_on_failure(SHOTS / "failure-coordinator-ru.png"):
                desk.wait_text(re.compile("ТРЕВОГА: Ош телефону не отметился до"), timeout=150)
                assert time.monotonic() - armed > 55  # raised at the deadline, not before
                desk.screenshot(DOCS / "coordinator-alarm-banner-ru.png", settle_ms=900)
                desk.click("Открыть тревоги")
                desk.wait_text(re.compile("Позвоните адвокату Айгерим"))
                desk.screenshot(DOCS / "coordinator-alarms-ru.png", settle_ms=900)
