"""The coordinator's age identity as a file stock `age` can use, and opening protected exports.

Use:
- `identity_file(identity, now=...)`: the text `age-keygen` writes (two comment lines and the
  `AGE-SECRET-KEY-1…` line). `age -d -i FILE export.age` opens every export encrypted to the
  coordinators.
- `protected_identity_file(identity, passphrase, now=...)`: that text, age-encrypted to a
  passphrase (the default of `fieldvault coordinator identity export`). Stock `age` (1.0 and
  later) accepts it directly, `age -d -i FILE.age export.age`, asking for the passphrase; or
  `age -d FILE.age > identity.txt` gives the plain file back.
- `read_identity_file(data, passphrase=...)`: the identity strings in either kind of file.
- `open_export(data, identities=..., passphrase=...)`: the plaintext of a protected export.

Errors: `IdentityFileError` and `ExportOpenError`, both `ValueError`s with a machine `reason`:
`not_an_identity_file`, `needs_passphrase`, `wrong_passphrase` (identity files);
`not_encrypted`, `needs_identity`, `needs_passphrase`, `not_addressed_to_identity`,
`wrong_passphrase`, `damaged` (exports). Messages never hold a key or a passphrase.

Danger: whoever holds the identity (plain, or protected with its passphrase) reads every report
and export ever encrypted to this coordinator. Keep the plain file off shared and synced
folders, and delete it when done.
"""

from __future__ import annotations

import datetime as _dt
import io
from collections.abc import Sequence
from typing import Literal

from sync.age import format as age_format
from sync.age.api import decrypt, encrypt_with_passphrase
from sync.age.armor import MAX_WHITESPACE, ArmorReader
from sync.age.errors import AgeError, NoIdentityMatch
from sync.age.keys import parse_identity, parse_identity_file, recipient_of
from sync.age.reader import BufferedSource
from sync.age.scrypt import STANZA_TYPE as SCRYPT_STANZA
from sync.age.scrypt import Passphrase

MIN_PASSPHRASE = 10
IDENTITY_LOG_N = 18  # scrypt work factor for a protected identity file, as `age -p` uses
_IDENTITY_PREFIX = "AGE-SECRET-KEY-"
_ARMOR_START = b"-----"

AgeFileKind = Literal["passphrase", "recipients"]


class IdentityFileError(ValueError):
    """An identity file could not be read. `reason` says why, for people and for scripts."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


class ExportOpenError(ValueError):
    """A protected export could not be opened. `reason` says why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


def identity_file(identities: str | Sequence[str], *, now: int) -> bytes:
    """The plain identity file, as `age-keygen` writes it. Several identities (the current one
    and those from before a key change) go into one file, as `age -i` accepts."""
    keys = [identities] if isinstance(identities, str) else list(identities)
    created = _dt.datetime.fromtimestamp(now, _dt.UTC).replace(microsecond=0).isoformat()
    created = created.replace("+00:00", "Z")
    lines = [
        f"# created: {created}",
        f"# public key: {recipient_of(keys[0])}",
        "# FieldVault coordinator identity: opens every report and export encrypted to you.",
        keys[0].strip(),
    ]
    for key in keys[1:]:
        lines.append("# an earlier key of yours, for what was encrypted to it before a key change:")
        lines += [f"# public key: {recipient_of(key)}", key.strip()]
    return ("\n".join(lines) + "\n").encode("ascii")


def protected_identity_file(
    identity: str | Sequence[str], passphrase: str, *, now: int, log_n: int = IDENTITY_LOG_N
) -> bytes:
    """The identity file encrypted to `passphrase` (binary age, scrypt): `age-keygen | age -p`."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise IdentityFileError("weak_passphrase", "the passphrase is too short")
    return encrypt_with_passphrase(identity_file(identity, now=now), passphrase, log_n=log_n)


def age_file_kind(data: bytes) -> AgeFileKind | None:
    """ "passphrase" or "recipients" for an age file (binary or armored), None for anything else."""
    source = BufferedSource(io.BytesIO(data))
    if source.starts_with_after_whitespace(_ARMOR_START, MAX_WHITESPACE):
        source = BufferedSource(ArmorReader(source))
    try:
        header = age_format.read_header(source)
    except (AgeError, ValueError):
        return None
    if any(s.type == SCRYPT_STANZA for s in header.stanzas):
        return "passphrase"
    return "recipients"


def read_identity_file(data: bytes, *, passphrase: str = "") -> list[str]:
    """The identity strings in a plain or passphrase-protected identity file."""
    kind = age_file_kind(data)
    if kind == "recipients":
        raise IdentityFileError("not_an_identity_file", "an age file, but not a protected identity")
    if kind == "passphrase":
        if not passphrase:
            raise IdentityFileError("needs_passphrase", "this identity file is protected")
        try:
            data = decrypt(data, [Passphrase(passphrase)])
        except NoIdentityMatch:
            raise IdentityFileError("wrong_passphrase", "the passphrase does not open it") from None
        except AgeError:
            raise IdentityFileError("not_an_identity_file", "the file is damaged") from None
    try:
        found = parse_identity_file(data.decode("ascii"))
        for text in found:
            if not text.startswith(_IDENTITY_PREFIX):
                raise ValueError("not an identity line")
            parse_identity(text)
    except (UnicodeDecodeError, ValueError):
        raise IdentityFileError("not_an_identity_file", "no age identity in this file") from None
    return found


def open_export(data: bytes, *, identities: Sequence[str] = (), passphrase: str = "") -> bytes:
    """The plaintext of an age-protected export, with identities or (`-p` files) a passphrase."""
    kind = age_file_kind(data)
    if kind is None:
        raise ExportOpenError("not_encrypted", "not an age-encrypted file")
    if kind == "passphrase" and not passphrase:
        raise ExportOpenError("needs_passphrase", "this export is protected by a passphrase")
    if kind == "recipients" and not identities:
        raise ExportOpenError("needs_identity", "this export is encrypted to age recipients")
    keys = [Passphrase(passphrase)] if kind == "passphrase" else list(identities)
    try:
        return decrypt(data, keys)
    except NoIdentityMatch:
        if kind == "passphrase":
            raise ExportOpenError("wrong_passphrase", "the passphrase does not open it") from None
        raise ExportOpenError(
            "not_addressed_to_identity", "it was not encrypted to this identity"
        ) from None
    except AgeError:
        raise ExportOpenError("damaged", "the encrypted file is damaged or truncated") from None
