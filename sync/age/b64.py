"""Strict standard-alphabet base64 as the age header uses it (no padding, canonical).

age writes stanza arguments, bodies and the header MAC in the standard alphabet (`+/`) without
padding, unlike the URL-safe alphabet of `sync.encoding`. `decode` rejects padding, newlines,
other characters and non-zero trailing bits so every value has exactly one encoding.
"""

from __future__ import annotations

import base64
import binascii
import re

_RAW_STD = re.compile(rb"\A[A-Za-z0-9+/]*\Z")


def encode(data: bytes) -> bytes:
    """Unpadded standard base64 of `data`."""
    return base64.b64encode(data).rstrip(b"=")


def decode(text: bytes) -> bytes:
    """Decode unpadded standard base64 strictly; raise `ValueError` if not canonical."""
    if not _RAW_STD.match(text) or len(text) % 4 == 1:
        raise ValueError("not canonical unpadded base64")
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise ValueError("not canonical unpadded base64") from None
    if encode(data) != text:
        raise ValueError("not canonical unpadded base64")
    return data
