"""X25519 recipients (`age1…`) and identities (`AGE-SECRET-KEY-1…`), the native age type.

    -> X25519 base64(ephemeral share)
    base64(ChaCha20-Poly1305(HKDF(shared secret, share || recipient, LABEL), file key))

Use `X25519Identity.generate()`, `parse_recipient(text)`, `parse_identity(text)`.
Danger: `X25519Identity.encode()` returns the secret key; store it only encrypted.
"""

from __future__ import annotations

from core.crypto import x25519 as ecdh
from core.crypto.kdf import hkdf_sha256
from sync.age import b64, bech32
from sync.age.errors import HeaderError
from sync.age.format import Stanza
from sync.age.primitives import WrongFileKeySize, unwrap_file_key, wrap_file_key

STANZA_TYPE = "X25519"
LABEL = b"age-encryption.org/v1/X25519"
RECIPIENT_HRP = "age"
IDENTITY_HRP = "AGE-SECRET-KEY-"
KEY_SIZE = 32


class X25519Recipient:
    __slots__ = ("public_key",)

    def __init__(self, public_key: bytes) -> None:
        if len(public_key) != KEY_SIZE:
            raise ValueError("X25519 recipient must be 32 bytes")
        self.public_key = public_key

    def encode(self) -> str:
        return bech32.encode(RECIPIENT_HRP, self.public_key)

    def wrap(self, file_key: bytes) -> list[Stanza]:
        ephemeral, share = ecdh.generate()
        secret = ecdh.shared_secret(ephemeral, self.public_key)
        key = hkdf_sha256(secret, salt=share + self.public_key, info=LABEL)
        return [Stanza(STANZA_TYPE, (b64.encode(share).decode(),), wrap_file_key(key, file_key))]


class X25519Identity:
    __slots__ = ("_secret", "public_key")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != KEY_SIZE:
            raise ValueError("X25519 identity must be 32 bytes")
        self._secret = secret
        self.public_key = ecdh.public_from_private(secret)

    @classmethod
    def generate(cls) -> X25519Identity:
        secret, _ = ecdh.generate()
        return cls(secret)

    def encode(self) -> str:
        return bech32.encode(IDENTITY_HRP, self._secret).upper()

    def recipient(self) -> X25519Recipient:
        return X25519Recipient(self.public_key)

    def unwrap(self, stanza: Stanza) -> bytes | None:
        """The file key if `stanza` is addressed to this identity, else None.

        Raise `HeaderError` for a malformed X25519 stanza.
        """
        if stanza.type != STANZA_TYPE:
            return None
        share = stanza.first_arg(count=1, label="X25519", what="share", size=KEY_SIZE)
        try:
            secret = ecdh.shared_secret(self._secret, share)
        except ValueError:
            raise HeaderError("X25519 share is a low-order point") from None
        key = hkdf_sha256(secret, salt=share + self.public_key, info=LABEL)
        try:
            return unwrap_file_key(key, stanza.body)
        except WrongFileKeySize:
            raise HeaderError("X25519 stanza body has the wrong length") from None

    def __repr__(self) -> str:
        return "X25519Identity(<secret>)"


def parse_recipient(text: str) -> X25519Recipient:
    hrp, data = _decode(text, "recipient")
    if hrp != RECIPIENT_HRP:
        raise ValueError("not an X25519 age recipient")
    return X25519Recipient(data)


def parse_identity(text: str) -> X25519Identity:
    hrp, data = _decode(text, "identity")
    if hrp != IDENTITY_HRP:
        raise ValueError("not an X25519 age identity")
    return X25519Identity(data)


def _decode(text: str, what: str) -> tuple[str, bytes]:
    try:
        hrp, data = bech32.decode(text)
    except ValueError:
        raise ValueError(f"malformed age {what}") from None
    if len(data) != KEY_SIZE:
        raise ValueError(f"malformed age {what}")
    return hrp, data
