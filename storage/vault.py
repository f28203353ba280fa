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

Forgetting is cryptographic: `delete`, `delete_many` and `compact` rewrite the journal under a
fresh journal key and destroy the old key, so older copies of the journal stop decoding.

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
from typing import IO, Any, BinaryIO, NoReturn, ParamSpec, TypeVar, cast

from core.crypto.errors import InvalidCiphertext
from core.crypto.random import random_bytes
from core.crypto.sealer import Sealer
from core.records import Record, new_id
from storage import blobs, photos
from storage.attempts import DEFAULT_WIPE_THRESHOLD, Attempts
from storage.blobs import Attachment, BlobReader
from storage.codec import SubKeys, open_record, record_aad, seal_record
from storage.errors import (
    AttachmentNotFound,
    RecordNotFound,
    StorageFull,
    VaultCorrupt,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    VaultRolledBack,
    WrongPassphrase,
)
from storage.files import atomic_write, read_file, translating_os_errors
from storage.journal import (
    OP_DELETE,
    OP_PUT,
    SNAPSHOT_PREFIX,
    Journal,
    Op,
    ReadResult,
    prepare_snapshot,
    read_journal,
    read_journal_id,
)
from storage.keyfile import (
    MASTER_KEY_SIZE,
    ROLE_DURESS,
    ROLE_MASTER,
    SALT_SIZE,
    STATE_OFFSETS,
    KdfParams,
    KeyFile,
    Unwrapped,
    calibrate,
    derive_kek,
    normalize_passphrase,
)
from storage.keystate import KeyState, StateFile, StateKey
from storage.layout import Layout
from storage.lock import VaultLock
from storage.spool import Spool, SpoolWriter
from storage.table import RecordTable, Where, to_record
from storage.unit import Unit, open_unit
from storage.wipe import KEY_TEMP_PREFIX, WipeReport, overwrite_and_unlink, wipe_directory

PathLike = str | os.PathLike[str]
AttachSource = PathLike | bytes | bytearray | memoryview | IO[bytes]

