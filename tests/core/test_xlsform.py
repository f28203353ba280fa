"""ODK XLSForm import: sample forms written here with openpyxl, imported into FieldVault forms."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from core.forms import parse_form
from core.xlsform import XLSFormError, from_sheets, import_xlsform, language_of

openpyxl = pytest.importorskip(
    "openpyxl", reason="openpyxl (the coordinator extra) reads .xlsx files"
)

SURVEY = [
    [
        "type",
        "name",
        "label::English (en)",
        "label::Russian (ru)",
        "label::French (fr)",
        "hint::English (en)",
        "required",
        "relevant",
        "constraint",
        "appearance",
        "parameters",
    ],
    ["start", "start", "", "", "", "", "", "", "", "", ""],
    ["note", "intro", "Thank you", "Спасибо", "Merci", "", "", "", "", "", ""],
    ["begin_group", "incident", "Incident", "Инцидент", "", "", "", "", "", "field-list", ""],
    ["date", "incident_date", "When?", "Когда?", "", "Roughly", "yes", "", "", "", ""],
    ["select_one regions", "region", "Region", "Регион", "", "", "true()", "", "", "", ""],
    [
        "select_multiple violations",
        "violations",
        "What happened",
        "Что случилось",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    ["text", "details", "Details", "Подробности", "", "", "", "", "", "multiline", ""],
    ["integer", "age", "Age", "Возраст", "", "", "", "", ". >= 0 and . <= 120", "", ""],
    ["select_one yes_no", "complaint", "Complaint filed?", "Жалоба?", "", "", "", "", "", "", ""],
    ["text", "outcome", "Outcome", "Итог", "", "", "", "${complaint} = 'yes'", "", "", ""],
    [
        "text",
        "threat",
        "Threat",
        "Угроза",
        "",
        "",
        "",
        "selected(${violations}, 'threat') or selected(${violations}, 'beating')",
        "",
        "",
        "",
    ],
    ["text", "adult_only", "Adults", "Взрослые", "", "", "${age} > 18", "${age} > 18", "", "", ""],
    ["geopoint", "gps", "Where exactly", "Где", "", "", "", "", "", "", ""],
    ["calculate", "score", "", "", "", "", "", "", "", "", ""],
    ["range", "severity", "Severity", "Тяжесть", "", "", "", "", "", "", "start=1 end=5 step=1"],
    ["begin_repeat", "witnesses", "Witnesses", "Свидетели", "", "", "", "", "", "", ""],
    ["text", "witness_name", "Witness", "Свидетель", "", "", "", "", "", "", ""],
    ["end_repeat", "", "", "", "", "", "", "", "", "", ""],
    ["begin_group", "inner", "Inner", "Внутри", "", "", "", "", "", "", ""],
    ["decimal", "amount", "Amount", "Сумма", "", "", "", "", "", "", ""],
    ["end_group", "", "", "", "", "", "", "", "", "", ""],
    ["end_group", "", "", "", "", "", "", "", "", "", ""],
    ["image", "photo", "Photo", "Фото", "", "", "", "", "", "", ""],
    ["text", "имя", "Name", "Имя", "", "", "", "", "", "", ""],
]
CHOICES = [
    ["list_name", "name", "label::English (en)", "label::Russian (ru)"],
    ["regions", "bishkek", "Bishkek", "Бишкек"],
    ["regions", "osh", "Osh", "Ош"],
    ["violations", "beating", "Beating", "Избиение"],
    ["violations", "threat", "Threat", "Угроза"],
    ["yes_no", "yes", "Yes", "Да"],
    ["yes_no", "no", "No", "Нет"],
]
SETTINGS = [
    ["form_title", "form_id", "version", "default_language"],
    ["Отчёт об инциденте", "incident_kobo", "2025031501", "Russian (ru)"],
]


def xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def imported():
    return import_xlsform(xlsx({"survey": SURVEY, "choices": CHOICES, "settings": SETTINGS}))


def _fields(form: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for s in form["sections"] for f in s["fields"]}


def test_an_odk_incident_form_becomes_a_valid_fieldvault_form(imported) -> None:
    form = parse_form(imported.form)
    assert form.id == "incident_kobo" and form.version == 2025031501
    assert form.labels == {"ru": "Отчёт об инциденте", "en": "Отчёт об инциденте"}
    # the top-level group is a section; questions outside any group come first
    assert [s.id for s in form.sections] == ["questions", "incident"]
    assert form.sections[1].labels == {"en": "Incident", "ru": "Инцидент"}
    fields = _fields(imported.form)
    assert {k: f["type"] for k, f in fields.items()} == {
        "incident_date": "date",
        "region": "single_choice",
        "violations": "multi_choice",
        "details": "long_text",
        "age": "number",
        "complaint": "single_choice",
        "outcome": "text",
        "threat": "text",
        "adult_only": "text",
        "severity": "number",
        "witness_name": "text",
        "amount": "text",
        "photo": "attachments",
        "q": "text",
    }
    assert fields["incident_date"]["required"] and fields["region"]["required"]
    assert fields["incident_date"]["help"] == {"en": "Roughly"}
    assert fields["region"]["options"] == [
        {"value": "bishkek", "label": {"en": "Bishkek", "ru": "Бишкек"}},
        {"value": "osh", "label": {"en": "Osh", "ru": "Ош"}},
    ]
    assert (fields["age"]["min"], fields["age"]["max"]) == (0, 120)
    assert (fields["severity"]["min"], fields["severity"]["max"]) == (1, 5)
    assert fields["outcome"]["show_if"] == {"field": "complaint", "in": ["yes"]}
    assert fields["threat"]["show_if"] == {"field": "violations", "in": ["threat", "beating"]}
    assert "show_if" not in fields["adult_only"] and "required" not in fields["adult_only"]


def test_the_report_names_everything_that_did_not_translate(imported) -> None:
    report = imported.report()
    for expected in (
        "survey row 2 (start): start is filled in by ODK itself",
        "survey row 3 (intro): note left out",
        "survey row 14 (gps): geopoint left out",
        "survey row 15 (score): calculate is filled in by ODK itself",
        "survey row 17 (witnesses): repeat: its questions are kept once",
        "survey row 20 (inner): nested group flattened",
        "survey row 21 (amount): decimal became text",
        "survey row 13 (adult_only): required only when '${age} > 18'",
        "survey row 13 (adult_only): relevance '${age} > 18' not translated",
        "survey row 25 (имя): name 'имя' became 'q'",
        "languages left out: French (fr)",
        "no consent question",
    ):
        assert expected in report, expected
    # what translated is not reported
    assert "(age): constraint" not in report and "(outcome): relevance" not in report


def test_the_plain_label_column_is_read_in_the_default_language() -> None:
    survey = [["type", "name", "label"], ["text", "q", "Вопрос"]]
    settings = [["default_language"], ["Kyrgyz"]]
    result = from_sheets({"survey": survey, "settings": settings})
    field = result.form["sections"][0]["fields"][0]
    assert field["label"] == {"ky": "Вопрос", "en": "Вопрос"}
    assert "no English label" in result.report()
    assert [
        language_of(s) for s in ("English (en)", "ru", "Kazakh", "Қазақ тілі", "Uzbek (uz)")
    ] == [
        "en",
        "ru",
        "kk",
        "kk",
        None,
    ]


def test_an_imported_form_can_be_published_through_forms_management(imported) -> None:
    from app.services.coordinator_fake import FakeCoordinatorService

    service = FakeCoordinatorService()
    service.setup_new(
        passphrase="correct horse battery",
        server_url="https://example.org",
        bootstrap_token="t",
        org_name="Org",
        coordinator_name="C",
    )
    text = json.dumps(imported.form, ensure_ascii=False)
    assert service.validate_form(text).id == "incident_kobo"
    service.publish_forms([*service.forms(), json.loads(text)])
    assert "incident_kobo" in [f["id"] for f in service.forms()]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PK\x03\x04 not really a zip", "not an .xlsx workbook"),
        (b"type,name,label\ntext,q,Q\n", "not an .xlsx workbook"),
    ],
)
def test_files_that_are_not_workbooks_are_refused_with_a_reason(data, reason) -> None:
    with pytest.raises(XLSFormError) as caught:
        import_xlsform(data)
    assert caught.value.reason == reason


def test_workbooks_without_a_usable_survey_are_refused() -> None:
    with pytest.raises(XLSFormError, match="no survey sheet"):
        import_xlsform(xlsx({"choices": CHOICES}))
    with pytest.raises(XLSFormError, match="no question could be carried over"):
        import_xlsform(xlsx({"survey": [["type", "name"], ["geopoint", "gps"], ["note", "n"]]}))


def test_cli_writes_the_form_json_and_prints_the_report(tmp_path, capsys) -> None:
    from app.cli import main

    source = tmp_path / "kobo.xlsx"
    source.write_bytes(xlsx({"survey": SURVEY, "choices": CHOICES, "settings": SETTINGS}))
    assert main(["coordinator", "forms", "import-xlsform", str(source)]) == 0
    printed = capsys.readouterr().out
    assert "form 'incident_kobo', 14 questions" in printed and "geopoint left out" in printed
    written = json.loads((tmp_path / "kobo.json").read_text(encoding="utf-8"))
    assert parse_form(written).id == "incident_kobo"
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"nope")
    out = tmp_path / "bad.json"
    code = main(["coordinator", "forms", "import-xlsform", str(bad), "-o", str(out), "--json"])
    assert code == 1 and json.loads(capsys.readouterr().out)["reason"] == "not an .xlsx workbook"
    assert not out.exists()
