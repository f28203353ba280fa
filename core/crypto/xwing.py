"""HPKE with the MLKEM768-X25519 (X-Wing) KEM in Python, on `mlkem` and `cryptography` 43.

The fallback behind `pq` where `cryptography` has no ML-KEM or HPKE; use `pq`, not this module.
Same verbs and bytes as `pq`: `public_from_seed(seed)`, `seal(public, info, plaintext)` ->
(enc, ciphertext), `open_(seed, enc, ciphertext, info)`. What it implements:

- X-Wing (draft-connolly-cfrg-xwing-kem): SHAKE-256(seed, 96) = ML-KEM-768 seed d || z (64) ||
  X25519 private key (32); ciphertext ct_M || ct_X; shared secret
  SHA3-256(ss_M || ss_X || ct_X || pk_X || XWING_LABEL).
- HPKE base mode (RFC 9180 section 5.1) with KEM 0x647A, HKDF-SHA-256 and ChaCha20-Poly1305,
  one message (sequence number 0), empty associated data.

Danger: ML-KEM decapsulation here is not constant-time (see `mlkem`).
"""

from __future__ import annotations

import hashlib
import hmac

from core.crypto import aead, mlkem
from core.crypto import x25519 as ecdh

SEED_SIZE = 32
PUBLIC_SIZE = mlkem.ENCAPSULATION_KEY_SIZE + ecdh.KEY_SIZE
ENC_SIZE = mlkem.CIPHERTEXT_SIZE + ecdh.KEY_SIZE
XWING_LABEL = b"\\.//^\\"
KEM_ID = 0x647A
KDF_ID = 0x0001  # HKDF-SHA256
AEAD_ID = 0x0003  # ChaCha20Poly1305
SUITE_ID = (
    b"HPKE" + KEM_ID.to_bytes(2, "big") + KDF_ID.to_bytes(2, "big") + AEAD_ID.to_bytes(2, "big")
)
HPKE_VERSION = b"HPKE-v1"
MODE_BASE = b"\x00"
_EXPANDED_SIZE = mlkem.SEED_SIZE + ecdh.KEY_SIZE


def _expand(seed: bytes) -> tuple[bytes, bytes]:
    if len(seed) != SEED_SIZE:
        raise ValueError("hybrid seed must be 32 bytes")
    expanded = hashlib.shake_256(seed).digest(_EXPANDED_SIZE)
    return expanded[: mlkem.SEED_SIZE], expanded[mlkem.SEED_SIZE :]


def _combine(ss_m: bytes, ss_x: bytes, ct_x: bytes, pk_x: bytes) -> bytes:
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()


def _labeled_extract(salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.digest(salt, HPKE_VERSION + SUITE_ID + label + ikm, "sha256")


def _labeled_expand(prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    # One HKDF-Expand block is enough: every output here is at most 32 bytes.
    labeled_info = length.to_bytes(2, "big") + HPKE_VERSION + SUITE_ID + label + info
    return hmac.digest(prk, labeled_info + b"\x01", "sha256")[:length]


def _key_schedule(shared_secret: bytes, info: bytes) -> tuple[bytes, bytes]:
    """(key, base nonce) of HPKE's KeySchedule in base mode (no PSK)."""
    psk_id_hash = _labeled_extract(b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(b"", b"info_hash", info)
    context = MODE_BASE + psk_id_hash + info_hash
    secret = _labeled_extract(shared_secret, b"secret", b"")
    key = _labeled_expand(secret, b"key", context, aead.KEY_SIZE)
    nonce = _labeled_expand(secret, b"base_nonce", context, aead.NONCE_SIZE)
    return key, nonce


def public_from_seed(seed: bytes) -> bytes:
    mlkem_seed, x_secret = _expand(seed)
    ek, _ = mlkem.keygen(mlkem_seed)
    return ek + ecdh.public_from_private(x_secret)


def seal(
    public: bytes, info: bytes, plaintext: bytes, *, ephemeral: tuple[bytes, bytes] | None = None
) -> tuple[bytes, bytes]:
    """`ephemeral` = (X25519 private key, ML-KEM message m) is for known-answer tests only."""
    if len(public) != PUBLIC_SIZE:
        raise ValueError("hybrid public key must be 1216 bytes")
    pk_m, pk_x = public[: mlkem.ENCAPSULATION_KEY_SIZE], public[mlkem.ENCAPSULATION_KEY_SIZE :]
    x_private, message = ephemeral if ephemeral is not None else (ecdh.generate()[0], None)
    try:
        ss_m, ct_m = mlkem.encaps(pk_m, message)
        ct_x = ecdh.public_from_private(x_private)
        ss_x = ecdh.shared_secret(x_private, pk_x)
    except ValueError:
        raise ValueError("invalid hybrid public key") from None
    key, nonce = _key_schedule(_combine(ss_m, ss_x, ct_x, pk_x), info)
    return ct_m + ct_x, aead.encrypt_with_nonce(key, nonce, plaintext)


def open_(seed: bytes, enc: bytes, ciphertext: bytes, info: bytes) -> bytes:
    """The plaintext, `InvalidCiphertext`, or `ValueError` for a low-order X25519 share."""
    if len(enc) != ENC_SIZE:
        raise ValueError("hybrid enc must be 1120 bytes")
    mlkem_seed, x_secret = _expand(seed)
    ct_m, ct_x = enc[: mlkem.CIPHERTEXT_SIZE], enc[mlkem.CIPHERTEXT_SIZE :]
    ss_x = ecdh.shared_secret(x_secret, ct_x)  # ValueError for a low-order share
    _, dk = mlkem.keygen(mlkem_seed)
    ss_m = mlkem.decaps(dk, ct_m)
    pk_x = ecdh.public_from_private(x_secret)
    key, nonce = _key_schedule(_combine(ss_m, ss_x, ct_x, pk_x), info)
    return aead.decrypt_with_nonce(key, nonce, ciphertext)
