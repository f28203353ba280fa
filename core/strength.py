"""How much guessing a passphrase is worth, offline: a small estimator and the floor we enforce.

Use `assess(secret)`: it returns an `Assessment` with the estimated guessing work in bits, a
0–4 `score` for a strength bar, and `problem`, which is None when the secret may protect a vault
and otherwise a `Problem` naming why not (the app turns it into a translated sentence).

Why a floor, and why 40 bits: an examiner with an image of the phone guesses offline, where the
wrong-passphrase wipe does not apply; only scrypt's cost (about 0.05 s of one server core per
guess at our minimum parameters) slows them. 2^40 guesses is then some 1,700 core-years; 10^6
guesses (a 6-digit code) is under a core-day. So the floor (`MIN_BITS`) is what
`MIN_CODE_DIGITS` (12) random digits are worth, about 39.9 bits. A digits-only code must have
at least 12 digits and may lose up to `CODE_SLACK_BITS` to patterns that random digits hold by
chance; a passphrase must clear the floor itself.

The estimate is the cheapest way to build the secret from pieces an attacker tries first (a
minimum-cost split, after zxcvbn's idea): common passwords and keyboard rows (cost: log2 of their
rank), repeats ("aaaa", "abcabc"), runs ("1234", "fedc"), years and dates, and otherwise single
characters at the cost of their character class. It is conservative for words not in its small
list (a made-up word counts as random letters), which is why four unrelated words clear the
floor comfortably and a dictionary attack on one word does not.

Pure Python, no I/O, no dependency.

Danger: an estimate, not a proof. It never sees the secret's owner's name or birthday; the
setup screen's advice (unrelated words, no personal facts) matters as much as this number.
"""

from __future__ import annotations

import dataclasses
import enum
import math

MIN_CODE_DIGITS = 12
MIN_BITS = MIN_CODE_DIGITS * math.log2(10)  # 39.86: twelve random digits
# Twelve random digits often hold something a guesser tries first by chance (a year in one code
# of eight, a date-shaped group, a short run); up to this much of that is not held against a
# code of the full length. A code that is mostly a date or a run still falls below.
CODE_SLACK_BITS = 8.0

# Most common first (rank = position + 1). Passwords seen in public breach corpora, including
# Russian-keyboard and transliterated ones, and words people in the region reach for first.
_COMMON_WORDS = (
    "123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 "
    "baseball abc123 football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 "
    "mustang 1234567890 michael 654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx "
    "123qwe killer trustno1 jordan jennifer zxcvbnm asdfgh hunter buster soccer harley "
    "batman andrew tigger sunshine iloveyou 2000 charlie robert thomas hockey ranger daniel "
    "starwars klaster 112233 george computer michelle jessica pepper 1111 zxcvbn 555555 "
    "11111111 131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess joshua cheese "
    "amanda summer love ashley nicole chelsea biteme matthew access yankees 987654321 dallas "
    "austin thunder taylor matrix admin welcome secret qwe123 1q2w3e4r 1q2w3e 1q2w3e4r5t "
    "zaq12wsx qweasd qweasdzxc 123qweasd parol parol123 privet privet123 lubov lyubov "
    "natasha nastya olga sasha masha dima maxim sergey andrey alexander alex vladimir "
    "marina svetlana tatyana elena irina anna kristina kotik zvezda solnce solnyshko "
    "пароль йцукен йцукенг любовь привет солнце наташа настя маша саша кирилл максим "
    "кыргызстан казахстан бишкек алматы астана ош нарын талас каракол чуй манас айгерим "
    "kyrgyzstan kazakhstan bishkek almaty astana osh naryn talas karakol chui manas "
    "qazaqstan nursultan aigerim aizada aibek nurlan asel dana madina erlan bakyt "
    "allah bismillah insha alga kelechek"
)
COMMON = tuple(_COMMON_WORDS.split())
_RANK = {word: rank for rank, word in enumerate(COMMON, 1)}
KEYBOARD_ROWS = (
    "`1234567890-=",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "йцукенгшщзхъ",
    "фывапролджэ",
    "ячсмитьбю",
)
MIN_ROW_RUN = 4
MIN_SEQUENCE = 4
YEARS = range(1900, 2040)
MAX_ASSESSED = 128


class Problem(enum.StrEnum):
    """Why a secret is refused. Values are stable machine reasons."""

    CODE_TOO_SHORT = "code_too_short"  # digits only, fewer than MIN_CODE_DIGITS
    COMMON = "common"  # mostly a common password or word
    PATTERN = "pattern"  # mostly repeats, runs, keyboard rows or dates
    TOO_GUESSABLE = "too_guessable"  # simply too short or too simple


@dataclasses.dataclass(frozen=True)
class Assessment:
    bits: float
    score: int  # 0 very weak .. 4 strong; 0–1 are below the floor
    problem: Problem | None

    @property
    def acceptable(self) -> bool:
        return self.problem is None


@dataclasses.dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    bits: float
    kind: str  # "char", "common", "pattern"


def _char_bits(char: str) -> float:
    if char.isdigit():
        return math.log2(10)
    if "a" <= char.lower() <= "z":
        return math.log2(26)
    if "а" <= char.lower() <= "я" or char.lower() in "ёңөүұқғһәі":
        return math.log2(33)
    if char == " ":
        return 2.0  # word separators are the first thing tried
    if char.isascii():
        return math.log2(33)
    return math.log2(100)


def _case_bits(word: str) -> float:
    """Extra guesses for the capitalisation of a common word."""
    if word.islower() or not any(c.isalpha() for c in word):
        return 0.0
    if (word[0].isupper() and word[1:].islower()) or word.isupper():
        return 1.0
    return float(sum(1 for c in word if c.isalpha()))