# Compact when the journal is this big and more than COMPACT_RATIO times the live data.
COMPACT_MIN_BYTES = 4 * 1024 * 1024
COMPACT_RATIO = 2.0
_ATTACHMENT_ID = re.compile(r"\A[0-9a-f]{32}\Z")
# Journal entries under this id prefix hold an attachment's file key, not a record.
FILE_KEY_PREFIX = "\x00attachment-key/"
FileKeys = dict[str, tuple[bytes, bytes]]  # attachment id -> (file key, its sealed form)

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
    """What opening found: bytes of a torn last write dropped, damaged stretches skipped, and
    `rollback`: None, or what says the files were rolled back (the journal cut short at an entry
    boundary, or a key file older than the journal). The vault opens with what is there; the
    app should tell the user that saved changes are missing. Reported on this unlock only."""

    dropped_tail_bytes: int = 0
    skipped: tuple[str, ...] = ()
    rollback: str | None = None


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
        states: StateFile,
        master_index: int,
        keys: SubKeys,
        journal: Journal,
        table: RecordTable,
        attempts: Attempts,
        extra_dirs: Sequence[PathLike],
        report: OpenReport,
        file_keys: FileKeys | None = None,
    ) -> None:
        self._layout = layout
        self._lock = lock
        self._states = states
        self._master_index = master_index
        self._keys: SubKeys | None = keys
        self._record_sealer: Sealer | None = Sealer(keys.record)
        self._journal: Journal | None = journal
        self._table = table
        self._file_keys: FileKeys = {} if file_keys is None else file_keys
        self._attempts = attempts
        self._extra_dirs = tuple(extra_dirs)
        self._spool = Spool(layout.spool, layout.tmp)
        self._mutex = threading.RLock()
        self._unit_lock = threading.RLock()  # held by `unit()` blocks, never by single calls
        self._forget_pending = False
        self._generation = states.current.generation  # of the journal in `self._journal`
        self.open_report = report
        self.settings = VaultSettings(self)

    @property
    def _keyfile(self) -> KeyFile:
        return self._states.keyfile

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
        journal_key = random_bytes(MASTER_KEY_SIZE)
        journal = Journal.create(layout.journal, journal_key, layout.tmp)
        states = _first_states(keyfile, StateKey.derive(master), journal)
        try:
            # The key file comes last: a vault "exists" only once it is complete. It is new,
            # so writing it by rename leaves no older copy behind.
            atomic_write(
                layout.key, keyfile.to_bytes(states.sealed), layout.tmp, prefix=KEY_TEMP_PREFIX
            )
        except BaseException:
            journal.close()
            raise
        return cls(
            layout,
            lock,
            states.file(layout.key),
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
            keyfile, kek, found, attempts = cls._unlock_key_file(layout, passphrase, extra_dirs)
            if found.role == ROLE_DURESS:
                return cls._duress(layout, lock, keyfile, kek, attempts, extra_dirs)
            if found.role != ROLE_MASTER:
                raise VaultCorrupt("key file: unknown slot type")
            attempts = _forget_failures(layout, attempts)
            loaded = _load_journal(layout, keyfile, found.key, recover)
            vault = cls(
                layout, lock, loaded.states, found.index, loaded.keys, loaded.journal,
                loaded.table, attempts, extra_dirs, loaded.report, loaded.file_keys,
            )  # fmt: skip
        except BaseException:
            lock.release()
            raise
        if loaded.needs_compaction:
            with contextlib.suppress(StorageFull):  # the next delete or compaction retries
                vault.compact()
        return vault

    @classmethod
    def _unlock_key_file(
        cls, layout: Layout, passphrase: str, extra_dirs: Sequence[PathLike]
    ) -> tuple[KeyFile, bytes, Unwrapped, Attempts]:
        """The key file, the key derived from `passphrase` and the slot it opens. A passphrase
        that opens no slot is counted (`WrongPassphrase`; wiped at the threshold)."""
        try:
            keyfile = KeyFile.parse(read_file(layout.key))
        except FileNotFoundError:
            raise VaultNotFound() from None
        attempts = Attempts.load(layout.attempts)
        kek = derive_kek(passphrase, keyfile.salt, keyfile.params)
        found = keyfile.unwrap(kek)
        if found is None:
            cls._count_failure(layout, attempts, extra_dirs)
        return keyfile, kek, found, attempts

    @staticmethod
    def _count_failure(
        layout: Layout, attempts: Attempts, extra_dirs: Sequence[PathLike]
    ) -> NoReturn:
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
            self._file_keys.clear()
            self._states.forget()
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

    def __exit__(self, *exc: object) -> None:
        self.lock()

    def __repr__(self) -> str:
        return f"Vault({'locked' if self.locked else 'unlocked'})"

    # --- passphrases and settings ---------------------------------------------------------

    @_unlocked
    def change_passphrase(self, old: str, new: str) -> None:
        """Re-wrap the master key under `new`. Only the key file's slot page changes,
        overwritten in place (fixed size, fsync'd), so the old wrapped key is not left behind in
        a freed file.

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
        # In place: a rename would leave the old wrapped master key in a freed file.
        self._states.replace_keyfile(keyfile)

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
        if record.id.startswith(FILE_KEY_PREFIX):
            raise ValueError("record ids must not start with a NUL character")
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
        self._count_entry()
        self._maybe_compact()

    def _count_entry(self) -> None:
        """Record the journal's new length in the key file (the rollback counter).

        The entry is already durable; if this write fails, the key file is one entry behind,
        which unlocking tolerates (it is what a crash between the two writes leaves)."""
        journal = self._journal
        assert journal is not None
        with contextlib.suppress(OSError, StorageFull):
            self._states.write(
                generation=self._generation,
                seq=journal.next_seq,
                journal_id=journal.journal_id,
                journal_key=journal.key,
            )

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

    def unit(self) -> contextlib.AbstractContextManager[Unit]:
        """A unit of work (`storage.unit`): `with vault.unit() as uow:` reads and stages under
        the vault's state lock and writes what it staged in one journal entry at a clean exit."""
        return open_unit(self, self._unit_lock, self._write_unit)

    @_unlocked
    def _write_unit(
        self, puts: builtins.list[Record], deletes: builtins.list[str]
    ) -> builtins.list[Record]:
        """Save `puts` and delete `deletes` in one journal entry: all or nothing. A deletion
        is then forgotten by re-keying, as `delete_many` does (on a full disk, at the next save
        that has room)."""
        for record_id in deletes:
            if record_id not in self._table:
                raise RecordNotFound(record_id)
        now = time.time()
        prepared = [self._prepare(record, now) for record in puts]
        plains = [plain for plain, _ in prepared]
        ops = [op for _, op in prepared] + [Op(OP_DELETE, record_id) for record_id in deletes]
        self._forget_pending = self._forget_pending or bool(deletes)
        self._commit(ops, plains)
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
        """Delete all of `record_ids` atomically; if any is missing nothing is deleted.

        Deleting forgets: the journal is rewritten without them under a fresh journal key and
        the old key is destroyed (see `compact`), so no copy of the old journal decodes any
        more. On a full disk the deletion is logged instead and the re-keying happens at the
        next save that has room."""
        ids = list(dict.fromkeys(record_ids))
        for record_id in ids:
            if record_id not in self._table:
                raise RecordNotFound(record_id)
        if not ids:
            return
        try:
            self._rekey(self._live_items(skip_records=set(ids)))
        except StorageFull:
            self._commit([Op(OP_DELETE, record_id) for record_id in ids])
            self._forget_pending = True
            return
        for record_id in ids:
            self._table.remove(record_id)

    @_unlocked
    def compact(self) -> None:
        """Forget everything that is not a live record, cryptographically.

        Rewrites the journal with only the live records under a fresh random journal key, puts
        it in place atomically, overwrites the old journal's bytes and destroys the old key in
        the key file. Afterwards the passphrase and any copy of the old journal (a backup,
        freed blocks) reveal nothing of what was deleted or overwritten. A crash at any point
        leaves either the old or the new journal, each with its key. Cost grows with the live
        data (measured: about 16 ms with 100 records, 65 ms with 10,000; docs/formats/vault.md).
        Raises `StorageFull`.
        Deleting calls it; call it after replacing a record whose old version must be
        forgotten (send and forget)."""
        self._rekey(self._live_items())

    def _live_items(
        self, skip_records: set[str] | None = None, skip_keys: set[str] | None = None
    ) -> builtins.list[tuple[str, bytes]]:
        """What a compaction keeps: live records and attachment file keys, as sealed bytes."""
        items = [
            (rid, sealed)
            for rid, sealed in self._table.sealed_items()
            if not skip_records or rid not in skip_records
        ]
        items += [
            (FILE_KEY_PREFIX + aid, sealed)
            for aid, (_, sealed) in self._file_keys.items()
            if not skip_keys or aid not in skip_keys
        ]
        return items

    @property
    def key_generation(self) -> int:
        """How many times the journal key has been replaced since the vault was created."""
        with self._mutex:
            if self._journal is None:
                raise VaultLocked()
            return self._generation

    def _rekey(self, records: Iterable[tuple[str, bytes]]) -> None:
        journal = self._journal
        assert journal is not None
        generation = self._generation + 1
        key = random_bytes(MASTER_KEY_SIZE)
        snapshot = prepare_snapshot(key, records, self._layout.tmp)
        try:
            # 1. the new key goes into the older record; the newer still names the old journal
            self._states.write(
                generation=generation,
                seq=snapshot.seq,
                journal_id=snapshot.journal_id,
                journal_key=key,
            )
        except BaseException:
            snapshot.discard()
            raise
        try:
            fresh = snapshot.install(self._layout.journal)  # 2. the new journal in place
        except BaseException:
            with contextlib.suppress(OSError, StorageFull):
                self._count_entry()  # the old journal is still current: say so again
            raise
        self._journal, self._generation = fresh, generation
        self._forget_pending = False
        journal.shred()  # 3. the old journal's bytes, through the descriptor still open on it
        # 4. the old key out of the key file (if this fails, the next save or unlock does it)
        self._count_entry()

    def _maybe_compact(self) -> None:
        assert self._journal is not None
        size = self._journal.size
        if self._forget_pending or (
            size >= COMPACT_MIN_BYTES and size > COMPACT_RATIO * (self._table.live_bytes + 4096)
        ):
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
        file_key = random_bytes(MASTER_KEY_SIZE)  # kept in the journal; deleting destroys it
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
                file_key,
                attachment_id,
                body,
                media_type=media_type,
                name=name,
                metadata_removed=removed,
            )
        try:
            self._keep_file_key(attachment_id, file_key)
        except BaseException:
            blobs.blob_path(self._layout.blobs, attachment_id).unlink(missing_ok=True)
            raise
        if remove_source and isinstance(source, str | os.PathLike):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(source)
        return info

    @_unlocked
    def _keep_file_key(self, attachment_id: str, file_key: bytes) -> None:
        """Save an attachment's file key as one journal entry (fsync'd)."""
        assert self._journal is not None and self._record_sealer is not None
        entry_id = FILE_KEY_PREFIX + attachment_id
        sealed = self._record_sealer.seal(file_key, record_aad(entry_id))
        self._journal.append([Op(OP_PUT, entry_id, sealed)])
        self._file_keys[attachment_id] = (file_key, sealed)
        self._count_entry()
        self._maybe_compact()

    def _key_for(self, attachment_id: str) -> blobs.KeyFor:
        """The key resolver for one attachment: its file key (format 2) or, for files from
        release 0.1, the attachment sub-key. A forgotten file key is `AttachmentNotFound`."""
        keys = self._keys
        assert keys is not None
        found = self._file_keys.get(attachment_id)

        def key_for(version: int) -> bytes:
            if version == blobs.MAGIC_V1[-1]:
                return keys.attachment
            if found is None:
                raise AttachmentNotFound(attachment_id)
            return found[0]

        return key_for

    def _attachment_id(self, attachment_id: str) -> str:
        if not isinstance(attachment_id, str) or not _ATTACHMENT_ID.match(attachment_id):
            raise AttachmentNotFound(str(attachment_id))
        return attachment_id

    @_unlocked
    def read_attachment(self, attachment_id: str) -> bytes:
        """The whole attachment, decrypted and verified, in memory. `AttachmentCorrupt`."""
        attachment_id = self._attachment_id(attachment_id)
        with BlobReader(self._layout.blobs, self._key_for(attachment_id), attachment_id) as reader:
            return reader.readall()

    @_unlocked
    def open_attachment(self, attachment_id: str) -> BinaryIO:
        """A read-only decrypted stream (constant memory). Damage raises `AttachmentCorrupt`
        from `read()` when the damaged chunk is reached."""
        attachment_id = self._attachment_id(attachment_id)
        raw = BlobReader(self._layout.blobs, self._key_for(attachment_id), attachment_id)
        return cast(BinaryIO, io.BufferedReader(raw, blobs.CHUNK_SIZE))

    @_unlocked
    def attachment_info(self, attachment_id: str) -> Attachment:
        attachment_id = self._attachment_id(attachment_id)
        return blobs.read_info(self._layout.blobs, self._key_for(attachment_id), attachment_id)

    @_unlocked
    def attachments(self) -> builtins.list[Attachment]:
        """Every readable attachment, oldest first (damaged ones are left out)."""
        assert self._keys is not None
        found = []
        for entry in sorted(os.listdir(self._layout.blobs)):
            if not _ATTACHMENT_ID.match(entry):
                continue
            with contextlib.suppress(AttachmentNotFound, blobs.AttachmentCorrupt):
                found.append(blobs.read_info(self._layout.blobs, self._key_for(entry), entry))
        found.sort(key=lambda a: (a.created_at, a.id))
        return found

    @_unlocked
    def delete_attachment(self, attachment_id: str) -> None:
        """Delete an attachment, forgetting it cryptographically: its file key leaves the
        journal by a re-keying compaction (as `delete` does for records), then the file is
        overwritten and unlinked. A copy of the file kept elsewhere (a backup, flash blocks) no
        longer decrypts, even with the passphrase. Files from release 0.1 have no file key:
        they are only overwritten. `AttachmentNotFound` if there is no such attachment."""
        attachment_id = self._attachment_id(attachment_id)
        path = blobs.blob_path(self._layout.blobs, attachment_id)
        if attachment_id not in self._file_keys and not path.exists():
            raise AttachmentNotFound(attachment_id)
        if attachment_id in self._file_keys:
            try:
                self._rekey(self._live_items(skip_keys={attachment_id}))
            except StorageFull:
                assert self._journal is not None
                self._journal.append([Op(OP_DELETE, FILE_KEY_PREFIX + attachment_id)])
                self._count_entry()
                self._forget_pending = True
            del self._file_keys[attachment_id]
        try:
            overwrite_and_unlink(path)
        except OSError:
            path.unlink(missing_ok=True)

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


