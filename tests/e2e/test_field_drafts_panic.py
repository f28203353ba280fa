"""Drafts, errors where the owner is, and a panic nobody can cancel, in real headless Chromium.

In Kazakh: a half-filled incident survives Back and reopens with its text, which is never in
clear in the data directory; Send on an incomplete form goes to the first answer to fix and
says how many beside Send; with "erase at once" chosen at setup, holding the red button wipes
with no countdown and the calculator opens with the owner's sign. In Russian: a half-written
note survives a change of tab, a refused passphrase puts the cursor in the field to fix, the
lock screen's panic control wipes at once, and so does holding "C" on a disguised phone's
calculator. Screenshots at 360x640 go to docs/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.test_field_app import app_argv, start_setup
from tests.support.flet_web import REPO, FletPage, FletWebApp, chromium_browser

SHOTS = REPO / "docs" / "screenshots"
FAILURES = REPO / "artifacts" / "screenshots" / "field"
MARKER = "ҚЖ-Ұлан-жоба-5521"
NOTE = "Встреча во вторник ЖЦ-8830"
SIGN = re.compile(r"^0\.$")

pytestmark = [pytest.mark.chromium, pytest.mark.slow]


def assert_never_in_clear(root: Path, text: str) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for encoding in ("utf-8", "utf-16-le"):
            assert text.encode(encoding) not in data, path.name
        assert text.encode("unicode_escape") not in data, path.name


def typed_in(ui: FletPage, label: str) -> str:
    """The text in the field with this label, scrolling down to it (Flutter puts far-away
    fields in the page only once they are near the screen) and focusing it to read it."""
    ui.page.mouse.move(180, 320)
    for _ in range(40):
        if ui.textbox(label).count():
            break
        ui.page.mouse.wheel(0, 500)
        ui.page.wait_for_timeout(150)
    assert ui._focus(ui.textbox(label))
    return str(ui.textbox(label).input_value())


def focused_field(ui: FletPage) -> str:
    """The label of the text field the cursor is in ("" when none is)."""
    return str(
        ui.page.evaluate(
            "() => { const e = document.activeElement;"
            " return e && e.tagName === 'INPUT' || e && e.tagName === 'TEXTAREA'"
            " ? e.getAttribute('aria-label') || '' : '' }"
        )
    )


def assert_wiped(data_dir: Path) -> None:
    assert not data_dir.exists() or not any(p.is_file() for p in data_dir.rglob("*"))


def test_in_kazakh_back_keeps_a_draft_send_goes_to_the_problem_and_panic_is_immediate(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "phone"
    with FletWebApp(app_argv(data_dir)) as app, chromium_browser() as browser:
        ui = FletPage.open(browser, app.url)
        with ui.screenshot_on_failure(FAILURES / "failure_drafts_kk.png"):
            kazakh_flow(ui, data_dir)


def kazakh_flow(ui: FletPage, data_dir: Path) -> None:
    start_setup(ui)
    ui.click_until("Қазақша", "Келесі")
    ui.click_until("Келесі", "Құпиясөз ойлап табыңыз")
    ui.fill("Құпиясөз", "тыныш-кеш-таулар-42")
    ui.fill("Құпиясөзді қайталаңыз", "тыныш-кеш-таулар-42")
    ui.toggle("Қызыл түйме: деректерді бірден жою, кері санаусыз")
    ui.click_until("Жасау", "Ұйымға қосылу", timeout=60)
    assert ui.page.get_by_label("Барлық деректерді жою үшін басып тұрыңыз").count()
    ui.screenshot(SHOTS / "field-join-panic-kk.png")
    ui.click_until("Кейінірек", "Әзірге оқиғалар жоқ.")
    # ---- a half-filled form, then Back: nothing asked, nothing lost
    ui.click_until("Жаңа оқиға", "Қашан және қайда")
    ui.fill("Не болғанын сипаттаңыз *", MARKER)
    ui.page.wait_for_timeout(2500)  # the pause after which a draft is written
    ui._pointer_click(ui.page.get_by_label("Артқа", exact=True).first)  # the app bar's back arrow
    ui.wait_text("Қалған жерден жалғастыру")
    ui.wait_text(MARKER)
    ui.screenshot(SHOTS / "field-drafts-kk.png")
    assert_never_in_clear(data_dir, MARKER)
    ui.click_until("Жалғастыру", "Қашан және қайда")
    assert typed_in(ui, "Не болғанын сипаттаңыз *") == MARKER
    # ---- Send on an incomplete form: the count beside Send, the first answer in view
    ui.click("Ұйымға жіберу")
    ui.wait_text(re.compile("Тексеру қажет жауаптар: \\d+"))
    ui.page.wait_for_timeout(800)  # the scroll to the first answer
    assert focused_field(ui).startswith("Күні")  # the cursor is in the first answer to fix
    ui.screenshot(SHOTS / "field-form-first-problem-kk.png")
    assert ui.has_text("Қашан және қайда")  # the form's first answer is in view again
    ui.scroll_to_bottom()
    ui.screenshot(SHOTS / "field-form-errors-kk.png")  # the count beside Send
    # ---- panic, immediate: no countdown, the calculator with the owner's sign
    ui.long_press("Барлық деректерді жою үшін басып тұрыңыз")
    ui.wait_text("÷", timeout=30)
    ui.wait_text(SIGN)
    assert not ui.has_text(re.compile("секундтан кейін"))
    ui.screenshot(SHOTS / "field-panic-sign-kk.png")
    assert_wiped(data_dir)
    ui.click("7", exact=True)
    ui.wait_text(re.compile(r"^7$"))
    ui.close()


def test_in_russian_a_note_survives_a_tab_change_and_the_lock_screen_panics_at_once(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "phone"
    with FletWebApp(app_argv(data_dir)) as app, chromium_browser() as browser:
        ui = FletPage.open(browser, app.url)
        with ui.screenshot_on_failure(FAILURES / "failure_drafts_ru.png"):
            russian_flow(ui, data_dir)


def russian_flow(ui: FletPage, data_dir: Path) -> None:
    start_setup(ui)
    ui.click_until("Русский", "Далее")
    ui.click_until("Далее", "Придумайте пароль")
    ui.fill("Пароль", "тихий-вечер-горы-42")
    ui.fill("Повторите пароль", "тихий-вечер-горы-43")
    ui.click("Создать")
    ui.wait_text("Пароли не совпадают.")
    ui.page.wait_for_timeout(600)  # the scroll to the field to fix
    assert focused_field(ui) == "Повторите пароль"  # the cursor is in the field to fix
    ui.screenshot(SHOTS / "field-setup-error-ru.png")
    ui.fill("Повторите пароль", "тихий-вечер-горы-42")
    ui.click_until("Создать", "Подключиться к организации", timeout=60)
    ui.click_until("Позже", "Пока нет инцидентов.")
    # ---- a half-written note, then another tab: it comes back in the editor
    ui.click_until("Заметки", "Сохранить заметку")
    ui.fill("Заметка", NOTE)
    ui.click_until("Инциденты", "Новый инцидент")
    ui.click_until("Заметки", "Сохранить заметку")
    assert typed_in(ui, "Заметка") == NOTE
    ui.screenshot(SHOTS / "field-notes-draft-ru.png")
    assert_never_in_clear(data_dir, NOTE)
    # ---- the lock screen has the panic control: it wipes at once
    ui.click_until("Настройки", "Безопасность")
    ui.click_until("Заблокировать сейчас", "Введите пароль")
    ui.screenshot(SHOTS / "field-lock-panic-ru.png")
    ui.long_press("Удерживайте, чтобы всё стереть")
    ui.wait_text("÷", timeout=30)
    ui.wait_text(SIGN)
    assert_wiped(data_dir)
    ui.close()


def test_in_russian_holding_c_on_the_calculator_wipes_at_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "phone"
    with FletWebApp(app_argv(data_dir)) as app, chromium_browser() as browser:
        ui = FletPage.open(browser, app.url)
        with ui.screenshot_on_failure(FAILURES / "failure_calculator_panic.png"):
            calculator_flow(ui, data_dir)


def calculator_flow(ui: FletPage, data_dir: Path) -> None:
    start_setup(ui)
    ui.click_until("Русский", "Далее")
    ui.click_until("Далее", "Придумайте пароль")
    ui.fill("Пароль", "740218395061")
    ui.fill("Повторите пароль", "740218395061")
    ui.toggle("Замаскировать приложение под калькулятор")  # turns "erase at once" on too
    ui.click_until("Создать", "Подключиться к организации", timeout=60)
    ui.click_until("Позже", "Пока нет инцидентов.")
    ui.click_until("Настройки", "Безопасность")
    ui.click_until("Заблокировать сейчас", "÷")
    for key in "12+":
        ui.click(key, exact=True)
    key_c = ui.page.get_by_role("button", name="C", exact=True).first
    box = key_c.bounding_box()
    assert box is not None
    ui.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    ui.page.mouse.down()
    ui.page.wait_for_timeout(1200)
    ui.page.mouse.up()
    ui.wait_text(SIGN, timeout=30)  # wiped at once: no 3, 2, 1 on the display
    assert_wiped(data_dir)
