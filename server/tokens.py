"""One-time tokens (bootstrap, invites): made here, stored only as their SHA-256.

`new_token()` returns 32 random bytes as b64u text for the person who will hand it on;
`token_hash(token)` is all the database ever sees, so a copy of the database redeems nothing.
"""

from __future__ import annotations

from core.crypto.hashing import sha256_hex
from core.crypto.random import random_bytes
from sync.encoding import b64u_encode

TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh token that never starts with "-": one typed after `--bootstrap` on a command
    line would otherwise be read as an option (1 token in 64)."""
    while True:
        token = b64u_encode(random_bytes(TOKEN_BYTES))
        if not token.startswith("-"):
            return token


def token_hash(token: str) -> str:
    return sha256_hex(token.encode("utf-8"))
