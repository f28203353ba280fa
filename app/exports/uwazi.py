"""Cases as an Uwazi import: a ZIP with `import.csv`, the attachments, and the thesauri to set up.

Uwazi (HURIDOCS' case database) imports entities from a CSV, or from a ZIP holding `import.csv`
and the files the rows name (Settings > Import CSV, one template per import). Use
`build(index, summaries, identifying=..., lang=..., attachment=...) -> UwaziExport`; the service
calls it for `export("uwazi")` and age-encrypts the result like any identifying export.

What the file follows in Uwazi's importer (app/api/csv/ in huridocs/uwazi):
- `import.csv` at the root of the ZIP, UTF-8 without a byte-order mark (a BOM would become part
  of the first header), comma-separated; the header row names template properties by their
  property *name* (headers are passed through Uwazi's `safeName`, so ours are already
  `[a-z0-9_]`, never contain `__`, the language-suffix separator, and never take a reserved
  column's name: `id` would update an existing entity, `file`/`files` are primary documents).
- `title` on every row; `fieldvault_case` (text) keeps the FieldVault case id, `fieldvault_received`
  (date) the day the report reached the organisation.
- Select and multiselect cells hold thesaurus *labels* in the export language, several joined
  with `|`; labels are made free of `|` and `::` (Uwazi's parent::child separator) and unique
  per thesaurus once trimmed and lower-cased (Uwazi's `normalizeThesaurusLabel`).
- Dates as `YYYY-MM-DD`, one of the formats Uwazi always accepts; a date-and-time answer keeps
  its day (an Uwazi date has no time of day). Numbers as digits. Yes/no as a `yes_no` select.
- `attachments`: file names in the ZIP, `|`-separated, each extracted by its exact name.
- No geolocation column: FieldVault forms have no location field (a region is a select).
- One language per file, no `<property>__<lang>` columns: Uwazi fails an import whose
  translated columns lack the collection's default language, and answers exist in one language
  only. The thesauri carry all four languages, so Uwazi shows select values translated.

Also in the ZIP, under `setup/` (Uwazi ignores them during the import): `properties.csv` (name,
Uwazi type, thesaurus, a label for each column: the template the admin creates first) and
`thesauri/<name>.csv` in the format of Uwazi's thesaurus import (one column per language,
headed by Uwazi's English name of the language: English, Russian, Kyrgyz, Kazakh).

Consent: a case goes out only when the victim allowed sharing and public use
(`consent.UWAZI`) and withdrew neither since; the others are listed in `UwaziExport.withheld`,
by id only.
Identifying: without `identifying=True`, only what the CSV export shows without it (choices,
numbers, dates, yes/no, nothing marked sensitive) and no attachments.

Danger: with `identifying=True` the ZIP holds what victims said and their photos; it must be
encrypted (`app.exports.protect`) before it leaves the laptop. Cells are not formula-escaped (the
reader is Uwazi, and a `'` prefix would change the evidence): don't open `import.csv` in a
spreadsheet.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import io
import mimetypes
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.casebook.cases import CaseIndex, CaseSummary, answers_of
from app.exports import consent
from app.exports.csv_export import COUNTABLE_TYPES
from core.forms import LANGUAGES, Field, FormDefinition, label

CSV_NAME = "import.csv"
SETUP_DIR = "setup/"
MULTI_VALUE = "|"
PARENT_CHILD = "::"
LANGUAGE_SEPARATOR = "__"
RESERVED = frozenset({"id", "title", "file", "files", "attachments"})
CASE_COLUMN = "fieldvault_case"
RECEIVED_COLUMN = "fieldvault_received"
YES_NO = "yes_no"
# Uwazi's thesaurus import matches headers against these names (shared/languagesList.ts).
UWAZI_LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "ky": "Kyrgyz", "kk": "Kazakh"}
UWAZI_TYPES = {
    "text": "text",
    "long_text": "markdown",
    "number": "numeric",
    "date": "date",
    "datetime": "date",
    "single_choice": "select",
    "region": "select",
    "multi_choice": "multiselect",
    "yes_no": "select",
}
AttachmentSource = Callable[[str, str], bytes]


@dataclasses.dataclass(frozen=True, slots=True)
class Property:
    """One column of `import.csv` and the template property it fills."""

    name: str
    type: str
    label: str
    thesaurus: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class UwaziExport:
    data: bytes = dataclasses.field(repr=False)
    cases: tuple[str, ...]
    withheld: tuple[str, ...]
    attachments: int
    properties: tuple[Property, ...]


def property_name(field_id: str) -> str:
    """An Uwazi property name for a field id: what Uwazi's `safeName` leaves unchanged."""
    name = re.sub(r"[^a-z0-9]", "_", field_id.lower())
    while LANGUAGE_SEPARATOR in name:
        name = name.replace(LANGUAGE_SEPARATOR, "_")
    if not name[:1].isalpha():
        name = "f" + (name if name.startswith("_") else "_" + name)
    return name


