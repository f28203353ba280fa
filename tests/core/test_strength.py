"""The passphrase floor: about 40 bits of guessing work, 12+ digits for a numeric code."""

from __future__ import annotations

import random

import pytest

from core.strength import MIN_BITS, MIN_CODE_DIGITS, Problem, assess


@pytest.mark.parametrize("code", ["123456", "20261121", "48151623", "97310264815"])
def test_numeric_codes_shorter_than_twelve_digits_are_refused(code: str) -> None:
    assert len(code) < MIN_CODE_DIGITS
    assert assess(code).problem is Problem.CODE_TOO_SHORT


@pytest.mark.parametrize("code", ["740218395061", "9302718465013", "58204716392857"])
def test_long_random_looking_codes_are_accepted(code: str) -> None:
    assessment = assess(code)
    assert assessment.problem is None and assessment.acceptable


@pytest.mark.parametrize(
    "code", ["199001011990", "201911230405", "111111111111", "123412341234", "555512345555"]
)
def test_long_codes_made_of_dates_runs_or_repeats_are_refused(code: str) -> None:
    assert assess(code).problem in (Problem.PATTERN, Problem.COMMON)


def test_twelve_random_digits_are_almost_always_accepted() -> None:
    rng = random.Random(13)
    codes = ["".join(rng.choice("0123456789") for _ in range(12)) for _ in range(1000)]
    refused = sum(1 for code in codes if assess(code).problem is not None)
    assert refused < 60  # a few hold a year or a date by chance, and say so


@pytest.mark.parametrize(
    "secret", ["password", "Password1234", "qwertyuiop12", "Bishkek2024", "йцукен123", "parol123"]
)
def test_common_passwords_are_refused_whatever_their_case_or_suffix(secret: str) -> None:
    assert assess(secret).problem is Problem.COMMON


@pytest.mark.parametrize("secret", ["abcdabcdabcd", "zzzzzzzzzzzzzz", "asdfghjkl;'"])
def test_keyboard_rows_runs_and_repeats_are_refused(secret: str) -> None:
    assert assess(secret).problem is Problem.PATTERN


@pytest.mark.parametrize("secret", ["jazzy", "Tk9!", "river"])
def test_short_secrets_are_refused_as_too_guessable(secret: str) -> None:
    assert assess(secret).problem is Problem.TOO_GUESSABLE


@pytest.mark.parametrize(
    "secret",
    [
        "walnut orchard lantern",
        "тихий-вечер-сорок-два",  # ru
        "көк тоо үйрөк шамал",  # ky
        "әдемі құс ұшты ертең",  # kk
        "Tall-Maple-Quietly-91",
    ],
)
def test_a_few_unrelated_words_clear_the_floor_in_every_script(secret: str) -> None:
    assessment = assess(secret)
    assert assessment.problem is None and assessment.bits >= MIN_BITS


def test_the_score_never_looks_good_for_a_refused_secret() -> None:
    for secret in ("123456", "password", "199001011990", "jazzy", "Bishkek2024"):
        assessment = assess(secret)
        assert assessment.problem is not None and assessment.score <= 1
    assert assess("walnut orchard lantern").score == 4


def test_only_strings_are_assessed() -> None:
    with pytest.raises(TypeError):
        assess(b"bytes")  # type: ignore[arg-type]


def test_a_very_long_secret_is_judged_by_its_first_characters_quickly() -> None:
    assert assess("a" * 10_000).problem is Problem.PATTERN
    assert assess("walnut orchard lantern " * 400).problem is None
