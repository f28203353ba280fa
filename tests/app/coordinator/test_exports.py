"""Exports: CSV columns, anonymised statistics, the PDF report and evidence bundles."""

from __future__ import annotations

import copy
import csv
import io
import json
import shutil
import subprocess
import zipfile

import pytest

from app.casebook.cases import CaseFilter, CaseIndex
from app.exports import bundle, csv_export, pdf_report, protect, stats
from core.crypto.signing import SigningKey
from core.forms import FormDefinition, parse_form
from sync.age.api import decrypt, decrypt_with_passphrase
from sync.age.x25519 import X25519Identity
from sync.encoding import canonical_json
from tests.app.coordinator import factory
from tests.conftest import require


@pytest.fixture
def index_and_data() -> tuple[CaseIndex, list[dict], factory.Device]:
    device = factory.Device()
    datas = [
        factory.case_data(
            device, {**answers, "consent": ALL_CONSENT}, now=1_741_000_000 + i * 3_000_000
        )
        for i, answers in enumerate(factory.SAMPLE_ANSWERS)
    ]
    return (
        CaseIndex.build([factory.case_record(d) for d in datas], [], [_form_with_consent()]),
        datas,
        device,
    )


ALL_CONSENT = {"share_org": True, "statistics": True, "advocacy": True}


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_without_identifying_fields_has_no_names_text_or_devices(index_and_data) -> None:
    index, _, device = index_and_data
    data = csv_export.cases_csv(index, index.query(), lang="ru")
    rows = _rows(data)
    assert len(rows) == 3
    header = set(rows[0])
    assert {"case_id", "region", "violation_types", "status", "field.region"} <= header
    assert not {"device", "assignee", "field.victim_name", "field.description"} & header
    text = data.decode("utf-8")
    assert "Айбек" not in text and "кафе" not in text and device.id not in text
    assert "Избиение; Вымогательство" in text


def test_csv_with_identifying_fields_has_every_answer(index_and_data) -> None:
    index, _, device = index_and_data
    rows = _rows(csv_export.cases_csv(index, index.query(), identifying=True, lang="en"))
    header = set(rows[0])
    assert {"device", "assignee", "field.victim_name", "field.description"} <= header
    assert {r["field.victim_name"] for r in rows} == {"Айбек", "Ёлка", ""}
    assert rows[0]["device"] == device.id


def test_csv_cells_that_look_like_formulas_are_defused() -> None:
    assert csv_export.safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_export.safe_cell("-5") == "'-5"
    assert csv_export.safe_cell("Бишкек") == "Бишкек"


def _with_consent(statistics: list[bool]) -> CaseIndex:
    device = factory.Device()
    datas = [
        factory.case_data(
            device,
            {**answers, "consent": {"share_org": True, "statistics": allowed, "advocacy": False}},
            now=1_741_000_000 + i * 3_000_000,
        )
        for i, (answers, allowed) in enumerate(
            zip([*factory.SAMPLE_ANSWERS, factory.SAMPLE_ANSWERS[0]], statistics, strict=True)
        )
    ]
    return CaseIndex.build([factory.case_record(d) for d in datas], [], [_form_with_consent()])


def _form_with_consent() -> FormDefinition:
    raw = copy.deepcopy(factory.FORM_RAW)
    options = [{"value": v, "label": {"en": v}} for v in ("share_org", "statistics", "advocacy")]
    raw["sections"].append(
        {
            "id": "consent",
            "label": {"en": "Consent"},
            "fields": [
                {"id": "consent", "type": "consent", "label": {"en": "Consent"}, "options": options}
            ],
        }
    )
    return parse_form(raw)


def test_statistics_count_only_cases_whose_victim_agreed_to_statistics() -> None:
    device = factory.Device()
    datas = [factory.case_data(device, answers) for answers in factory.SAMPLE_ANSWERS]
    index = CaseIndex.build([factory.case_record(d) for d in datas], [], [factory.form()])
    assert stats.statistics(index.query(), index=index)[0].count == "0"  # no consent answer
    refused = _with_consent([True, True, True, False])
    rows = stats.statistics(refused.query(), index=refused, lang="ru")
    assert {(r.dimension, r.value): r.count for r in rows}[("total", "all")] == "3"


def test_statistics_suppress_small_cells_and_list_counts_only() -> None:
    index = _with_consent([True, True, True, False])
    rows = stats.statistics(index.query(), index=index, lang="ru")
    table = {(r.dimension, r.value): r.count for r in rows}
    assert table[("total", "all")] == "3"
    assert table[("region", "Бишкек")] == "<3"  # 2 cases: suppressed
    assert table[("status", "new")] == "3"
    assert table[("violation_type", "Аутинг")] == "<3"
    out = stats.stats_csv(rows).decode("utf-8-sig")
    assert out.startswith("dimension,value,count")
    assert "Айбек" not in out and "2025-03-04" not in out
    assert stats.suppress(0) == "0" and stats.suppress(2, threshold=5) == "<5"


def test_pdf_report_contains_cyrillic_text(index_and_data, tmp_path) -> None:
    index, datas, _ = index_and_data
    detail = index.detail(datas[0]["case_id"], "kk")
    pdf = pdf_report.case_report(detail, now=1_760_000_000)
    assert pdf.startswith(b"%PDF-")
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "Қорқытты" in text and "Айбек" in text and "Не болды" in text


