"""age v1 (age-encryption.org/v1) on `cryptography` primitives, interoperable with `age`/`rage`.

Common case:

    identity, recipient = generate_identity()            # ("AGE-SECRET-KEY-1…", "age1…")
    ciphertext = encrypt(b"report", [recipient])          # armor=True for text
    plaintext = decrypt(ciphertext, [identity])           # armored input is detected

Files of any size, in constant memory: `encrypt_stream(src, dst, recipients)` and
`decrypt_stream(src, dst, identities)` with binary file objects. Passphrases:
`encrypt_with_passphrase` / `decrypt_with_passphrase`, or a `Passphrase(...)` object anywhere a
recipient or identity is accepted. Opening many files: `parse_identity(text)` once and pass the
object instead of the string. Post-quantum hybrid keys (`generate_identity(pq=True)`,
`age1pq1…`) work on every platform: on `cryptography`'s ML-KEM where it has one, else on a
pure-Python ML-KEM-768 (slower, not constant-time when opening; see docs/formats/age.md). A file
is encrypted either to post-quantum recipients only or to classic ones only (`ValueError`).

Errors (all `AgeError`): `HeaderError`, `NoIdentityMatch`, `HmacError`, `PayloadError`,
`ArmorError`, `UnsupportedRecipient`. Caller mistakes raise `ValueError`/`TypeError`.

Danger: `decrypt_stream` writes each chunk as soon as it authenticates; after a `PayloadError`
the destination holds a verified but incomplete prefix, which callers must discard. Identity
strings are secret keys: never log them or put them in an error message.
"""

from __future__ import annotations

import io

from sync.age.api import (
    decrypt,
    decrypt_stream,
    decrypt_with_passphrase,
    encrypt,
    encrypt_stream,
    encrypt_with_passphrase,
)
from sync.age.errors import (
    AgeError,
    ArmorError,
    HeaderError,
    HmacError,
    NoIdentityMatch,
    PayloadError,
    UnsupportedRecipient,
)
from sync.age.format import read_header as _read_header
from sync.age.keys import generate_identity as _generate
from sync.age.keys import parse_identity, parse_identity_file, parse_recipient, recipient_of
from sync.age.pq import supported as pq_supported
from sync.age.reader import BufferedSource as _BufferedSource
from sync.age.scrypt import Passphrase


def generate_identity(*, pq: bool = False) -> tuple[str, str]:
    """A new identity and its recipient, X25519 by default or post-quantum hybrid with `pq`."""
    return _generate(pq_hybrid=pq)


def stanza_types(data: bytes) -> tuple[str, ...]:
    """The recipient stanza types of a binary age file, in order (`("X25519",)`,
    `("mlkem768x25519", "mlkem768x25519")`, …); `HeaderError` if its header is malformed. Says
    how a file was encrypted without opening it."""
    return tuple(s.type for s in _read_header(_BufferedSource(io.BytesIO(data))).stanzas)


__all__ = [
    "AgeError",
    "ArmorError",
    "HeaderError",
    "HmacError",
    "NoIdentityMatch",
    "Passphrase",
    "PayloadError",
    "UnsupportedRecipient",
    "decrypt",
    "decrypt_stream",
    "decrypt_with_passphrase",
    "encrypt",
    "encrypt_stream",
    "encrypt_with_passphrase",
    "generate_identity",
    "parse_identity",
    "parse_identity_file",
    "parse_recipient",
    "pq_supported",
    "recipient_of",
    "stanza_types",
]
