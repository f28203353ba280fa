"""Errors raised by the vault. Messages never carry keys, passphrases or record contents.

```
VaultError
├── WrongPassphrase(attempts_left)   no key slot opened; the failure was counted
├── VaultInUse                        another process or Vault object holds the vault
├── VaultCorrupt(what)                a file is damaged; `what` names it and where
│   └── VaultRolledBack(what)         the journal is not the one the key file names (an older
│                                     copy was put back); nothing was changed
├── VaultFormatTooNew(what, version)  a file was written by a newer release; nothing touched
├── VaultNotFound                     no vault at that path
├── VaultExists                       create() over an existing vault
├── VaultLocked                       the Vault object was locked or wiped
├── RecordNotFound(record_id)
├── AttachmentNotFound(attachment_id)
├── AttachmentCorrupt(attachment_id)  an attachment failed its integrity check
├── SpoolNotFound(name)
├── MetadataStripFailed               a photo could not be parsed to remove its metadata
└── StorageFull                       disk full or read-only; the previous state is intact
```

Lower-level errors (`OSError`, `core.crypto.InvalidCiphertext`) are translated at the boundary
and chained with `from`. Caller mistakes (bad names, wrong types) raise `ValueError`/`TypeError`.
"""

from __future__ import annotations


class VaultError(Exception):
    """Base of every vault failure."""


class WrongPassphrase(VaultError):
    """The passphrase opened no key slot. `attempts_left` is None when no wipe threshold is set;
    0 means the threshold was reached and the vault has been wiped."""

    def __init__(self, attempts_left: int | None) -> None:
        self.attempts_left = attempts_left
        if attempts_left is None:
            super().__init__("wrong passphrase")
        else:
            super().__init__(f"wrong passphrase ({attempts_left} attempts left)")


class VaultInUse(VaultError):
    """Another process (or another Vault object in this one) has the vault open."""

    def __init__(self) -> None:
        super().__init__("the vault is open elsewhere")


class VaultCorrupt(VaultError):
    """A vault file is damaged. `what` names the file and, where known, the position."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"vault damaged: {what}")


class VaultRolledBack(VaultCorrupt):
    """The journal on disk is not the one the key file names: an older copy of the journal (or
    of the key file) was put back, and its key has since been destroyed. Nothing was counted,
    changed or wiped. (A journal merely cut short still opens, with
    `Vault.open_report.rollback` saying how much is missing.)"""


class VaultFormatTooNew(VaultError):
    """A vault file carries a format version newer than this release reads (`what` names the
    file, `version` is the version found). Not damage and not a wrong passphrase: nothing was
    counted, changed or wiped. Open the vault with the newer release it came from."""

    def __init__(self, what: str, version: int, supported: int) -> None:
        self.what = what
        self.version = version
        self.supported = supported
        super().__init__(
            f"{what}: format version {version} is newer than this release reads ({supported})"
        )

    @classmethod
    def check(cls, what: str, data: bytes, magic: bytes) -> None:
        """Raise if `data` starts with `magic` except for a higher last (version) byte."""
        size = len(magic)
        if len(data) >= size and data[: size - 1] == magic[:-1] and data[size - 1] > magic[-1]:
            raise cls(what, data[size - 1], magic[-1])


class VaultNotFound(VaultError):
    def __init__(self) -> None:
        super().__init__("no vault at this location")


class VaultExists(VaultError):
    def __init__(self) -> None:
        super().__init__("a vault already exists at this location")


class VaultLocked(VaultError):
    """The Vault object was locked or wiped; open the vault again to use it."""

    def __init__(self) -> None:
        super().__init__("the vault is locked")


class _Missing(VaultError, KeyError):
    """Nothing by that name: also a `KeyError`, whose text is its message (not quoted)."""

    def __str__(self) -> str:
        return str(self.args[0])


class RecordNotFound(_Missing):
    def __init__(self, record_id: str) -> None:
        self.record_id = record_id
        super().__init__(f"no record with id {record_id!r}")


class AttachmentNotFound(_Missing):
    def __init__(self, attachment_id: str) -> None:
        self.attachment_id = attachment_id
        super().__init__(f"no attachment with id {attachment_id!r}")


class AttachmentCorrupt(VaultError):
    """An attachment's ciphertext was truncated, reordered or altered."""

    def __init__(self, attachment_id: str) -> None:
        self.attachment_id = attachment_id
        super().__init__(f"attachment {attachment_id!r} is damaged")


class SpoolNotFound(_Missing):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no spool file {name!r}")


class MetadataStripFailed(VaultError):
    """A photo could not be decoded, so its metadata could not be removed. Nothing was stored;
    attach with `keep_metadata=True` to store the file unchanged."""

    def __init__(self) -> None:
        super().__init__("could not remove metadata: the image could not be decoded")


class StorageFull(VaultError):
    """The disk is full or read-only. The write did not happen; the previous state is intact."""

    def __init__(self, reason: str = "no space left or read-only storage") -> None:
        super().__init__(reason)
