"""Short join codes: an invite a person can read aloud or type, fetched sealed from the server.

A short code is 12 characters of Crockford base32 in three groups of four (`K7QM-3XPA-9RTB`):
11 random characters (55 bits) and one check character. From the 11 characters, scrypt
(N=2^15, r=8, p=1, a fixed label as salt) and then HKDF derive two values:

- the *lookup id* (16 bytes, 32 hex digits): the only thing the server ever sees of the code;
- the *sealing key* (32 bytes): ChaCha20-Poly1305 over the invite's binary form, with
  `SHORT_CODE_SEAL || lookup id` as associated data.

The coordinator uploads `lookup id -> sealed invite`; the phone derives the same two values,
fetches by lookup id, opens and parses. The server can neither read the invite (it lacks the
key) nor alter or swap it (a changed byte, or a record sealed for another code, fails to open).

Why 55 bits are enough: the code is only good while its record lives (the invite's expiry, at
most 30 days, and three fetches), and the server answers a lookup id it does not hold with a
miss that counts against a per-address and a global limit (`server.routers.invite_drops`). At
the global limit of 600 misses an hour, 30 days allow 432,000 guesses: with 1,000 open codes
at once the chance that any guess hits one is 432,000 x 1,000 / 2^55, about 1 in 83 million.
Offline, the server (or anyone holding a copy of a sealed record) must try codes through
scrypt: 2^54 scrypt runs on average, out of reach.

The check character is sum((2i+1) x digit_i) mod 32 over the 11 digits: every single mistyped
character is caught before the phone asks the server, and most swapped neighbours too.

Use `new_code()`, `seal_invite(code, invite)` (coordinator), `parse_code(text)`,
`derive(code)` and `open_invite(code, sealed)` (phone). `ShortCodeError.reason`:
`bad_length`, `bad_character`, `bad_check` (a typo), `tampered` (the sealed record does not
open: altered, swapped, or not for this code).

Danger: the code is a credential until the invite is used, exactly like the long invite text;
don't log it. The lookup id alone opens nothing.
"""

from __future__ import annotations

import dataclasses
import re

from core.crypto import aead
from core.crypto.errors import InvalidCiphertext
from core.crypto.kdf import hkdf_sha256, scrypt_derive
from core.crypto.random import random_bytes
from sync.encoding import ReasonError, crockford_digits
from sync.invite import ALPHABET, Invite, InviteError
from sync.labels import SHORT_CODE_KEY, SHORT_CODE_LOOKUP, SHORT_CODE_SCRYPT, SHORT_CODE_SEAL

DATA_CHARS = 11
CODE_CHARS = DATA_CHARS + 1
GROUP = 4
LOOKUP_SIZE = 16
SCRYPT_LOG_N = 15
MAX_SEALED = 2048
"""The largest sealed invite a server stores or a phone accepts (an invite is under 600 bytes)."""

_SEPARATORS = re.compile(r"[\s\-]")


class ShortCodeError(ReasonError, ValueError):
    """A short code or a sealed invite is not valid. `reason` is machine-readable."""


@dataclasses.dataclass(frozen=True, slots=True)
class Derived:
    """What a short code gives: the lookup id the server knows it by, and the sealing key."""

    lookup: str
    key: bytes = dataclasses.field(repr=False)


def new_code() -> str:
    """A fresh random short code, grouped for reading aloud (`XXXX-XXXX-XXXX`)."""
    digits = [b % 32 for b in random_bytes(DATA_CHARS)]
    return _format([*digits, _check(digits)])


def parse_code(text: str) -> str:
    """The canonical form (`XXXX-XXXX-XXXX`) of a typed code. Case, spaces, dashes and the
    look-alikes O, I, L are forgiven; a wrong length, character or check raises."""
    if not isinstance(text, str) or not text.isascii():
        raise ShortCodeError("bad_character")
    cleaned = _SEPARATORS.sub("", text.strip().upper())
    if len(cleaned) != CODE_CHARS:
        raise ShortCodeError("bad_length")
    digits = crockford_digits(cleaned)
    if digits is None:
        raise ShortCodeError("bad_character")
    if _check(digits[:DATA_CHARS]) != digits[DATA_CHARS]:
        raise ShortCodeError("bad_check")
    return _format(digits)


def looks_like_code(text: str) -> bool:
    """True if `text` has a short code's length once separators are removed (for a screen
    that takes either kind of code)."""
    return len(_SEPARATORS.sub("", text.strip())) == CODE_CHARS


def derive(code: str, *, log_n: int = SCRYPT_LOG_N) -> Derived:
    """The lookup id and sealing key of a code (slow on purpose: about 0.1 s, more on a phone).
    `log_n` exists for known-answer tests only."""
    canonical = parse_code(code).replace("-", "")[:DATA_CHARS]
    material = scrypt_derive(
        canonical.encode("ascii"), SHORT_CODE_SCRYPT, log_n=log_n, allow_weak=log_n < 15
    )
    lookup = hkdf_sha256(material, salt=b"", info=SHORT_CODE_LOOKUP, length=LOOKUP_SIZE)
    key = hkdf_sha256(material, salt=b"", info=SHORT_CODE_KEY, length=aead.KEY_SIZE)
    return Derived(lookup=lookup.hex(), key=key)


def seal_invite(derived: Derived, invite: Invite) -> bytes:
    """The invite sealed under a code's key, bound to its lookup id."""
    return aead.seal(derived.key, invite.to_binary(), _aad(derived.lookup))


def open_invite(derived: Derived, sealed: bytes) -> Invite:
    """Open and parse what the server returned for this code; `ShortCodeError("tampered")` if
    it was altered, swapped or sealed for another code."""
    if not isinstance(sealed, bytes) or len(sealed) > MAX_SEALED:
        raise ShortCodeError("tampered")
    try:
        plain = aead.open_(derived.key, sealed, _aad(derived.lookup))
    except InvalidCiphertext:
        raise ShortCodeError("tampered") from None
    try:
        return Invite.from_binary(plain)
    except InviteError:
        raise ShortCodeError("tampered") from None


def _aad(lookup: str) -> bytes:
    return SHORT_CODE_SEAL + bytes.fromhex(lookup)


def _check(digits: list[int]) -> int:
    return sum((2 * i + 1) * d for i, d in enumerate(digits)) % 32


def _format(digits: list[int]) -> str:
    text = "".join(ALPHABET[d] for d in digits)
    return "-".join(text[i : i + GROUP] for i in range(0, len(text), GROUP))