@dataclasses.dataclass(frozen=True)
class _FirstStates:
    keyfile: KeyFile
    key: StateKey
    records: tuple[KeyState, ...]

    @property
    def sealed(self) -> tuple[bytes, ...]:
        return tuple(self.key.seal(self.keyfile, i, r) for i, r in enumerate(self.records))

    def file(self, path: Path) -> StateFile:
        return StateFile(path, self.keyfile, self.key, self.records, STATE_OFFSETS)


def _first_states(keyfile: KeyFile, state_key: StateKey, journal: Journal) -> _FirstStates:
    """Both state records naming `journal` (serials 1 and 2), for a new key file."""
    records = tuple(
        KeyState(serial, 0, journal.next_seq, journal.journal_id, journal.key) for serial in (1, 2)
    )
    return _FirstStates(keyfile, state_key, records)


@dataclasses.dataclass(frozen=True)
class _Loaded:
    """What an unlock read from the journal and key file, ready to build the `Vault`."""

    keys: SubKeys
    states: StateFile
    journal: Journal
    table: RecordTable
    file_keys: FileKeys
    report: OpenReport
    needs_compaction: bool
    """Damage was skipped, the key file was upgraded, or a deletion was logged (on a full disk,
    instead of re-keying): compact now, so that what they left behind is forgotten."""


