"""The Uwazi export, read back the way Uwazi's CSV importer reads it.

Each check names the behaviour of Uwazi's importer it follows (huridocs/uwazi, app/api/csv/ and
app/shared/): `importFile.ts` (the ZIP's `import.csv`, attachments found by exact entry name),
`csv.ts` (delimiter detected among `,` and `;`), `csvDefinitions.ts` (`|` between values, `::`
between parent and child, `__` before a language code), `propertyNames.ts` (`safeName` applied
to every header before it is matched to a property name), `importEntity.ts` (`title`, `id`
updating an existing entity, `attachments`), `typeParsers.ts` (dates parsed with `YYYY-MM-DD`
among the allowed formats, numbers with `Number()`), `typeParsers/select.ts` and
`multiselect.ts` (labels looked up in the thesaurus after `normalizeThesaurusLabel`: trimmed and
lower-cased), `importThesauri.ts` (thesaurus CSV headed by language names from
`languagesList.ts`, a value starting with `-` is nested under the previous one).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import zipfile
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import cli_coordinator
from app.casebook.cases import CaseIndex
from app.cli import main
from app.exports import uwazi
from app.services.coordinator_fake import FakeCoordinatorService
from core.forms import parse_form
from sync.age.api import decrypt
from tests.app.coordinator import factory


def _labels(en: str, ru: str) -> dict[str, str]:
    return {"en": en, "ru": ru}


FORM_RAW: dict[str, Any] = {
    "id": "incident",
    "version": 1,
    "label": _labels("Incident", "Инцидент"),
    "title_field": "violation_types",
    "sections": [
        {
            "id": "what",
            "label": _labels("What", "Что"),
            "fields": [
                {"id": "occurred_at", "type": "datetime", "label": _labels("When", "Когда")},
                {
                    "id": "region",
                    "type": "region",
                    "label": _labels("Region", "Регион"),
                    "options": [
                        {
                            "value": "kg.bishkek",
                            "label": _labels("Bishkek", "Бишкек"),
                            "group": "kg",
                        },
                        {"value": "kg.osh", "label": _labels("Osh", "Ош"), "group": "kg"},
                    ],
                },
                {
                    "id": "violation_types",
                    "type": "multi_choice",
                    "label": _labels("Violation", "Нарушение"),
                    "options": [
                        {"value": "beating", "label": _labels("Beating", "Избиение")},
                        {"value": "extortion", "label": _labels("Extortion", "Вымогательство")},
                        {
                            "value": "other",
                            "label": _labels("- Other | unlisted::misc", "- Другое | иное::прочее"),
                        },
                    ],
                },
                {"id": "victim_count", "type": "number", "label": _labels("Victims", "Жертв")},
                {"id": "ongoing", "type": "yes_no", "label": _labels("Ongoing", "Продолжается")},
                {"id": "file", "type": "text", "label": _labels("File number", "Номер дела")},
                {
                    "id": "description",
                    "type": "long_text",
                    "label": _labels("Description", "Описание"),
                },
                {
                    "id": "victim_name",
                    "type": "text",
                    "sensitive": True,
                    "label": _labels("Victim name", "Имя"),
                },
                {"id": "photos", "type": "attachments", "label": _labels("Photos", "Фото")},
                {
                    "id": "consent",
                    "type": "consent",
                    "label": _labels("Consent", "Согласие"),
                    "options": [
                        {"value": "share_org", "label": _labels("Share", "Передать")},
                        {"value": "statistics", "label": _labels("Statistics", "Статистика")},
                        {"value": "advocacy", "label": _labels("Advocacy", "Публично")},
                    ],
                },
            ],
        }
    ],
}

PASSPHRASE = "correct horse battery"
ALL = {"share_org": True, "statistics": True, "advocacy": True}
YES_NO = {lang: ("Yes", "No") for lang in ("en", "ru", "ky", "kk")}
PHOTO = b"\xff\xd8\xff\xe0 a photo of the bruises"


def _answers(secret: str, consent: dict[str, bool] | None, **more: Any) -> dict[str, Any]:
    answers = {
        "occurred_at": "2025-03-04T21:30",
        "region": "kg.bishkek",
        "violation_types": ["beating", "other"],
        "victim_count": 2,
        "ongoing": True,
        "file": "=HYPERLINK(x)",
        "description": f'Задержали у кафе; {secret}, "кавычки"\nвторая строка',
        "victim_name": secret,
        **more,
    }
    if consent is not None:
        answers["consent"] = consent
    return answers


@pytest.fixture
def world() -> dict[str, Any]:
    device = factory.Device()
    blob = {"id": "b" * 32, "name": "IMG 0001.JPG", "media_type": "image/jpeg", "size": 9}
    allowed = factory.case_data(
        device, _answers("Айбек", ALL, photos=["b" * 32]), case_id="a" * 32, blobs=[blob]
    )
    no_public = factory.case_data(
        device,
        _answers("Секрет-нет-публичности", {**ALL, "advocacy": False}),
        case_id="c" * 32,
    )
    no_share = factory.case_data(
        device,
        _answers("Секрет-не-передавать", {**ALL, "share_org": False}),
        case_id="d" * 32,
    )
    unanswered = factory.case_data(device, _answers("Секрет-без-ответа", None), case_id="e" * 32)
    withdrawn = factory.case_data(
        device, _answers("Секрет-отозвано", ALL), case_id="f" * 32, revisions=2
    )
    later = copy.deepcopy(withdrawn["revisions"][-1]["record"])
    later["data"]["answers"]["consent"] = {**ALL, "advocacy": False}
    withdrawn["revisions"][-1]["record"] = later
    withdrawn["latest"] = later["data"]
    datas = [allowed, no_public, no_share, unanswered, withdrawn]
    index = CaseIndex.build([factory.case_record(d) for d in datas], [], [parse_form(FORM_RAW)])
    return {"index": index, "blob": blob}


def _export(world: dict[str, Any], *, identifying: bool, lang: str = "en") -> uwazi.UwaziExport:
    index: CaseIndex = world["index"]
    return uwazi.build(
        index,
        index.query(),
        identifying=identifying,
        lang=lang,
        attachment=lambda case_id, blob_id: PHOTO,
    )


def _read(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _csv(raw: bytes) -> tuple[list[str], list[dict[str, str]]]:
    text = raw.decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def safe_name_old(label: str) -> str:
    """Uwazi's `safeName` (app/shared/propertyNames.ts), default name generation."""
    return re.sub(r"[^a-z0-9]", "_", label.strip(), flags=re.IGNORECASE).lower()


