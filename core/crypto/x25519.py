"""X25519 key agreement (age recipients and identities).

`generate()` returns (private 32 bytes, public 32 bytes); `public_from_private(priv)`;
`shared_secret(priv, peer_pub)` raises `ValueError` on an all-zero result (a low-order point),
as the age spec requires.
"""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

KEY_SIZE = 32


def generate() -> tuple[bytes, bytes]:
    key = X25519PrivateKey.generate()
    return _private_raw(key), _public_raw(key.public_key())


def public_from_private(private: bytes) -> bytes:
    return _public_raw(X25519PrivateKey.from_private_bytes(private).public_key())


def shared_secret(private: bytes, peer_public: bytes) -> bytes:
    if len(private) != KEY_SIZE or len(peer_public) != KEY_SIZE:
        raise ValueError("X25519 keys must be 32 bytes")
    secret = X25519PrivateKey.from_private_bytes(private).exchange(
        X25519PublicKey.from_public_bytes(peer_public)
    )
    if secret == bytes(KEY_SIZE):
        raise ValueError("X25519 shared secret is all zeros")
    return secret


def _private_raw(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _public_raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
