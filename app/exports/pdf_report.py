"""A PDF report of one or more cases, with Cyrillic (Kazakh and Kyrgyz letters included).

Use `case_report(detail, t=..., identifying=True) -> bytes` (or `cases_report(details)`).
Text is set in the bundled DejaVu Sans (assets/fonts, Bitstream Vera licence), so no system
font is needed. `t(key, **params)` translates the report's own headings (catalogue keys
`pdf.*`, `date.*`); field labels come already translated in the `CaseDetail`. With
`identifying=False`, fields marked sensitive and the reporting device are left out. Photos
(JPEG, PNG) given in `photos` (blob id -> decrypted bytes) are printed under their attachment;
other attachments are listed with their hash. Internal comments are printed only with
`comments=True` (a report for a lawyer or a court should not carry the coordinators' own
notes). `names` turns device and coordinator key ids into the names people know (the short id
stays beside them). Dates are local, in the catalogue's words. A case whose victim did not agree
to public advocacy, or withdrew it, is named in `not_public`: its first page says "Not for public
use" under the title (which cases may be in the PDF at all is decided by the caller, see
`app.exports.consent`).

Danger: with identifying fields the PDF holds what the victim said; protect it
(`app.exports.protect`) before it leaves the laptop.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, Unpack

from app.casebook import dates
from app.casebook.cases import CaseDetail

DATE_TYPES = ("date", "datetime")
PHOTO_WIDTH_MM = 120
PHOTO_HEIGHT_MM = 150

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
    "pdf.reference": "Reference",
    "pdf.version": "Version {version}",
    "pdf.photo_missing": "Photo not included (could not be fetched).",
    "pdf.not_public": "Not for public use: the victim did not agree to public advocacy.",
    "date.months": "Jan, Feb, Mar, Apr, May, Jun, Jul, Aug, Sep, Oct, Nov, Dec",
    "date.pattern": "{month} {day}, {year}",
    "date.with_time": "{date}, {time}",
    "date.month_pattern": "{month} {year}",
}


def _english(key: str, **params: Any) -> str:
    return ENGLISH[key].format(**params)


class ReportOptions(TypedDict, total=False):
    """What `case_report` passes on to `cases_report` (see there)."""

    t: Callable[..., str]
    status_label: Callable[[str], str]
    identifying: bool
    now: int
    photos: Mapping[str, bytes] | None
    comments: bool
    names: Mapping[str, str] | None
    lang: str
    not_public: Collection[str]


def case_report(detail: CaseDetail, **options: Unpack[ReportOptions]) -> bytes:
    """One case as a PDF."""
    return cases_report([detail], **options)


def cases_report(
    details: Sequence[CaseDetail],
    *,
    t: Callable[..., str] = _english,
    status_label: Callable[[str], str] = str,
    identifying: bool = True,
    now: int = 0,
    photos: Mapping[str, bytes] | None = None,
    comments: bool = False,
    names: Mapping[str, str] | None = None,
    lang: str = "en",
    not_public: Collection[str] = (),
) -> bytes:
    """Several cases in one PDF, each starting on a new page (needs the `coordinator` extra)."""
    from fpdf import FPDF

    extras = _Extras(photos or {}, comments, names or {}, lang)
    extras.not_public = frozenset(not_public)
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
        _write_case(pdf, detail, t, status_label, identifying, extras)
    pdf.ln(4)
    pdf.set_font(FONT, "", 8)
    generated = f"{t('pdf.generated')}: {dates.moment(now, t)}"
    pdf.multi_cell(0, 4, generated, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class _Extras:
    def __init__(
        self, photos: Mapping[str, bytes], comments: bool, names: Mapping[str, str], lang: str
    ) -> None:
        self.photos, self.comments, self.names, self.lang = photos, comments, names, lang
        self.not_public: frozenset[str] = frozenset()

    def name(self, key_id: str) -> str:
        """ "Osh phone (c2847fad)", or the short id when no name is known."""
        if not key_id:
            return "-"
        named = self.names.get(key_id, "")
        return f"{named} ({key_id[:8]})" if named else key_id[:8]


def _photo(pdf: Any, data: bytes) -> bool:
    """Print a JPEG or PNG at most PHOTO_WIDTH_MM × PHOTO_HEIGHT_MM; False if it is not one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if img.format not in ("JPEG", "PNG") or not width or not height:
                return False
    except (UnidentifiedImageError, OSError, ValueError):
        return False
    w = float(PHOTO_WIDTH_MM)
    h = w * height / width
    if h > PHOTO_HEIGHT_MM:
        h = float(PHOTO_HEIGHT_MM)
        w = h * width / height
    if pdf.will_page_break(h):
        pdf.add_page()
    pdf.image(io.BytesIO(data), w=w, h=h)
    pdf.ln(2)
    return True


def _write_case(
    pdf: Any,
    detail: CaseDetail,
    t: Callable[..., str],
    status_label: Callable[[str], str],
    identifying: bool,
    extras: _Extras,
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
    heading(f"{t('pdf.title')} {s.reference}: {s.title_in(extras.lang) or s.id}", 16)
    if s.id in extras.not_public:
        heading(t("pdf.not_public"), 12)
    pair(t("pdf.reference"), s.reference)
    pair(t("pdf.case"), s.id)
    pair(t("pdf.status"), status_label(state.status))
    pair(t("pdf.assignee"), extras.name(state.assignee) if state.assignee else "")
    pair(t("pdf.tags"), ", ".join(sorted(state.tags)))
    pair(t("pdf.received"), dates.moment(s.received_at, t))
    if identifying:
        pair(t("pdf.device"), extras.name(s.device))
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
        pair(fv.label, dates.day(fv.value, t) if fv.field_type in DATE_TYPES else fv.value)
    if withheld:
        pair(t("pdf.withheld"), "…")

    if detail.attachments:
        heading(t("pdf.attachments"))
        for a in detail.attachments:
            pair(a.name or a.id, f"{a.media_type}, {a.size} B, sha256 {a.sha256}")
            if a.media_type.startswith("image/"):
                data = extras.photos.get(a.id)
                if data is None or not _photo(pdf, data):
                    pdf.multi_cell(0, 5, t("pdf.photo_missing"), new_x="LMARGIN", new_y="NEXT")
    if state.comments and extras.comments:
        heading(t("pdf.comments"))
        for c in state.comments:
            pair(f"{dates.moment(c.created, t)} · {extras.name(c.author)}", c.text)
    if state.referrals:
        heading(t("pdf.referrals"))
        for r in state.referrals:
            pair(f"{dates.moment(r.created, t)} · {r.to}", r.note)
    heading(t("pdf.revisions"))
    for rev in detail.revisions:
        pair(
            t("pdf.version", version=rev.version),
            f"{dates.moment(rev.created, t)} · {rev.envelope_id}",
        )
