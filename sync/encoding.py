"""Strict encodings used on the wire: unpadded base64url and canonical JSON.

Use `b64u_encode` / `b64u_decode` for keys, signatures and binary payloads,
`canonical_json` for anything that is signed, and `CROCKFORD` / `crockford_digits` for codes a
person types (invites, short codes). Decoders reject non-canonical input (padding,
stray characters, non-zero trailing bits, duplicate keys), so one value has exactly one encoding
and a signature can never be made to cover two different readings. `key_problem` is the one
rule every strict parser applies to an object's members, `ReasonError` what they raise.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Set
from typing import Any

_B64U = re.compile(r"\A[A-Za-z0-9_-]*\Z")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Base 32 without I, L, O and U: nothing to misread when a code is read aloud or typed."""
_CROCKFORD_DIGITS = {c: i for i, c in enumerate(CROCKFORD)} | {"O": 0, "I": 1, "L": 1}


class EncodingError(ValueError):
    """Input is not in the one canonical encoding this format allows."""


class ReasonError(Exception):
    """A refusal whose message is its machine-readable `reason` and nothing else (nothing of
    the input), so it is safe to log. The parsers' errors derive from it; a subclass may set a
    default `reason`, taken when none is given."""

    reason: str = "refused"

    def __init__(self, reason: str | None = None) -> None:
        if reason is not None:
            self.reason = reason
        super().__init__(self.reason)


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str, *, length: int | None = None) -> bytes:
    """Decode unpadded base64url strictly; with `length`, also require that many bytes."""
    if not isinstance(text, str) or not _B64U.match(text) or len(text) % 4 == 1:
        raise EncodingError("not canonical unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise EncodingError("not canonical unpadded base64url") from None
    if b64u_encode(data) != text:
        raise EncodingError("not canonical unpadded base64url")
    if length is not None and len(data) != length:
        raise EncodingError(f"expected {length} bytes")
    return data


def crockford_digits(text: str) -> list[int] | None:
    """The base-32 digits of upper-case `text` (O, I and L read as 0, 1 and 1), or None if a
    character is not a digit."""
    digits = [_CROCKFORD_DIGITS.get(char) for char in text]
    return None if None in digits else [d for d in digits if d is not None]


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of a JSON value: sorted keys, no spaces, ASCII only, no floats."""
    _reject_floats(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def parse_json_strict(data: bytes | str) -> Any:
    """Parse JSON, refusing duplicate object keys, NaN/Infinity and floats."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in pairs:
            if key in result:
                raise EncodingError("duplicate key in JSON object")
            result[key] = item
        return result

    def no_constant(name: str) -> Any:
        raise EncodingError("non-finite number in JSON")

    def no_float(text: str) -> Any:
        raise EncodingError("fractional number in JSON")

    try:
        return json.loads(
            data,
            object_pairs_hook=no_duplicates,
            parse_constant=no_constant,
            parse_float=no_float,
        )
    except EncodingError:
        raise
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError, UnicodeDecodeError, over-long integers and too-deep nesting.
        raise EncodingError("malformed JSON") from exc


def _reject_floats(value: Any) -> None:
    if isinstance(value, float):
        raise EncodingError("floats are not allowed in signed JSON")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodingError("JSON object keys must be strings")
            _reject_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_floats(item)


def key_problem(
    keys: Iterable[str], required: Set[str], optional: Set[str] = frozenset()
) -> str | None:
    """`unknown_field` if a key is neither required nor optional, else `missing_field` if a
    required one is absent, else None: what a strict parser refuses an object's members for."""
    present = set(keys)
    if present - required - optional:
        return "unknown_field"
    if required - present:
        return "missing_field"
    return None
