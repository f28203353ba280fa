"""Dates and times as people type them, in each language, and back to the stored form.

Answers and filters keep ISO dates (`2026-12-03`) and 24-hour times (`14:30`); a person types
and reads the local form: `03.12.2026` in Russian, Kyrgyz and Kazakh, `2026-12-03` in English.
ISO is accepted in every language.

Use `parse_date(text, lang)` -> `date | None` (None for empty or unreadable text; the caller
shows `form.error.bad_date`), `format_date(iso_or_date, lang)` for the text a field shows,
`parse_time(text)` / `format_time(...)` for times, and `to_iso(text, lang)` for the stored value
(the ISO date, or the text unchanged when it cannot be read, so a validator refuses it and
nothing typed is lost). Dates before 1900 or after 2100 are refused as typos.
"""

from __future__ import annotations

import datetime as _dt
import re

DOTTED = ("ru", "ky", "kk")
"""Languages whose local date is day.month.year."""
EARLIEST = _dt.date(1900, 1, 1)
LATEST = _dt.date(2100, 12, 31)

_ISO = re.compile(r"\A(\d{4})-(\d{1,2})-(\d{1,2})\Z")
_DOTTED = re.compile(r"\A(\d{1,2})[./](\d{1,2})[./](\d{4})\Z")
_TIME = re.compile(r"\A(\d{1,2})[:.](\d{2})\Z")


def parse_date(text: str, lang: str) -> _dt.date | None:
    """The date `text` names in `lang`'s local form or ISO; None if empty or unreadable."""
    text = (text or "").strip()
    match = _ISO.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DOTTED.match(text) if lang in DOTTED else None
        if not match:
            return None
        day, month, year = (int(g) for g in match.groups())
    try:
        value = _dt.date(year, month, day)
    except ValueError:
        return None
    return value if EARLIEST <= value <= LATEST else None


def format_date(value: _dt.date | str | None, lang: str) -> str:
    """The local text of a date (an ISO string that is not a date is shown unchanged)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        parsed = parse_date(value, "en")
        if parsed is None:
            return value
        value = parsed
    return value.strftime("%d.%m.%Y") if lang in DOTTED else value.isoformat()


def to_iso(text: str, lang: str) -> str:
    """The ISO date for typed text, or the text itself (stripped) when it is not a date."""
    parsed = parse_date(text, lang)
    return parsed.isoformat() if parsed else (text or "").strip()


def parse_time(text: str) -> _dt.time | None:
    """`14:30`, `9:05` or `14.30` as a time; None if empty or unreadable."""
    match = _TIME.match((text or "").strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return _dt.time(hour, minute)


def format_time(value: _dt.time | None) -> str:
    return "" if value is None else value.strftime("%H:%M")


def time_to_stored(text: str) -> str:
    """`HH:MM` for a readable time, else the text itself (stripped)."""
    parsed = parse_time(text)
    return format_time(parsed) if parsed else (text or "").strip()


def hint(lang: str) -> str:
    """What a date field shows before anything is typed."""
    return "03.12.2026" if lang in DOTTED else "2026-12-03"
