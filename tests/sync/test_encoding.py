"""The strict wire encodings: unpadded base64url and canonical JSON."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.encoding import (
    EncodingError,
    b64u_decode,
    b64u_encode,
    canonical_json,
    key_problem,
    parse_json_strict,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.binary(max_size=200))
def test_b64u_round_trips_any_bytes(data: bytes) -> None:
    text = b64u_encode(data)
    assert "=" not in text
    assert b64u_decode(text) == data


def test_b64u_encodes_the_url_safe_alphabet_without_padding() -> None:
    assert b64u_encode(b"\xfb\xff") == "-_8"
    assert b64u_encode(b"") == ""


@pytest.mark.parametrize(
    "text",
    [
        "AA==",  # padding
        "+/8",  # standard alphabet
        "AB",  # non-zero trailing bits: "AA" is the canonical form of b"\x00"
        "A",  # impossible length
        "AAAAA",  # impossible length
        "AA A",  # whitespace
        "AA\n",
        "é",
    ],
)
def test_b64u_decode_refuses_non_canonical_text(text: str) -> None:
    with pytest.raises(EncodingError):
        b64u_decode(text)


def test_b64u_decode_refuses_non_strings() -> None:
    with pytest.raises(EncodingError):
        b64u_decode(b"AAAA")  # type: ignore[arg-type]


def test_b64u_decode_checks_the_expected_length() -> None:
    text = b64u_encode(bytes(32))
    assert b64u_decode(text, length=32) == bytes(32)
    with pytest.raises(EncodingError):
        b64u_decode(text, length=31)


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "x"]}) == b'{"a":[true,null,"x"],"b":1}'


def test_canonical_json_escapes_non_ascii() -> None:
    assert canonical_json({"имя": "Бишкек"}) == (
        b'{"\\u0438\\u043c\\u044f":"\\u0411\\u0438\\u0448\\u043a\\u0435\\u043a"}'
    )


@pytest.mark.parametrize("value", [1.5, {"a": 0.0}, [float("nan")], {1: "x"}])
def test_canonical_json_refuses_floats_and_non_string_keys(value: object) -> None:
    with pytest.raises(EncodingError):
        canonical_json(value)


@given(json_values)
def test_canonical_json_reparses_to_the_same_value_and_bytes(value: object) -> None:
    data = canonical_json(value)
    assert parse_json_strict(data) == value
    assert canonical_json(parse_json_strict(data)) == data


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1,"a":2}',
        b"[1.0]",
        b"[1e3]",
        b"[NaN]",
        b"[Infinity]",
        b"{",
        b"\xff\xfe",
        b"1" * 5000,  # longer than Python converts to int
        b"[" * 100_000,  # deeper than the parser recurses
    ],
)
def test_parse_json_strict_refuses_ambiguous_or_hostile_input(data: bytes) -> None:
    with pytest.raises(EncodingError):
        parse_json_strict(data)


@given(st.binary(max_size=64))
def test_parse_json_strict_raises_only_encoding_error_on_garbage(data: bytes) -> None:
    with contextlib.suppress(EncodingError):
        parse_json_strict(data)


def test_key_problem_names_an_unknown_member_before_a_missing_one() -> None:
    required = frozenset({"a", "b"})
    assert key_problem({"a": 1, "b": 2}, required) is None
    assert key_problem({"a": 1, "b": 2, "c": 3}, required, frozenset({"c"})) is None
    assert key_problem({"a": 1}, required) == "missing_field"
    assert key_problem({"a": 1, "x": 2}, required) == "unknown_field"
    assert key_problem({"a": 1, "b": 2, "x": 3}, required) == "unknown_field"
