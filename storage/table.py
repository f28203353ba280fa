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

Danger: the dicts inside are live and never leave this class; `search` and `get` build fresh
`Record`s from the stored JSON bytes.
"""

from __future__ import annotations

import dataclasses
import json
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


RECORD_FIELDS = frozenset(f.name for f in dataclasses.fields(Record))


def decode(plain: bytes) -> dict[str, Any]:
    """A record's dict from its JSON bytes; `ValueError` unless it has exactly Record's fields."""
    raw = json.loads(plain.decode("utf-8", "surrogatepass"))
    if not isinstance(raw, dict) or raw.keys() != RECORD_FIELDS:
        raise ValueError("not a record")
    return raw


def to_record(plain: bytes) -> Record:
    """A fresh `Record` (sharing nothing with the table) from its JSON bytes."""
    return Record(**json.loads(plain.decode("utf-8", "surrogatepass")))


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
    """Decrypted records by id, queryable through TinyDB, with their JSON bytes (to hand out
    fresh copies quickly) and sealed bytes (for compaction)."""

    def __init__(self) -> None:
        self._docs: dict[str, dict[str, Any]] = {}
        self._plain: dict[str, bytes] = {}
        self._sealed: dict[str, bytes] = {}
        self._undecoded: set[str] = set()
        self._db = _VaultTinyDB(self._docs, storage=UnlockedStorage)
        self._table = self._db.table(TABLE_NAME, cache_size=0)
        self.live_bytes = 0

    def __len__(self) -> int:
        return len(self._plain)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._plain

    def put(self, record_id: str, plain: bytes, sealed: bytes) -> None:
        """Store one record's JSON and sealed bytes. Its query dict is decoded lazily, on the
        first query that needs it, so opening and saving stay cheap."""
        old = self._sealed.get(record_id)
        if old is not None:
            self.live_bytes -= len(old)
        self._docs.pop(record_id, None)
        self._undecoded.add(record_id)
        self._plain[record_id] = plain
        self._sealed[record_id] = sealed
        self.live_bytes += len(sealed)

    def remove(self, record_id: str) -> None:
        self._docs.pop(record_id, None)
        self._plain.pop(record_id, None)
        self._undecoded.discard(record_id)
        old = self._sealed.pop(record_id, None)
        if old is not None:
            self.live_bytes -= len(old)

    def get(self, record_id: str) -> Record | None:
        plain = self._plain.get(record_id)
        return None if plain is None else to_record(plain)

    def sealed_items(self) -> list[tuple[str, bytes]]:
        return list(self._sealed.items())

    def _decode_pending(self) -> None:
        for record_id in self._undecoded:
            self._docs[record_id] = decode(self._plain[record_id])
        self._undecoded.clear()

    def search(self, kind: str | None = None, where: Where | None = None) -> list[Record]:
        if kind is None and where is None:
            records = [to_record(plain) for plain in self._plain.values()]
        else:
            self._decode_pending()
            condition = cast(Any, make_condition(kind, where))
            plain = self._plain
            found = self._table.search(condition)
            records = [to_record(plain[cast(str, doc.doc_id)]) for doc in found]
        records.sort(key=sort_key)
        return records

    def clear(self) -> None:
        self._undecoded.clear()
        self._docs.clear()
        self._plain.clear()
        self._sealed.clear()
        self.live_bytes = 0
