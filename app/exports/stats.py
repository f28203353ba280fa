"""Anonymised statistics: counts only, with small cells suppressed.

Use `statistics(summaries, index=..., lang=...)` for a list of `StatRow`s and `stats_csv(rows)`
for the file. Each row is one value of one dimension (month, violation type, perpetrator type,
region, status) and how many cases have it.

Consent binds: a case is counted only if its latest report says the victim agreed to anonymised
statistics (`core.consent.STATISTICS`) and neither that nor sharing was withdrawn since
(`app.exports.consent`); without an index to read that from, nothing is counted.

Small-cell suppression: a count below `threshold` (default 3) is published as "<3", never as
its exact value, so a reader cannot single out one or two people from a rare combination (a
small town and a rare violation). Zero counts are not listed. The total is published only when
it is itself at least the threshold. Nothing else (ids, dates finer than a month, devices,
free text) is ever included, so the output is safe to share.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable

from app.casebook.cases import CaseIndex, CaseSummary
from app.casebook.dashboard import DIMENSIONS, UNKNOWN, aggregate
from app.exports import consent

DEFAULT_THRESHOLD = 3


@dataclasses.dataclass(frozen=True, slots=True)
class StatRow:
    dimension: str
    value: str
    count: str  # a number as text, or "<N" when suppressed


def suppress(count: int, threshold: int = DEFAULT_THRESHOLD) -> str:
    return f"<{threshold}" if 0 < count < threshold else str(count)


def statistics(
    summaries: Iterable[CaseSummary],
    *,
    index: CaseIndex | None = None,
    lang: str = "en",
    threshold: int = DEFAULT_THRESHOLD,
) -> list[StatRow]:
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    counted = consent.permitted(index, summaries, "stats")[0] if index is not None else []
    board = aggregate(counted)
    rows = [StatRow("total", "all", suppress(board.total, threshold))]
    for dim in DIMENSIONS:
        for value, count in board.dimension(dim):
            shown = value
            if index is not None and value != UNKNOWN and dim in index_facets:
                shown = index.option_label(dim, value, lang)
            rows.append(StatRow(dim, shown, suppress(count, threshold)))
    return rows


index_facets = ("region", "violation_type", "perpetrator_type")


def allows_statistics(index: CaseIndex, case_id: str) -> bool:
    """The victim agreed, in the case's latest report, to anonymised statistics, and neither
    that nor sharing was withdrawn since."""
    return consent.may_use(consent.standing_of(index, case_id), "stats")


def stats_csv(rows: Iterable[StatRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["dimension", "value", "count"])
    for row in rows:
        writer.writerow([row.dimension, row.value, row.count])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