def safe_name_new(label: str) -> str:
    """Uwazi's `safeName` with `newNameGeneration` on."""
    name = re.sub(r'[#|\\/*?"<>=\s:.\[\]%]', "_", label.strip())
    return re.sub(r"^[_\-+$]", "", name).lower()


def normalise(label: str) -> str:
    """Uwazi's `normalizeThesaurusLabel` (app/api/thesauri/thesauri.js)."""
    return label.strip().lower()


def test_uwazi_zip_reads_back_as_uwazi_imports_it(world) -> None:
    result = _export(world, identifying=True)
    files = _read(result.data)

    # importFile.ts: a ZIP import reads the entry named exactly `import.csv`.
    assert "import.csv" in files
    raw = files["import.csv"]
    # A byte-order mark would become part of the first header and hide `title`.
    assert not raw.startswith(b"\xef\xbb\xbf")
    header, rows = _csv(raw)
    first_line = raw.split(b"\r\n", 1)[0]
    # csv.ts: the delimiter is detected among `,` and `;`, so the header has commas only.
    assert b"," in first_line and b";" not in first_line

    # importEntity.ts: `title` names the entity; `id` would update an existing entity instead.
    assert header[0] == "title" and "id" not in header
    for name in header:
        # propertyNames.ts: headers go through safeName before matching a property name.
        assert safe_name_old(name) == name == safe_name_new(name), name
        # csvDefinitions.ts: `__` starts a language suffix.
        assert "__" not in name
    # A form field called `file` must not land in Uwazi's reserved primary-document column.
    assert "file" not in header and "file_2" in header

    assert [r["fieldvault_case"] for r in rows] == ["a" * 32]
    row = rows[0]
    assert row["title"].endswith("a" * 32) and row["title"].startswith("Beating, Other")

    # typeParsers.ts: dates parse with `YYYY-MM-DD` whatever the collection's date format.
    assert row["occurred_at"] == "2025-03-04"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["fieldvault_received"])
    # typeParsers.ts `numeric`: Number(value).
    assert int(row["victim_count"]) == 2
    # Cells hold the evidence as written: quotes, separators and new lines survive the CSV,
    # and nothing is prefixed to defuse spreadsheet formulas (Uwazi stores cells as they are).
    assert row["description"] == 'Задержали у кафе; Айбек, "кавычки"\nвторая строка'
    assert row["file_2"] == "=HYPERLINK(x)"
    assert row["victim_name"] == "Айбек"

    # importEntity.ts: `attachments` names ZIP entries, `|`-separated, extracted by exact name.
    names = row["attachments"].split("|")
    assert names == ["a" * 32 + "-1.jpg"]
    assert all(files[n] == PHOTO for n in names)
    assert result.attachments == 1


