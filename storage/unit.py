"""`Unit`: the unit of work both vaults hand out from `vault.unit()`.

Use `with vault.unit() as uow:` for every read-modify-write of shared records: `uow.get` /
`uow.list` read the vault as this unit has changed it, `uow.put` / `uow.delete` stage, and the
vault writes everything staged in one journal entry when the block ends cleanly (nothing if it
raises). The vault's state lock is held for the whole block (`open_unit`).

Danger: a unit opened inside another on the same thread commits at its own exit and does not
see what the outer one staged.
"""

from __future__ import annotations

import builtins
import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator

from core.records import Record
from core.vault_port import RecordReader
from storage.codec import encode_record
from storage.errors import RecordNotFound
from storage.table import Where, decode, make_condition, sort_key, to_record

# Writes (puts, deletes) as one journal entry, all or nothing; returns the puts as stored.
WriteUnit = Callable[[builtins.list[Record], builtins.list[str]], builtins.list[Record]]


class Unit:
    """Changes staged over `vault` (see the module docstring); built by `open_unit` only."""

    def __init__(self, vault: RecordReader) -> None:
        self._vault = vault
        self._puts: dict[str, bytes] = {}  # record id -> JSON of the staged copy
        self._deletes: dict[str, None] = {}  # ids to delete, in staging order
        self.saved: builtins.list[Record] = []

    def get(self, record_id: str) -> Record:
        if record_id in self._puts:
            return to_record(self._puts[record_id])
        if record_id in self._deletes:
            raise RecordNotFound(record_id)
        return self._vault.get(record_id)

    def list(self, kind: str | None = None, where: Where | None = None) -> builtins.list[Record]:
        """As `vault.list`, with this unit's staged puts and deletes applied."""
        hidden = self._puts.keys() | self._deletes.keys()
        found = [r for r in self._vault.list(kind, where) if r.id not in hidden]
        condition = make_condition(kind, where)
        found += [to_record(plain) for plain in self._puts.values() if condition(decode(plain))]
        found.sort(key=sort_key)
        return found

    def put(self, record: Record) -> None:
        if not isinstance(record, Record):
            raise TypeError("put() takes a core.records.Record")
        self._puts[record.id] = encode_record(record)
        self._deletes.pop(record.id, None)

    def put_many(self, records: Iterable[Record]) -> None:
        for record in records:
            self.put(record)

    def delete(self, record_id: str) -> None:
        self.get(record_id)  # RecordNotFound, as `vault.delete`
        staged_only = self._puts.pop(record_id, None) is not None and not _stored(
            self._vault, record_id
        )
        if not staged_only:
            self._deletes[record_id] = None

    def _commit(self, write: WriteUnit) -> None:
        puts = [to_record(plain) for plain in self._puts.values()]
        self.saved = write(puts, list(self._deletes)) if puts or self._deletes else []


def _stored(vault: RecordReader, record_id: str) -> bool:
    try:
        vault.get(record_id)
    except RecordNotFound:
        return False
    return True


@contextlib.contextmanager
def open_unit(vault: RecordReader, lock: threading.RLock, write: WriteUnit) -> Iterator[Unit]:
    """Hold `lock`, hand out a `Unit` over `vault`, and `write` what it staged on a clean exit."""
    with lock:
        unit = Unit(vault)
        yield unit
        unit._commit(write)
