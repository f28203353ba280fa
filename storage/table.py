"""The decrypted records of an unlocked vault, held in memory and queried with TinyDB.

`RecordTable` keeps each record's dict (for queries) and its sealed bytes (for compaction).
Queries go through a real `tinydb.TinyDB` whose storage class, `UnlockedStorage`, serves the
decrypted table straight from memory; persistence is the encrypted journal (`storage.journal`),
written by the vault, so saving one record costs the same whatever the table's size. TinyDB's
own write path (which re-serialises the whole database per insert) is deliberately not used:
`UnlockedStorage.write` refuses.

`where` in `search` is any callable taking the record's dict (`Record.to_dict()` shape), which
includes TinyDB queries (`Query().data.region == "Osh"`), or a mapping of top-level fields to
required values (`{"status": "queued"}`).

Danger: the dicts inside are live; `search` and `get` return fresh `Record` copies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from tinydb import Query, TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from core.records import Record

Where = Callable[[Mapping[str, Any]], bool] | Mapping[str, Any]

TABLE_NAME = "records"


class UnlockedStorage(Storage):
    """TinyDB storage over the in-memory decrypted table. Read-only from TinyDB's side."""

    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self._tables = {TABLE_NAME: docs}

    def read(self) -> dict[str, dict[str, Any]]:
        return self._tables

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raise TypeError("vault records are written through Vault.put, not through TinyDB")


class _RecordsTable(Table):
    document_id_class = str  # type: ignore[assignment]  # record ids, not TinyDB's integers


class _VaultTinyDB(TinyDB):
    table_class = _RecordsTable
    default_table_name = TABLE_NAME


def clone(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars); much faster than deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clone(v) for v in value]
    return value


def to_record(doc: Mapping[str, Any]) -> Record:
    return Record.from_dict(clone(dict(doc)))


def make_condition(kind: str | None, where: Where | None) -> Callable[[Mapping[str, Any]], bool]:
    checks: list[Callable[[Mapping[str, Any]], bool]] = []
    if kind is not None:
        checks.append(Query().kind == str(kind))
    if isinstance(where, Mapping):
        wanted = dict(where)
        checks.append(lambda doc: all(k in doc and doc[k] == v for k, v in wanted.items()))
    elif where is not None:
        if not callable(where):
            raise TypeError("where must be a callable (e.g. a TinyDB Query) or a mapping")
        checks.append(where)
    return lambda doc: all(check(doc) for check in checks)


def sort_key(record: Record) -> tuple[float, str]:
    return (record.created_at, record.id)


class RecordTable:
    """Decrypted records by id, with their sealed bytes, queryable through TinyDB."""

    def __init__(self) -> None:
        self._docs: dict[str, dict[str, Any]] = {}
        self._sealed: dict[str, bytes] = {}
        self._db = _VaultTinyDB(self._docs, storage=UnlockedStorage)
        self._table = self._db.table(TABLE_NAME, cache_size=0)
        self.live_bytes = 0

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._docs

    def put(self, record_id: str, doc: dict[str, Any], sealed: bytes) -> None:
        old = self._sealed.get(record_id)
        if old is not None:
            self.live_bytes -= len(old)
        self._docs[record_id] = doc
        self._sealed[record_id] = sealed
        self.live_bytes += len(sealed)

    def remove(self, record_id: str) -> None:
        self._docs.pop(record_id, None)
        old = self._sealed.pop(record_id, None)
        if old is not None:
            self.live_bytes -= len(old)

    def doc(self, record_id: str) -> dict[str, Any] | None:
        return self._docs.get(record_id)

    def sealed_items(self) -> list[tuple[str, bytes]]:
        return list(self._sealed.items())

    def search(self, kind: str | None = None, where: Where | None = None) -> list[Record]:
        if kind is None and where is None:
            records = [to_record(doc) for doc in self._docs.values()]
        else:
            condition = cast(Any, make_condition(kind, where))
            records = [to_record(doc) for doc in self._table.search(condition)]
        records.sort(key=sort_key)
        return records

    def clear(self) -> None:
        self._docs.clear()
        self._sealed.clear()
        self.live_bytes = 0
