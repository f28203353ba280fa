"""Turning recipient and identity strings into objects, and generating identities.

Recipients: `age1…` (X25519), `age1pq1…` (ML-KEM-768 + X25519 hybrid), or a `Passphrase`.
Identities: `AGE-SECRET-KEY-1…`, `AGE-SECRET-KEY-PQ-1…`, or a `Passphrase`.
Identity files (as `age-keygen` writes them) hold one identity per line; `#` comments and blank
lines are ignored.

Parsing an identity string costs about as much as decrypting a small file: callers that open
many files parse once with `parse_identity` and pass the objects. Recipient strings are cached
(they are public); identities never are (they are secret and must go when the vault locks).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Protocol

from sync.age import pq, x25519
from sync.age.format import Stanza
from sync.age.scrypt import Passphrase


class Recipient(Protocol):
    def wrap(self, file_key: bytes) -> list[Stanza]: ...


class Identity(Protocol):
    def unwrap(self, stanza: Stanza) -> bytes | None: ...


RecipientLike = str | Passphrase | Recipient
IdentityLike = str | Passphrase | Identity


def parse_recipient(text: RecipientLike) -> Recipient:
    """Parse one recipient string; `ValueError` if malformed, `UnsupportedRecipient` for PQ
    recipients on a platform without ML-KEM."""
    if not isinstance(text, str):
        return text
    return _parse_recipient_text(text.strip())


@functools.lru_cache(maxsize=256)
def _parse_recipient_text(text: str) -> Recipient:
    # Cached: recipients are public, and an organisation encrypts to the same few many times.
    if text.startswith(pq.RECIPIENT_HRP + "1"):
        return pq.parse_recipient(text)
    if text.startswith(x25519.RECIPIENT_HRP + "1"):
        return x25519.parse_recipient(text)
    raise ValueError("unknown recipient type (expected age1…)")


def parse_identity(text: IdentityLike) -> Identity:
    """Parse one identity string; `ValueError` if malformed."""
    if not isinstance(text, str):
        return text
    text = text.strip()
    if text.startswith(pq.IDENTITY_HRP + "1"):
        return pq.parse_identity(text)
    if text.startswith(x25519.IDENTITY_HRP + "1"):
        return x25519.parse_identity(text)
    raise ValueError("unknown identity type (expected AGE-SECRET-KEY-…)")


def parse_identity_file(text: str) -> list[str]:
    """The identity strings in an identity file's text (comments and blank lines skipped)."""
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            found.append(stripped)
    if not found:
        raise ValueError("no identities found in identity file")
    return found


def parse_recipients_file(lines: Iterable[str]) -> list[str]:
    """The recipient strings in a recipients file (comments and blank lines skipped)."""
    return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]


def generate_identity(*, pq_hybrid: bool = False) -> tuple[str, str]:
    """A new identity and its recipient: `("AGE-SECRET-KEY-1…", "age1…")`."""
    if pq_hybrid:
        identity = pq.HybridIdentity.generate()
        return identity.encode(), identity.recipient().encode()
    x = x25519.X25519Identity.generate()
    return x.encode(), x.recipient().encode()


def recipient_of(identity: str) -> str:
    """The recipient string matching an identity string."""
    parsed = parse_identity(identity)
    if isinstance(parsed, x25519.X25519Identity | pq.HybridIdentity):
        return parsed.recipient().encode()
    raise ValueError("identity has no recipient string")
