"""The few primitives the age format is built from, with its labels as named constants.

- file keys are 16 random bytes; stanzas wrap them with ChaCha20-Poly1305 under a zero nonce
  (safe because every wrapping key is used exactly once);
- the header MAC key and the payload key are derived from the file key with HKDF-SHA-256.
"""

from __future__ import annotations

from core.crypto import aead
from core.crypto.errors import InvalidCiphertext
from core.crypto.hashing import equal, hmac_sha256
from core.crypto.kdf import hkdf_sha256
from core.crypto.random import random_bytes

FILE_KEY_SIZE = 16
LABEL_HEADER = b"header"
LABEL_PAYLOAD = b"payload"
_ZERO_NONCE = bytes(12)


class WrongFileKeySize(Exception):
    """A stanza body is not exactly one wrapped 16-byte file key (a malformed stanza)."""


def new_file_key() -> bytes:
    return random_bytes(FILE_KEY_SIZE)


def wrap_file_key(wrapping_key: bytes, file_key: bytes) -> bytes:
    return aead.encrypt_with_nonce(wrapping_key, _ZERO_NONCE, file_key)


def unwrap_file_key(wrapping_key: bytes, body: bytes) -> bytes | None:
    """The file key, or None if the tag does not verify (the stanza is for someone else).

    Raise `WrongFileKeySize` when the body cannot hold a 16-byte file key.
    """
    if len(body) != FILE_KEY_SIZE + aead.TAG_SIZE:
        raise WrongFileKeySize()
    try:
        return aead.decrypt_with_nonce(wrapping_key, _ZERO_NONCE, body)
    except InvalidCiphertext:
        return None


def header_mac(file_key: bytes, mac_input: bytes) -> bytes:
    key = hkdf_sha256(file_key, salt=b"", info=LABEL_HEADER)
    return hmac_sha256(key, mac_input)


def mac_matches(file_key: bytes, mac_input: bytes, mac: bytes) -> bool:
    return equal(header_mac(file_key, mac_input), mac)


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return hkdf_sha256(file_key, salt=nonce, info=LABEL_PAYLOAD)
