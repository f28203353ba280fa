"""`MemoryVault`: an in-memory stand-in for `storage.Vault`, for unit tests of other parts.

It has the same record, attachment, spool, settings, lock and wipe methods and passes the same
contract tests (tests/storage/test_contract.py) as the encrypted vault; it writes nothing to
disk and encrypts nothing. Use `MemoryVault()` (or `MemoryVault.create(...)` with the real
signature, which ignores the path). Photos are cleaned of metadata exactly as the real vault
does.

Danger: never use it in a product path: it keeps everything in plaintext in memory.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import hashlib
import io
import os
import threading
import time
from collections.abc import Iterable, Sequence
from typing import IO, Any, BinaryIO

from core.records import Record, new_id
from storage import photos
from storage.attempts import DEFAULT_WIPE_THRESHOLD
from storage.blobs import Attachment
from storage.codec import encode_record
from storage.errors import (
    AttachmentNotFound,
    RecordNotFound,
    SpoolNotFound,
    VaultLocked,
    WrongPassphrase,
)
from storage.spool import CommitsOnExit, check_name
from storage.table import RecordTable, Where, decode, to_record
from storage.unit import Unit, open_unit
from storage.wipe import WipeReport


class MemorySettings:
    def __init__(self, threshold: int) -> None:
        self._threshold = threshold
        self.failed_attempts = 0
        self.kdf = None

    @property
    def wipe_threshold(self) -> int:
        return self._threshold

    @wipe_threshold.setter
    def wipe_threshold(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("wipe threshold must be an int")
        if not 0 <= value < 2**32:
            raise ValueError("wipe threshold must be between 0 (off) and 2^32-1")
        self._threshold = value


class _MemorySpoolWriter(CommitsOnExit):
    def __init__(self, store: dict[str, bytes], name: str) -> None:
        self._store = store
        self._name = name
        self._buffer: io.BytesIO | None = io.BytesIO()
        self.written = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._buffer is None:
            raise ValueError("spool writer is closed")
        self.written += len(data)
        return self._buffer.write(data)

    def writable(self) -> bool:
        return True

    def commit(self) -> None:
        if self._buffer is None:
            raise ValueError("spool writer is closed")
        self._store[self._name] = self._buffer.getvalue()
        self._buffer = None

    close = commit

    def abort(self) -> None:
        self._buffer = None

    @property
    def closed(self) -> bool:
        return self._buffer is None


class MemoryVault:
    """Same interface as `storage.Vault`, kept in memory."""

    def __init__(
        self,
        passphrase: str = "memory",  # noqa: S107 - a test double
        duress_passphrase: str | None = None,
        *,
        wipe_threshold: int = DEFAULT_WIPE_THRESHOLD,
    ) -> None:
        self._passphrase = passphrase
        self._duress = duress_passphrase
        self._table = RecordTable()
        self._attachments: dict[str, tuple[Attachment, bytes]] = {}
        self._spool: dict[str, bytes] = {}
        self._locked = False
        self._mutex = threading.RLock()
        self._unit_lock = threading.RLock()
        self.settings = MemorySettings(wipe_threshold)
        self.wiped = False
        self._generation = 0

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str] | None = None,
        passphrase: str = "memory",  # noqa: S107 - a test double
        duress_passphrase: str | None = None,
        *,
        kdf_log_n: int | None = None,
        wipe_threshold: int = DEFAULT_WIPE_THRESHOLD,
        extra_dirs: Sequence[Any] = (),
    ) -> MemoryVault:
        return cls(passphrase, duress_passphrase, wipe_threshold=wipe_threshold)

    def _check(self) -> None:
        if self._locked:
            raise VaultLocked()

    # lifecycle
    def lock(self) -> None:
        self._locked = True

    close = lock

    @property
    def locked(self) -> bool:
        return self._locked

    def wipe(self) -> WipeReport:
        self._table.clear()
        self._attachments.clear()
        self._spool.clear()
        self._locked = True
        self.wiped = True
        return WipeReport(0.0, 0.0)

    def __enter__(self) -> MemoryVault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock()

    def change_passphrase(self, old: str, new: str) -> None:
        self._check()
        if old != self._passphrase:
            raise WrongPassphrase(None)
        if new == self._duress:
            raise ValueError("the new passphrase is the duress passphrase")
        self._passphrase = new

    def set_duress_passphrase(self, passphrase: str | None) -> None:
        self._check()
        if passphrase is not None and passphrase == self._passphrase:
            raise ValueError("the duress passphrase must differ from the passphrase")
        self._duress = passphrase

    # records
    def put(self, record: Record) -> Record:
        return self.put_many([record])[0]

    def put_many(self, records: Iterable[Record]) -> builtins.list[Record]:
        return self._write_unit(list(records), [])

    def unit(self) -> contextlib.AbstractContextManager[Unit]:
        """A unit of work, as `Vault.unit`."""
        return open_unit(self, self._unit_lock, self._write_unit)

    def _write_unit(
        self, puts: builtins.list[Record], deletes: builtins.list[str]
    ) -> builtins.list[Record]:
        with self._mutex:
            self._check()
            for record_id in deletes:
                if record_id not in self._table:
                    raise RecordNotFound(record_id)
            now = time.time()
            plains = []
            for record in puts:
                if not isinstance(record, Record):
                    raise TypeError("put() takes a core.records.Record")
                saved = dataclasses.replace(record, version=record.version + 1, updated_at=now)
                plains.append(encode_record(saved))
            for plain in plains:
                self._table.put(decode(plain)["id"], plain, b"")
            for record_id in deletes:
                self._table.remove(record_id)
            if deletes:
                self.compact()  # deleting forgets, as in `Vault`
            return [to_record(plain) for plain in plains]

    def get(self, record_id: str) -> Record:
        self._check()
        record = self._table.get(record_id)
        if record is None:
            raise RecordNotFound(record_id)
        return record

    def list(self, kind: str | None = None, where: Where | None = None) -> builtins.list[Record]:
        self._check()
        return self._table.search(kind, where)

    def __len__(self) -> int:
        return len(self._table)

    def delete(self, record_id: str) -> None:
        self.delete_many([record_id])

    def delete_many(self, record_ids: Iterable[str]) -> None:
        self._write_unit([], list(dict.fromkeys(record_ids)))

    def compact(self) -> None:
        """Same contract as `Vault.compact`: a new journal key generation (nothing to rewrite)."""
        self._check()
        with self._mutex:
            self._generation += 1

    @property
    def key_generation(self) -> int:
        self._check()
        return self._generation

    # attachments
    def attach(
        self,
        source: Any,
        *,
        media_type: str,
        name: str = "",
        keep_metadata: bool = False,
        remove_source: bool = False,
    ) -> Attachment:
        self._check()
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
        elif isinstance(source, str | os.PathLike):
            with open(source, "rb") as handle:
                data = handle.read()
        elif hasattr(source, "read"):
            data = source.read()
        else:
            raise TypeError("attach() takes a path, bytes or a binary stream")
        fmt = photos.detect(data[: photos.SNIFF_BYTES])
        removed = False
        if fmt is not None and not keep_metadata:
            data = photos.strip_metadata(io.BytesIO(data), fmt)
            removed = True
        info = Attachment(
            id=new_id(),
            media_type=media_type,
            name=name,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            created_at=time.time(),
            metadata_removed=removed,
        )
        self._attachments[info.id] = (info, data)
        if remove_source and isinstance(source, str | os.PathLike):
            os.unlink(source)
        return info

    def _attachment(self, attachment_id: str) -> tuple[Attachment, bytes]:
        self._check()
        try:
            return self._attachments[attachment_id]
        except (KeyError, TypeError):
            raise AttachmentNotFound(str(attachment_id)) from None

    def read_attachment(self, attachment_id: str) -> bytes:
        return self._attachment(attachment_id)[1]

    def open_attachment(self, attachment_id: str) -> BinaryIO:
        return io.BytesIO(self._attachment(attachment_id)[1])

    def attachment_info(self, attachment_id: str) -> Attachment:
        return self._attachment(attachment_id)[0]

    def attachments(self) -> builtins.list[Attachment]:
        self._check()
        found = [info for info, _ in self._attachments.values()]
        return sorted(found, key=lambda a: (a.created_at, a.id))

    def delete_attachment(self, attachment_id: str) -> None:
        self._attachment(attachment_id)
        del self._attachments[attachment_id]
        self.compact()  # deleting forgets, as in `Vault.delete_attachment`

    # spool
    def spool_writer(self, name: str) -> _MemorySpoolWriter:
        self._check()
        return _MemorySpoolWriter(self._spool, check_name(name))

    def spool_reader(self, name: str) -> IO[bytes]:
        self._check()
        try:
            return io.BytesIO(self._spool[check_name(name)])
        except KeyError:
            raise SpoolNotFound(name) from None

    def spool_size(self, name: str) -> int:
        self._check()
        try:
            return len(self._spool[check_name(name)])
        except KeyError:
            raise SpoolNotFound(name) from None

    def spool_delete(self, name: str) -> None:
        self._check()
        self._spool.pop(check_name(name), None)

    def spool_names(self) -> builtins.list[str]:
        self._check()
        return sorted(self._spool)