def test_pdf_report_without_identifying_fields_withholds_sensitive_ones(
    index_and_data, tmp_path
) -> None:
    index, datas, _ = index_and_data
    pdf = pdf_report.case_report(index.detail(datas[0]["case_id"], "ru"), identifying=False)
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "Айбек" not in text and "Бишкек" in text


def _bundle(datas, device) -> bytes:
    return bundle.build_bundle(
        datas,
        author_keys={device.id: device.key.public_bytes()},
        signer=SigningKey.generate(),
        org="Тест org",
        now=1_760_000_000,
    )


def _rewrite(data: bytes, change) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    change(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return out.getvalue()


def test_evidence_bundle_verifies_and_notes_skipped_sequence_numbers(index_and_data) -> None:
    _, datas, device = index_and_data
    verdict = bundle.verify_bundle(_bundle([datas[0], datas[2]], device))
    assert verdict.ok, verdict.report_text()
    assert verdict.envelopes == 2 and verdict.cases == 2 and verdict.authors == (device.id,)
    assert any("seq 2..2" in n for n in verdict.notes)
    with zipfile.ZipFile(io.BytesIO(_bundle(datas, device))) as zf:
        names = set(zf.namelist())
        assert "result: VALID" in zf.read("REPORT.txt").decode()
    assert {"manifest.json", "manifest.sig", "README.txt", "REPORT.txt"} <= names


def test_changed_byte_in_a_payload_fails_with_payload_mismatch(index_and_data) -> None:
    _, datas, device = index_and_data
    good = _bundle(datas, device)
    eid = datas[1]["revisions"][0]["envelope_id"]

    def flip(files):
        wire = json.loads(files[f"envelopes/{eid}.json"])
        wire["payload"] = ("B" if wire["payload"][5] != "B" else "C").join(
            [wire["payload"][:5], wire["payload"][6:]]
        )
        files[f"envelopes/{eid}.json"] = canonical_json(wire)

    verdict = bundle.verify_bundle(_rewrite(good, flip))
    assert not verdict.ok
    assert {"payload_mismatch", "file_altered"} <= verdict.codes()
    assert "INVALID" in verdict.report_text() and eid in verdict.report_text()


def test_removed_envelope_fails_with_missing_file(index_and_data) -> None:
    _, datas, device = index_and_data
    eid = datas[1]["revisions"][0]["envelope_id"]
    tampered = _rewrite(_bundle(datas, device), lambda f: f.pop(f"envelopes/{eid}.json"))
    verdict = bundle.verify_bundle(tampered)
    assert "missing_file" in verdict.codes() and not verdict.ok


def test_removed_envelope_with_edited_manifest_fails_on_signature_and_chain(index_and_data) -> None:
    _, datas, device = index_and_data
    eid = datas[1]["revisions"][0]["envelope_id"]

    def drop(files):
        files.pop(f"envelopes/{eid}.json")
        manifest = json.loads(files["manifest.json"])
        manifest["envelopes"] = [e for e in manifest["envelopes"] if e["id"] != eid]
        del manifest["files"][f"envelopes/{eid}.json"]
        files["manifest.json"] = canonical_json(manifest)

    verdict = bundle.verify_bundle(_rewrite(_bundle(datas, device), drop))
    assert "manifest_signature" in verdict.codes()


def test_reordered_envelopes_fail_with_reordered(index_and_data) -> None:
    _, datas, device = index_and_data

    def swap(files):
        manifest = json.loads(files["manifest.json"])
        manifest["envelopes"][0], manifest["envelopes"][1] = (
            manifest["envelopes"][1],
            manifest["envelopes"][0],
        )
        files["manifest.json"] = canonical_json(manifest)

    verdict = bundle.verify_bundle(_rewrite(_bundle(datas, device), swap))
    assert {"reordered", "manifest_signature"} <= verdict.codes()


def test_forged_chain_link_fails_with_chain_broken(index_and_data) -> None:
    _, datas, device = index_and_data
    other = factory.Device()
    other.key, other.id = device.key, device.id  # same key, but an unrelated chain
    other.seq = 3
    forged = factory.case_data(other, {"description": "вставка"}, now=1_750_000_000)
    verdict = bundle.verify_bundle(_bundle([*datas, forged], device))
    assert "chain_broken" in verdict.codes()


def test_garbage_is_not_a_bundle() -> None:
    assert bundle.verify_bundle(b"not a zip").codes() == {"not_a_bundle"}


def test_protected_export_opens_with_identity_or_passphrase() -> None:
    identity = X25519Identity.generate()
    sealed = protect.protect(b"secret csv", recipients=[identity.recipient().encode()])
    assert b"secret csv" not in sealed
    assert decrypt(sealed, [identity.encode()]) == b"secret csv"
    with_pass = protect.protect(b"secret csv", passphrase="длинная фраза", log_n=15)
    assert decrypt_with_passphrase(with_pass, "длинная фраза") == b"secret csv"
    with pytest.raises(protect.ProtectionError):
        protect.protect(b"x")
    assert protect.needs_protection("csv", True) and not protect.needs_protection("csv", False)
    assert protect.needs_protection("bundle", False) and not protect.needs_protection("stats", True)


def test_filtered_exports_only_cover_the_filtered_cases(index_and_data) -> None:
    index, _, _ = index_and_data
    rows = _rows(csv_export.cases_csv(index, index.query(CaseFilter(region="osh"))))
    assert len(rows) == 1
