"""Dates and times as a coordinator reads them: local time, words of their language.

Use `moment(seconds, t)` for a point in time (`3 дек. 2026 г., 22:40`), `day(iso, t)` for an
answer's date or date-time (`2026-12-03` or `2026-12-03T22:40`) and `month(yyyy_mm, t)` for a
dashboard month. `t` is the coordinator catalogue's `t`: month names and patterns are its
`date.*` keys, so each language writes dates its own way. Times are shown in the computer's
local zone unless `tz` is given (tests give one). Plain Python, no Flet.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

Translate = Callable[..., str]


def _month_name(number: int, t: Translate, key: str = "date.months") -> str:
    """The month's short name: `date.months` inside a date (Russian: genitive, "2 мая"),
    `date.months_standalone` on its own ("май 2025")."""
    names = [m.strip() for m in t(key).split(",")]
    return names[number - 1] if len(names) == 12 else f"{number:02d}"


def _date(value: _dt.date, t: Translate) -> str:
    return t("date.pattern", day=value.day, month=_month_name(value.month, t), year=value.year)


def moment(seconds: int, t: Translate, tz: _dt.tzinfo | None = None) -> str:
    """A Unix time as a local date and time; "—" for none."""
    if not seconds:
        return "—"
    when = _dt.datetime.fromtimestamp(seconds, _dt.UTC).astimezone(tz)
    return t("date.with_time", date=_date(when.date(), t), time=when.strftime("%H:%M"))


def day(iso: str, t: Translate) -> str:
    """An answer's date (`YYYY-MM-DD`, optionally with `THH:MM`) in words; the text itself
    when it is not such a date; "—" for none. An answer's time is the reporter's local time
    and is shown as written."""
    if not iso:
        return "—"
    try:
        value = _dt.date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    shown = _date(value, t)
    clock = iso[11:16]
    if len(iso) > 10 and len(clock) == 5 and clock[2] == ":":
        return t("date.with_time", date=shown, time=clock)
    return shown


def month(yyyy_mm: str, t: Translate) -> str:
    """A `YYYY-MM` month as words (`дек. 2026`); the text itself when it is not one."""
    try:
        year, number = int(yyyy_mm[:4]), int(yyyy_mm[5:7])
    except ValueError:
        return yyyy_mm
    if len(yyyy_mm) != 7 or not 1 <= number <= 12:
        return yyyy_mm
    name = _month_name(number, t, "date.months_standalone")
    return t("date.month_pattern", month=name, year=year)
