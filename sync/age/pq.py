"""Post-quantum hybrid recipients (`age1pq1…`) and identities (`AGE-SECRET-KEY-PQ-1…`).

The `mlkem768x25519` stanza of age 1.3 and later:

    -> mlkem768x25519 base64(enc, 1120 bytes)
    base64(HPKE SealBase ciphertext of the file key, 32 bytes)

with HPKE KEM MLKEM768-X25519, HKDF-SHA-256, ChaCha20-Poly1305 and `info = LABEL`. Works on
every platform (`core.crypto.pq` falls back to pure Python where `cryptography` lacks ML-KEM);
should `supported()` ever be false, using a PQ key raises `UnsupportedRecipient` and PQ stanzas
are simply not ours.
"""

from __future__ import annotations

from core.crypto import pq as kem
from core.crypto.errors import InvalidCiphertext
from core.crypto.random import random_bytes
from sync.age import b64, bech32
from sync.age.errors import HeaderError, UnsupportedRecipient
from sync.age.format import Stanza

STANZA_TYPE = "mlkem768x25519"
LABEL = b"age-encryption.org/mlkem768x25519"
RECIPIENT_HRP = "age1pq"
IDENTITY_HRP = "AGE-SECRET-KEY-PQ-"
_BODY_SIZE = 32


def supported() -> bool:
    return kem.available()


def _require() -> None:
    if not kem.available():
        raise UnsupportedRecipient(
            "post-quantum (mlkem768x25519) keys need ML-KEM, not available on this platform"
        )


class HybridRecipient:
    __slots__ = ("public_key",)

    def __init__(self, public_key: bytes) -> None:
        if len(public_key) != kem.PUBLIC_SIZE:
            raise ValueError("hybrid recipient must be 1216 bytes")
        self.public_key = public_key

    def encode(self) -> str:
        return bech32.encode(RECIPIENT_HRP, self.public_key)

    def wrap(self, file_key: bytes) -> list[Stanza]:
        _require()
        enc, body = kem.seal(self.public_key, LABEL, file_key)
        return [Stanza(STANZA_TYPE, (b64.encode(enc).decode(),), body)]


class HybridIdentity:
    __slots__ = ("_seed",)

    def __init__(self, seed: bytes) -> None:
        if len(seed) != kem.SEED_SIZE:
            raise ValueError("hybrid identity must be 32 bytes")
        self._seed = seed

    @classmethod
    def generate(cls) -> HybridIdentity:
        _require()
        return cls(random_bytes(kem.SEED_SIZE))

    def encode(self) -> str:
        return bech32.encode(IDENTITY_HRP, self._seed).upper()

    def recipient(self) -> HybridRecipient:
        _require()
        return HybridRecipient(kem.public_from_seed(self._seed))

    def unwrap(self, stanza: Stanza) -> bytes | None:
        """The file key if `stanza` is addressed to this identity, else None."""
        if stanza.type != STANZA_TYPE:
            return None
        enc = stanza.first_arg(count=1, label="mlkem768x25519", what="enc", size=kem.ENC_SIZE)
        if len(stanza.body) != _BODY_SIZE:
            raise HeaderError("mlkem768x25519 stanza body has the wrong length")
        _require()
        try:
            return kem.open_(self._seed, enc, stanza.body, LABEL)
        except InvalidCiphertext:
            return None
        except ValueError:
            raise HeaderError("mlkem768x25519 share is a low-order point") from None

    def __repr__(self) -> str:
        return "HybridIdentity(<secret>)"


def parse_recipient(text: str) -> HybridRecipient:
    return HybridRecipient(_decode(text, RECIPIENT_HRP, kem.PUBLIC_SIZE, "recipient"))


def parse_identity(text: str) -> HybridIdentity:
    return HybridIdentity(_decode(text, IDENTITY_HRP, kem.SEED_SIZE, "identity"))


def _decode(text: str, hrp: str, size: int, what: str) -> bytes:
    try:
        found, data = bech32.decode(text)
    except ValueError:
        raise ValueError(f"malformed age {what}") from None
    if found != hrp or len(data) != size:
        raise ValueError(f"malformed age post-quantum {what}")
    return data
