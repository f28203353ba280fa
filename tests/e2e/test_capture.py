"""Capture in real headless Chromium (web mode), with Chromium's fake camera and microphone
(`--use-fake-device-for-media-stream --use-fake-ui-for-media-stream`, only in this file): a
documenter opens a new incident, opens the in-app camera (the browser's permission, the list of
cameras, the camera's start and its live preview, all through flet-camera), closes it, then
adds a photo from the file picker instead: it is stored encrypted, the panel says the original
is still outside the app and how to delete it, and the data directory holds no JPEG in clear.
Screenshots at 360x640 go to artifacts/screenshots/field/.

Not exercised here, because the plugins never answer in headless Chromium 156 with the fake
devices: flet-camera 1.0.5's `take_picture` and `stop_video_recording`, and flet-audio-
recorder 1.0.5's `start_recording` in streaming PCM16 mode (its `has_permission` and
`is_supported_encoder` do answer). The app gives up after a bounded time with a translated
message (tests/app/field/test_capture_contract.py); what happens to captured bytes, the WAV,
the cache wiping and the Android permissions is covered by tests/app/field/test_capture_*.py
and tests/forensics/test_capture.py with the plugins' Python side replaced.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.i18n import Translator
from app.services.field import VaultFieldService
from tests.support.flet_web import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FletPage,
    FletWebApp,
    chromium_available,
    python_app,
)

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "field"
PASS = "walnut orchard lantern 1987 Naryn"
MODEL = "QXCAM-Model-5150"
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

pytestmark = [pytest.mark.chromium, pytest.mark.slow]


@contextlib.contextmanager
def chromium_with_fake_media() -> Iterator[Any]:
    from tests.conftest import require

    require(chromium_available(), f"Chromium ({CHROMIUM}) and Playwright are needed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_MEDIA], headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def app_argv(data_dir: Path) -> list[str]:
    script = (
        "from pathlib import Path\n"
        "from app.field.entry import run\n"
        f"run(web=True, port={{port}}, data_dir=Path({str(data_dir)!r}))\n"
    )
    return python_app(script)


def plaintext_media(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            head = path.read_bytes()[:12]
            if head.startswith(b"\xff\xd8\xff") or head[8:12] == b"WAVE":
                found.append(path.name)
    return found


def photo_with_exif() -> bytes:
    image = Image.new("RGB", (32, 24), (200, 40, 40))
    exif = Image.Exif()
    exif[0x0110] = MODEL
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_in_app_camera_opens_and_a_picked_photo_goes_encrypted_into_the_report(
    tmp_path: Path, lang: str
) -> None:
    data_dir = tmp_path / "phone"
    service = VaultFieldService(data_dir, kdf_log_n=15)
    service.create(PASS, language=lang)
    service.lock()
    t = Translator(lang, "field").t
    with FletWebApp(app_argv(data_dir)) as app, chromium_with_fake_media() as browser:
        ui = FletPage.open(browser, app.url)
        ui.context.grant_permissions(["camera", "microphone"], origin=app.url.rstrip("/"))
        with ui.screenshot_on_failure(SHOTS / f"failure_capture_{lang}.png"):
            capture_flow(ui, t, lang)
        ui.close()
    # the app has stopped: the vault holds the photo, encrypted and without its EXIF
    assert plaintext_media(data_dir) == []
    assert not any(MODEL.encode() in p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    service = VaultFieldService(data_dir, kdf_log_n=15)
    service.unlock(PASS)
    [incident] = service.list_incidents()
    [attached] = service.get_incident(incident.id).attachments
    photo = service.attachment_bytes(attached.id)
    assert photo.startswith(b"\xff\xd8\xff") and MODEL.encode() not in photo


def capture_flow(ui: FletPage, t: Any, lang: str) -> None:
    ui.fill(t("unlock.passphrase"), PASS)
    ui.click_until(t("unlock.button"), t("list.new"), timeout=60)
    ui.click_until(t("list.new"), t("att.take_photo"))
    # ---- the in-app camera opens on the fake device, with its live preview
    ui.click_until(t("att.take_photo"), t("att.shoot"))
    ui.button(t("att.shoot")).scroll_into_view_if_needed()
    for _ in range(100):  # the status goes once the camera has started
        if not ui.has_text(t("att.camera_starting")):
            break
        ui.page.wait_for_timeout(200)
    assert not ui.has_text(t("att.camera_starting"))
    assert not ui.has_text(t("att.unavailable_failed"))
    ui.screenshot(SHOTS / f"capture_camera_{lang}.png", settle_ms=1500)
    ui.click(t("att.close_camera"))
    for _ in range(50):
        if not ui.button(t("att.shoot")).count():
            break
        ui.page.wait_for_timeout(200)
    assert not ui.button(t("att.shoot")).count()
    # ---- a photo from the picker instead: encrypted, and the original is talked about
    with ui.page.expect_file_chooser() as chooser:
        ui.click(t("att.choose_file"))
    chooser.value.set_files(
        files=[{"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": photo_with_exif()}]
    )
    ui.wait_text("IMG_0042.jpg")
    notice = t("att.original_gallery", name="IMG_0042.jpg")
    ui.wait_text(notice[:40])
    ui.screenshot(SHOTS / f"capture_original_{lang}.png")
    ui.click(t("att.understood"))
    ui.click_until(t("form.save_draft"), t("list.title"), timeout=60)
