"""What a coordinator reads: names instead of key ids, local dates and words in their language,
titles that are whole words, newest first, unread replies, and exports a lawyer can use."""

from __future__ import annotations

import datetime as _dt
import io
import json
import shutil
import subprocess
import zipfile

import flet as ft
import flet_charts as fch
import pytest
from PIL import Image

from app.casebook import dates
from app.casebook.cases import CaseFilter, case_reference, short_text
from app.casebook.dashboard import aggregate
from app.coordinator.case_view import CaseView
from app.coordinator.cases_view import TITLE_CHARS, CaseListView
from app.coordinator.dashboard_view import DashboardView
from app.coordinator.exports_view import ExportsView
from app.exports import bundle, pdf_report
from app.i18n import Translator
from core.crypto.hashing import sha256_hex
from core.crypto.signing import SigningKey
from tests.app.coordinator import factory
from tests.app.coordinator.fakes import FakePort, click
from tests.app.coordinator.test_service_contract import ANSWERS
from tests.app.coordinator.test_views import ctx_for, texts
from tests.app.coordinator.worlds import FakeWorld
from tests.conftest import require

UTC = _dt.UTC


def _png(colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def world(tmp_path):
    w = FakeWorld(tmp_path)
    w.setup()
    w.device = w.enrol_device("Osh phone")
    older = {**ANSWERS, "occurred_at": "2025-01-10T09:00", "description": "Старое дело"}
    w.older = w.report(w.device, older)
    w.newer = w.report(w.device, {**ANSWERS, "occurred_at": "2025-06-02T21:30"}, _png())
    w.service.pull()
    return w


def _pdf_text(tmp_path, pdf: bytes) -> str:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


# ---- small pieces


def test_a_case_reference_is_the_first_six_characters_of_its_id_in_two_groups() -> None:
    assert case_reference("3fa9c2e1b0d4") == "3FA-9C2"
    assert case_reference("ab") == "AB"


def test_long_titles_are_cut_between_words_never_inside_one() -> None:
    text = "Задержание, Вымогательство, Избиение, Угрозы"
    cut = short_text(text, 30)
    assert cut == "Задержание, Вымогательство…"
    assert short_text("Задержание", 30) == "Задержание"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Dec 3, 2026, 22:40"),
        ("ru", "3 дек. 2026 г., 22:40"),
        ("ky", "2026-ж., 3-дек., 22:40"),
        ("kk", "2026 ж. 3 жел., 22:40"),
    ],
)
def test_moments_are_written_the_way_each_language_writes_dates(lang, expected) -> None:
    t = Translator(lang, "coordinator").t
    seconds = int(_dt.datetime(2026, 12, 3, 22, 40, tzinfo=UTC).timestamp())
    assert dates.moment(seconds, t, UTC) == expected


def test_moments_are_shown_in_the_local_time_zone() -> None:
    t = Translator("ru", "coordinator").t
    seconds = int(_dt.datetime(2026, 12, 3, 22, 40, tzinfo=UTC).timestamp())
    bishkek = _dt.timezone(_dt.timedelta(hours=6))
    assert dates.moment(seconds, t, bishkek) == "4 дек. 2026 г., 04:40"


def test_answer_dates_and_months_are_words_and_odd_values_are_left_alone() -> None:
    t = Translator("ru", "coordinator").t
    assert dates.day("2025-05-02T21:30", t) == "2 мая 2025 г., 21:30"
    assert dates.day("2025-05-02", t) == "2 мая 2025 г."
    assert dates.day("вчера", t) == "вчера"
    assert dates.month("2025-05", t) == "май 2025"
    assert dates.month("-", t) == "-"


# ---- the case list


def test_the_case_list_is_newest_first_by_the_incidents_date(world) -> None:
    listed = [s.id for s in world.service.cases()]
    assert listed == [world.newer, world.older]


