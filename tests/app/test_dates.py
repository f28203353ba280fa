"""Dates and times as people type them in each language, and the stored (ISO) form."""

from __future__ import annotations

import datetime

import pytest

from app.ui import dates


@pytest.mark.parametrize("lang", ["ru", "ky", "kk"])
def test_the_dotted_local_form_is_read_in_russian_kyrgyz_and_kazakh(lang: str) -> None:
    assert dates.parse_date("03.12.2026", lang) == datetime.date(2026, 12, 3)
    assert dates.parse_date(" 3.12.2026 ", lang) == datetime.date(2026, 12, 3)
    assert dates.parse_date("03/12/2026", lang) == datetime.date(2026, 12, 3)
    assert dates.format_date("2026-12-03", lang) == "03.12.2026"


@pytest.mark.parametrize("lang", ["en", "ru", "ky", "kk"])
def test_iso_is_read_in_every_language(lang: str) -> None:
    assert dates.parse_date("2026-12-03", lang) == datetime.date(2026, 12, 3)
    assert dates.to_iso("2026-12-03", lang) == "2026-12-03"


def test_english_shows_iso_and_does_not_guess_at_dotted_dates() -> None:
    assert dates.format_date(datetime.date(2026, 12, 3), "en") == "2026-12-03"
    assert dates.parse_date("03.12.2026", "en") is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "31.02.2026",
        "00.01.2026",
        "03.13.2026",
        "2026-13-01",
        "3.12.26",
        "03.12.1850",
        "03.12.2150",
        "вчера",
        "03-12-2026",
    ],
)
def test_text_that_is_not_a_date_is_refused_and_kept_as_typed(text: str) -> None:
    assert dates.parse_date(text, "ru") is None
    assert dates.to_iso(text, "ru") == text.strip()


def test_a_stored_value_that_is_not_a_date_is_shown_unchanged() -> None:
    assert dates.format_date("31.02.2026", "ru") == "31.02.2026"
    assert dates.format_date(None, "ru") == ""


@pytest.mark.parametrize(
    ("text", "stored"), [("14:30", "14:30"), ("9:05", "09:05"), ("14.30", "14:30")]
)
def test_times_are_read_with_a_colon_or_a_dot(text: str, stored: str) -> None:
    assert dates.time_to_stored(text) == stored


@pytest.mark.parametrize("text", ["24:00", "12:60", "1430", "noon", ""])
def test_text_that_is_not_a_time_is_refused(text: str) -> None:
    assert dates.parse_time(text) is None
    assert dates.time_to_stored(text) == text
