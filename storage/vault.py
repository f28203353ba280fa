"""`Vault`: the one way anything reads or writes a FieldVault data directory.

Common use:

    vault = Vault.create(path, passphrase)            # or Vault.open(path, passphrase)
    saved = vault.put(Record(kind="note", data={"text": "..."}))
    vault.list(kind="note"); vault.get(saved.id); vault.delete(saved.id)
    att = vault.attach(photo_path, media_type="image/jpeg", remove_source=True)
    vault.read_attachment(att.id)
    vault.lock()

Everything written is encrypted under a random master key wrapped in the key file; see
`storage.keyfile`, `storage.journal`, `storage.blobs`, and docs/formats/vault.md for bytes.
A `Vault` object holds the exclusive lock on its directory until `lock()` (or `wipe()`); every
method is safe to call from several threads.

Dangerous on purpose:
- `Vault.open` with the duress passphrase wipes the real vault and returns a fresh empty one.
- `Vault.open` with a wrong passphrase counts the failure; at the threshold it wipes.
- `wipe()` (and `storage.wipe_directory`) destroy everything, irreversibly, in under a second.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import functools
import io
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO, ParamSpec, TypeVar, cast

from core.crypto.errors import InvalidCiphertext
from core.crypto.random import random_bytes
from core.crypto.sealer import Sealer
from core.records import Record, new_id
from storage import blobs, photos
from storage.attempts import DEFAULT_WIPE_THRESHOLD, Attempts
from storage.blobs import Attachment, BlobReader
from storage.codec import SubKeys, open_record, seal_record
from storage.errors import (
    AttachmentNotFound,
    RecordNotFound,
    StorageFull,
    VaultCorrupt,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    WrongPassphrase,
)
from storage.files import atomic_write, read_file, translating_os_errors
from storage.journal import OP_DELETE, OP_PUT, Journal, Op, ReadResult, read_journal, write_snapshot
from storage.keyfile import (
    MASTER_KEY_SIZE,
    ROLE_DURESS,
    ROLE_MASTER,
    SALT_SIZE,
    KdfParams,
    KeyFile,
    calibrate,
    derive_kek,
    normalize_passphrase,
)
from storage.layout import Layout
from storage.lock import VaultLock
from storage.spool import Spool, SpoolWriter
from storage.table import RecordTable, Where, to_record
from storage.wipe import KEY_TEMP_PREFIX, WipeReport, wipe_directory

PathLike = str | os.PathLike[str]
AttachSource = PathLike | bytes | bytearray | memoryview | IO[bytes]

# Compact when the journal is this big and more than COMPACT_RATIO times the live data.
COMPACT_MIN_BYTES = 4 * 1024 * 1024
COMPACT_RATIO = 2.0
_ATTACHMENT_ID = re.compile(r"\A[0-9a-f]{32}\Z")

P = ParamSpec("P")
T = TypeVar("T")


def _unlocked(method: Callable[P, T]) -> Callable[P, T]:
    """Run under the object's mutex, refusing with `VaultLocked` once locked or wiped."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        self = args[0]
        assert isinstance(self, Vault)
        with self._mutex:
            if self._journal is None:
                raise VaultLocked()
            return method(*args, **kwargs)

    return wrapper


@dataclasses.dataclass(frozen=True)
class OpenReport:
    """What opening found: bytes of a torn last write dropped, damaged stretches skipped."""

    dropped_tail_bytes: int = 0
    skipped: tuple[str, ...] = ()


