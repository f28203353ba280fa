"""ODK/Kobo XLSForm definitions as FieldVault forms, with a report of what did not carry over.

Use `import_xlsform(data)` with the bytes of an `.xlsx` file: it returns an `XLSFormImport`
whose `form` is a JSON-shaped definition `core.forms.parse_form` accepts (publish it through the
coordinator's forms management) and whose `notes` list, row by row, everything that changed or
was left out. `from_sheets(sheets)` does the same from rows already read (`{"survey": [[...]]}`),
so the mapping itself needs no spreadsheet library; only `read_workbook` needs openpyxl
(the `coordinator` extra), imported when called.

What carries over: text (multiline appearance -> long text), integer, date, dateTime,
select_one / select_multiple with their choice lists, image/audio/video/file (attachments),
acknowledge (yes/no), range (a number with its bounds), labels and hints in English, Russian,
Kyrgyz and Kazakh (`label::Russian (ru)`, `label::ru`, or the plain column in the settings'
default language), `required` yes/true, relevance of the simple forms `${q} = 'v'`,
`selected(${q}, 'v')` and `or`s of them on an earlier choice or yes/no question, and
constraints of the form `. >= N and . <= M` on integers.
What does not, and is reported: other question types (geopoint, note, calculate, barcode,
metadata such as start/end/deviceid, ...), other relevance, constraint and required
expressions, defaults, calculations, choice filters, repeats (their questions are kept once)
and nested groups (flattened into the enclosing top-level group, which becomes a section),
labels in other languages, names that are not FieldVault identifiers (renamed).

Danger: an XLSForm comes from outside; a malformed or hostile file raises `XLSFormError`
(caller mistakes and unreadable files alike), never something else.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.forms import LANGUAGES, FormDefinitionError, parse_form

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000
LANGUAGE_NAMES = {
    "en": ("en", "english"),
    "ru": ("ru", "russian", "русский"),
    "ky": ("ky", "kyrgyz", "kirghiz", "кыргызча", "кыргыз тили"),
    "kk": ("kk", "kazakh", "қазақша", "қазақ тілі", "казахский"),
}
ATTACHMENT_TYPES = frozenset({"image", "audio", "video", "file", "background-audio"})
METADATA_TYPES = frozenset(
    {
        "start",
        "end",
        "today",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "email",
        "audit",
        "start-geopoint",
        "calculate",
        "hidden",
        "xml-external",
        "csv-external",
    }
)
TRUE = frozenset({"yes", "true", "true()", "1"})
FALSE = frozenset({"", "no", "false", "false()", "0"})
_REPORTED_COLUMNS = (
    "default",
    "calculation",
    "choice_filter",
    "read_only",
    "repeat_count",
    "trigger",
)


class XLSFormError(ValueError):
    """The file is not an XLSForm this importer can read; `reason` says why (no content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot import the XLSForm: {reason}")
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class Note:
    """One thing that did not carry over as it was. `where`: sheet and row, and the name."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclasses.dataclass(frozen=True, slots=True)
class XLSFormImport:
    form: dict[str, Any]
    notes: tuple[Note, ...]

    def report(self) -> str:
        return "\n".join(str(n) for n in self.notes)


# ---------------------------------------------------------------- reading the workbook


def read_workbook(data: bytes) -> dict[str, list[list[Any]]]:
    """The rows of every sheet (sheet names lower-cased), cells as Python values."""
    if len(data) > MAX_BYTES:
        raise XLSFormError("the file is larger than 10 MB")
    try:
        from openpyxl import load_workbook
    except ImportError:
        raise XLSFormError("reading .xlsx needs openpyxl (the coordinator extra)") from None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise XLSFormError("not an .xlsx workbook") from exc
    sheets: dict[str, list[list[Any]]] = {}
    try:
        for sheet in book.worksheets:
            rows = []
            for n, row in enumerate(sheet.iter_rows(values_only=True)):
                if n >= MAX_ROWS:
                    raise XLSFormError(f"sheet {sheet.title!r} has more than {MAX_ROWS} rows")
                rows.append(list(row))
            sheets[sheet.title.strip().lower()] = rows
    finally:
        book.close()
    return sheets


def import_xlsform(data: bytes) -> XLSFormImport:
    """An XLSForm (.xlsx bytes) as a FieldVault form definition and its report."""
    return from_sheets(read_workbook(data))


# ---------------------------------------------------------------- mapping


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _table(rows: Sequence[Sequence[Any]]) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {column: text}) for every non-empty row under the header."""
    if not rows:
        return []
    header = [_text(h) for h in rows[0]]
    out = []
    for n, row in enumerate(rows[1:], start=2):
        cells = {h: _text(v) for h, v in zip(header, row, strict=False) if h}
        if any(cells.values()):
            out.append((n, cells))
    return out


def language_of(suffix: str) -> str | None:
    """`English (en)`, `en`, `Russian` ... -> a FieldVault language, else None."""
    text = suffix.strip().lower()
    code = re.search(r"\(([a-z]{2,3})(?:[-_][a-z0-9]+)?\)\s*$", text)
    if code and code.group(1) in LANGUAGES:
        return code.group(1)
    name = re.sub(r"\s*\(.*\)\s*$", "", text)
    return next((lang for lang, names in LANGUAGE_NAMES.items() if name in names), None)


class _Mapper:
    def __init__(self, sheets: Mapping[str, Sequence[Sequence[Any]]]) -> None:
        self.notes: list[Note] = []
        settings = _table(sheets.get("settings", []))
        self.settings = dict(settings[0][1]) if settings else {}
        default = self.settings.get("default_language", "")
        self.default_lang = language_of(default) if default else "en"
        if default and self.default_lang is None:
            self.note("settings", f"default language {default!r} is not en/ru/ky/kk; read as en")
            self.default_lang = "en"
        self.dropped_languages: set[str] = set()
        for sheet in ("survey", "choices"):
            header = sheets.get(sheet, [[]])[:1] or [[]]
            for column in (_text(c) for c in header[0]):
                base, _, suffix = column.partition("::")
                if suffix and base.strip().lower() in ("label", "hint") and not language_of(suffix):
                    self.dropped_languages.add(suffix.strip())
        self.ids: set[str] = set()

    def note(self, where: str, what: str) -> None:
        self.notes.append(Note(where, what))

    def labels(self, cells: Mapping[str, str], column: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in cells.items():
            if not value:
                continue
            base, _, suffix = key.partition("::")
            if base.strip().lower() != column:
                continue
            lang = language_of(suffix) if suffix else self.default_lang
            if lang is None:
                self.dropped_languages.add(suffix.strip())
                continue
            out.setdefault(lang, value)
        return out

    def english(self, labels: dict[str, str], where: str, fallback: str) -> dict[str, str]:
        if "en" not in labels:
            other = next((labels[lang] for lang in LANGUAGES if lang in labels), "")
            labels["en"] = other or fallback
            self.note(
                where, "no English label; used " + ("another language's" if other else "the name")
            )
        return labels

    def ident(self, raw: str, where: str, taken: set[str]) -> str:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", raw)[:64]
        if not re.search(r"[A-Za-z0-9]", name):
            name = "q"
        base, n = name, 1
        while name in taken:
            n += 1
            name = f"{base[:60]}_{n}"
        if name != raw:
            self.note(where, f"name {raw!r} became {name!r}")
        taken.add(name)
        return name


def _choice_lists(m: _Mapper, rows: Sequence[Sequence[Any]]) -> dict[str, list[dict[str, Any]]]:
    lists: dict[str, list[dict[str, Any]]] = {}
    taken: dict[str, set[str]] = {}
    for n, cells in _table(rows):
        list_name = cells.get("list_name") or cells.get("list name") or ""
        value = cells.get("name", "")
        where = f"choices row {n}"
        if not list_name or not value:
            m.note(where, "a choice without list_name or name, left out")
            continue
        option_value = m.ident(value, f"{where} ({list_name})", taken.setdefault(list_name, set()))
        labels = m.english(m.labels(cells, "label"), f"{where} ({value})", value)
        lists.setdefault(list_name, []).append({"value": option_value, "label": labels})
    return lists


_EQUALS = re.compile(r"^\$\{([^}]+)\}\s*=\s*(['\"])(.*?)\2$")
_SELECTED = re.compile(r"^selected\(\s*\$\{([^}]+)\}\s*,\s*(['\"])(.*?)\2\s*\)$")
_BOUND = re.compile(r"^\.\s*(>=|<=|>|<)\s*(-?\d+)$")


def _show_if(expr: str, fields: Mapping[str, dict[str, Any]]) -> dict[str, Any] | None:
    """A `show_if` for `${q} = 'v'` / `selected(${q}, 'v')` joined by `or`, else None."""
    target = ""
    values: list[Any] = []
    for part in re.split(r"\s+or\s+", expr.strip()):
        match = _EQUALS.match(part.strip()) or _SELECTED.match(part.strip())
        if not match or (target and match.group(1) != target):
            return None
        target = match.group(1)
        values.append(match.group(3))
    field = fields.get(target)
    if field is None:
        return None
    if field["type"] == "yes_no":
        mapped = [v in TRUE for v in values if v in TRUE or v in FALSE]
        if len(mapped) != len(values):
            return None
        return {"field": field["id"], "in": mapped}
    options = {o["value"] for o in field.get("options", [])}
    if field["type"] not in ("single_choice", "multi_choice") or not set(values) <= options:
        return None
    return {"field": field["id"], "in": values}


def _bounds(expr: str) -> dict[str, int] | None:
    out: dict[str, int] = {}
    for part in re.split(r"\s+and\s+", expr.strip()):
        match = _BOUND.match(part.strip())
        if not match:
            return None
        op, number = match.group(1), int(match.group(2))
        if op in (">=", ">"):
            out["min"] = number + (op == ">")
        else:
            out["max"] = number - (op == "<")
    return out


def _question_type(m: _Mapper, kind: str, cells: Mapping[str, str], where: str) -> tuple[str, str]:
    """(FieldVault type, choice list name) for an XLSForm type, or ("", "") when unsupported."""
    parts = kind.split()
    head = parts[0].lower() if parts else ""
    appearance = cells.get("appearance", "").lower()
    if head in ("select_one", "select1", "select_multiple"):
        if len(parts) != 2:
            m.note(where, f"type {kind!r} needs one choice list; left out")
            return "", ""
        return ("single_choice" if head != "select_multiple" else "multi_choice"), parts[1]
    simple = {
        "text": "long_text" if "multiline" in appearance else "text",
        "string": "text",
        "integer": "number",
        "int": "number",
        "date": "date",
        "datetime": "datetime",
        "acknowledge": "yes_no",
        "range": "number",
    }
    if head in simple:
        if head == "acknowledge":
            m.note(where, "acknowledge became a yes/no question")
        return simple[head], ""
    if head == "decimal":
        m.note(where, "decimal became text (FieldVault numbers are whole numbers)")
        return "text", ""
    if head == "time":
        m.note(where, "time became text (FieldVault has dates and date-times)")
        return "text", ""
    if head in ATTACHMENT_TYPES:
        return "attachments", ""
    if head in METADATA_TYPES:
        m.note(where, f"{head} is filled in by ODK itself; left out")
    elif head in ("geopoint", "geotrace", "geoshape"):
        m.note(where, f"{head} left out: FieldVault records no location (use a region question)")
    elif head == "note":
        m.note(where, "note left out: FieldVault forms have no display-only text")
    else:
        m.note(where, f"question type {kind!r} is not supported; left out")
    return "", ""


def from_sheets(sheets: Mapping[str, Sequence[Sequence[Any]]]) -> XLSFormImport:
    """The form and report from the rows of the `survey`, `choices` and `settings` sheets."""
    if "survey" not in sheets:
        raise XLSFormError("there is no survey sheet")
    m = _Mapper(sheets)
    lists = _choice_lists(m, sheets.get("choices", []))
    survey = _table(sheets["survey"])
    if not survey:
        raise XLSFormError("the survey sheet has no questions")
    sections = _Sections(m)
    by_name: dict[str, dict[str, Any]] = {}
    for n, cells in survey:
        kind = " ".join(cells.get("type", "").split())
        name = cells.get("name", "")
        where = f"survey row {n}" + (f" ({name})" if name else "")
        if sections.follow(kind, name, cells, where):
            continue
        field = _question(m, kind, name, cells, where, lists, by_name)
        if field is not None:
            by_name[name] = field
            sections.add(field)
    carried = sections.finish()
    _closing_notes(m, carried)
    form = {
        "id": _form_id(m),
        "version": _version(m),
        "label": m.english(_form_label(m), "settings", "Imported form"),
        "sections": carried,
    }
    try:
        parse_form(form)
    except FormDefinitionError as exc:  # pragma: no cover - the mapping builds valid forms
        raise XLSFormError(f"the result is not a valid form ({exc.where})") from None
    return XLSFormImport(form, tuple(m.notes))


class _Sections:
    """The form's sections as the survey's groups open and close: each top-level group becomes
    a section (nested groups and repeats flatten into it); questions outside every group gather
    in a first section, "Questions"."""

    def __init__(self, m: _Mapper) -> None:
        self.m = m
        self.sections: list[dict[str, Any]] = []
        self.loose: dict[str, Any] = {"id": "questions", "label": {"en": "Questions"}, "fields": []}
        self.ids: set[str] = set()
        self.stack: list[tuple[str, str]] = []  # ("group" | "repeat", name)
        self.current: dict[str, Any] | None = None

    def follow(self, kind: str, name: str, cells: Mapping[str, str], where: str) -> bool:
        """Open or close a group or repeat if that is what the row does; False for a question."""
        low = kind.lower().replace("_", " ")
        if low in ("begin group", "begin repeat"):
            self._begin(low.split()[1], name, cells, where)
            return True
        if low in ("end group", "end repeat"):
            if not self.stack:
                self.m.note(where, f"{kind} without a matching begin; ignored")
                return True
            self.stack.pop()
            if not any(what == "group" for what, _ in self.stack):
                self.current = None
            return True
        return False

    def _begin(self, what: str, name: str, cells: Mapping[str, str], where: str) -> None:
        m = self.m
        if what == "repeat":
            m.note(where, "repeat: its questions are kept once (FieldVault has no repeats)")
        if not self.stack and what == "group":
            label = m.english(m.labels(cells, "label"), where, name or "Section")
            sid = m.ident(name or f"section{len(self.sections) + 1}", where, self.ids)
            self.current = {"id": sid, "label": label, "fields": []}
            self.sections.append(self.current)
        elif what == "group":
            m.note(where, "nested group flattened into its enclosing section")
        self.stack.append((what, name))

    def add(self, field: dict[str, Any]) -> None:
        (self.current if self.current is not None else self.loose)["fields"].append(field)

    def finish(self) -> list[dict[str, Any]]:
        """The sections that hold a question (`XLSFormError` if none does)."""
        m = self.m
        if self.stack:
            m.note("survey", f"{len(self.stack)} group or repeat never ended")
        if self.loose["fields"]:
            self.loose["id"] = m.ident("questions", "survey", self.ids)
            self.sections.insert(0, self.loose)
        for section in [s for s in self.sections if not s["fields"]]:
            m.note(f"section {section['id']}", "no question carried over; left out")
        sections = [s for s in self.sections if s["fields"]]
        if not sections:
            raise XLSFormError("no question could be carried over")
        return sections


def _question(
    m: _Mapper,
    kind: str,
    name: str,
    cells: Mapping[str, str],
    where: str,
    lists: Mapping[str, list[dict[str, Any]]],
    by_name: Mapping[str, dict[str, Any]],
) -> dict[str, Any] | None:
    """The field for one survey row, or None (noted) when it cannot carry over."""
    if not kind:
        m.note(where, "a row without a type; left out")
        return None
    ftype, list_name = _question_type(m, kind, cells, where)
    if not ftype:
        return None
    if not name:
        m.note(where, "a question without a name; left out")
        return None
    field: dict[str, Any] = {
        "id": m.ident(name, where, m.ids),
        "type": ftype,
        "label": m.english(m.labels(cells, "label"), where, name),
    }
    hint = m.labels(cells, "hint")
    if hint:
        field["help"] = m.english(hint, f"{where} hint", name)
    if list_name:
        options = lists.get(list_name)
        if not options:
            m.note(where, f"choice list {list_name!r} is missing or empty; left out")
            return None
        field["options"] = options
    _rules(m, field, kind, cells, where, by_name)
    return field


def _rules(
    m: _Mapper,
    field: dict[str, Any],
    kind: str,
    cells: Mapping[str, str],
    where: str,
    by_name: Mapping[str, dict[str, Any]],
) -> None:
    """What of the row's required, relevant, constraint and range columns carries over into
    `field`; the rest, and every column FieldVault has no place for, is noted."""
    required = cells.get("required", "").lower()
    if required in TRUE:
        field["required"] = True
    elif required not in FALSE:
        m.note(where, f"required only when {cells['required']!r}: imported as optional")
    relevant = cells.get("relevant", "")
    if relevant:
        show_if = _show_if(relevant, by_name)
        if show_if is None:
            m.note(where, f"relevance {relevant!r} not translated: always shown")
        else:
            field["show_if"] = show_if
    constraint = cells.get("constraint", "")
    if field["type"] == "number" and kind.lower().startswith("range"):
        field.update(_range_bounds(m, cells.get("parameters", ""), where))
    elif constraint and field["type"] == "number" and (bounds := _bounds(constraint)):
        field.update(bounds)
        constraint = ""
    if constraint:
        m.note(where, f"constraint {constraint!r} not translated")
    for column in _REPORTED_COLUMNS:
        if cells.get(column):
            m.note(where, f"{column} {cells[column]!r} not translated")


def _closing_notes(m: _Mapper, sections: Sequence[dict[str, Any]]) -> None:
    """What the whole import left for the coordinator to do or know."""
    if m.dropped_languages:
        m.note("labels", "languages left out: " + ", ".join(sorted(m.dropped_languages)))
    if not any(f["type"] == "consent" for s in sections for f in s["fields"]):
        m.note(
            "form",
            "no consent question: add one (type consent) before publishing, or no case can be"
            " shared outside the organisation",
        )
    m.note("form", "mark questions holding names or contacts as sensitive before publishing")


def _range_bounds(m: _Mapper, parameters: str, where: str) -> dict[str, int]:
    found = dict(re.findall(r"(start|end|step)\s*=\s*(-?[\d.]+)", parameters))
    out: dict[str, int] = {}
    for key, bound in (("start", "min"), ("end", "max")):
        value = found.get(key, "")
        if re.fullmatch(r"-?\d+", value):
            out[bound] = int(value)
    if found.get("step", "1") not in ("1", ""):
        m.note(where, f"range step {found['step']} not kept: any whole number in the range")
    return out


def _form_label(m: _Mapper) -> dict[str, str]:
    title = m.settings.get("form_title", "")
    return {m.default_lang or "en": title} if title else {}


def _form_id(m: _Mapper) -> str:
    raw = m.settings.get("form_id", "") or "imported-form"
    return m.ident(raw, "settings form_id", set())


def _version(m: _Mapper) -> int:
    raw = m.settings.get("version", "")
    if re.fullmatch(r"\d{1,15}", raw) and int(raw) >= 1:
        return int(raw)
    if raw:
        m.note("settings", f"version {raw!r} is not a whole number; imported as version 1")
    return 1
