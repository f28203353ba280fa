"""Dashboard aggregation: counts of cases by month, violation type, perpetrator type, region.

Use `aggregate(summaries)` on the output of `CaseIndex.query(filter)`, so the dashboard shows
exactly the cases the list shows. A case with several violation (or perpetrator) types counts
once under each. Cases without a value count under `UNKNOWN`. Months run without a gap from the
first to the last month with a case (a month without cases is there with 0, so a quiet month is
seen as quiet rather than vanishing); cases without a date come last, under `UNKNOWN`.
`with_entities(board, links, case_ids)` adds the counts per perpetrator (badge, unit, fake
profile) and per station from the link index (`core.links`): cases merged into one count once.
Plain Python, no Flet.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

from app.casebook.cases import CaseSummary
from core.links import PERPETRATOR_KINDS, LinkIndex

UNKNOWN = "-"
MAX_MONTHS = 240  # a mistyped year must not draw centuries of empty months
DIMENSIONS = ("month", "violation_type", "perpetrator_type", "region", "status")


@dataclasses.dataclass(frozen=True, slots=True)
class Dashboard:
    total: int
    by_month: tuple[tuple[str, int], ...]  # chronological, "YYYY-MM"
    by_violation_type: tuple[tuple[str, int], ...]  # largest first
    by_perpetrator_type: tuple[tuple[str, int], ...]
    by_region: tuple[tuple[str, int], ...]
    by_status: tuple[tuple[str, int], ...]
    left_out: int = 0  # filtered cases not counted: no consent to statistics (or withdrawn)
    # (kind, value) -> cases, largest first: badge / unit / profile, and station
    by_perpetrator: tuple[tuple[tuple[str, str], int], ...] = ()
    by_station: tuple[tuple[tuple[str, str], int], ...] = ()

    def dimension(self, name: str) -> tuple[tuple[str, int], ...]:
        return {
            "month": self.by_month,
            "violation_type": self.by_violation_type,
            "perpetrator_type": self.by_perpetrator_type,
            "region": self.by_region,
            "status": self.by_status,
        }[name]


def _ranked(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _month_after(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _months(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    """Every month from the first to the last seen, empty ones with 0; `UNKNOWN` last."""
    dated = sorted(m for m in counter if m != UNKNOWN and _is_month(m))
    out: list[tuple[str, int]] = []
    if dated:
        month = dated[0]
        while month <= dated[-1] and len(out) < MAX_MONTHS:
            out.append((month, counter.get(month, 0)))
            month = _month_after(month)
    shown = {m for m, _ in out}
    out.extend((m, c) for m, c in sorted(counter.items()) if m not in shown)
    return tuple(out)


def _is_month(text: str) -> bool:
    return (
        len(text) == 7
        and text[4] == "-"
        and text[:4].isdigit()
        and text[5:].isdigit()
        and 1 <= int(text[5:]) <= 12
    )


def aggregate(summaries: Iterable[CaseSummary]) -> Dashboard:
    months: Counter[str] = Counter()
    violations: Counter[str] = Counter()
    perpetrators: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    total = 0
    for s in summaries:
        total += 1
        months[s.day[:7] if s.day else UNKNOWN] += 1
        violations.update(s.violation_types or (UNKNOWN,))
        perpetrators.update(s.perpetrator_types or (UNKNOWN,))
        regions[s.region or UNKNOWN] += 1
        statuses[s.status] += 1
    return Dashboard(
        total=total,
        by_month=_months(months),
        by_violation_type=_ranked(violations),
        by_perpetrator_type=_ranked(perpetrators),
        by_region=_ranked(regions),
        by_status=_ranked(statuses),
    )


def with_entities(board: Dashboard, index: LinkIndex, case_ids: Iterable[str]) -> Dashboard:
    """`board` with the per-perpetrator and per-station counts among `case_ids`, each entity
    as people wrote it (`LinkIndex.shown`)."""
    ids = list(case_ids)
    perpetrators = index.counts(PERPETRATOR_KINDS, ids)
    stations = index.counts(("station",), ids)
    return dataclasses.replace(
        board,
        by_perpetrator=tuple(((k, index.shown(k, v)), n) for k, v, n in perpetrators),
        by_station=tuple(((k, index.shown(k, v)), n) for k, v, n in stations),
    )
