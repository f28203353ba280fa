"""CSV of a filtered case list, with or without identifying fields.

Columns always present: case id, type, date, received, region, violation types, perpetrator
types, status, tags, chain of custody, attachments. Without identifying fields (the default)
only form fields that can be counted are added: choices, numbers, dates, yes/no, none marked
`sensitive`. With `identifying=True`, every answer is added (free text, names, contacts), plus
the reporting device and the assignee.

Consent binds (`app.exports.consent`): the anonymised CSV is data for analysis, so it holds only
cases whose victim agreed to statistics; the identifying CSV is casework, so it holds every case
whose sharing was neither refused nor withdrawn. The others are left out (`left_out` names them).

Cells starting with `=`, `+`, `-`, `@`, tab or CR are prefixed with `'` so a spreadsheet never
runs them as formulas (CSV injection). Values are shown in `lang`; headers are field ids.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
from collections.abc import Sequence

from app.casebook.cases import CaseIndex, CaseSummary
from app.exports import consent

BASE_COLUMNS = (
    "case_id",
    "type",
    "date",
    "received",
    "region",
    "violation_types",
    "perpetrator_types",
    "status",
    "tags",
    "chain_of_custody",
    "attachments",
)
IDENTIFYING_COLUMNS = ("device", "assignee")
COUNTABLE_TYPES = frozenset(
    {"single_choice", "multi_choice", "region", "number", "date", "datetime", "yes_no"}
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def use(identifying: bool) -> str:
    """The consent use (`app.exports.consent.USES`) a CSV with or without identifying fields is."""
    return "csv_full" if identifying else "csv"


def left_out(index: CaseIndex, summaries: Sequence[CaseSummary], identifying: bool) -> list[str]:
    """The ids of the cases `cases_csv` leaves out for want of consent."""
    return consent.permitted(index, summaries, use(identifying))[1]


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def cases_csv(
    index: CaseIndex,
    summaries: Sequence[CaseSummary],
    *,
    identifying: bool = False,
    lang: str = "en",
) -> bytes:
    """The CSV bytes (UTF-8 with BOM, so spreadsheets read Cyrillic) for `summaries`, less the
    cases consent keeps out of it (`left_out`)."""
    rows: list[dict[str, str]] = []
    extra: list[str] = []
    for s in consent.permitted(index, summaries, use(identifying))[0]:
        row = {
            "case_id": s.id,
            "type": s.case_type,
            "date": s.day,
            "received": _dt.datetime.fromtimestamp(s.received_at, _dt.UTC).isoformat()
            if s.received_at
            else "",
            "region": index.option_label("region", s.region, lang) if s.region else "",
            "violation_types": "; ".join(
                index.option_label("violation_type", v, lang) for v in s.violation_types
            ),
            "perpetrator_types": "; ".join(
                index.option_label("perpetrator_type", v, lang) for v in s.perpetrator_types
            ),
            "status": s.status,
            "tags": "; ".join(s.tags),
            "chain_of_custody": "ok" if s.custody_ok else "problem",
            "attachments": str(s.attachments),
        }
        if identifying:
            row["device"] = s.device
            row["assignee"] = s.assignee
        for fv in index.detail(s.id, lang).fields:
            if not identifying and (fv.sensitive or fv.field_type not in COUNTABLE_TYPES):
                continue
            column = f"field.{fv.field_id}"
            if column not in extra:
                extra.append(column)
            row[column] = fv.value
        rows.append(row)
    header = [*BASE_COLUMNS, *(IDENTIFYING_COLUMNS if identifying else ()), *extra]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="raise", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(row.get(k, "")) for k in header})
    return ("\ufeff" + out.getvalue()).encode("utf-8")
