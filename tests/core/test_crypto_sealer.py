"""`core.crypto.sealer.Sealer` writes and reads exactly the bytes of `core.crypto.aead`."""

from __future__ import annotations

import pytest

from core.crypto import aead
from core.crypto.errors import InvalidCiphertext
from core.crypto.sealer import Sealer

KEY = bytes(range(32))


def test_sealer_and_aead_open_each_others_output() -> None:
    sealer = Sealer(KEY)
    assert aead.open_(KEY, sealer.seal(b"record", b"id-1"), b"id-1") == b"record"
    assert sealer.open(aead.seal(KEY, b"record", b"id-1"), b"id-1") == b"record"


def test_sealer_refuses_other_aad_flipped_bits_short_input_and_bad_keys() -> None:
    sealer = Sealer(KEY)
    sealed = bytearray(sealer.seal(b"record", b"id-1"))
    with pytest.raises(InvalidCiphertext):
        sealer.open(bytes(sealed), b"id-2")
    sealed[15] ^= 1
    with pytest.raises(InvalidCiphertext):
        sealer.open(bytes(sealed), b"id-1")
    with pytest.raises(InvalidCiphertext):
        sealer.open(b"short", b"id-1")
    with pytest.raises(ValueError):
        Sealer(b"too short")
    assert "secret" in repr(sealer)