def clean_label(text: str) -> str:
    """A thesaurus label Uwazi reads back as one value: no `|`, no `::`, no leading `-`."""
    text = text.replace(MULTI_VALUE, "/").replace(PARENT_CHILD, ":").strip()
    return text.lstrip("- ").strip()


def _thesaurus_labels(values: Sequence[tuple[str, Mapping[str, str]]]) -> dict[str, dict[str, str]]:
    """value -> {lang: label}, each label unique in its language once trimmed and lower-cased."""
    out: dict[str, dict[str, str]] = {value: {} for value, _ in values}
    for lang in LANGUAGES:
        seen: set[str] = set()
        for value, labels in values:
            text = clean_label(label(labels, lang)) or value
            if text.casefold() in seen:
                text = f"{text} ({value})"
            seen.add(text.casefold())
            out[value][lang] = text
    return out


class _Plan:
    """The columns and thesauri for the forms of the exported cases."""

    def __init__(self, lang: str, identifying: bool, yes_no: Mapping[str, tuple[str, str]]):
        self.lang = lang
        self.identifying = identifying
        self.yes_no = {
            "true": {lang_: yes_no[lang_][0] for lang_ in LANGUAGES},
            "false": {lang_: yes_no[lang_][1] for lang_ in LANGUAGES},
        }
        self.columns: dict[str, Property] = {}
        self.by_field: dict[tuple[str, str], str] = {}  # (form id, field id) -> column
        self.thesauri: dict[str, dict[str, dict[str, str]]] = {}  # name -> value -> lang -> label
        self.forms: set[str] = set()

    def add_form(self, form: FormDefinition) -> None:
        """Every field of `form` this export may carry gets its column, in the form's order."""
        if form.id not in self.forms:
            self.forms.add(form.id)
            for field in form.fields:
                if self.exported(field):
                    self.column(form, field)

    def exported(self, field: Field) -> bool:
        if field.type not in UWAZI_TYPES:
            return False  # attachments go to the `attachments` column, consent is not exported
        return self.identifying or (field.type in COUNTABLE_TYPES and not field.sensitive)

    def column(self, form: FormDefinition, field: Field) -> str:
        key = (form.id, field.id)
        if key in self.by_field:
            return self.by_field[key]
        utype = UWAZI_TYPES[field.type]
        thesaurus = ""
        labels: dict[str, dict[str, str]] = {}
        if field.type == "yes_no":
            thesaurus, labels = YES_NO, _thesaurus_labels(list(self.yes_no.items()))
        elif field.options:
            labels = _thesaurus_labels([(o.value, o.labels) for o in field.options])
        base = property_name(field.id)
        name = base
        n = 1
        while (
            name in RESERVED
            or name in (CASE_COLUMN, RECEIVED_COLUMN, YES_NO)
            or (
                name in self.columns
                and (self.columns[name].type != utype or self._other_values(name, labels))
            )
        ):
            n += 1
            name = f"{base}_{n}"
        if field.options and not thesaurus:
            thesaurus = name
        if thesaurus:
            self.thesauri.setdefault(thesaurus, {}).update(labels)
        self.columns.setdefault(
            name, Property(name, utype, clean_label(label(field.labels, self.lang)), thesaurus)
        )
        self.by_field[key] = name
        return name

    def _other_values(self, name: str, labels: Mapping[str, Mapping[str, str]]) -> bool:
        """A second form's field with this name but different option labels: keep apart."""
        known = self.thesauri.get(self.columns[name].thesaurus, {})
        return any(v in known and known[v] != labels[v] for v in labels)

    def cell(self, form: FormDefinition, field: Field, value: Any) -> str:
        t = field.type
        if t in ("text", "long_text"):
            return value if isinstance(value, str) else ""
        if t == "number":
            ok = isinstance(value, int) and not isinstance(value, bool)
            return str(value) if ok else ""
        if t in ("date", "datetime"):
            return value[:10] if isinstance(value, str) and len(value) >= 10 else ""
        if t == "yes_no":
            return self.yes_no[str(value).lower()][self.lang] if isinstance(value, bool) else ""
        name = self.by_field[(form.id, field.id)]
        values = self.thesauri[self.columns[name].thesaurus]
        chosen = value if isinstance(value, list) else [value]
        shown = [values[v][self.lang] for v in chosen if isinstance(v, str) and v in values]
        return MULTI_VALUE.join(shown)


def _received_day(summary: CaseSummary) -> str:
    if not summary.received_at:
        return ""
    return _dt.datetime.fromtimestamp(summary.received_at, _dt.UTC).strftime("%Y-%m-%d")


def _extension(name: str, media_type: str) -> str:
    suffix = re.search(r"\.([A-Za-z0-9]{1,8})$", name)
    if suffix:
        return "." + suffix.group(1).lower()
    return mimetypes.guess_extension(media_type, strict=False) or ".bin"