def _pieces(secret: str) -> list[_Piece]:
    """Every non-character piece worth considering."""
    found: list[_Piece] = []
    lowered = secret.lower()
    n = len(secret)
    for i in range(n):
        for j in range(i + 1, n + 1):
            chunk = lowered[i:j]
            rank = _RANK.get(chunk)
            if rank is not None:
                found.append(_Piece(i, j, math.log2(rank) + 1 + _case_bits(secret[i:j]), "common"))
            if j - i >= MIN_ROW_RUN and any(
                chunk in row or chunk[::-1] in row for row in KEYBOARD_ROWS
            ):
                found.append(
                    _Piece(
                        i, j, math.log2(len(KEYBOARD_ROWS) * 13) + 1 + math.log2(j - i), "pattern"
                    )
                )
    found += _runs(secret) + _repeats(secret) + _dates(secret)
    return found


def _runs(secret: str) -> list[_Piece]:
    """Runs like 1234, abcd, 9876 (constant step of ±1 or ±2)."""
    found = []
    n = len(secret)
    for i in range(n - MIN_SEQUENCE + 1):
        step = ord(secret[i + 1]) - ord(secret[i])
        if step not in (-2, -1, 1, 2):
            continue
        j = i + 2
        while j < n and ord(secret[j]) - ord(secret[j - 1]) == step:
            j += 1
        for end in range(i + MIN_SEQUENCE, j + 1):
            found.append(_Piece(i, end, math.log2(36) + 2 + math.log2(end - i), "pattern"))
    return found


def _repeats(secret: str) -> list[_Piece]:
    """A unit of 1–4 characters repeated at least twice ("aaaa", "abab", "1212")."""
    found = []
    n = len(secret)
    for i in range(n):
        for size in range(1, 5):
            unit = secret[i : i + size]
            if len(unit) < size:
                break
            count = 1
            while secret[i + count * size : i + (count + 1) * size] == unit:
                count += 1
            if count >= 2 and count * size >= 4:
                unit_bits = sum(_char_bits(c) for c in unit)
                bits = unit_bits + math.log2(count) + 1
                found.append(_Piece(i, i + count * size, bits, "pattern"))
    return found


def _dates(secret: str) -> list[_Piece]:
    """Years (1900–2039) and 6- or 8-digit dates in any day/month/year order."""
    found = []
    n = len(secret)
    for i in range(n):
        for size in (4, 6, 8):
            chunk = secret[i : i + size]
            if len(chunk) != size or not chunk.isdigit():
                continue
            if size == 4 and int(chunk) in YEARS:
                found.append(_Piece(i, i + 4, math.log2(len(YEARS)), "pattern"))
            elif size in (6, 8) and _is_date(chunk):
                found.append(_Piece(i, i + size, math.log2(366 * len(YEARS)) + 2, "pattern"))
    return found


def _is_date(digits: str) -> bool:
    year_len = len(digits) - 4
    layouts = (
        (digits[:2], digits[2:4], digits[4:]),  # DDMMYY(YY)
        (digits[2:4], digits[:2], digits[4:]),  # MMDDYY(YY)
        (digits[-2:], digits[-4:-2], digits[:year_len]),  # YY(YY)MMDD
    )
    for day, month, year in layouts:
        plausible_year = len(year) == 2 or int(year) in YEARS
        if 1 <= int(day) <= 31 and 1 <= int(month) <= 12 and plausible_year:
            return True
    return False


def _cheapest(secret: str) -> tuple[float, float, float]:
    """(total bits, bits spent on common words, bits spent on patterns) of the cheapest split."""
    n = len(secret)
    by_start: dict[int, list[_Piece]] = {}
    for piece in _pieces(secret):
        by_start.setdefault(piece.start, []).append(piece)
    # best[i] = (bits, chars covered by common, chars covered by pattern) for secret[i:]
    best: list[tuple[float, int, int]] = [(0.0, 0, 0)] * (n + 1)
    for i in range(n - 1, -1, -1):
        bits, common, pattern = best[i + 1]
        choice = (bits + _char_bits(secret[i]), common, pattern)
        for piece in by_start.get(i, []):
            rest_bits, rest_common, rest_pattern = best[piece.end]
            length = piece.end - piece.start
            candidate = (
                rest_bits + piece.bits,
                rest_common + (length if piece.kind == "common" else 0),
                rest_pattern + (length if piece.kind == "pattern" else 0),
            )
            if candidate[0] < choice[0]:
                choice = candidate
        best[i] = choice
    total, common, pattern = best[0]
    return total, float(common), float(pattern)


def assess(secret: str) -> Assessment:
    """Estimate the guessing work for `secret` and say whether it clears the floor."""
    if not isinstance(secret, str):
        raise TypeError("secret must be a str")
    # The estimate grows with the square of the length; past this, the beginning decides.
    secret = secret[:MAX_ASSESSED]
    bits, common, pattern = _cheapest(secret)
    score = 0 if bits < 20 else 1 if bits < MIN_BITS else 2 if bits < 55 else 3 if bits < 70 else 4
    problem: Problem | None = None
    code = secret.isdigit()
    if code and len(secret) < MIN_CODE_DIGITS:
        problem = Problem.CODE_TOO_SHORT
    elif bits < MIN_BITS - (CODE_SLACK_BITS if code else 0.0):
        half = len(secret) / 2
        if common >= half:
            problem = Problem.COMMON
        elif pattern >= half:
            problem = Problem.PATTERN
        else:
            problem = Problem.TOO_GUESSABLE
    return Assessment(bits, score if problem is None else min(score, 1), problem)