def _forget_failures(layout: Layout, attempts: Attempts) -> Attempts:
    """The right passphrase: the count of failed attempts starts again from 0."""
    if not attempts.failed:
        return attempts
    attempts = dataclasses.replace(attempts, failed=0)
    with contextlib.suppress(StorageFull):
        attempts.save(layout.attempts, layout.tmp)
    return attempts


def _load_journal(layout: Layout, keyfile: KeyFile, master: bytes, recover: bool) -> _Loaded:
    """Read the journal the key file's state records name, replay it and open it for append;
    upgrade a format 1 key file, settle both state records and tidy what a crash left."""
    keys = SubKeys.derive(master)
    state_key = StateKey.derive(master)
    journal_id = read_journal_id(layout.journal)
    upgrade = not keyfile.states
    if upgrade:  # format 1 (release 0.1): the journal key was derived, not stored
        records: list[KeyState | None] = [KeyState(0, 0, 0, journal_id, keys.journal)]
    else:
        records = state_key.open_all(keyfile)
    chosen = _choose_state(records, journal_id)
    state = read_journal(layout.journal, chosen.journal_key, recover=recover)
    rollback = None if upgrade else _rollback(chosen, state)
    table, file_keys = _replay(state, keys.record, recover)
    if upgrade:
        keyfile, upgraded = _upgrade_key_file(layout, keyfile, state_key, chosen, state)
        records, chosen = [*upgraded], upgraded[-1]
    journal = Journal.open_for_append(layout.journal, chosen.journal_key, state)
    report = OpenReport(state.dropped_tail_bytes, tuple(state.skipped), rollback)
    states = StateFile(layout.key, keyfile, state_key, records, STATE_OFFSETS)
    if not _settled(states, chosen, state.next_seq):
        # Both records name this journal from now on (any other key in them is gone).
        # On a read-only disk this waits for the next unlock that can write.
        with contextlib.suppress(OSError, StorageFull):
            states.write_both(
                generation=chosen.generation,
                seq=state.next_seq,
                journal_id=chosen.journal_id,
                journal_key=chosen.journal_key,
            )
    _remove_stale_snapshots(layout)
    _remove_orphan_blobs(layout, file_keys)
    logged_deletion = any(op.kind == OP_DELETE for op in state.ops)
    return _Loaded(
        keys, states, journal, table, file_keys, report,
        needs_compaction=bool(report.skipped) or upgrade or logged_deletion,
    )  # fmt: skip


