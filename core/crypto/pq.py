"""Post-quantum hybrid KEM: HPKE with MLKEM768-X25519 (X-Wing), on every platform.

`cryptography`'s ML-KEM and HPKE are used where they exist (50 and later); elsewhere (43.0.1 on
Android and iOS) the same bytes come from `xwing` on the pure-Python `mlkem`. `backend()` says
which one runs here; `available()` is true on both. Keys are 32-byte seeds, expanded as the
MLKEM768-X25519 KEM specifies: SHAKE-256(seed, 96) = ML-KEM-768 seed (64 bytes) || X25519
private key (32 bytes).

- `public_from_seed(seed)` -> ML-KEM-768 encapsulation key (1184) || X25519 public key (32).
- `seal(public, info, plaintext)` -> (enc (1120 bytes), ciphertext): HPKE base mode, HKDF-SHA-256,
  ChaCha20-Poly1305, empty associated data. `ValueError` for a public key that fails the
  ML-KEM input checks (FIPS 203 modulus check) or has a low-order X25519 part.
- `open_(seed, enc, ciphertext, info)` -> plaintext, or `InvalidCiphertext`; `ValueError` if
  the X25519 part of `enc` yields the all-zero shared secret (a low-order point).

Danger: the seed is the whole private key. On the Python backend neither side is
constant-time (see `mlkem` and docs/formats/age.md): `seal`, what phones mostly do, can leak
only about its own fresh randomness; `open_` is the exposed path. The X25519 half is
`cryptography`'s either way, so a timing leak costs the post-quantum protection, not the
classic one.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from core.crypto import x25519 as ecdh
from core.crypto import xwing
from core.crypto.errors import CryptoError, InvalidCiphertext

SEED_SIZE = 32
MLKEM_PUBLIC_SIZE = 1184
MLKEM_CIPHERTEXT_SIZE = 1088
PUBLIC_SIZE = MLKEM_PUBLIC_SIZE + 32
ENC_SIZE = MLKEM_CIPHERTEXT_SIZE + 32
_EXPANDED_SIZE = 96
_MLKEM_SEED_SIZE = 64
NATIVE = "cryptography"
PYTHON = "python"


class PQUnavailable(CryptoError):
    """This platform's `cryptography` has no ML-KEM / HPKE support (internal: means `xwing`)."""

    def __init__(self) -> None:
        super().__init__("post-quantum hybrid encryption is not available in cryptography")


def _modules() -> tuple[Any, Any, Any]:
    try:
        from cryptography.hazmat.primitives import hpke
        from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
    except ImportError:
        raise PQUnavailable() from None
    if not hasattr(hpke, "MLKEM768X25519PrivateKey"):
        raise PQUnavailable()
    return hpke, mlkem, x25519


@functools.cache
def native_available() -> bool:
    """True if `cryptography` here provides ML-KEM-768 and HPKE with MLKEM768-X25519."""
    try:
        _, mlkem, _ = _modules()
        mlkem.MLKEM768PrivateKey.from_seed_bytes(bytes(_MLKEM_SEED_SIZE))
    except Exception:  # any failure (missing backend support included) means unavailable
        return False
    return True


def backend() -> str:
    """`NATIVE` where `cryptography` does the work, `PYTHON` where `xwing` does."""
    return NATIVE if native_available() else PYTHON


def available() -> bool:
    """True: hybrid post-quantum encryption works on every platform FieldVault supports."""
    return True


def _expand(seed: bytes) -> tuple[bytes, bytes]:
    if len(seed) != SEED_SIZE:
        raise ValueError("hybrid seed must be 32 bytes")
    expanded = hashlib.shake_256(seed).digest(_EXPANDED_SIZE)
    return expanded[:_MLKEM_SEED_SIZE], expanded[_MLKEM_SEED_SIZE:]


def _private_key(seed: bytes) -> Any:
    hpke, mlkem, x25519 = _modules()
    mlkem_seed, x_secret = _expand(seed)
    return hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(mlkem_seed),
        x25519.X25519PrivateKey.from_private_bytes(x_secret),
    )


def _suite() -> Any:
    hpke, _, _ = _modules()
    return hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def public_from_seed(seed: bytes) -> bytes:
    if not native_available():
        return xwing.public_from_seed(seed)
    _, mlkem, _ = _modules()
    mlkem_seed, x_secret = _expand(seed)
    mlkem_public = mlkem.MLKEM768PrivateKey.from_seed_bytes(mlkem_seed).public_key()
    return mlkem_public.public_bytes_raw() + ecdh.public_from_private(x_secret)


def seal(public: bytes, info: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    if not native_available():
        return xwing.seal(public, info, plaintext)
    hpke, mlkem, x25519 = _modules()
    if len(public) != PUBLIC_SIZE:
        raise ValueError("hybrid public key must be 1216 bytes")
    try:
        key = hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(public[:MLKEM_PUBLIC_SIZE]),
            x25519.X25519PublicKey.from_public_bytes(public[MLKEM_PUBLIC_SIZE:]),
        )
    except ValueError:
        raise ValueError("invalid hybrid public key") from None
    sealed = _suite().encrypt(plaintext, key, info=info)
    return sealed[:ENC_SIZE], sealed[ENC_SIZE:]


def open_(seed: bytes, enc: bytes, ciphertext: bytes, info: bytes) -> bytes:
    if len(enc) != ENC_SIZE:
        raise ValueError("hybrid enc must be 1120 bytes")
    if not native_available():
        return xwing.open_(seed, enc, ciphertext, info)
    _, x_secret = _expand(seed)
    # Raises ValueError for a low-order X25519 share, before HPKE hides the reason.
    ecdh.shared_secret(x_secret, enc[MLKEM_CIPHERTEXT_SIZE:])
    try:
        return bytes(_suite().decrypt(enc + ciphertext, _private_key(seed), info=info))
    except Exception:  # InvalidTag and backend errors alike: one opaque failure
        raise InvalidCiphertext() from None
