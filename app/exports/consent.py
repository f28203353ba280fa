"""Which consent each export and chart needs, and which cases it may therefore use.

The rule itself lives in `core.consent` (the phone applies it too); this module is the table of
uses, decided once for every way a case leaves the coordinator's vault or is counted:

| use          | needs                                   | a case without it                 |
|--------------|-----------------------------------------|-----------------------------------|
| `stats`      | statistics given, nothing withdrawn     | left out of every count           |
| `dashboard`  | statistics (the charts are statistics)  | left out; the number is shown     |
| `csv`        | statistics (anonymised rows are data)   | left out; the number is reported  |
| `csv_full`   | sharing (casework: identifying rows)    | left out; the number is reported  |
| `pdf`        | sharing (casework)                      | left out; refused if none is left |
| `bundle`     | sharing (evidence for a lawyer)         | left out; refused if none is left |
| `uwazi`      | sharing and public advocacy             | left out, listed by id            |

"Sharing" holds while the victim has neither refused nor withdrawn it (a report reached the
organisation only with it). A withdrawal, by the documenter's phone or by a coordinator, counts
from the moment it is pulled, for every export made afterwards; nothing can undo it.

Use `standing_of(index, case_id)` for one case and `permitted(index, summaries, use)` for a
list: (the summaries the use may take, the ids it must leave out).

Danger: call `permitted` before the data is built, never after: an export that leaves a case
out must not have read it.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.casebook.cases import CaseIndex, CaseSummary, answers_of
from core.consent import (
    ADVOCACY,
    PURPOSES,
    SHARE_ORG,
    STATISTICS,
    UWAZI,
    Standing,
    allows,
    given,
    standing,
)

CASEWORK = "casework"
"""Not a purpose the victim answers: the organisation's own work on a case it was sent."""

USES: dict[str, tuple[str, ...]] = {
    "stats": (STATISTICS,),
    "dashboard": (STATISTICS,),
    "csv": (STATISTICS,),
    "csv_full": (CASEWORK,),
    "pdf": (CASEWORK,),
    "bundle": (CASEWORK,),
    "uwazi": UWAZI,
}

__all__ = [
    "ADVOCACY",
    "CASEWORK",
    "PURPOSES",
    "SHARE_ORG",
    "STATISTICS",
    "USES",
    "UWAZI",
    "allows",
    "given",
    "may_use",
    "permitted",
    "standing_of",
    "withdrawn_of",
]


def withdrawn_of(index: CaseIndex, case_id: str) -> frozenset[str]:
    """Every purpose withdrawn about a case: by its documenter's phone (stored on the case by
    the pull, only from the case's author) and by coordinators (`withdraw` case events)."""
    out = set(index.state(case_id).withdrawn)
    for item in index.raw(case_id).get("withdrawals") or ():
        if isinstance(item, dict):
            out.update(str(p) for p in item.get("purposes") or () if p in PURPOSES)
    return frozenset(out)


def standing_of(index: CaseIndex, case_id: str) -> Standing:
    """The case's consent as it stands now (latest answers minus everything withdrawn)."""
    data = index.raw(case_id)
    answers = answers_of(CaseIndex._latest_record(data))
    return standing(index.form_for(data), answers, withdrawn_of(index, case_id))


def may_use(case: Standing, use: str) -> bool:
    """Whether a case with this consent may go into `use` (a key of `USES`)."""
    needs = USES[use]
    if needs == (CASEWORK,):
        return case.shared
    return case.allows(needs)


def permitted(
    index: CaseIndex, summaries: Iterable[CaseSummary], use: str
) -> tuple[list[CaseSummary], list[str]]:
    """(the summaries `use` may take, the ids of the ones it must leave out), in order."""
    if use not in USES:
        raise ValueError(f"unknown use {use!r}")
    kept: list[CaseSummary] = []
    left: list[str] = []
    for summary in summaries:
        if may_use(standing_of(index, summary.id), use):
            kept.append(summary)
        else:
            left.append(summary.id)
    return kept, left
