"""A PDF report of one or more cases, with Cyrillic (Kazakh and Kyrgyz letters included).

Use `case_report(detail, t=..., identifying=True) -> bytes` (or `cases_report(details)`).
Text is set in the bundled DejaVu Sans (assets/fonts, Bitstream Vera licence), so no system
font is needed. `t(key)` translates the report's own headings (catalogue keys `pdf.*`); field
labels come already translated in the `CaseDetail`. With `identifying=False`, fields marked
sensitive and the reporting device are left out.

Danger: with identifying fields the PDF holds what the victim said; protect it
(`app.exports.protect`) before it leaves the laptop.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.services.coordinator_cases import CaseDetail

FONT_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"
FONT = "DejaVu"

ENGLISH = {
    "pdf.title": "Case report",
    "pdf.case": "Case",
    "pdf.status": "Status",
    "pdf.assignee": "Assignee",
    "pdf.tags": "Tags",
    "pdf.received": "Received",
    "pdf.device": "Reporting device",
    "pdf.custody": "Chain of custody",
    "pdf.custody_ok": "signature valid, chain intact",
    "pdf.fields": "Report",
    "pdf.attachments": "Attachments",
    "pdf.comments": "Internal comments",
    "pdf.referrals": "Referrals",
    "pdf.revisions": "Revision history",
    "pdf.generated": "Generated",
    "pdf.withheld": "Identifying fields withheld",
}


def _when(seconds: int) -> str:
    if not seconds:
        return "-"
    return _dt.datetime.fromtimestamp(seconds, _dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def case_report(
    detail: CaseDetail,
    *,
    t: Callable[[str], str] = ENGLISH.__getitem__,
    status_label: Callable[[str], str] = str,
    identifying: bool = True,
    now: int = 0,
) -> bytes:
    """One case as a PDF."""
    return cases_report([detail], t=t, status_label=status_label, identifying=identifying, now=now)


def cases_report(
    details: Sequence[CaseDetail],
    *,
    t: Callable[[str], str] = ENGLISH.__getitem__,
    status_label: Callable[[str], str] = str,
    identifying: bool = True,
    now: int = 0,
) -> bytes:
    """Several cases in one PDF, each starting on a new page (needs the `coordinator` extra)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_title(t("pdf.title"))
    if not details:
        pdf.add_page()
        pdf.set_font(FONT, "", 10)
    for detail in details:
        pdf.add_page()
        _write_case(pdf, detail, t, status_label, identifying)
    pdf.ln(4)
    pdf.set_font(FONT, "", 8)
    pdf.multi_cell(0, 4, f"{t('pdf.generated')}: {_when(now)}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _write_case(
    pdf: Any,
    detail: CaseDetail,
    t: Callable[[str], str],
    status_label: Callable[[str], str],
    identifying: bool,
) -> None:

    def heading(text: str, size: int = 13) -> None:
        pdf.ln(2)
        pdf.set_font(FONT, "B", size)
        pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 10)

    def pair(name: str, value: str) -> None:
        pdf.set_font(FONT, "B", 10)
        pdf.multi_cell(0, 5, name, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(0, 5, value or "-", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    s, state, custody = detail.summary, detail.state, detail.custody
    heading(f"{t('pdf.title')}: {s.title or s.id}", 16)
    pair(t("pdf.case"), s.id)
    pair(t("pdf.status"), status_label(state.status))
    pair(t("pdf.assignee"), state.assignee)
    pair(t("pdf.tags"), ", ".join(sorted(state.tags)))
    pair(t("pdf.received"), _when(s.received_at))
    if identifying:
        pair(t("pdf.device"), s.device)
    verdict = (
        t("pdf.custody_ok")
        if custody.ok
        else "; ".join(
            [f"signature {custody.signature}", f"chain {custody.chain}", *custody.problems]
        )
    )
    pair(t("pdf.custody"), verdict)

    heading(t("pdf.fields"))
    section = None
    withheld = False
    for fv in detail.fields:
        if fv.sensitive and not identifying:
            withheld = True
            continue
        if fv.section and fv.section != section:
            section = fv.section
            heading(section, 11)
        pair(fv.label, fv.value)
    if withheld:
        pair(t("pdf.withheld"), "…")

    if detail.attachments:
        heading(t("pdf.attachments"))
        for a in detail.attachments:
            pair(a.name or a.id, f"{a.media_type}, {a.size} B, sha256 {a.sha256}")
    if state.comments:
        heading(t("pdf.comments"))
        for c in state.comments:
            pair(f"{_when(c.created)} · {c.author[:8]}", c.text)
    if state.referrals:
        heading(t("pdf.referrals"))
        for r in state.referrals:
            pair(f"{_when(r.created)} · {r.to}", r.note)
    heading(t("pdf.revisions"))
    for rev in detail.revisions:
        pair(f"v{rev.version} · seq {rev.seq}", f"{_when(rev.created)} · {rev.envelope_id}")