def test_select_values_are_thesaurus_labels_the_companion_thesauri_define(world) -> None:
    for lang, language in (("en", "English"), ("ru", "Russian")):
        files = _read(_export(world, identifying=False, lang=lang).data)
        _, rows = _csv(files["import.csv"])
        _, properties = _csv(files["setup/properties.csv"])
        by_name = {p["name"]: p for p in properties}
        assert by_name["region"]["type"] == "select"
        assert by_name["violation_types"]["type"] == "multiselect"
        assert by_name["ongoing"] == {
            "name": "ongoing",
            "type": "select",
            "thesaurus": "yes_no",
            "label": "Ongoing" if lang == "en" else "Продолжается",
        }
        for prop in (p for p in properties if p["type"] in ("select", "multiselect")):
            thesaurus = files[f"setup/thesauri/{prop['thesaurus']}.csv"]
            t_header, t_rows = _csv(thesaurus)
            # importThesauri.ts: columns headed by Uwazi's language names; the labels Uwazi
            # stores are those in the language the admin imports in (the export language).
            assert t_header[0] == language
            assert set(t_header) == {"English", "Russian", "Kyrgyz", "Kazakh"}
            known = [normalise(r[language]) for r in t_rows]
            assert len(set(known)) == len(known)
            for r in t_rows:
                for value in r.values():
                    # importThesauri.ts: a leading `-` would nest the value under the previous.
                    assert value and not value.lstrip(" ").startswith("-")
                    # select.ts: `::` separates a parent and a child label.
                    assert "::" not in value and "|" not in value
            for r in rows:
                # multiselect.ts: `|` between labels, each found after normalisation.
                cell = [v for v in r[prop["name"]].split("|") if v.strip()]
                assert cell and all(normalise(v) in known for v in cell)
        row = rows[0]
        if lang == "ru":
            assert row["violation_types"] == "Избиение|Другое / иное:прочее"
            assert row["ongoing"] == "Да" and row["region"] == "Бишкек"
        else:
            assert row["violation_types"] == "Beating|Other / unlisted:misc"


def test_without_identifying_flag_no_free_text_names_or_attachments_leave(world) -> None:
    result = _export(world, identifying=False)
    files = _read(result.data)
    header, _ = _csv(files["import.csv"])
    assert {"occurred_at", "region", "violation_types", "victim_count", "ongoing"} <= set(header)
    assert not {"description", "victim_name", "file_2", "attachments"} & set(header)
    assert set(files) == {
        "import.csv",
        "setup/properties.csv",
        "setup/thesauri/region.csv",
        "setup/thesauri/violation_types.csv",
        "setup/thesauri/yes_no.csv",
    }
    everything = b"".join(files.values()).decode("utf-8")
    assert "Айбек" not in everything and "кафе" not in everything and result.attachments == 0


def test_cases_without_consent_to_share_and_public_use_never_appear(world) -> None:
    result = _export(world, identifying=True, lang="ru")
    assert result.cases == ("a" * 32,)
    # no public use, not to share, never answered, and withdrawn in a later revision
    assert set(result.withheld) == {"c" * 32, "d" * 32, "e" * 32, "f" * 32}
    everything = b"".join(_read(result.data).values()).decode("utf-8", errors="replace")
    assert "Секрет" not in everything
    for case_id in result.withheld:
        assert case_id not in everything


def test_property_names_survive_uwazi_safe_name_and_avoid_language_suffixes() -> None:
    for field_id in ("a__en", "1st", "Foo.Bar-baz", "x", "_lead", "a___b"):
        name = uwazi.property_name(field_id)
        assert safe_name_old(name) == name == safe_name_new(name)
        assert "__" not in name and name[0].isalpha()