def _upgrade_key_file(
    layout: Layout, keyfile: KeyFile, state_key: StateKey, legacy: KeyState, state: ReadResult
) -> tuple[KeyFile, list[KeyState]]:
    """Turn a format 1 key file into format 2, keeping its slots (the duress slot included).

    Both records name the journal as it is, under its derived key; the unlock that called this
    then compacts, which replaces that key by a random one. Written by rename: the file changes
    size, and the old file holds nothing the new one does not."""
    records = [dataclasses.replace(legacy, serial=serial, seq=state.next_seq) for serial in (1, 2)]
    sealed = tuple(state_key.seal(keyfile, i, record) for i, record in enumerate(records))
    data = keyfile.to_bytes(sealed)
    atomic_write(layout.key, data, layout.tmp, prefix=KEY_TEMP_PREFIX)
    return KeyFile.parse(data), records


def _choose_state(records: Sequence[KeyState | None], journal_id: bytes) -> KeyState:
    """The newest record naming the journal on disk. The older record may name it only after a
    crash in a compaction before its new journal was put in place."""
    readable = sorted((r for r in records if r is not None), key=lambda r: -r.serial)
    if not readable:
        raise VaultCorrupt("key file: no readable journal state")
    for record in readable:
        if record.journal_id == journal_id:
            return record
    raise VaultRolledBack(
        "journal: not the journal the key file names (an older copy?); nothing was changed"
    )


