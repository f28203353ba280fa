"""End to end in Chromium: on a phone with a keystore, the silent alarm held on the locked
calculator reaches the coordinator app without the phone ever being unlocked.

The phone's keystore is the in-memory one (a browser has none), filled in the app's process
with the entries the phone made at setup; everything else is real: the server, the field app's
shell starting on the disguised calculator, and the coordinator app, open in Russian, which
shows the red banner with the phone's name and its preset message.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.services.field import VaultFieldService
from app.services.field_keystore import MemoryKeystore
from tests.e2e.test_alarm import DESKTOP, PIN, _coordinator, _coordinator_app, _unlock_coordinator
from tests.support.flet_web import FletPage, FletWebApp, chromium_browser, python_app
from tests.support.live_server import start_live_server

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "screenshots" / "alarm"


def _phone(tmp: Path, code: str) -> tuple[Path, MemoryKeystore]:
    """A disguised phone with a keystore, joined, synced twice (its alarm key announced and
    delivered), its alarm message chosen, then locked."""
    data, keystore = tmp / "phone", MemoryKeystore()
    phone = VaultFieldService(data, kdf_log_n=15, keystore=keystore)
    phone.create(PIN, language="ru", disguise=True)
    phone.join(code)
    phone.sync_round()
    from app.services.field_alarm import AlarmService

    AlarmService(phone).save_settings(message="medical", location=False, wipe=False)
    phone.sync_round()
    phone.lock()
    return data, keystore


def _field_app(data: Path, keystore: MemoryKeystore) -> FletWebApp:
    entries = {name: value.hex() for name, value in keystore.values.items()}
    script = (
        "from pathlib import Path\n"
        "import flet as ft\n"
        "from app.field import entry\n"
        "from app.services.field_keystore import MemoryKeystore\n"
        "keystore = MemoryKeystore()\n"
        f"keystore.values.update((k, bytes.fromhex(v)) for k, v in {entries!r}.items())\n"
        "def main(page):\n"
        f"    entry._show(page, entry.make_service(Path({str(data)!r}), keystore=keystore))\n"
        "ft.run(main, view=ft.AppView.WEB_BROWSER, host='127.0.0.1', port={port},"
        " assets_dir=str(entry.ASSETS), no_cdn=True)\n"
    )
    return FletWebApp(python_app(script))


def test_an_alarm_held_on_the_locked_calculator_reaches_the_coordinator_app_without_unlock(
    tmp_path: Path,
) -> None:
    with start_live_server(tmp_path / "server") as server:
        coordinator_data, code = _coordinator(tmp_path, server)
        phone_data, keystore = _phone(tmp_path, code)
        with (
            _coordinator_app(coordinator_data) as desk_app,
            _field_app(phone_data, keystore) as phone_app,
            chromium_browser() as browser,
        ):
            desk = FletPage.open(browser, desk_app.url, viewport=DESKTOP)
            with desk.screenshot_on_failure(SHOTS / "failure-locked-coordinator-ru.png"):
                _unlock_coordinator(desk, "Русский", "Парольная фраза", "Разблокировать")
                desk.wait_text("Тревоги", timeout=60)
            phone = FletPage.open(browser, phone_app.url)
            with phone.screenshot_on_failure(SHOTS / "failure-locked-phone.png"):
                phone.wait_text("÷")
                assert not desk.has_text(re.compile("ТРЕВОГА: Ош телефону"))
                phone.long_press("%")  # the silent alarm: nothing changes on the display
                phone.wait_text(re.compile("^0$"))
            with desk.screenshot_on_failure(SHOTS / "failure-locked-coordinator-ru.png"):
                desk.wait_text(re.compile("ТРЕВОГА: Ош телефону"), timeout=90)
                desk.wait_text(re.compile("Мне нужна медицинская помощь"))
            assert phone.has_text("÷") and not phone.has_text("Инциденты")  # still locked