def test_the_case_list_shows_names_local_dates_and_titles_in_the_readers_language(world) -> None:
    service = world.service
    me = service.info().coordinator_id
    service.act(world.older, {"type": "assign", "assignee": me})
    view = CaseListView(ctx_for(service, "ky"))
    view.load()
    shown = texts(view.control)
    assert "Osh phone" in shown and world.device[:8] not in shown
    assert "Айгүл" in shown and me[:8] not in shown
    assert "2025-ж., 2-июн., 21:30" not in shown  # the list shows the day only
    assert "2025-ж., 2-июн." in shown and "2025-06-02" not in shown
    kyrgyz = service.case(world.newer, "ky").summary.title_in("ky")
    english = service.case(world.newer, "en").summary.title_in("en")
    assert kyrgyz != english and english not in shown
    assert short_text(kyrgyz, TITLE_CHARS) in shown and short_text(kyrgyz, TITLE_CHARS) != kyrgyz
    assert case_reference(world.newer) in shown


def test_device_names_come_from_the_roster_label_and_coordinators_from_the_org(world) -> None:
    names = world.service.names()
    assert names[world.device] == "Osh phone"
    assert names[world.service.info().coordinator_id] == "Айгүл"


# ---- unread replies


def test_a_reply_stays_unread_until_the_coordinator_opens_its_case(world) -> None:
    service = world.service
    world.reply(world.device, world.older, "Жетон 4471")
    service.pull()
    counts = {s.id: s.unread for s in service.cases()}
    assert counts == {world.older: 1, world.newer: 0}

    listed = CaseListView(ctx_for(service, "ru"))
    listed.load()
    assert "Новых ответов: 1" in texts(listed.control)

    opened = CaseView(ctx_for(service, "ru"), world.older)
    opened.load()
    assert "Новое" in texts(opened.thread)  # marked on this visit
    assert {s.id: s.unread for s in service.cases()}[world.older] == 0

    again = CaseView(ctx_for(service, "ru"), world.older)
    again.load()
    assert "Новое" not in texts(again.thread)
    world.reply(world.device, world.older, "И ещё одно")
    service.pull()
    assert {s.id: s.unread for s in service.cases()}[world.older] == 1


# ---- answers as words


def test_yes_no_and_consent_answers_are_words_in_the_readers_language(world) -> None:
    answers = {
        **ANSWERS,
        "urgent": True,
        "consent": {"share_org": True, "statistics": False},
    }
    case_id = world.report(world.device, answers)
    world.service.pull()
    for lang, yes, no in (("ky", "Ооба", "Жок"), ("ru", "Да", "Нет")):
        detail = world.service.case(case_id, lang)
        values = {f.field_id: f.value for f in detail.fields}
        assert values["urgent"] == yes
        assert yes in values["consent"] and no in values["consent"]
        shown = texts(_loaded_case(world.service, case_id, lang).fields)
        assert "✓" not in shown and "✗" not in shown


def _loaded_case(service, case_id: str, lang: str) -> CaseView:
    view = CaseView(ctx_for(service, lang), case_id)
    view.load()
    return view


# ---- attachments from the case view


def test_every_attachment_can_be_downloaded_from_the_case_photos_included(world) -> None:
    port = FakePort()
    view = CaseView(ctx_for(world.service, "en", port), world.newer)
    view.load()
    button = next(
        c
        for c in _walk_all(view.attachments)
        if isinstance(c, ft.TextButton) and str(c.key).startswith("download-")
    )
    click(button)
    assert port.saved == [("photo.png", _png())]


# ---- dashboard


def test_the_dashboard_keeps_months_without_cases(world) -> None:
    board = aggregate(world.service.cases())
    months = [m for m, _ in board.by_month]
    assert months == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    assert dict(board.by_month)["2025-03"] == 0


def test_dashboard_categories_are_labelled_rows_and_months_are_words(world) -> None:
    view = DashboardView(ctx_for(world.service, "ru"))
    view.load()
    shown = "\n".join(texts(panel) for panel in view.grid.controls)
    assert "Задержание или арест" in shown  # a violation label in full, beside its own bar
    chart = next(c for c in _walk_all(view.grid) if isinstance(c, fch.BarChart))
    months = [label.label.content.value for label in chart.bottom_axis.labels]
    assert months == ["янв. 2025", "февр. 2025", "март 2025", "апр. 2025", "май 2025", "июнь 2025"]


def test_a_long_run_of_months_labels_only_some_so_they_do_not_overlap() -> None:
    from app.coordinator.dashboard_view import MONTH_LABELS, bar_chart

    items = [(f"{2023 + i // 12}-{i % 12 + 1:02d}", i) for i in range(30)]
    chart = bar_chart(items, ft.Colors.BLUE_400, str)
    assert len(chart.groups) == 30
    assert 2 <= len(chart.bottom_axis.labels) <= MONTH_LABELS


