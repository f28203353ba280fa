"""Journal-state records: the journal key and a rollback counter, sealed into the key file.

Use `StateKey.derive(master_key)` once per unlock, `state_key.open(keyfile, index, sealed)` to
read a record and `state_key.seal(keyfile, index, state)` to write one; `StateFile` rewrites
one record of the key file in place (fixed offset, fixed size, fsync) and knows which of the
two records to overwrite next. Byte layout in docs/formats/vault.md.

A record says which journal is current (`journal_id`), the random key it is encrypted under
(`journal_key`), how many entries it has (`seq`, rewritten after every save) and how many times
the journal key has been replaced (`generation`). `serial` grows with every record written and
picks the newer of the two. Both records normally hold the same journal key; they differ only
while a compaction replaces it (the new key is written into one record before the new journal
is put in place, and into the other once the old journal is gone), so a crash at any point
leaves a key for whichever journal is on disk.

Why this defeats the examiner: the old journal key is overwritten in the key file when a
compaction finishes, so a copy of the old journal (a backup, freed blocks) no longer decodes
even with the passphrase. And because the entry count lives in the key file, a journal cut
short at an entry boundary, or an older journal put back, is noticed on unlock.

Danger: the records are as secret as the master key; `KeyState` hides its key from `repr`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.crypto import aead
from core.crypto.errors import InvalidCiphertext
from core.crypto.kdf import hkdf_sha256
from core.crypto.sealer import Sealer
from storage.errors import StorageFull
from storage.files import sync_data, translating_os_errors, write_all

if TYPE_CHECKING:
    from storage.keyfile import KeyFile

STATE_LABEL = b"fieldvault/key-state/v1\n"
_INFO_STATE = b"fieldvault/vault/key-state/v1"
_PLAIN = struct.Struct(">QQQ16s32s")  # serial, generation, seq, journal id, journal key
SEALED_SIZE = aead.OVERHEAD + _PLAIN.size  # 100


@dataclasses.dataclass(frozen=True, repr=False)
class KeyState:
    """One state record, decrypted."""

    serial: int
    generation: int
    seq: int
    journal_id: bytes
    journal_key: bytes

    def __repr__(self) -> str:
        return f"KeyState(serial={self.serial}, generation={self.generation}, seq={self.seq})"

    def same_journal(self, other: KeyState | None) -> bool:
        return (
            other is not None
            and other.journal_id == self.journal_id
            and other.journal_key == self.journal_key
        )


class StateKey:
    """The key that seals state records: HKDF of the master key, label `_INFO_STATE`."""

    __slots__ = ("_sealer",)

    def __init__(self, key: bytes) -> None:
        self._sealer = Sealer(key)

    @classmethod
    def derive(cls, master_key: bytes) -> StateKey:
        return cls(hkdf_sha256(master_key, salt=b"", info=_INFO_STATE))

    @staticmethod
    def _aad(keyfile: KeyFile, index: int) -> bytes:
        return STATE_LABEL + keyfile.header() + bytes([index])

    def seal(self, keyfile: KeyFile, index: int, state: KeyState) -> bytes:
        plain = _PLAIN.pack(
            state.serial, state.generation, state.seq, state.journal_id, state.journal_key
        )
        return self._sealer.seal(plain, self._aad(keyfile, index))

    def open(self, keyfile: KeyFile, index: int, sealed: bytes) -> KeyState | None:
        """The record, or None when it does not open (random filler, damage, another vault)."""
        try:
            plain = self._sealer.open(sealed, self._aad(keyfile, index))
        except InvalidCiphertext:
            return None
        if len(plain) != _PLAIN.size:
            return None
        return KeyState(*_PLAIN.unpack(plain))

    def open_all(self, keyfile: KeyFile) -> list[KeyState | None]:
        return [self.open(keyfile, i, sealed) for i, sealed in enumerate(keyfile.states)]


class StateFile:
    """Writes state records into the key file in place. Held while the vault is unlocked."""

    def __init__(
        self,
        path: Path,
        keyfile: KeyFile,
        state_key: StateKey,
        records: Sequence[KeyState | None],
        offsets: Sequence[int],
    ) -> None:
        self.path = path
        self.keyfile = keyfile
        self._key: StateKey | None = state_key
        self._records = list(records)
        self._offsets = tuple(offsets)

    @property
    def current(self) -> KeyState:
        newest = max((r for r in self._records if r is not None), key=lambda r: r.serial)
        return newest

    @property
    def records(self) -> tuple[KeyState | None, ...]:
        return tuple(self._records)

    def _next_index(self) -> int:
        """The record to overwrite: an unreadable one, else the older one."""
        for index, record in enumerate(self._records):
            if record is None:
                return index
        return min(range(len(self._records)), key=lambda i: self._records[i].serial)  # type: ignore[union-attr]

    def write(self, *, generation: int, seq: int, journal_id: bytes, journal_key: bytes) -> None:
        """Seal a new record (serial = newest + 1) over the older one and fsync it."""
        if self._key is None:
            raise ValueError("the state file was forgotten (the vault is locked)")
        serial = max((r.serial for r in self._records if r is not None), default=0) + 1
        state = KeyState(serial, generation, seq, journal_id, journal_key)
        index = self._next_index()
        sealed = self._key.seal(self.keyfile, index, state)
        write_in_place(self.path, self._offsets[index], sealed)
        self._records[index] = state

    def write_both(
        self, *, generation: int, seq: int, journal_id: bytes, journal_key: bytes
    ) -> None:
        """Make both records name this journal (destroying any other key they held)."""
        for _ in self._records:
            self.write(
                generation=generation, seq=seq, journal_id=journal_id, journal_key=journal_key
            )

    def forget(self) -> None:
        """Drop the state key and the decrypted records (journal keys) from this object."""
        self._key = None
        self._records = [None] * len(self._records)

    def replace_keyfile(self, keyfile: KeyFile) -> None:
        """Rewrite the slot page in place (a passphrase change); the records stay valid because
        their associated data covers only bytes 0–27, which never change."""
        if keyfile.header() != self.keyfile.header():
            raise ValueError("the key file header must not change")
        try:
            write_in_place(self.path, 0, keyfile.slot_page(), metadata=True)
        except BaseException:
            # Put the old page back (it may have reached the page cache before the failure).
            with contextlib.suppress(OSError, StorageFull):
                write_in_place(self.path, 0, self.keyfile.slot_page(), metadata=True)
            raise
        self.keyfile = keyfile


def write_in_place(path: Path, offset: int, data: bytes, *, metadata: bool = False) -> None:
    """Overwrite `len(data)` bytes of `path` at `offset` and flush them (`fdatasync`, or
    `fsync` with `metadata`): the file keeps its inode and its blocks, so no older copy of these
    bytes is left behind as a separate file. Raises `StorageFull` on a read-only disk."""
    with translating_os_errors():
        fd = os.open(path, os.O_WRONLY)
        try:
            os.lseek(fd, offset, os.SEEK_SET)
            write_all(fd, data)
            if metadata:
                os.fsync(fd)
            else:
                sync_data(fd)
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
