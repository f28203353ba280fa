"""The field app in real headless Chromium, in web mode, with a real vault and a real server.

A new phone shows a calculator (no file says whether the app was ever set up); holding "="
starts the first run. A documenter sets the app up in Kyrgyz behind the calculator disguise,
joins the organisation, records an incident with a photo, sees it sent (the coordinator
receives it), reads and answers a coordinator's message, locks, unlocks through the
calculator, and wipes with the panic control (at once: the disguise makes it immediate);
nothing readable remains and no launch file is left. A second test shows the duress
passphrase opening an app that looks used but holds nothing of the real vault. Screenshots
of every screen at 360x640 go to artifacts/screenshots/field/.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from core.records import Kind
from sync import coordinator
from tests.integration.conftest import Org, running_org
from tests.support.flet_web import FletPage, FletWebApp, chromium_browser, python_app

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "field"
MARKER = "ZQXJ-Кармалды-7731"
PIN = "740218395061"  # 12+ digits: setup refuses shorter calculator codes

pytestmark = [pytest.mark.chromium, pytest.mark.slow]


def app_argv(data_dir: Path) -> list[str]:
    script = (
        "from pathlib import Path\n"
        "from app.field.entry import run\n"
        f"run(web=True, port={{port}}, data_dir=Path({str(data_dir)!r}))\n"
    )
    return python_app(script)


def photo_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "MakerZQXJ"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def assert_nothing_readable(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert MARKER.encode() not in data and b"ZQXJ" not in data, path.name


def test_a_documenter_records_syncs_locks_unlocks_and_wipes_in_kyrgyz(tmp_path: Path) -> None:
    data_dir = tmp_path / "phone"
    with (
        running_org(tmp_path) as org,
        FletWebApp(app_argv(data_dir)) as app,
        chromium_browser() as browser,
    ):
        ui = FletPage.open(browser, app.url)
        with ui.screenshot_on_failure(SHOTS / "failure_main.png"):
            main_flow(ui, org, data_dir, tmp_path)


def start_setup(ui: FletPage) -> None:
    """A new phone opens as a calculator; holding "=" starts the first run."""
    ui.wait_text("÷")
    ui.long_press("=")
    ui.wait_text("Кыргызча")


def main_flow(ui: FletPage, org: Org, data_dir: Path, tmp_path: Path) -> None:
    # ---- first run: language, passphrase (digits, for the calculator), disguise
    start_setup(ui)
    ui.screenshot(SHOTS / "setup_language.png")
    ui.click_until("Кыргызча", "Кийинки")
    ui.click_until("Кийинки", "Сырсөз ойлоп табыңыз")
    ui.fill("Сырсөз", PIN)
    ui.fill("Сырсөздү кайталаңыз", PIN)
    ui.toggle("Колдонмону калькулятор катары жашыруу")
    ui.screenshot(SHOTS / "setup_passphrase.png")
    # ---- join the organisation: the fingerprint is shown in groups of four
    ui.click_until("Түзүү", "Уюмга кошулуу", timeout=60)
    invite = coordinator.create_invite(org.coordinator, expires_in=3600, label="phone")
    ui.fill("Чакыруу коду", invite.encode())
    groups = " ".join(re.findall("....", invite.root_fingerprint))
    ui.click_until("Кодду текшерүү", groups)
    ui.screenshot(SHOTS / "setup_org.png")
    ui.click_until("Дал келет: кошулуу", "Окуялар")
    # ---- a new incident with a photo
    ui.click_until("Жаңы окуя", "Качан жана кайда")
    ui.click("Азыр")
    ui.choose("Өлкө", "Кыргызстан")
    ui.choose("Аймак", "Ош облусу")
    ui.check("Кармоо же камакка алуу")
    ui.check("Опузалап акча талап кылуу же пара талап кылуу")
    ui.fill("Талап кылынган же төлөнгөн сумма", "15000")
    ui.fill("Эмне болгонун сүрөттөп бериңиз *", MARKER)
    ui.check("Милиция")
    ui.fill("Жабыр тарткандар (лакап аттар) *", "А1")
    ui.screenshot(SHOTS / "incident_form.png")
    with ui.page.expect_file_chooser() as chooser:
        ui.click("Файл тандоо")
    chooser.value.set_files(
        files=[{"name": "сүрөт.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}]
    )
    ui.wait_text("сүрөт.jpg")
    ui.click_locator(ui.page.get_by_label("Көрсөтүү", exact=True).first)  # not "көрсөтүүдөн"
    ui.toggle("уюмга берилишине")
    ui.screenshot(SHOTS / "incident_attachments.png")
    # ---- it syncs: send and forget leaves only the status on the phone
    ui.click_until("Уюмга жөнөтүү", "Жөнөтүлдү жана телефондон өчүрүлдү", timeout=90)
    ui.screenshot(SHOTS / "incidents.png")
    coordinator.pull(org.coordinator)
    [case] = org.coordinator.list(kind=Kind.CASE)
    answers = case.data["latest"]["answers"]
    assert answers["description"] == MARKER and answers["extortion_amount"] == 15000
    [blob] = case.data["revisions"][-1]["blobs"]
    picture = coordinator.fetch_blob(org.coordinator, blob["id"])
    assert picture[:2] == b"\xff\xd8" and b"MakerZQXJ" not in picture
    # ---- a coordinator's question arrives and is answered
    [device] = coordinator.list_devices(org.coordinator)
    coordinator.send_message(org.coordinator, device["id"], case.id, "Жетон номери барбы?")
    ui.click_until("Азыр шайкештирүү", "билдирүүлөр: 1", timeout=90)
    ui.click_until("Билдирүүлөр", "Жетон номери барбы?")
    ui.text("Жетон номери барбы?").click()
    ui.fill("Сиздин жообуңуз", "4471")
    ui.click_until("Жоопту жөнөтүү", "4471")
    ui.screenshot(SHOTS / "messages.png")
    # ---- notes and settings
    ui.click_until("Жазмалар", "Жазманы сактоо")
    ui.fill("Жазма", "Шейшембиде жолугушуу")
    ui.click_until("Жазманы сактоо", "Шейшембиде жолугушуу")
    ui.screenshot(SHOTS / "notes.png")
    ui.click_until("Жөндөөлөр", "Коопсуздук")
    ui.screenshot(SHOTS / "settings.png")
    ui.scroll_to_bottom()
    ui.wait_text(re.compile(r"cryptography \d+"))
    ui.screenshot(SHOTS / "settings_about.png")
    # ---- lock, then unlock through the calculator: sums are not attempts
    ui.click_until("Азыр кулпулоо", "÷")
    for key in "12+3=":
        ui.click(key, exact=True)
    ui.wait_text("15")
    ui.screenshot(SHOTS / "calculator.png")
    for key in [*PIN, "="]:
        ui.click(key, exact=True)
    ui.wait_text("Окуялар", timeout=60)
    coordinator.pull(org.coordinator)
    replies = [
        r.data["text"]
        for r in org.coordinator.list(kind=Kind.MESSAGE)
        if r.data.get("direction") == "in"
    ]
    assert replies == ["4471"]
    # ---- panic: disguised, so immediate: hold the red control and everything is gone at
    # once, with no countdown; the calculator shows the owner's sign ("0.")
    ui.long_press("Бардык маалыматты өчүрүү үчүн басып туруңуз")
    ui.wait_text("÷", timeout=30)  # back to the calculator: the disguise stays
    ui.wait_text(re.compile(r"^0\.$"))
    ui.screenshot(SHOTS / "panic_done.png")
    assert not data_dir.with_name("phone.launch.json").exists()  # nothing says "disguise"
    assert not data_dir.exists() or list(data_dir.rglob("*")) == []
    if data_dir.exists():
        assert_nothing_readable(data_dir)
    ui.close()


def test_the_duress_passphrase_opens_an_empty_app(tmp_path: Path) -> None:
    data_dir = tmp_path / "phone"
    with FletWebApp(app_argv(data_dir)) as app, chromium_browser() as browser:
        ui = FletPage.open(browser, app.url)
        with ui.screenshot_on_failure(SHOTS / "failure_duress.png"):
            duress_flow(ui, data_dir)


def duress_flow(ui: FletPage, data_dir: Path) -> None:
    start_setup(ui)
    ui.click_until("Русский", "Далее")
    ui.click_until("Далее", "Придумайте пароль")
    ui.fill("Пароль", "тихий-вечер-42")
    ui.fill("Повторите пароль", "тихий-вечер-42")
    ui.toggle("Добавить пароль под принуждением")
    ui.fill("Пароль под принуждением", "солнечный-день")
    ui.click_until("Создать", "Подключиться к организации", timeout=60)
    ui.click_until("Позже", "Пока нет инцидентов.")
    ui.click_until("Новый инцидент", "Когда и где")
    ui.fill("Опишите, что произошло *", MARKER)
    ui.click_until("Сохранить черновик", "Черновик без названия")
    ui.click_until("Настройки", "Безопасность")
    ui.click_until("Заблокировать сейчас", "Введите пароль")
    ui.fill("Пароль", "не тот пароль")
    ui.click_until("Открыть", re.compile("Неверный пароль"))
    ui.screenshot(SHOTS / "unlock.png")
    ui.fill("Пароль", "солнечный-день")
    ui.click_until("Открыть", "Пока нет инцидентов.", timeout=60)
    ui.screenshot(SHOTS / "incidents_empty_after_duress.png")
    assert_nothing_readable(data_dir)
    ui.close()