class VaultSettings:
    """Settings that live outside the encrypted records (they must work while locked)."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    @property
    def wipe_threshold(self) -> int:
        """Wrong passphrases in a row that wipe the vault; 0 turns the wipe off."""
        return self._vault._attempts.threshold

    @wipe_threshold.setter
    def wipe_threshold(self, value: int) -> None:
        self._vault._set_wipe_threshold(value)

    @property
    def failed_attempts(self) -> int:
        return self._vault._attempts.failed

    @property
    def kdf(self) -> KdfParams:
        return self._vault._keyfile.params


class Vault:
    """An unlocked vault. Create with `Vault.create` or `Vault.open`, never directly."""

    def __init__(
        self,
        layout: Layout,
        lock: VaultLock,
        keyfile: KeyFile,
        master_index: int,
        keys: SubKeys,
        journal: Journal,
        table: RecordTable,
        attempts: Attempts,
        extra_dirs: Sequence[PathLike],
        report: OpenReport,
    ) -> None:
        self._layout = layout
        self._lock = lock
        self._keyfile = keyfile
        self._master_index = master_index
        self._keys: SubKeys | None = keys
        self._record_sealer: Sealer | None = Sealer(keys.record)
        self._journal: Journal | None = journal
        self._table = table
        self._attempts = attempts
        self._extra_dirs = tuple(extra_dirs)
        self._spool = Spool(layout.spool, layout.tmp)
        self._mutex = threading.RLock()
        self.open_report = report
        self.settings = VaultSettings(self)

    # --- lifecycle ------------------------------------------------------------------------

    @staticmethod
    def exists(path: PathLike) -> bool:
        return Layout.at(path).key.is_file()

    @classmethod
    def create(
        cls,
        path: PathLike,
        passphrase: str,
        duress_passphrase: str | None = None,
        *,
        kdf_log_n: int | None = None,
        wipe_threshold: int = DEFAULT_WIPE_THRESHOLD,
        extra_dirs: Sequence[PathLike] = (),
    ) -> Vault:
        """Create a new vault at `path` and return it opened.

        `kdf_log_n=None` calibrates scrypt to about half a second here (never below 2^15);
        `wipe_threshold=0` disables the wrong-passphrase wipe. `extra_dirs` are wiped with the
        vault (caches, temp dirs). Raises `VaultExists`, `StorageFull`, `ValueError`.
        """
        normalize_passphrase(passphrase)
        if duress_passphrase is not None and normalize_passphrase(
            duress_passphrase
        ) == normalize_passphrase(passphrase):
            raise ValueError("the duress passphrase must differ from the passphrase")
        layout = Layout.at(path)
        if cls.exists(path):
            raise VaultExists()
        params = KdfParams(calibrate() if kdf_log_n is None else kdf_log_n)
        Attempts(0, wipe_threshold)  # validates the threshold before touching the disk
        created_dir = not layout.root.exists()
        with translating_os_errors():
            layout.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            layout.make_dirs()
        lock = VaultLock.acquire(layout.lock)
        try:
            if cls.exists(path):
                raise VaultExists()
            salt = random_bytes(SALT_SIZE)
            kek = derive_kek(passphrase, salt, params)
            duress_kek = derive_kek(duress_passphrase, salt, params) if duress_passphrase else None
            return cls._initialise(
                layout,
                lock,
                params,
                salt,
                kek,
                duress_kek,
                Attempts(0, wipe_threshold, created_dir),
                extra_dirs,
            )
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _initialise(
        cls,
        layout: Layout,
        lock: VaultLock,
        params: KdfParams,
        salt: bytes,
        kek: bytes,
        duress_kek: bytes | None,
        attempts: Attempts,
        extra_dirs: Sequence[PathLike],
    ) -> Vault:
        master = random_bytes(MASTER_KEY_SIZE)
        keyfile = KeyFile.new(params, salt, kek, master, duress_kek)
        unwrapped = keyfile.unwrap(kek)
        assert unwrapped is not None and unwrapped.role == ROLE_MASTER
        keys = SubKeys.derive(master)
        attempts.save(layout.attempts, layout.tmp)
        journal = Journal.create(layout.journal, keys.journal, layout.tmp)
        try:
            # The key file comes last: a vault "exists" only once it is complete.
            atomic_write(layout.key, keyfile.to_bytes(), layout.tmp, prefix=KEY_TEMP_PREFIX)
        except BaseException:
            journal.close()
            raise
        return cls(
            layout,
            lock,
            keyfile,
            unwrapped.index,
            keys,
            journal,
            RecordTable(),
            attempts,
            extra_dirs,
            OpenReport(),
        )

    @classmethod
    def open(
        cls,
        path: PathLike,
        passphrase: str,
        *,
        extra_dirs: Sequence[PathLike] = (),
        recover: bool = False,
    ) -> Vault:
        """Unlock the vault at `path`. One scrypt run, whichever slot the passphrase opens.

        Raises `VaultNotFound`, `VaultInUse`, `WrongPassphrase` (counted; at the threshold the
        vault is wiped and `attempts_left` is 0), `VaultCorrupt` (naming what is damaged).
        With `recover=True`, damaged journal entries are skipped (listed in `open_report`) and
        the journal is rewritten without them. The duress passphrase wipes the vault and
        returns a new, empty one under that passphrase.
        """
        normalize_passphrase(passphrase)
        layout = Layout.at(path)
        if not cls.exists(path):
            raise VaultNotFound()
        lock = VaultLock.acquire(layout.lock)
        try:
            with contextlib.suppress(OSError):
                layout.make_dirs()  # recreate tmp/, blobs/, spool/ if something removed them
            try:
                keyfile = KeyFile.parse(read_file(layout.key))
            except FileNotFoundError:
                raise VaultNotFound() from None
            attempts = Attempts.load(layout.attempts)
            kek = derive_kek(passphrase, keyfile.salt, keyfile.params)
            found = keyfile.unwrap(kek)
            if found is None:
                cls._count_failure(layout, attempts, extra_dirs)
            assert found is not None
            if found.role == ROLE_DURESS:
                return cls._duress(layout, lock, keyfile, kek, attempts, extra_dirs)
            if found.role != ROLE_MASTER:
                raise VaultCorrupt("key file: unknown slot type")
            if attempts.failed:
                attempts = dataclasses.replace(attempts, failed=0)
                with contextlib.suppress(StorageFull):
                    attempts.save(layout.attempts, layout.tmp)
            keys = SubKeys.derive(found.key)
            state = read_journal(layout.journal, keys.journal, recover=recover)
            table = _replay(state, keys.record, recover)
            journal = Journal.open_for_append(layout.journal, keys.journal, state)
            report = OpenReport(state.dropped_tail_bytes, tuple(state.skipped))
            vault = cls(
                layout, lock, keyfile, found.index, keys, journal, table, attempts,
                extra_dirs, report,
            )  # fmt: skip
        except BaseException:
            lock.release()
            raise
        if report.skipped:
            vault.compact()
        return vault

    @staticmethod
    def _count_failure(layout: Layout, attempts: Attempts, extra_dirs: Sequence[PathLike]) -> None:
        attempts = dataclasses.replace(attempts, failed=attempts.failed + 1)
        if attempts.exhausted:
            wipe_directory(layout.root, extra_dirs)
            raise WrongPassphrase(0)
        # On a full or read-only disk the failure cannot be recorded; the answer stays the same.
        with contextlib.suppress(StorageFull):
            attempts.save(layout.attempts, layout.tmp)
        raise WrongPassphrase(attempts.attempts_left)

    @classmethod
    def _duress(
        cls,
        layout: Layout,
        lock: VaultLock,
        keyfile: KeyFile,
        kek: bytes,
        attempts: Attempts,
        extra_dirs: Sequence[PathLike],
    ) -> Vault:
        """Wipe everything, then make a fresh vault the duress passphrase opens, and open it.

        The derived key is reused (same salt and parameters), so no second scrypt run makes
        this unlock slower than a normal one.
        """
        wipe_directory(layout.root, extra_dirs)
        lock.release()
        with translating_os_errors():
            layout.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            layout.make_dirs()
        new_lock = VaultLock.acquire(layout.lock)
        try:
            fresh = Attempts(0, attempts.threshold, attempts.created_dir)
            return cls._initialise(
                layout, new_lock, keyfile.params, keyfile.salt, kek, None, fresh, extra_dirs
            )
        except BaseException:
            new_lock.release()
            raise

    def lock(self) -> None:
        """Forget the keys, close files and release the directory. The object is unusable."""
        with self._mutex:
            journal, self._journal = self._journal, None
            if journal is not None:
                journal.close()
            self._keys = None
            self._record_sealer = None
            self._table.clear()
            self._lock.release()

    close = lock

    @property
    def locked(self) -> bool:
        return self._journal is None

    @property
    def path(self) -> Path:
        return self._layout.root

    def wipe(self) -> WipeReport:
        """Panic wipe: keys first, then every file and the directory. Irreversible."""
        with self._mutex:
            report = wipe_directory(self._layout.root, self._extra_dirs)
            self.lock()
            return report

    def __enter__(self) -> Vault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.lock()

    def __repr__(self) -> str:
        return f"Vault({'locked' if self.locked else 'unlocked'})"

    # --- passphrases and settings ---------------------------------------------------------

    @_unlocked
    def change_passphrase(self, old: str, new: str) -> None:
        """Re-wrap the master key under `new`. Only the key file changes (atomic replace).

        Raises `WrongPassphrase(None)` if `old` is not this vault's passphrase (not counted:
        the vault is already unlocked), `ValueError` if `new` is the duress passphrase.
        """
        normalize_passphrase(new)
        params, salt = self._keyfile.params, self._keyfile.salt
        found = self._keyfile.unwrap(derive_kek(old, salt, params))
        if found is None or found.role != ROLE_MASTER:
            raise WrongPassphrase(None)
        new_kek = derive_kek(new, salt, params)
        clash = self._keyfile.unwrap(new_kek)
        if clash is not None and clash.role == ROLE_DURESS:
            raise ValueError("the new passphrase is the duress passphrase")
        keyfile = self._keyfile.with_slot(found.index, new_kek, ROLE_MASTER, found.key)
        self._write_keyfile(keyfile)

    @_unlocked
    def set_duress_passphrase(self, passphrase: str | None) -> None:
        """Set (or with None, remove) the duress passphrase. The key file stays the same size."""
        params, salt = self._keyfile.params, self._keyfile.salt
        duress_kek = None
        if passphrase is not None:
            duress_kek = derive_kek(passphrase, salt, params)
            clash = self._keyfile.unwrap(duress_kek)
            if clash is not None and clash.role == ROLE_MASTER:
                raise ValueError("the duress passphrase must differ from the passphrase")
        self._write_keyfile(self._keyfile.with_duress(self._master_index, duress_kek))

    def _write_keyfile(self, keyfile: KeyFile) -> None:
        atomic_write(self._layout.key, keyfile.to_bytes(), self._layout.tmp, prefix=KEY_TEMP_PREFIX)
        self._keyfile = keyfile

    @_unlocked
    def _set_wipe_threshold(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("wipe threshold must be an int")
        attempts = dataclasses.replace(self._attempts, threshold=value)
        attempts.save(self._layout.attempts, self._layout.tmp)
        self._attempts = attempts

    # --- records --------------------------------------------------------------------------

    def _prepare(self, record: Record, now: float) -> tuple[bytes, Op]:
        if not isinstance(record, Record):
            raise TypeError("put() takes a core.records.Record")
        saved = dataclasses.replace(record, version=record.version + 1, updated_at=now)
        assert self._keys is not None
        assert self._record_sealer is not None
        plain, sealed = seal_record(self._record_sealer, saved)
        return plain, Op(OP_PUT, saved.id, sealed)

    def _commit(self, ops: Sequence[Op], plains: Sequence[bytes] = ()) -> None:
        assert self._journal is not None
        self._journal.append(ops)
        for plain, op in zip(plains, ops, strict=False):
            self._table.put(op.record_id, plain, op.sealed)
        for op in ops[len(plains) :]:
            self._table.remove(op.record_id)
        self._maybe_compact()

    @_unlocked
    def put(self, record: Record) -> Record:
        """Save `record` (fsync'd before returning). Returns a copy with `version` bumped and
        `updated_at` set; `record` itself is not modified."""
        plain, op = self._prepare(record, time.time())
        self._commit([op], [plain])
        return to_record(plain)

    @_unlocked
    def put_many(self, records: Iterable[Record]) -> builtins.list[Record]:
        """Save all of `records` in one journal entry: after a crash, all or none are there."""
        now = time.time()
        prepared = [self._prepare(record, now) for record in records]
        if not prepared:
            return []
        plains = [plain for plain, _ in prepared]
        self._commit([op for _, op in prepared], plains)
        return [to_record(plain) for plain in plains]

    @_unlocked
    def get(self, record_id: str) -> Record:
        record = self._table.get(record_id)
        if record is None:
            raise RecordNotFound(record_id)
        return record

    @_unlocked
    def list(self, kind: str | None = None, where: Where | None = None) -> builtins.list[Record]:
        """Records (oldest first) of `kind`, matching `where`: a TinyDB query, any callable on
        the record's dict, or a mapping of top-level fields to values."""
        return self._table.search(kind, where)

    def __len__(self) -> int:
        return len(self._table)

    @_unlocked
    def delete(self, record_id: str) -> None:
        """Delete one record; `RecordNotFound` if there is none with that id."""
        self.delete_many([record_id])

    @_unlocked
    def delete_many(self, record_ids: Iterable[str]) -> None:
        """Delete all of `record_ids` atomically; if any is missing nothing is deleted."""
        ids = list(dict.fromkeys(record_ids))
        for record_id in ids:
            if record_id not in self._table:
                raise RecordNotFound(record_id)
        if ids:
            self._commit([Op(OP_DELETE, record_id) for record_id in ids])

    @_unlocked
    def compact(self) -> None:
        """Rewrite the journal with only the live records (atomic; done automatically)."""
        assert self._journal is not None and self._keys is not None
        fresh = write_snapshot(
            self._layout.journal, self._keys.journal, self._table.sealed_items(), self._layout.tmp
        )
        self._journal.close()
        self._journal = fresh

    def _maybe_compact(self) -> None:
        assert self._journal is not None
        size = self._journal.size
        if size >= COMPACT_MIN_BYTES and size > COMPACT_RATIO * (self._table.live_bytes + 4096):
            # The save that triggered this is already durable; a failed compaction only
            # postpones the next one.
            with contextlib.suppress(OSError, StorageFull):
                self.compact()

    # --- attachments ----------------------------------------------------------------------

    def attach(
        self,
        source: AttachSource,
        *,
        media_type: str,
        name: str = "",
        keep_metadata: bool = False,
        remove_source: bool = False,
    ) -> Attachment:
        """Encrypt `source` (a path, bytes or a binary stream) into a new attachment.

        JPEG, PNG and WebP photos (recognised by content) lose their metadata first unless
        `keep_metadata`. With `remove_source`, a source given by path is deleted after it is
        safely stored (for temp copies such as a file picker's). Memory stays constant except
        while a photo is being cleaned. Other threads may use the vault meanwhile.
        """
        with self._mutex:
            if self._keys is None:
                raise VaultLocked()
            attachment_key = self._keys.attachment
        attachment_id = new_id()
        with _source_stream(source) as stream:
            head = stream.read(photos.SNIFF_BYTES)
            body: blobs.Readable = _Prefixed(head, stream)
            fmt = photos.detect(head)
            removed = False
            if fmt is not None and not keep_metadata:
                seekable = io.BytesIO(head + stream.read())
                body = io.BytesIO(photos.strip_metadata(seekable, fmt))
                removed = True
            info = blobs.write_blob(
                self._layout.blobs,
                self._layout.tmp,
                attachment_key,
                attachment_id,
                body,
                media_type=media_type,
                name=name,
                metadata_removed=removed,
            )
        if remove_source and isinstance(source, str | os.PathLike):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(source)
        return info

    def _attachment_id(self, attachment_id: str) -> str:
        if not isinstance(attachment_id, str) or not _ATTACHMENT_ID.match(attachment_id):
            raise AttachmentNotFound(str(attachment_id))
        return attachment_id

    @_unlocked
    def read_attachment(self, attachment_id: str) -> bytes:
        """The whole attachment, decrypted and verified, in memory. `AttachmentCorrupt`."""
        assert self._keys is not None
        with BlobReader(
            self._layout.blobs, self._keys.attachment, self._attachment_id(attachment_id)
        ) as reader:
            return reader.readall()

    @_unlocked
    def open_attachment(self, attachment_id: str) -> BinaryIO:
        """A read-only decrypted stream (constant memory). Damage raises `AttachmentCorrupt`
        from `read()` when the damaged chunk is reached."""
        assert self._keys is not None
        raw = BlobReader(
            self._layout.blobs, self._keys.attachment, self._attachment_id(attachment_id)
        )
        return cast(BinaryIO, io.BufferedReader(raw, blobs.CHUNK_SIZE))

    @_unlocked
    def attachment_info(self, attachment_id: str) -> Attachment:
        assert self._keys is not None
        return blobs.read_info(
            self._layout.blobs, self._keys.attachment, self._attachment_id(attachment_id)
        )

    @_unlocked
    def attachments(self) -> builtins.list[Attachment]:
        """Every readable attachment, oldest first (damaged ones are left out)."""
        assert self._keys is not None
        found = []
        for entry in sorted(os.listdir(self._layout.blobs)):
            if not _ATTACHMENT_ID.match(entry):
                continue
            with contextlib.suppress(AttachmentNotFound, blobs.AttachmentCorrupt):
                found.append(blobs.read_info(self._layout.blobs, self._keys.attachment, entry))
        found.sort(key=lambda a: (a.created_at, a.id))
        return found

    @_unlocked
    def delete_attachment(self, attachment_id: str) -> None:
        path = blobs.blob_path(self._layout.blobs, self._attachment_id(attachment_id))
        try:
            path.unlink()
        except FileNotFoundError:
            raise AttachmentNotFound(attachment_id) from None

    # --- spool ------------------------------------------------------------------------------

    @_unlocked
    def spool_writer(self, name: str) -> SpoolWriter:
        """Write ciphertext under `name`: `with vault.spool_writer(n) as f: f.write(...)`.
        It appears atomically when the block ends; an exception discards it."""
        return self._spool.writer(name)

    @_unlocked
    def spool_reader(self, name: str) -> IO[bytes]:
        return self._spool.reader(name)

    @_unlocked
    def spool_size(self, name: str) -> int:
        return self._spool.size(name)

    @_unlocked
    def spool_delete(self, name: str) -> None:
        self._spool.delete(name)

    @_unlocked
    def spool_names(self) -> builtins.list[str]:
        return self._spool.names()


def _replay(state: ReadResult, record_key: bytes, recover: bool) -> RecordTable:
    table = RecordTable()
    sealer = Sealer(record_key)
    for number, op in enumerate(state.ops, 1):
        if op.kind == OP_DELETE:
            table.remove(op.record_id)
            continue
        try:
            plain = open_record(sealer, op.record_id, op.sealed)
        except InvalidCiphertext:
            what = f"journal: record operation {number} is unreadable"
            if not recover:
                raise VaultCorrupt(what) from None
            state.skipped.append(what)
            continue
        table.put(op.record_id, plain, op.sealed)
    return table


class _Prefixed(io.RawIOBase):
    """`head` followed by the rest of `stream` (after sniffing the first bytes)."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        super().__init__()
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._stream.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@contextlib.contextmanager
def _source_stream(source: AttachSource) -> Any:
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(source))
    elif isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            yield handle
    elif hasattr(source, "read"):
        yield source
    else:
        raise TypeError("attach() takes a path, bytes or a binary stream")
