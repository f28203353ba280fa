"""The one place FieldVault touches `cryptography.hazmat`.

Use the recipes:
- `aead.seal` / `aead.open`: authenticated encryption of small values bound to associated data.
- `kdf.scrypt_derive`, `kdf.hkdf_sha256`: key derivation.
- `signing.SigningKey` / `signing.verify`: Ed25519.
- `x25519`: key agreement for age recipients.
- `hashing`: SHA-256 and HMAC helpers with constant-time comparison.
- `rfc3161`: RFC 3161 time-stamp requests and offline checks of the tokens (on `der`, a strict
  DER reader); failures are `rfc3161.BadTimestamp` with a `reason`.

- `pq`: the post-quantum hybrid KEM (HPKE with MLKEM768-X25519) for age `mlkem768x25519`
  stanzas; on `cryptography`'s ML-KEM where it exists, else on `xwing` + `mlkem` (pure Python).

Everything here works on `cryptography>=43.0.1` (the version Android builds get).

Errors (all subclasses of `CryptoError`):
- `InvalidCiphertext`: the one opaque "this ciphertext is bad" error. It never says why.
- `BadSignature`: a signature did not verify.
Caller mistakes (wrong key length, wrong types) raise `ValueError` / `TypeError`.

Danger: never put keys, passphrases or plaintext into an exception message or a log line.
"""

from core.crypto.errors import BadSignature, CryptoError, InvalidCiphertext

__all__ = ["BadSignature", "CryptoError", "InvalidCiphertext"]
