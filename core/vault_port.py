"""The record store as the layers above storage see it: a typed port, free of I/O.

`storage.Vault` (encrypted, on disk) and `storage.memory.MemoryVault` (tests) both satisfy
`VaultPort` (records) and `DeviceVaultPort` (records, plus the attachments a device's sync
encrypts, the spool it uploads from, compaction and the panic wipe); sync and services are typed
against them so mypy sees every call into storage.

A read-modify-write of shared records is one unit of work:

    with vault.unit() as uow:
        state = load_state(uow)          # reads see what this unit staged
        state.cursor = cursor
        uow.put(state.to_record())       # staged; nothing is written yet
    # written here, all staged puts and deletes in one journal entry

The unit holds the vault's state lock for the whole block (re-entrant: a unit opened inside
another on the same thread is its own unit, committed at its own exit, blind to what the outer
one staged). If the block raises, nothing it staged is written.
Danger: a unit's lock serialises units only; a plain `vault.put` from another thread is not
held back by it, so every read-modify-write of a shared record must go through a unit.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import IO, Any, BinaryIO, Protocol

from core.records import Record


class RecordReader(Protocol):
    """What reading needs: a vault, or a unit of work (which also sees what it staged)."""

    def get(self, record_id: str) -> Record: ...
    def list(self, kind: str | None = None, where: Any = None) -> builtins.list[Record]: ...


class UnitOfWork(RecordReader, Protocol):
    """Staged changes to a vault, written together when the `with vault.unit()` block ends.

    `put` stages a copy of the record (later changes to the object are not staged); `delete`
    raises the vault's `RecordNotFound` for a record neither stored nor staged. After the block,
    `saved` holds the records as stored (version bumped, `updated_at` set), in staging order.
    """

    saved: builtins.list[Record]

    def put(self, record: Record) -> None: ...
    def put_many(self, records: Iterable[Record]) -> None: ...
    def delete(self, record_id: str) -> None: ...


class VaultPort(RecordReader, Protocol):
    def put(self, record: Record) -> Record: ...
    def put_many(self, records: Iterable[Record]) -> builtins.list[Record]: ...
    def delete(self, record_id: str) -> None: ...
    def delete_many(self, record_ids: Iterable[str]) -> None: ...
    def unit(self) -> AbstractContextManager[UnitOfWork]: ...


class SpoolSink(Protocol):
    """Where a spooled blob's ciphertext is written (`DeviceVaultPort.spool_writer`)."""

    def write(self, data: bytes, /) -> int: ...


class DeviceVaultPort(VaultPort, Protocol):
    def open_attachment(self, attachment_id: str) -> BinaryIO: ...
    def delete_attachment(self, attachment_id: str) -> None: ...
    def spool_writer(self, name: str) -> AbstractContextManager[SpoolSink]: ...
    def spool_reader(self, name: str) -> IO[bytes]: ...
    def spool_delete(self, name: str) -> None: ...
    def compact(self) -> None: ...
    def wipe(self) -> object: ...
