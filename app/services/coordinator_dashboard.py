"""Dashboard aggregation: counts of cases by month, violation type, perpetrator type, region.

Use `aggregate(summaries)` on the output of `CaseIndex.query(filter)`, so the dashboard shows
exactly the cases the list shows. A case with several violation (or perpetrator) types counts
once under each. Cases without a value count under `UNKNOWN`. Plain Python, no Flet.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

from app.services.coordinator_cases import CaseSummary

UNKNOWN = "-"
DIMENSIONS = ("month", "violation_type", "perpetrator_type", "region", "status")


@dataclasses.dataclass(frozen=True, slots=True)
class Dashboard:
    total: int
    by_month: tuple[tuple[str, int], ...]  # chronological, "YYYY-MM"
    by_violation_type: tuple[tuple[str, int], ...]  # largest first
    by_perpetrator_type: tuple[tuple[str, int], ...]
    by_region: tuple[tuple[str, int], ...]
    by_status: tuple[tuple[str, int], ...]

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
        by_month=tuple(sorted(months.items())),
        by_violation_type=_ranked(violations),
        by_perpetrator_type=_ranked(perpetrators),
        by_region=_ranked(regions),
        by_status=_ranked(statuses),
    )
