"""Bech32 (BIP 173) without the 90-character limit, as age uses it for keys.

`encode(hrp, data)` returns lowercase text (callers upper-case secret keys); `decode(text)`
returns `(hrp, data)` with `hrp` in the case it was written, and rejects mixed case, bad
characters, bad padding and bad checksums with `ValueError`. Bech32m is not accepted.
"""

from __future__ import annotations

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_REV = {c: i for i, c in enumerate(_CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_CHECKSUM_LENGTH = 6


def _table_entry(top: int) -> int:
    value = 0
    for i in range(5):
        if (top >> i) & 1:
            value ^= _GENERATOR[i]
    return value


_POLYMOD_TABLE = tuple(_table_entry(top) for top in range(32))


def _polymod(values: list[int]) -> int:
    chk = 1
    table = _POLYMOD_TABLE
    for value in values:
        chk = ((chk & 0x1FFFFFF) << 5) ^ value ^ table[chk >> 25]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (acc << (to_bits - bits)) & max_value:
        raise ValueError("invalid Bech32 padding")
    return out


def encode(hrp: str, data: bytes) -> str:
    """Encode `data` under the human-readable part `hrp` (lowercase output)."""
    hrp = hrp.lower()
    values = _convert_bits(data, 8, 5, True)
    polymod = _polymod([*_hrp_expand(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(_CHECKSUM_LENGTH)]
    return hrp + "1" + "".join(_CHARSET[v] for v in values + checksum)


def decode(text: str) -> tuple[str, bytes]:
    """Decode Bech32 `text` into `(hrp, data)`; raise `ValueError` if it is not valid."""
    if not isinstance(text, str):
        raise TypeError("Bech32 text must be a string")
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case in Bech32 string")
    if not text.isascii() or not text.isprintable() or " " in text:
        raise ValueError("invalid character in Bech32 string")
    pos = text.rfind("1")
    if pos < 1 or pos + _CHECKSUM_LENGTH + 1 > len(text):
        raise ValueError("separator misplaced in Bech32 string")
    hrp = text[:pos]
    lowered = text.lower()
    try:
        values = [_CHARSET_REV[c] for c in lowered[pos + 1 :]]
    except KeyError:
        raise ValueError("invalid character in Bech32 data") from None
    if _polymod([*_hrp_expand(hrp.lower()), *values]) != 1:
        raise ValueError("invalid Bech32 checksum")
    data = bytes(_convert_bits(values[:-_CHECKSUM_LENGTH], 5, 8, False))
    return hrp, data
