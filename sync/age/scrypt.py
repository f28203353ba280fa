"""Passphrase-protected files: the scrypt stanza.

    -> scrypt base64(salt, 16 bytes) LOG_N
    base64(ChaCha20-Poly1305(scrypt(passphrase, LABEL || salt, N=2^LOG_N, r=8, p=1), file key))

An scrypt stanza must be the only stanza in a header. Encryption refuses work factors below the
project's floor (2^15); decryption accepts files from other tools down to 2^1 but never above
`MAX_LOG_N` (2^22, as age does), so a hostile file cannot make us spend minutes and gigabytes.
"""

from __future__ import annotations

import re

from core.crypto.kdf import scrypt_derive
from core.crypto.random import random_bytes
from sync.age import b64
from sync.age.errors import HeaderError
from sync.age.format import Stanza
from sync.age.primitives import WrongFileKeySize, unwrap_file_key, wrap_file_key

STANZA_TYPE = "scrypt"
LABEL = b"age-encryption.org/v1/scrypt"
SALT_SIZE = 16
DEFAULT_LOG_N = 18
MAX_LOG_N = 22
_DECIMAL = re.compile(r"\A[1-9][0-9]*\Z")


class Passphrase:
    """A passphrase used as an age recipient or identity. Its repr never shows it."""

    __slots__ = ("_secret", "log_n", "max_log_n")

    def __init__(
        self, passphrase: str | bytes, *, log_n: int = DEFAULT_LOG_N, max_log_n: int = MAX_LOG_N
    ) -> None:
        secret = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
        if not secret:
            raise ValueError("passphrase must not be empty")
        if not 1 <= max_log_n <= MAX_LOG_N:
            raise ValueError("max_log_n must be between 1 and 22")
        self._secret = secret
        self.log_n = log_n
        self.max_log_n = max_log_n

    def wrap(self, file_key: bytes) -> list[Stanza]:
        salt = random_bytes(SALT_SIZE)
        key = scrypt_derive(self._secret, LABEL + salt, log_n=self.log_n)
        body = wrap_file_key(key, file_key)
        return [Stanza(STANZA_TYPE, (b64.encode(salt).decode(), str(self.log_n)), body)]

    def unwrap(self, stanza: Stanza) -> bytes | None:
        """The file key, None if the passphrase is wrong or the stanza is not scrypt.

        Raise `HeaderError` for a malformed stanza or a work factor above `max_log_n`.
        """
        if stanza.type != STANZA_TYPE:
            return None
        salt = stanza.first_arg(count=2, label="scrypt", what="salt", size=SALT_SIZE)
        if not _DECIMAL.match(stanza.args[1]) or len(stanza.args[1]) > 3:
            raise HeaderError("scrypt work factor is not a canonical decimal")
        log_n = int(stanza.args[1])
        if log_n > self.max_log_n:
            raise HeaderError("scrypt work factor too large")
        if len(stanza.body) != 32:
            raise HeaderError("scrypt stanza body has the wrong length")
        key = scrypt_derive(self._secret, LABEL + salt, log_n=log_n, allow_weak=True)
        try:
            return unwrap_file_key(key, stanza.body)
        except WrongFileKeySize:  # pragma: no cover - length checked above
            raise HeaderError("scrypt stanza body has the wrong length") from None

    def __repr__(self) -> str:
        return "Passphrase(<secret>)"