def _service(*answers: dict[str, Any]) -> FakeCoordinatorService:
    service = FakeCoordinatorService()
    service.setup_new(
        passphrase=PASSPHRASE,
        server_url="https://example.org",
        bootstrap_token="t",
        org_name="Org",
        coordinator_name="C",
    )
    service.publish_forms([FORM_RAW])
    device = factory.Device()
    for n, a in enumerate(answers):
        service.receive_case(factory.case_data(device, a, case_id=f"{n:x}" * 32))
    service.pull()
    return service


def test_identifying_uwazi_export_is_encrypted_to_the_coordinators_by_default() -> None:
    service = _service(_answers("Айбек", ALL))
    sealed = service.export("uwazi", identifying=True, lang="ru")
    assert sealed.protected and sealed.filename.endswith(".zip.age")
    assert sealed.data.startswith(b"age-encryption.org/v1")
    opened = decrypt(sealed.data, [service._age_identity()])
    assert "Айбек".encode() in _read(opened)["import.csv"]
    clear = service.export("uwazi", identifying=False, protection="recipients")
    assert not clear.protected and "import.csv" in _read(clear.data)


def test_cli_writes_the_uwazi_zip_and_says_how_many_cases_were_left_out(
    tmp_path, capsys, monkeypatch
) -> None:
    service = _service(_answers("Айбек", ALL), _answers("Секрет", {**ALL, "advocacy": False}))

    def unlocked(args: Any, unlock: bool = True) -> FakeCoordinatorService:
        if not service.unlocked:
            service.unlock(PASSPHRASE)
        return service

    monkeypatch.setattr(cli_coordinator, "_service", unlocked)

    def run(*argv: str) -> tuple[int, dict[str, Any]]:
        code = main(["coordinator", "export", "--format", "uwazi", *argv, "--json"])
        return code, json.loads(capsys.readouterr().out)

    code, done = run("--identifying", "-o", str(tmp_path / "cases.zip"))
    assert code == 0 and done["protected"] and done["withheld"] == 1
    assert done["file"].endswith("cases.zip.age") and not (tmp_path / "cases.zip").exists()
    code, done = run("--identifying", "--no-encrypt", "--lang", "ru", "-o", str(tmp_path / "c.zip"))
    _, rows = _csv(_read((tmp_path / "c.zip").read_bytes())["import.csv"])
    assert code == 0 and not done["protected"] and done["withheld"] == 1
    assert [r["victim_name"] for r in rows] == ["Айбек"]


def test_exports_view_offers_uwazi_with_the_identifying_choice_and_encrypts_when_asked() -> None:
    from app.coordinator.exports_view import ExportsView
    from tests.app.coordinator.fakes import FakePort, click
    from tests.app.coordinator.test_views import ctx_for

    service = _service(_answers("Айбек", ALL), _answers("Секрет", {**ALL, "share_org": False}))
    port = FakePort()
    view = ExportsView(ctx_for(service, "ru", port))
    view.load()
    assert not view.uwazi_consent.visible
    view.kind.value = "uwazi"
    view.on_options()
    assert view.identifying.visible and view.uwazi_consent.visible and not view.warning.visible
    assert "пострадавший согласился" in view.uwazi_consent.value
    click(view.button)
    name, data = port.saved[-1]
    _, rows = _csv(_read(data)["import.csv"])
    assert name.endswith(".zip") and len(rows) == 1 and "victim_name" not in rows[0]
    view.identifying.value = True
    view.on_options()
    assert view.warning.visible and view.protect_box.visible
    click(view.button)
    assert port.saved[-1][0].endswith(".zip.age") and view.last.protected


@settings(max_examples=60, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_text_answer_reads_back_from_import_csv_unchanged(text: str) -> None:
    device = factory.Device()
    data = factory.case_data(device, _answers("x", ALL, file=text), case_id="a" * 32)
    index = CaseIndex.build([factory.case_record(data)], [], [parse_form(FORM_RAW)])
    result = uwazi.build(index, index.query(), identifying=True, yes_no=YES_NO)
    _, rows = _csv(_read(result.data)["import.csv"])
    assert len(rows) == 1 and rows[0]["file_2"] == text