def _rollback(chosen: KeyState, state: ReadResult) -> str | None:
    """What the entry counter says about the journal just read, or None if all is well.

    The key file is rewritten after each entry is durable, so it may lag one entry behind the
    journal (a crash between the two writes), never more, and never ahead."""
    if state.next_seq < chosen.seq:
        missing = chosen.seq - state.next_seq
        return f"journal: {missing} saved change(s) missing (cut short or an older copy)"
    if state.next_seq > chosen.seq + 1:
        return "key file: older than the journal (an older copy was put back)"
    return None


def _settled(states: StateFile, chosen: KeyState, next_seq: int) -> bool:
    """Both records name `chosen`'s journal and the newest counts every entry."""
    records = states.records
    return (
        all(chosen.same_journal(r) for r in records)
        and states.current == chosen
        and chosen.seq == next_seq
    )


def _remove_stale_snapshots(layout: Layout) -> None:
    """Journals a crashed compaction left in tmp/ (their key is gone): overwrite and delete."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(layout.tmp):
            if entry.name.startswith(SNAPSHOT_PREFIX):
                with contextlib.suppress(OSError):
                    overwrite_and_unlink(Path(entry.path))


def _replay(state: ReadResult, record_key: bytes, recover: bool) -> tuple[RecordTable, FileKeys]:
    table = RecordTable()
    file_keys: FileKeys = {}
    sealer = Sealer(record_key)
    for number, op in enumerate(state.ops, 1):
        is_key = op.record_id.startswith(FILE_KEY_PREFIX)
        attachment_id = op.record_id[len(FILE_KEY_PREFIX) :]
        if op.kind == OP_DELETE:
            if is_key:
                file_keys.pop(attachment_id, None)
            else:
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
        if is_key:
            file_keys[attachment_id] = (plain, op.sealed)
        else:
            table.put(op.record_id, plain, op.sealed)
    return table, file_keys


def _remove_orphan_blobs(layout: Layout, file_keys: FileKeys) -> None:
    """Attachment files whose key is not in the journal (a crash between writing the file and
    saving its key, or between forgetting the key and removing the file): overwrite, delete."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(layout.blobs):
            if not _ATTACHMENT_ID.match(entry.name) or entry.name in file_keys:
                continue
            with contextlib.suppress(OSError):
                with open(entry.path, "rb") as handle:
                    version = blobs.blob_version(handle.read(len(blobs.MAGIC)))
                if version == blobs.MAGIC[-1]:
                    overwrite_and_unlink(Path(entry.path))


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