def _walk_all(control):
    yield control
    child = getattr(control, "content", None)
    if isinstance(child, ft.Control):
        yield from _walk_all(child)
    for c in getattr(control, "controls", None) or []:
        yield from _walk_all(c)


# ---- exports


def test_the_lawyers_pdf_has_the_photo_and_no_internal_comments_unless_asked(
    world, tmp_path
) -> None:
    service = world.service
    service.act(world.newer, {"type": "comment", "text": "Внутреннее: не звонить вечером"})
    plain = service.export("pdf", protection="none", case_ids=[world.newer], lang="ru").data
    assert b"/Subtype /Image" in plain
    text = _pdf_text(tmp_path, plain)
    assert "не звонить вечером" not in text and "Osh phone" in text
    asked = service.export(
        "pdf", protection="none", case_ids=[world.newer], lang="ru", comments=True
    ).data
    assert "не звонить вечером" in _pdf_text(tmp_path, asked)


def test_the_pdf_names_a_photo_it_could_not_fetch(world, tmp_path) -> None:
    detail = world.service.case(world.newer, "en")
    text = _pdf_text(tmp_path, pdf_report.case_report(detail, photos={}))
    assert "Photo not included" in text


def test_the_exports_screen_asks_for_the_passphrase_twice(world) -> None:
    service = world.service
    port = FakePort()
    view = ExportsView(ctx_for(service, "ru", port))
    view.kind.value = "pdf"
    view.protection.value = "passphrase"
    view.on_options()
    assert view.passphrase.visible and view.passphrase_again.visible and view.comments.visible
    view.passphrase.value, view.passphrase_again.value = "одна фраза 123", "другая фраза"
    click(view.button)
    assert view.error.visible and not port.saved
    view.passphrase_again.value = "одна фраза 123"
    click(view.button)
    assert port.saved and port.saved[0][0].endswith(".pdf.age")


def test_the_comments_choice_reaches_the_pdf_export_and_is_off_by_default(world) -> None:
    asked: list[bool] = []
    real = world.service.export

    def spy(*args, **kwargs):
        asked.append(kwargs.get("comments", False))
        return real(*args, **kwargs)

    world.service.export = spy
    view = ExportsView(ctx_for(world.service, "en", FakePort()))
    view.kind.value, view.protection.value = "pdf", "recipients"
    view.on_options()
    click(view.button)
    view.comments.value = True
    click(view.button)
    assert asked == [False, True]


def _blob_case(device: factory.Device, original: bytes, name: str = "bruise.jpg") -> dict:
    ref = {
        "id": sha256_hex(original)[:32],
        "sha256": sha256_hex(original),
        "size": len(original),
        "media_type": "image/jpeg",
        "name": name,
    }
    return factory.case_data(device, ANSWERS, blobs=[ref])


def _bundle_with(datas, device, files) -> bytes:
    return bundle.build_bundle(
        datas,
        author_keys={device.id: device.key.public_bytes()},
        signer=SigningKey.generate(),
        org="org",
        now=1_760_000_000,
        attachments=files,
    )


def test_an_evidence_bundle_carries_its_attachments_and_checks_them() -> None:
    device = factory.Device()
    original, plain = b"age-encrypted photo bytes", _png()
    data = _blob_case(device, original)
    blob_id = data["revisions"][0]["blobs"][0]["id"]
    made = _bundle_with([data], device, {blob_id: bundle.AttachmentFile(plain, original)})
    with zipfile.ZipFile(io.BytesIO(made)) as zf:
        names = zf.namelist()
        photo = next(n for n in names if n.endswith("bruise.jpg"))
        assert zf.read(photo) == plain
        assert zf.read(f"attachments/{data['case_id']}/{blob_id}.age") == original
    verdict = bundle.verify_bundle(made)
    assert verdict.ok, verdict.problems
    assert not any("not included" in n for n in verdict.notes)


