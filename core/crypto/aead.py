"""Authenticated encryption for small values (records, key slots).

Use `seal(key, plaintext, aad)` and `open_(key, sealed, aad)`. The output is
`nonce (12 bytes) || ChaCha20-Poly1305 ciphertext and tag`. A fresh random nonce is drawn for
every call, which is safe for up to 2^32 messages per key; FieldVault's vault re-keys long before.

`aad` binds the ciphertext to its context (a record id, a slot index): a ciphertext moved to
another context fails to open. Every failure is the same `InvalidCiphertext`.
"""

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from core.crypto.errors import InvalidCiphertext
from core.crypto.random import random_bytes

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = NONCE_SIZE + TAG_SIZE


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_SIZE:
        raise ValueError("AEAD key must be 32 bytes")


def seal(key: bytes, plaintext: bytes, aad: bytes, *, nonce: bytes | None = None) -> bytes:
    """Encrypt and authenticate `plaintext`, bound to `aad`. `nonce` is for known-answer tests."""
    _check_key(key)
    if nonce is None:
        nonce = random_bytes(NONCE_SIZE)
    elif len(nonce) != NONCE_SIZE:
        raise ValueError("nonce must be 12 bytes")
    return nonce + ChaCha20Poly1305(bytes(key)).encrypt(nonce, plaintext, aad)


def open_(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Decrypt what `seal` produced with the same key and `aad`, or raise `InvalidCiphertext`."""
    _check_key(key)
    if len(sealed) < OVERHEAD:
        raise InvalidCiphertext()
    try:
        return ChaCha20Poly1305(bytes(key)).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], aad)
    except InvalidTag:
        raise InvalidCiphertext() from None


def encrypt_with_nonce(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Raw ChaCha20-Poly1305 with a caller-managed nonce (for STREAM constructions only).

    Danger: reusing a (key, nonce) pair destroys confidentiality. Use `seal` unless you are
    implementing a construction that derives unique nonces itself (age STREAM, blob chunks).
    """
    _check_key(key)
    return ChaCha20Poly1305(bytes(key)).encrypt(nonce, plaintext, aad or None)


def decrypt_with_nonce(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes = b"") -> bytes:
    """Inverse of `encrypt_with_nonce`; raises `InvalidCiphertext` on any failure."""
    _check_key(key)
    try:
        return ChaCha20Poly1305(bytes(key)).decrypt(nonce, ciphertext, aad or None)
    except InvalidTag:
        raise InvalidCiphertext() from None
