"""End to end: the coordinator app in real headless Chromium, a real server, a real field device
(driven through its sync engine), and a second coordinator joining with the root key backup.

Screenshots of every screen go to artifacts/screenshots/coordinator/<screen>.png; the ones of
what a coordinator reads in Kyrgyz and Russian (a seeded workspace) go to docs/screenshots/.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from app.services.coordinator import VaultCoordinatorService
from core.records import Kind, Record, Status
from tests.support.flet_web import FletPage, FletWebApp, chromium_browser
from tests.support.live_server import start_live_server

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "screenshots" / "coordinator"
DESKTOP = {"width": 1280, "height": 800}
PASSPHRASE = "coordinator passphrase one"
BACKUP_PASSPHRASE = "root backup passphrase"


class Device:
    """A real field device: MemoryVault + outbox + SyncEngine, as the field app uses them."""

    def __init__(self, code: str) -> None:
        from storage.memory import MemoryVault
        from sync.device import identity_from_invite
        from sync.engine import SyncEngine
        from sync.invite import Invite

        self.vault = MemoryVault()
        # everything the invite carries: enrolment secret, org floor, organisation identity
        self.identity = identity_from_invite(self.vault, Invite.parse(code), label="Osh phone")
        self.engine = SyncEngine(self.vault)
        self.sync()

    def sync(self) -> None:
        report = self.engine.run_once()
        assert not getattr(report, "error", None), report

    def report(self, answers: dict, photo: bytes = b"") -> str:
        from sync.outbox import queue_record

        attachments = []
        if photo:
            att = self.vault.attach(io.BytesIO(photo), media_type="image/png", name="bruise.png")
            attachments.append({"id": att.id, "media_type": "image/png", "name": "bruise.png"})
        record = Record(
            kind=Kind.INCIDENT,
            status=Status.READY,
            data={
                "form": "default-incident",
                "form_version": 1,
                "answers": answers,
                "attachments": attachments,
            },
        )
        queue_record(self.vault, record)
        self.sync()
        return record.id

    def messages(self) -> list[Record]:
        self.sync()
        return self.vault.list(kind=Kind.MESSAGE)

    def reply(self, case_id: str, text: str) -> None:
        from sync.outbox import queue_reply

        last = [m for m in self.vault.list(kind=Kind.MESSAGE) if m.data["case_id"] == case_id]
        queue_reply(self.vault, case_id, text, last[-1].id)
        self.sync()


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (150, 40, 90)).save(out, format="PNG")
    return out.getvalue()


FIRST = {
    "occurred_at": "2025-03-14T22:10",
    "region": "kg.osh",
    "violation_types": ["detention", "extortion"],
    "perpetrator_types": ["police"],
    "description": "Задержали после встречи, ҚОРҚЫТТЫ и требовали 20 000 сом.",
    "victims": "А.",
    "consent": {"share_org": True, "statistics": True, "advocacy": True},
}
SECOND = {
    "occurred_at": "2025-06-02T13:00",
    "region": "kg.bishkek",
    "violation_types": ["beating"],
    "perpetrator_types": ["family"],
    "description": "Үй-бүлөсү уруп, үйдөн кууп чыкты.",
    "consent": {"share_org": True, "statistics": True, "advocacy": False},
}


def download(ui: FletPage, click) -> bytes:
    with ui.page.expect_download(timeout=60_000) as info:
        click()
    path = info.value.path()
    return Path(path).read_bytes()


def exact(ui: FletPage, name: str) -> None:
    ui.click_locator(ui.page.get_by_role("button", name=name, exact=True).first)


def shot(ui: FletPage, name: str) -> None:
    ui.screenshot(SHOTS / f"{name}.png", settle_ms=900)


def test_coordinator_workspace_end_to_end(tmp_path) -> None:
    with (
        start_live_server(tmp_path / "server") as server,
        FletWebApp(
            [
                sys.executable,
                "-m",
                "app.cli",
                "coordinator",
                "--web",
                "--port",
                "{port}",
                "--data",
                str(tmp_path / "coordinator-a"),
            ],
        ) as app,
        chromium_browser() as browser,
    ):
        ui = FletPage.open(browser, app.url, viewport=DESKTOP)
        try:
            _journey(ui, server, tmp_path)
        except Exception:
            shot(ui, "failure")
            raise
        ui.close()


def _journey(ui: FletPage, server, tmp_path: Path) -> None:
    ui.wait_text("Русский")
    ui.click("English")
    ui.wait_text("Set up the coordinator workspace")
    shot(ui, "setup")

    # ---- a new organisation
    ui.fill("Passphrase for this workspace", PASSPHRASE)
    ui.fill("Passphrase again", PASSPHRASE)
    ui.fill("Your name (shown to other coordinators)", "Aida")
    ui.fill("Server address", server.url)
    ui.fill("Organisation name", "Kyrgyz Pride Network")
    ui.fill("Bootstrap token from the server", server.bootstrap_token)
    ui.click("Create organisation")
    ui.wait_text("Pull new reports", timeout=60)

    # ---- invite and enrol a device
    ui.click("Devices")
    ui.fill("Label (optional, e.g. a pseudonym)", "Osh phone")  # the name coordinators read
    ui.click("Create invite")
    ui.wait_text("Invite ready")
    # the code is a read-only field (selectable and copyable); Flutter fills its input on focus
    ui._focus(ui.textbox("Invite code"))
    code = ui.textbox("Invite code").input_value().strip()
    assert code.startswith("FV")
    device = Device(code)
    ui.click("Refresh")
    ui.wait_text("Osh phone")
    shot(ui, "devices")

    # ---- incidents arrive
    first_id = device.report(FIRST, _photo())
    device.report(SECOND)
    ui.click("Cases")
    ui.click("Pull new reports")
    ui.wait_text(re.compile("Cases found: 2"))
    shot(ui, "cases")
    ui.fill("Search (any language)", "қорқытты")
    ui.wait_text(re.compile("^Cases found: 1$"))
    shot(ui, "cases-search")
    ui.fill("Search (any language)", "")
    ui.wait_text(re.compile("Cases found: 2"))

    # ---- the case: fields, attachment from memory, custody, workflow, messages
    ui.click(re.compile("Detention"))
    ui.wait_text("Signature valid, chain intact")
    ui.wait_text(re.compile("Задержали после встречи"))
    shot(ui, "case")
    ui.click("Show", exact=True)  # the attachment's; "Show the choices" opens a list
    ui.page.wait_for_timeout(1500)
    ui.click_locator(ui.page.get_by_role("radio", name="Verified"))
    ui.wait_text(re.compile("^Verified$"))
    ui.fill("Message", "Можете уточнить номер жетона?")
    ui.click("Send")
    ui.wait_text("Можете уточнить номер жетона?")
    shot(ui, "case-messages")
    assert any(m.data["text"] == "Можете уточнить номер жетона?" for m in device.messages())
    device.reply(first_id, "Жетон 4471")
    ui.click("Back to cases")
    ui.click("Pull new reports")
    ui.wait_text(re.compile("Cases updated|New replies|Nothing new"))
    ui.click(re.compile("Detention"))
    ui.wait_text("Жетон 4471")

    # ---- a second coordinator joins with the root key backup
    ui.click("Settings")
    ui.fill("Backup passphrase (at least 10 characters)", BACKUP_PASSPHRASE)
    backup = download(ui, lambda: ui.click("Save backup"))
    second = VaultCoordinatorService(tmp_path / "coordinator-b")
    second.setup_join(
        passphrase=PASSPHRASE,
        server_url=server.url,
        backup=backup,
        backup_passphrase=BACKUP_PASSPHRASE,
        coordinator_name="Bek",
    )
    ui.fill("Join code (FVC1-…)", second.join_request())
    ui.click("Add coordinator")
    ui.wait_text("Add this coordinator?")
    ui.page.wait_for_timeout(500)
    ui.click_locator(ui.page.get_by_role("button", name="Add coordinator").last)
    ui.wait_text(re.compile("Added: organisation document version 2"))
    shot(ui, "settings")
    device.sync()  # the device learns the second recipient
    shared_id = device.report({**SECOND, "description": "Повторное нападение, Бишкек"})
    second.pull()
    assert shared_id in {s.id for s in second.cases()}

    # ---- both coordinators act on the same case at once, and converge
    ui.click("Cases")
    ui.click("Pull new reports")
    ui.wait_text(re.compile("Cases found: 3"))
    second.act(shared_id, {"type": "status", "status": "in_review"})
    second.act(shared_id, {"type": "tag", "tag": "urgent"})
    ui.click_locator(ui.page.get_by_role("button", name=re.compile("Повторное|Beating")).first)
    ui.click_locator(ui.page.get_by_role("radio", name="Referred"))
    ui.page.wait_for_timeout(500)
    second.pull()
    ui.click("Back to cases")
    ui.click("Pull new reports")
    ui.page.wait_for_timeout(1000)
    both = second.case(shared_id).state
    ui.click_locator(ui.page.get_by_role("button", name=re.compile("Повторное|Beating")).first)
    ui.wait_text("urgent")
    ui.wait_text(re.compile({"referred": "Referred", "in_review": "In review"}[both.status]))
    second.lock()

    # ---- dashboard, forms
    ui.click("Dashboard")
    ui.wait_text("Cases by month")
    shot(ui, "dashboard")
    ui.click("Forms")
    ui.wait_text(re.compile("The form is valid"))
    shot(ui, "forms")

    # ---- exports: CSV, PDF, evidence bundle
    def export_button() -> None:
        exact(ui, "Export")

    ui.click("Exports")
    ui.wait_text("What to export")
    csv_data = download(ui, lambda: export_button())
    text = csv_data.decode("utf-8-sig")
    assert "case_id" in text and "Задержали" not in text and text.count("\n") == 4
    ui.click_locator(ui.page.get_by_role("radio", name="Case reports (PDF)"))
    ui.wait_text(re.compile("identifying information"))
    ui.click_locator(ui.page.get_by_role("radio", name="Do not encrypt"))
    shot(ui, "exports")
    export_button()
    ui.wait_text("Save without encryption?")
    pdf = download(ui, lambda: ui.click("Save unencrypted"))
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        (tmp_path / "r.pdf").write_bytes(pdf)
        out = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(tmp_path / "r.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "Қорқытты".casefold() in out.casefold() and "Жетон" not in out
    ui.click_locator(ui.page.get_by_role("radio", name="Evidence bundle (ZIP)"))
    export_button()
    ui.wait_text("Save without encryption?")
    bundle = download(ui, lambda: ui.click("Save unencrypted"))
    path = tmp_path / "evidence.zip"
    path.write_bytes(bundle)
    cli = [sys.executable, "-m", "app.cli", "coordinator", "verify-bundle", str(path)]
    good = subprocess.run(cli, capture_output=True, text=True, cwd=REPO)
    assert good.returncode == 0 and "result: VALID" in good.stdout
    with zipfile.ZipFile(path) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    victim = next(n for n in files if n.startswith("envelopes/"))
    raw = bytearray(files[victim])
    at = raw.rindex(b'"payload":"') + 20  # the ciphertext, not the header's hash
    raw[at] = ord("A") if raw[at] != ord("A") else ord("B")
    files[victim] = bytes(raw)
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    bad = subprocess.run(cli, capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 4 and "[payload_mismatch]" in bad.stdout

    # ---- language at run time, then lock
    ui.click("Settings")
    ui.click("Қазақша")
    ui.wait_text("Баптаулар")
    shot(ui, "settings-kk")
    ui.click("Қазір құлыптау")
    ui.wait_text("Құлыпты ашу")
    shot(ui, "unlock")


# ---- what a coordinator reads, in Kyrgyz and Russian (a seeded workspace, no server)

SEEDED = r"""
import sys
from pathlib import Path

