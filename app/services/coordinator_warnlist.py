"""The warn-list: people whose contacts a victim was forced to give up, so they can be warned.

Use `build(index)` for one `WarnEntry` per pseudonym that reports list under "contacts disclosed
under pressure" (the form's `disclosed_contacts` field, `FIELD`: pseudonyms separated by commas
or semicolons), most recent first, with the cases naming it. Pseudonyms are compared
case-insensitively with spaces folded (`A1` and `a1 ` are one person); the first spelling seen
is shown.

Consent: warning people is casework, so a case counts while its sharing was neither refused nor
withdrawn (`app.exports.consent`, use `csv_full`); a withdrawn case drops out at once.

Pure: no I/O, no Flet. Danger: the entries come from what victims said; never export them.
"""

from __future__ import annotations

import dataclasses
import re

from app.casebook.cases import CaseIndex, answers_of, case_reference, normalise
from app.exports import consent

FIELD = "disclosed_contacts"
_SPLIT = re.compile(r"[,;\n]+")


@dataclasses.dataclass(frozen=True, slots=True)
class WarnEntry:
    pseudonym: str
    cases: tuple[str, ...]  # case ids, newest first
    references: tuple[str, ...]  # their short references, same order
    last: str  # the newest case's day (YYYY-MM-DD), "" when unknown


def pseudonyms(text: object) -> list[str]:
    """The pseudonyms in one answer, trimmed, empty ones dropped."""
    if not isinstance(text, str):
        return []
    return [part.strip() for part in _SPLIT.split(text) if part.strip()]


def build(index: CaseIndex) -> list[WarnEntry]:
    shown: dict[str, str] = {}
    found: dict[str, list[tuple[str, str]]] = {}
    summaries, _ = consent.permitted(index, index.query(), "csv_full")
    for summary in summaries:
        answers = answers_of(CaseIndex._latest_record(index.raw(summary.id)))
        for name in pseudonyms(answers.get(FIELD)):
            key = " ".join(normalise(name).split())
            shown.setdefault(key, name)
            cases = found.setdefault(key, [])
            if all(cid != summary.id for cid, _ in cases):
                cases.append((summary.id, summary.day))
    out = []
    for key, cases in found.items():
        cases.sort(key=lambda c: (c[1], c[0]), reverse=True)
        out.append(
            WarnEntry(
                pseudonym=shown[key],
                cases=tuple(cid for cid, _ in cases),
                references=tuple(case_reference(cid) for cid, _ in cases),
                last=cases[0][1],
            )
        )
    return sorted(out, key=lambda e: (e.last, len(e.cases), e.pseudonym), reverse=True)
