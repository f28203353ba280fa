"""Key derivation: scrypt for passphrases, HKDF-SHA-256 for keys.

`scrypt_derive` refuses parameters below the project's floor (N=2^15, r=8) unless
`allow_weak=True`, which exists only for known-answer tests of external formats (age vectors use
small work factors) and must never be used for a vault.
"""

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MIN_SCRYPT_LOG_N = 15
MIN_SCRYPT_R = 8
# OpenSSL refuses scrypt calls needing more memory than its default cap; we raise it explicitly.
_MAX_SCRYPT_LOG_N = 22


def scrypt_derive(
    passphrase: bytes,
    salt: bytes,
    *,
    log_n: int,
    r: int = 8,
    p: int = 1,
    length: int = 32,
    allow_weak: bool = False,
) -> bytes:
    """Derive `length` bytes from `passphrase` with scrypt(N=2**log_n, r, p)."""
    if not allow_weak and (log_n < MIN_SCRYPT_LOG_N or r < MIN_SCRYPT_R):
        raise ValueError("scrypt parameters below the minimum (N=2^15, r=8)")
    if not 1 <= log_n <= _MAX_SCRYPT_LOG_N:
        raise ValueError("scrypt log_n out of range")
    return Scrypt(salt=salt, length=length, n=1 << log_n, r=r, p=p).derive(passphrase)


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA-256 extract-and-expand."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)