import flet as ft

from app.coordinator.entry import HOST, make_main
from app.services.coordinator_fake import FakeCoordinatorService
from tests.e2e.test_coordinator_app import seed

port, lang = int(sys.argv[1]), sys.argv[2]
main = make_main(lambda: seed(FakeCoordinatorService(clock=lambda: 1_764_930_000), lang))
assets = str(Path("assets").resolve())
ft.run(main, view=ft.AppView.WEB_BROWSER, host=HOST, port=port, assets_dir=assets, no_cdn=True)
"""

SEEDED_CASES = (
    # (answers, received, with a photo)
    (
        {
            **FIRST,
            "occurred_at": "2025-03-14T22:10",
            "urgent": True,
            "consent": {"share_org": True, "statistics": False},
        },
        1_742_000_000,
        True,
    ),
    ({**SECOND, "occurred_at": "2025-06-02T13:00"}, 1_748_900_000, False),
    (
        {
            **FIRST,
            "occurred_at": "2025-11-20T08:30",
            "region": "kg.chuy",
            "violation_types": ["entrapment", "extortion", "threat", "outing_threat"],
            "description": "Познакомились в приложении, на встрече ждали трое.",
        },
        1_763_700_000,
        False,
    ),
)
READER = {
    "ky": {"cases": "Иштер", "device": "Ош телефону", "unread": "Жаңы жооптор: 1"},
    "ru": {"cases": "Дела", "device": "Ош телефону", "unread": "Новых ответов: 1"},
}
NEWEST_FIRST = {
    "ky": ["2025-ж., 20-ноя.", "2025-ж., 2-июн.", "2025-ж., 14-мар."],
    "ru": ["20 нояб. 2025 г.", "2 июн. 2025 г.", "14 мар. 2025 г."],
}
EXPORT_PASSPHRASE = "адвокат Бишкек 2025"
DOCS_SHOTS = REPO / "docs" / "screenshots"


def seed(service, lang: str):
    """A coordinator workspace with two named phones, three cases, an assignee and an unread
    reply, as the screenshots show it (the in-memory service: nothing leaves the process)."""
    from tests.app.coordinator import factory

    service.setup_new(
        passphrase="correct horse battery staple",
        server_url="https://fieldvault.example.org",
        bootstrap_token="token",
        org_name="Укук коргоо тармагы",
        coordinator_name="Айгүл",
    )
    service.set_language(lang)
    osh, bishkek = factory.Device(), factory.Device()
    service.add_device("Ош телефону", key=osh.key.public_bytes())
    service.add_device("Бишкек планшети", key=bishkek.key.public_bytes())
    ids = []
    for n, (answers, received, photo) in enumerate(SEEDED_CASES):
        device = osh if n != 1 else bishkek
        blobs = []
        if photo:
            data = _photo()
            blob_id = "b" * 31 + str(n)
            service.add_blob(blob_id, data)
            blobs = [
                {
                    "id": blob_id,
                    "sha256": factory.sha256_hex(data),
                    "size": len(data),
                    "media_type": "image/png",
                    "name": "bruise.png",
                }
            ]
        case = factory.case_data(device, answers, now=received, blobs=blobs)
        for rev in case["revisions"]:
            rev["record"]["data"]["form"] = "default-incident"
        service.receive_case(case)
        ids.append(case["case_id"])
    service.pull()
    me = service.info().coordinator_id
    service.act(ids[0], {"type": "assign", "assignee": me})
    service.act(ids[0], {"type": "comment", "text": "Внутреннее: позвонить адвокату"})
    service.receive_reply(ids[0], "Жетон 4471", osh.id)
    service.pull()
    return service


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_the_case_list_reads_names_local_dates_newest_first_and_a_pdf_exports(
    tmp_path, lang
) -> None:
    from app.i18n import Translator
    from sync.age.api import decrypt_with_passphrase
    from tests.support.flet_web import python_app

    words = READER[lang]
    catalogue = Translator(lang, "coordinator")
    with (
        FletWebApp([*python_app(SEEDED), "{port}", lang], env={"TZ": "Asia/Bishkek"}) as app,
        chromium_browser() as browser,
    ):
        ui = FletPage.open(browser, app.url, viewport=DESKTOP)
        with ui.screenshot_on_failure(SHOTS / f"readable-{lang}-failure.png"):
            ui.wait_text(words["device"])
            # names, not key ids; local dates in words; newest incident first
            ui.wait_text("Айгүл")
            ui.wait_text(words["unread"])
            assert not ui.has_text(re.compile(r"\b[0-9a-f]{8}\b"))
            assert not ui.has_text(re.compile(r"\d{4}-\d{2}-\d{2}"))
            tops = [ui.text(day).bounding_box()["y"] for day in NEWEST_FIRST[lang]]
            assert tops == sorted(tops), tops
            ui.screenshot(DOCS_SHOTS / f"coordinator-cases-{lang}.png", settle_ms=1200)

            # the case: reference, consent and yes/no as words, the reply marked new
            ui.click(re.compile(re.escape(words["unread"])))
            ui.wait_text("Жетон 4471")
            yes = {"ky": "Ооба", "ru": "Да"}[lang]
            ui.wait_text(re.compile(f"^{yes}$"))
            ui.screenshot(DOCS_SHOTS / f"coordinator-case-{lang}.png", settle_ms=1200)
            ui.page.mouse.move(470, 600)
            ui.page.mouse.wheel(0, 640)
            ui.wait_text(re.compile(f": {yes};"))  # consent, option by option, in words
            ui.screenshot(DOCS_SHOTS / f"coordinator-case-consent-{lang}.png", settle_ms=1200)

            # the dashboard: every month from March to November, labels that do not overlap
            ui.click(catalogue.t("nav.dashboard"))
            ui.wait_text(catalogue.t("dashboard.by_month"))
            ui.screenshot(DOCS_SHOTS / f"coordinator-dashboard-{lang}.png", settle_ms=1500)

            # devices by their labels, last seen in words
            ui.click(catalogue.t("nav.devices"))
            ui.wait_text("Бишкек планшети")
            assert not ui.has_text(re.compile(r"\d{4}-\d{2}-\d{2}"))
            ui.screenshot(DOCS_SHOTS / f"coordinator-devices-{lang}.png", settle_ms=900)

            # a PDF for a lawyer, protected by a passphrase typed twice
            ui.click("Экспорт")
            ui.click_locator(ui.page.get_by_role("radio", name=re.compile("PDF")))
            ui.click_locator(
                ui.page.get_by_role(
                    "radio", name=re.compile({"ky": "Сырсөз айкашы", "ru": "парольной"}[lang])
                )
            )
            first, again = {
                "ky": ("Экспорттун сырсөз айкашы", "Экспорттун сырсөз айкашы дагы бир жолу"),
                "ru": ("Парольная фраза экспорта", "Парольная фраза экспорта ещё раз"),
            }[lang]
            ui.fill(re.compile("^" + re.escape(first) + "$"), EXPORT_PASSPHRASE)
            ui.fill(re.compile("^" + re.escape(again) + "$"), EXPORT_PASSPHRASE)
            ui.screenshot(DOCS_SHOTS / f"coordinator-exports-{lang}.png", settle_ms=900)
            sealed = download(
                ui, lambda: exact(ui, {"ky": "Экспорттоо", "ru": "Экспортировать"}[lang])
            )
        ui.close()
    pdf = decrypt_with_passphrase(sealed, EXPORT_PASSPHRASE)
    assert pdf.startswith(b"%PDF") and b"/Subtype /Image" in pdf
    if shutil.which("pdftotext"):
        (tmp_path / "r.pdf").write_bytes(pdf)
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(tmp_path / "r.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "позвонить адвокату" not in text and "Ош телефону" in text