def test_a_bundle_whose_attachment_is_not_what_the_device_signed_is_invalid() -> None:
    device = factory.Device()
    data = _blob_case(device, b"the bytes the device signed")
    blob_id = data["revisions"][0]["blobs"][0]["id"]
    swapped = bundle.AttachmentFile(_png(), b"other bytes put in their place")
    verdict = bundle.verify_bundle(_bundle_with([data], device, {blob_id: swapped}))
    assert verdict.codes() == {"attachment_altered"}


def test_a_bundle_attachment_no_report_names_is_invalid() -> None:
    device = factory.Device()
    data = _blob_case(device, b"signed")
    blob_id = data["revisions"][0]["blobs"][0]["id"]
    made = _bundle_with([data], device, {blob_id: bundle.AttachmentFile(_png(), b"signed")})
    # a manifest (signed by whoever exported) claiming another hash than the report's
    with zipfile.ZipFile(io.BytesIO(made)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    manifest["attachments"][0]["sha256"] = "0" * 64
    verdict = bundle._Verifier()
    bundle._check_attachments(manifest["attachments"], _contents(made), verdict)
    assert [p.code for p in verdict.problems] == ["attachment_mismatch"]


def _contents(made: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(made)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_a_bundle_lists_an_attachment_it_could_not_fetch() -> None:
    device = factory.Device()
    data = _blob_case(device, b"signed")
    verdict = bundle.verify_bundle(_bundle_with([data], device, {}))
    assert verdict.ok and any("not included" in n for n in verdict.notes)


def test_the_services_bundle_includes_the_case_photo(world) -> None:
    made = world.service.export("bundle", protection="none", case_ids=[world.newer]).data
    with zipfile.ZipFile(io.BytesIO(made)) as zf:
        photos = [n for n in zf.namelist() if n.startswith("attachments/")]
        assert len(photos) == 1 and zf.read(photos[0]) == _png()
    assert bundle.verify_bundle(made).ok


def test_the_case_list_filter_default_is_newest_incident_first() -> None:
    assert CaseFilter().sort == "occurred" and CaseFilter().descending


def test_a_pull_says_in_words_what_changed(world) -> None:
    view = CaseListView(ctx_for(world.service, "en"))
    view.load()
    view.on_pull()
    assert view.pull_status.value == "Nothing new."
    world.report(world.device, ANSWERS)
    view.on_pull()
    assert view.pull_status.value == "Cases updated: 1"
    world.reply(world.device, world.older, "Жетон 4471")
    view.on_pull()
    assert view.pull_status.value == "New replies or workflow changes received."


def test_the_device_list_leads_with_the_label(world) -> None:
    from app.coordinator.devices_view import DevicesView

    view = DevicesView(ctx_for(world.service, "ky"))
    view.load()
    first_cell = texts(view.table.rows[0].cells[0])
    assert first_cell.splitlines()[0] == "Osh phone"


def test_an_export_made_offline_stops_asking_for_attachments_after_the_first_failure(
    world, tmp_path
) -> None:
    from sync.errors import Offline

    world.report(world.device, ANSWERS, _png((10, 10, 200)))
    world.service.pull()
    asked: list[str] = []

    def offline(case_id: str, blob_id: str) -> bytes:
        asked.append(blob_id)
        raise Offline("no network")

    world.service.attachment = offline
    pdf = world.service.export("pdf", protection="none", lang="en").data
    assert len(asked) == 1
    assert "Photo not included" in _pdf_text(tmp_path, pdf)


def test_the_identifying_csv_writes_yes_and_no_in_its_language(world) -> None:
    world.report(world.device, {**ANSWERS, "urgent": True, "ongoing": False})
    world.service.pull()
    data = world.service.export("csv", identifying=True, protection="none", lang="ru").data
    text = data.decode("utf-8-sig")
    assert "Да" in text and "Нет" in text and "✓" not in text and "✗" not in text


def test_an_attachment_named_like_a_path_stays_inside_its_folder_in_the_bundle() -> None:
    device = factory.Device()
    data = _blob_case(device, b"signed", name="../../etc/passwd")
    blob_id = data["revisions"][0]["blobs"][0]["id"]
    made = _bundle_with([data], device, {blob_id: bundle.AttachmentFile(b"x", b"signed")})
    names = [n for n in _contents(made) if n.startswith("attachments/")]
    assert f"attachments/{data['case_id']}/{blob_id}-passwd" in names
    assert not any(".." in n for n in names)