def _csv(header: Sequence[str], rows: Sequence[Mapping[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in header})
    return out.getvalue().encode("utf-8")


def thesaurus_csv(values: Mapping[str, Mapping[str, str]], lang: str) -> bytes:
    """One thesaurus in Uwazi's thesaurus-import format, the export language's column first."""
    order = [lang, *(lang_ for lang_ in LANGUAGES if lang_ != lang)]
    header = [UWAZI_LANGUAGE_NAMES[lang_] for lang_ in order]
    rows = [
        {UWAZI_LANGUAGE_NAMES[lang_]: labels[lang_] for lang_ in order}
        for labels in values.values()
    ]
    return _csv(header, rows)


def catalogue_yes_no() -> dict[str, tuple[str, str]]:
    """Yes/no in every language, from the coordinator catalogues (`answer.yes`, `answer.no`)."""
    from app.i18n import Translator

    out = {}
    for lang in LANGUAGES:
        t = Translator(lang, "coordinator").t
        out[lang] = (t("answer.yes"), t("answer.no"))
    return out


def withheld(index: CaseIndex, summaries: Sequence[CaseSummary]) -> list[str]:
    """The ids of the cases `build` leaves out: no consent to sharing and public use."""
    return [s.id for s in summaries if _allowed(index, s.id) is None]


def _allowed(index: CaseIndex, case_id: str) -> tuple[FormDefinition, dict[str, Any]] | None:
    """The latest answers and their form when the victim allowed sharing and public use."""
    data = index.raw(case_id)
    form = index.form_for(data)
    answers = answers_of(CaseIndex._latest_record(data))
    if form is None or not consent.may_use(consent.standing_of(index, case_id), "uwazi"):
        return None
    return form, answers


def build(
    index: CaseIndex,
    summaries: Sequence[CaseSummary],
    *,
    identifying: bool = False,
    lang: str = "en",
    attachment: AttachmentSource | None = None,
    yes_no: Mapping[str, tuple[str, str]] | None = None,
) -> UwaziExport:
    """The Uwazi ZIP for the cases in `summaries` the victims allowed to be shared and used
    publicly. `attachment(case_id, blob_id)` gives an attachment's bytes (identifying only)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    plan = _Plan(lang, identifying, yes_no or catalogue_yes_no())
    rows: list[dict[str, str]] = []
    files: dict[str, bytes] = {}
    kept: list[str] = []
    left_out: list[str] = []
    for summary in summaries:
        allowed = _allowed(index, summary.id)
        if allowed is None:
            left_out.append(summary.id)
            continue
        form, answers = allowed
        kept.append(summary.id)
        plan.add_form(form)
        row = {CASE_COLUMN: summary.id, RECEIVED_COLUMN: _received_day(summary)}
        attached: list[str] = []
        for field in form.fields:
            value = answers.get(field.id)
            if value is None:
                continue
            if field.type == "attachments":
                if identifying and attachment is not None and isinstance(value, list):
                    attached.extend(str(v) for v in value if isinstance(v, str))
                continue
            if plan.exported(field):
                row[plan.column(form, field)] = plan.cell(form, field, value)
        title = _title(form, answers, plan, summary.id)
        row["title"] = title
        if attached and attachment is not None:
            known = {a.id: a for a in index.detail(summary.id, lang).attachments}
            names = []
            for n, blob_id in enumerate((b for b in attached if b in known), start=1):
                info = known[blob_id]
                name = f"{summary.id}-{n}{_extension(info.name, info.media_type)}"
                files[name] = attachment(summary.id, blob_id)
                names.append(name)
            if names:
                row["attachments"] = MULTI_VALUE.join(names)
        rows.append(row)
    header = ["title", CASE_COLUMN, RECEIVED_COLUMN, *plan.columns]
    if files:
        header.append("attachments")
    properties = (
        Property(CASE_COLUMN, "text", "FieldVault case"),
        Property(RECEIVED_COLUMN, "date", "Received"),
        *plan.columns.values(),
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(CSV_NAME, _csv(header, rows))
        for name, blob in files.items():
            zf.writestr(name, blob)
        zf.writestr(
            SETUP_DIR + "properties.csv",
            _csv(
                ["name", "type", "thesaurus", "label"],
                [dataclasses.asdict(p) for p in properties],
            ),
        )
        for thesaurus, values in sorted(plan.thesauri.items()):
            zf.writestr(f"{SETUP_DIR}thesauri/{thesaurus}.csv", thesaurus_csv(values, lang))
    return UwaziExport(out.getvalue(), tuple(kept), tuple(left_out), len(files), properties)


def _title(form: FormDefinition, answers: Mapping[str, Any], plan: _Plan, case_id: str) -> str:
    """The case id, after the title field's answer when that field may be exported."""
    if form.title_field:
        field = form.field(form.title_field)
        value = answers.get(field.id)
        if value is not None and plan.exported(field):
            shown = plan.cell(form, field, value).replace(MULTI_VALUE, ", ")
            if shown:
                return f"{shown[:120]} · {case_id}"
    return case_id
