"""The repository in SQL, shared by SQLite and PostgreSQL.

Subclasses supply connections and transactions (`_transaction`) and a few dialect words; every
query here is portable SQL with `?` placeholders. Each public method runs in one transaction.

Feed cursors: every ingest takes the row lock on `counters('feed')` as its last step before
inserting, and holds it until commit. So envelopes commit in cursor order, and a reader can never
see cursor N+1 while cursor N is still uncommitted (it would skip N forever). On SQLite the write
lock serialises writers anyway; on PostgreSQL the row lock does it for every process sharing the
database. The lock is held only for the inserts and the commit.
"""

# ruff: noqa: S608  (every fragment joined into SQL here is a constant; values are parameters)

from __future__ import annotations

import abc
import contextlib
import dataclasses
import secrets
from collections.abc import Iterator, Sequence
from typing import Any, Literal, Protocol

from server.db.base import (
    ZERO_HASH,
    Blob,
    Command,
    Device,
    DeviceSummary,
    DropLimits,
    FeedItem,
    IncomingEnvelope,
    IngestResult,
    LockedAlarm,
    OrgDocument,
    Problem,
    RateLimited,
    Refused,
    Repository,
)
from server.db.schema import MIGRATIONS, TABLES

TOUCH_INTERVAL = 60
PROBLEMS_SHOWN = 20
DROP_KEPT_AFTER_EXPIRY = 7 * 86400
"""How long an expired short code's record stays (without its bytes' use) to say "expired"."""


class Tx(Protocol):
    def run(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...
    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


def _device(row: Sequence[Any]) -> Device:
    return Device(
        id=row[0],
        signing_key=row[1],
        recipient=row[2],
        label=row[3],
        enrolled_at=int(row[4]),
        last_seen=int(row[5]),
        revoked_at=None if row[6] is None else int(row[6]),
        proof=None if row[7] is None else str(row[7]),
    )


_DEVICE_COLUMNS = "id, signing_key, recipient, label, enrolled_at, last_seen, revoked_at, proof"
_BLOB_COLUMNS = "id, owner, size, sha256, received, storage_name, complete"
ADVANCE_BLOB = "UPDATE blobs SET received = ? WHERE id = ? AND received = ? AND complete = 0"
"""Move a blob's offset (new, id, old) if it is still `old`: also run by `server.pg_blobs` in
the transaction that writes the chunk's bytes."""


def _blob(row: Sequence[Any]) -> Blob:
    return Blob(
        id=row[0],
        owner=row[1],
        size=int(row[2]),
        sha256=row[3],
        offset=int(row[4]),
        storage_name=row[5],
        complete=bool(row[6]),
    )


class SqlRepository(Repository):
    for_update = ""
    bytes_type = "BLOB"
    serial_type = "INTEGER PRIMARY KEY AUTOINCREMENT"

    @abc.abstractmethod
    def _transaction(
        self, write: bool, durable: bool = True
    ) -> contextlib.AbstractContextManager[Tx]:
        """A transaction; `durable=False` may skip the flush to disk at commit (nonces only)."""

    @abc.abstractmethod
    def _migration_lock(self, tx: Tx) -> None: ...

    @contextlib.contextmanager
    def _write(self, durable: bool = True) -> Iterator[Tx]:
        with self._transaction(True, durable) as tx:
            yield tx

    @contextlib.contextmanager
    def _read(self) -> Iterator[Tx]:
        with self._transaction(False) as tx:
            yield tx

    def _read_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of one query, read in a transaction of its own."""
        with self._read() as tx:
            return tx.all(sql, params)

    def _read_one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of one query (or None), read in a transaction of its own."""
        with self._read() as tx:
            return tx.one(sql, params)

    # -- lifecycle ------------------------------------------------------------------------------
    def migrate(self) -> int:
        with self._write() as tx:
            self._migration_lock(tx)
            tx.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = tx.one("SELECT version FROM schema_version")
            if row is None:
                tx.run("INSERT INTO schema_version (version) VALUES (0)")
                version = 0
            else:
                version = int(row[0])
            if version > len(MIGRATIONS):
                raise RuntimeError(f"database schema {version} is newer than this server")
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    tx.run(statement.format(bytes=self.bytes_type, serial=self.serial_type))
            tx.run("UPDATE schema_version SET version = ?", (len(MIGRATIONS),))
        return len(MIGRATIONS)

    def row_counts(self) -> dict[str, int]:
        with self._read() as tx:
            return {
                table: int(tx.one(f"SELECT COUNT(*) FROM {table}")[0])  # type: ignore[index]
                for table in TABLES
            }

    # -- organisation ---------------------------------------------------------------------------
    def set_bootstrap_token(self, token_hash: str) -> None:
        with self._write() as tx:
            if tx.one("SELECT 1 FROM org_document") is not None:
                raise Refused("already_bootstrapped", "the organisation is already set up")
            tx.run("DELETE FROM meta WHERE name = 'bootstrap_token'")
            tx.run("INSERT INTO meta (name, value) VALUES ('bootstrap_token', ?)", (token_hash,))

    def bootstrap(self, token_hash: str, org: OrgDocument, now: int) -> None:
        with self._write() as tx:
            row = tx.one("SELECT value FROM meta WHERE name = 'bootstrap_token'" + self.for_update)
            if tx.one("SELECT 1 FROM org_document") is not None:
                raise Refused("already_bootstrapped", "the organisation is already set up")
            if row is None or not secrets.compare_digest(str(row[0]), token_hash):
                raise Refused("bad_token", "the bootstrap token is not valid")
            tx.run("DELETE FROM meta WHERE name = 'bootstrap_token'")
            self._store_org(tx, org, now, insert=True)

    def _store_org(self, tx: Tx, org: OrgDocument, now: int, *, insert: bool) -> None:
        if insert:
            tx.run(
                "INSERT INTO org_document (id, root, version, document, updated_at)"
                " VALUES (1, ?, ?, ?, ?)",
                (org.root, org.version, org.document, now),
            )
        else:
            tx.run(
                "UPDATE org_document SET version = ?, document = ?, updated_at = ? WHERE id = 1",
                (org.version, org.document, now),
            )
        tx.run("DELETE FROM coordinators")
        tx.many(
            "INSERT INTO coordinators (key_id, signing_key) VALUES (?, ?)",
            sorted(org.coordinators.items()),
        )

    def org_document(self) -> OrgDocument | None:
        with self._read() as tx:
            row = tx.one("SELECT root, version, document FROM org_document WHERE id = 1")
            if row is None:
                return None
            coordinators = dict(tx.all("SELECT key_id, signing_key FROM coordinators"))
        return OrgDocument(str(row[0]), int(row[1]), str(row[2]), coordinators)

    def replace_org_document(self, org: OrgDocument, now: int) -> None:
        with self._write() as tx:
            row = tx.one("SELECT root, version FROM org_document WHERE id = 1" + self.for_update)
            if row is None:
                raise Refused("not_bootstrapped", "the organisation is not set up yet")
            if row[0] != org.root:
                raise Refused("bad_document", "the document is signed by another root key")
            if org.version <= int(row[1]):
                raise Refused("stale_version", f"version must be higher than {int(row[1])}")
            self._store_org(tx, org, now, insert=False)

    # -- authentication -------------------------------------------------------------------------
    def lookup_key(self, key_id: str) -> tuple[str | None, Device | None]:
        with self._read() as tx:
            row = tx.one("SELECT signing_key FROM coordinators WHERE key_id = ?", (key_id,))
            device = tx.one(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = ?", (key_id,))
        return (None if row is None else str(row[0])), (None if device is None else _device(device))

    def remember_nonce(
        self, nonce: str, expires_at: int, now: int, *, seen_device: str | None = None
    ) -> bool:
        # Not flushed on its own: losing the last nonces in a power cut only reopens a replay
        # window of two minutes for requests nobody could read (TLS), and ingest is idempotent.
        with self._write(durable=False) as tx:
            if secrets.randbelow(64) == 0:
                tx.run("DELETE FROM nonces WHERE expires_at < ?", (now,))
            else:
                tx.run("DELETE FROM nonces WHERE nonce = ? AND expires_at < ?", (nonce, now))
            added = tx.run(
                "INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)"
                " ON CONFLICT (nonce) DO NOTHING",
                (nonce, expires_at),
            )
            if added == 1 and seen_device is not None:
                tx.run(
                    "UPDATE devices SET last_seen = ? WHERE id = ? AND last_seen < ?",
                    (now, seen_device, now - TOUCH_INTERVAL),
                )
        return added == 1

    # -- invites and devices --------------------------------------------------------------------
    def create_invite(
        self, token_hash: str, label: str, created_by: str, now: int, expires_at: int
    ) -> None:
        with self._write() as tx:
            tx.run(
                "INSERT INTO invites (token_hash, label, created_by, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_hash, label, created_by, now, expires_at),
            )

    def enrol(self, token_hash: str, device: Device, now: int) -> Device:
        with self._write() as tx:
            row = tx.one(
                "SELECT label, expires_at, used_at FROM invites WHERE token_hash = ?"
                + self.for_update,
                (token_hash,),
            )
            if row is None or row[2] is not None or int(row[1]) < now:
                raise Refused("invalid_token", "the invite is unknown, used or expired")
            if tx.one("SELECT 1 FROM devices WHERE id = ?", (device.id,)) is not None:
                raise Refused("already_enrolled", "this key is already enrolled")
            if tx.one("SELECT 1 FROM coordinators WHERE key_id = ?", (device.id,)) is not None:
                raise Refused("already_enrolled", "this key belongs to a coordinator")
            label = device.label or str(row[0])
            stored = dataclasses.replace(
                device, label=label, enrolled_at=now, last_seen=now, revoked_at=None
            )
            tx.run(
                f"INSERT INTO devices ({_DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                (stored.id, stored.signing_key, stored.recipient, label, now, now, stored.proof),
            )
            tx.run(
                "UPDATE invites SET used_at = ?, device_id = ? WHERE token_hash = ?",
                (now, device.id, token_hash),
            )
        return stored

    def device(self, device_id: str) -> Device | None:
        row = self._read_one(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = ?", (device_id,))
        return None if row is None else _device(row)

    def devices(self) -> list[DeviceSummary]:
        with self._read() as tx:
            devices = [
                _device(r)
                for r in tx.all(f"SELECT {_DEVICE_COLUMNS} FROM devices ORDER BY enrolled_at, id")
            ]
            chains = {
                r[0]: r[1:]
                for r in tx.all("SELECT author, stored, max_seq, forks, breaks FROM chains")
            }
            wipes: dict[str, str] = {}
            for device_id, acked in tx.all(
                "SELECT device_id, acked_at FROM commands WHERE kind = 'wipe'"
            ):
                if acked is None or wipes.get(device_id) == "pending":
                    wipes[device_id] = "pending"
                else:
                    wipes[device_id] = "done"
            summaries = []
            for device in devices:
                stored, max_seq, forks, breaks = (
                    int(v) for v in chains.get(device.id, (0, 0, 0, 0))
                )
                if forks:
                    chain = "fork"
                elif breaks or stored < max_seq:
                    chain = "gap"
                else:
                    chain = "ok"
                problems = [
                    Problem(str(r[0]), int(r[1]), str(r[2]), int(r[3]), str(r[4]))
                    for r in tx.all(
                        "SELECT kind, seq, envelope_id, detected_at, detail FROM chain_problems"
                        " WHERE author = ? ORDER BY id DESC LIMIT ?",
                        (device.id, PROBLEMS_SHOWN),
                    )
                ]
                summaries.append(
                    DeviceSummary(
                        device=device,
                        envelopes=stored,
                        last_seq=max_seq,
                        chain=chain,
                        problems=problems[::-1],
                        wipe=wipes.get(device.id, "none"),
                    )
                )
        return summaries

    def revoke(self, device_id: str, now: int) -> Device:
        with self._write() as tx:
            row = tx.one(
                f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = ?" + self.for_update,
                (device_id,),
            )
            if row is None:
                raise Refused("not_found", "no such device")
            tx.run(
                "UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now, device_id),
            )
            row = tx.one(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = ?", (device_id,))
        return _device(row)  # type: ignore[arg-type]

    # -- short join codes -----------------------------------------------------------------------
    def put_invite_drop(
        self, lookup: str, sealed: bytes, created_by: str, now: int, expires_at: int, fetches: int
    ) -> None:
        with self._write() as tx:
            tx.run("DELETE FROM invite_drops WHERE expires_at < ?", (now - DROP_KEPT_AFTER_EXPIRY,))
            added = tx.run(
                "INSERT INTO invite_drops"
                " (lookup, sealed, created_by, created_at, expires_at, fetches_left)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (lookup) DO NOTHING",
                (lookup, sealed, created_by, now, expires_at, fetches),
            )
            if added != 1:
                raise Refused("drop_exists", "a sealed invite is already kept for this code")

    def fetch_invite_drop(self, lookup: str, source: str, now: int, limits: DropLimits) -> bytes:
        with self._write() as tx:
            for who, limit, window in (
                (source, limits.per_source, limits.source_window),
                (None, limits.total, limits.total_window),
            ):
                where = "at > ?" + ("" if who is None else " AND source = ?")
                params: tuple[Any, ...] = (now - window,) + (() if who is None else (who,))
                count, oldest = tx.one(
                    f"SELECT COUNT(*), MIN(at) FROM invite_drop_misses WHERE {where}", params
                ) or (0, None)
                if int(count) >= limit:
                    raise RateLimited(max(1, int(oldest) + window - now))
            row = tx.one(
                "SELECT sealed, expires_at, fetches_left FROM invite_drops WHERE lookup = ?"
                + self.for_update,
                (lookup,),
            )
            if row is None:
                oldest_kept = now - max(limits.source_window, limits.total_window)
                tx.run("DELETE FROM invite_drop_misses WHERE at <= ?", (oldest_kept,))
                tx.run("INSERT INTO invite_drop_misses (source, at) VALUES (?, ?)", (source, now))
        if row is None:  # raised after the commit, so the miss is counted
            raise Refused("code_unknown", "no invite is kept for this code")
        with self._write() as tx:
            row = tx.one(
                "SELECT sealed, expires_at, fetches_left FROM invite_drops WHERE lookup = ?"
                + self.for_update,
                (lookup,),
            )
            if row is None:
                raise Refused("code_unknown", "no invite is kept for this code")
            sealed, expires_at, left = bytes(row[0]), int(row[1]), int(row[2])
            if left <= 0:
                raise Refused("code_used", "this code has been used")
            if expires_at < now:
                raise Refused("code_expired", "this code has expired")
            tx.run(
                "UPDATE invite_drops SET fetches_left = ?, sealed = ? WHERE lookup = ?",
                (left - 1, sealed if left > 1 else b"", lookup),
            )
        return sealed

    def cancel_invite_drop(self, lookup: str) -> None:
        with self._write() as tx:
            tx.run("DELETE FROM invite_drops WHERE lookup = ?", (lookup,))

    def set_check_key(self, device_id: str, check_key: str) -> None:
        with self._write() as tx:
            if tx.one("SELECT 1 FROM devices WHERE id = ?", (device_id,)) is None:
                raise Refused("not_found", "no such device")
            taken = tx.one("SELECT id FROM devices WHERE check_key = ?", (check_key,))
            if taken is not None and str(taken[0]) != device_id:
                raise Refused("check_key_taken", "this check key belongs to another device")
            if (
                tx.one("SELECT 1 FROM devices WHERE signing_key = ?", (check_key,)) is not None
                or tx.one("SELECT 1 FROM coordinators WHERE signing_key = ?", (check_key,))
                is not None
            ):
                raise Refused("check_key_taken", "a device or coordinator signs with this key")
            tx.run("UPDATE devices SET check_key = ? WHERE id = ?", (check_key, device_id))

    def device_by_check_key(self, check_key: str) -> Device | None:
        row = self._read_one(
            f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE check_key = ?", (check_key,)
        )
        return None if row is None else _device(row)

    # -- alarms from locked phones --------------------------------------------------------------
    def add_locked_alarm(
        self, device_id: str, sealed: bytes, now: int, *, per_day: int, keep_until: int
    ) -> None:
        with self._write() as tx:
            tx.run("DELETE FROM locked_alarms WHERE received_at < ?", (keep_until,))
            row = tx.one(
                "SELECT COUNT(*) FROM locked_alarms WHERE device_id = ? AND received_at > ?",
                (device_id, now - 86400),
            )
            if row is not None and int(row[0]) >= per_day:
                raise Refused("alarm_quota", "this device sent too many alarms today")
            tx.run(
                "INSERT INTO locked_alarms (device_id, sealed, received_at) VALUES (?, ?, ?)",
                (device_id, sealed, now),
            )

    def locked_alarms(self, since: int) -> list[LockedAlarm]:
        rows = self._read_all(
            "SELECT id, device_id, sealed, received_at FROM locked_alarms"
            " WHERE received_at >= ? ORDER BY id",
            (since,),
        )
        return [LockedAlarm(int(r[0]), str(r[1]), bytes(r[2]), int(r[3])) for r in rows]

    # -- commands -------------------------------------------------------------------------------
    def add_command(
        self, command_id: str, device_id: str, kind: str, document: str, now: int
    ) -> None:
        with self._write() as tx:
            if tx.one("SELECT 1 FROM devices WHERE id = ?", (device_id,)) is None:
                raise Refused("not_found", "no such device")
            added = tx.run(
                "INSERT INTO commands (id, device_id, kind, document, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (command_id, device_id, kind, document, now),
            )
            if added != 1:
                raise Refused("duplicate_command", "a command with this id exists")

    def pending_commands(self, device_id: str) -> list[Command]:
        rows = self._read_all(
            "SELECT id, device_id, document, acked_at FROM commands"
            " WHERE device_id = ? AND acked_at IS NULL ORDER BY created_at, id",
            (device_id,),
        )
        return [Command(str(r[0]), str(r[1]), str(r[2]), None) for r in rows]

    def ack_command(self, device_id: str, command_id: str, now: int) -> None:
        with self._write() as tx:
            row = tx.one(
                "SELECT acked_at FROM commands WHERE id = ? AND device_id = ?",
                (command_id, device_id),
            )
            if row is None:
                raise Refused("not_found", "no such command for this device")
            tx.run(
                "UPDATE commands SET acked_at = ? WHERE id = ? AND acked_at IS NULL",
                (now, command_id),
            )

    # -- envelopes ------------------------------------------------------------------------------
    def ingest(
        self, author: str, envelopes: list[IncomingEnvelope], now: int
    ) -> list[IngestResult]:
        if any(e.author != author for e in envelopes):
            raise ValueError("every envelope must be by the given author")
        with self._write() as tx:
            return _Ingest(tx, author, now, self.for_update).run(envelopes)

    def feed(
        self, after: int, limit: int, max_bytes: int, to_device: str | None = None
    ) -> list[FeedItem]:
        if to_device is None:
            rows = self._read_all(
                "SELECT cursor_id, received_at, header, sig, payload FROM envelopes"
                " WHERE cursor_id > ? ORDER BY cursor_id LIMIT ?",
                (after, limit),
            )
        else:
            rows = self._read_all(
                "SELECT cursor_id, received_at, header, sig, payload FROM envelopes"
                " WHERE recipient = ? AND kind = 'message' AND cursor_id > ?"
                " ORDER BY cursor_id LIMIT ?",
                (to_device, after, limit),
            )
        items: list[FeedItem] = []
        total = 0
        for row in rows:
            items.append(
                FeedItem(int(row[0]), int(row[1]), str(row[2]), str(row[3]), bytes(row[4]))
            )
            total += len(row[4])
            if total >= max_bytes:
                break
        return items

    # -- blobs ----------------------------------------------------------------------------------
    def begin_blob(self, blob: Blob, now: int) -> Blob:
        with self._write() as tx:
            tx.run(
                f"INSERT INTO blobs ({_BLOB_COLUMNS}, created_at) VALUES (?, ?, ?, ?, 0, ?, 0, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (blob.id, blob.owner, blob.size, blob.sha256, blob.storage_name, now),
            )
            row = tx.one(f"SELECT {_BLOB_COLUMNS} FROM blobs WHERE id = ?", (blob.id,))
        existing = _blob(row)  # type: ignore[arg-type]
        if (existing.owner, existing.size, existing.sha256) != (blob.owner, blob.size, blob.sha256):
            raise Refused("blob_conflict", "a different blob with this id exists")
        return existing

    def blob(self, blob_id: str) -> Blob | None:
        row = self._read_one(f"SELECT {_BLOB_COLUMNS} FROM blobs WHERE id = ?", (blob_id,))
        return None if row is None else _blob(row)

    def advance_blob(self, blob_id: str, old_offset: int, new_offset: int) -> bool:
        # Not flushed on its own, like the chunk it records: after a power cut the offset may
        # fall back, and the client re-sends from there (the file is truncated to it).
        with self._write(durable=False) as tx:
            changed = tx.run(ADVANCE_BLOB, (new_offset, blob_id, old_offset))
        return changed == 1

    def finish_blob(self, blob_id: str, storage_name: str, now: int) -> None:
        with self._write() as tx:
            tx.run(
                "UPDATE blobs SET complete = 1, storage_name = ?, completed_at = ?"
                " WHERE id = ? AND complete = 0",
                (storage_name, now, blob_id),
            )

    def reset_blob(self, blob_id: str, storage_name: str) -> None:
        with self._write() as tx:
            tx.run(
                "UPDATE blobs SET received = 0, storage_name = ? WHERE id = ? AND complete = 0",
                (storage_name, blob_id),
            )

    # -- quotas ---------------------------------------------------------------------------------
    def blobs_declared_since(self, owner: str, since: int) -> tuple[int, int, int | None]:
        row = self._read_one(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(created_at) FROM blobs"
            " WHERE owner = ? AND created_at >= ?",
            (owner, since),
        )
        if row is None:
            return 0, 0, None
        return int(row[0]), int(row[1]), None if row[2] is None else int(row[2])

    def nth_latest_envelope_time(self, author: str, nth: int) -> int | None:
        row = self._read_one(
            "SELECT received_at FROM envelopes WHERE author = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
            (author, nth - 1),
        )
        return None if row is None else int(row[0])


class _Ingest:
    """One author's batch inside one write transaction (see `Repository.ingest`)."""

    def __init__(self, tx: Tx, author: str, now: int, for_update: str) -> None:
        self.tx = tx
        self.author = author
        self.now = now
        self.for_update = for_update
        self.pending: dict[int, IncomingEnvelope] = {}
        self.pending_ids: dict[str, str] = {}
        self.problems: list[tuple[Any, ...]] = []

    def run(self, envelopes: list[IncomingEnvelope]) -> list[IngestResult]:
        tx, author = self.tx, self.author
        tx.run(
            "INSERT INTO chains (author, stored, max_seq, last_hash, forks, breaks)"
            " VALUES (?, 0, 0, ?, 0, 0) ON CONFLICT (author) DO NOTHING",
            (author, ZERO_HASH),
        )
        row = tx.one(
            "SELECT stored, max_seq, last_hash, forks, breaks FROM chains WHERE author = ?"
            + self.for_update,
            (author,),
        )
        assert row is not None
        stored, max_seq, last_hash, forks, breaks = (
            int(row[0]),
            int(row[1]),
            str(row[2]),
            int(row[3]),
            int(row[4]),
        )
        known = self._known_ids([e.id for e in envelopes])
        results: list[IngestResult] = []
        for env in envelopes:
            earlier = known.get(env.id) or self.pending_ids.get(env.id)
            if earlier is not None:
                if earlier == env.hash:
                    results.append(IngestResult(env.id, "duplicate"))
                else:
                    results.append(IngestResult(env.id, "rejected", "id_conflict"))
                continue
            if env.seq <= max_seq and self._hash_at(env.seq) is not None:
                forks += 1
                self._problem("fork", env, f"seq {env.seq} is already held by another envelope")
                results.append(IngestResult(env.id, "rejected", "fork"))
                continue
            if env.seq > max_seq + 1:
                self._problem("gap", env, f"seq {max_seq + 1} to {env.seq - 1} missing")
            if env.seq == max_seq + 1:
                if env.prev != last_hash:
                    breaks += 1
                    self._problem("break", env, "prev does not match the previous envelope")
            elif env.seq < max_seq:
                before = ZERO_HASH if env.seq == 1 else self._hash_at(env.seq - 1)
                if before is not None and before != env.prev:
                    breaks += 1
                    self._problem("break", env, "prev does not match the previous envelope")
                after_prev = self._prev_at(env.seq + 1)
                if after_prev is not None and after_prev != env.hash:
                    breaks += 1
                    self._problem("break", env, "the next envelope does not link to this one")
            self.pending[env.seq] = env
            self.pending_ids[env.id] = env.hash
            stored += 1
            if env.seq > max_seq:
                max_seq, last_hash = env.seq, env.hash
            results.append(IngestResult(env.id, "stored"))
        if self.problems:
            tx.many(
                "INSERT INTO chain_problems (author, kind, seq, envelope_id, detected_at, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                self.problems,
            )
        if self.pending:
            self._insert(list(self.pending.values()))
        tx.run(
            "UPDATE chains SET stored = ?, max_seq = ?, last_hash = ?, forks = ?, breaks = ?"
            " WHERE author = ?",
            (stored, max_seq, last_hash, forks, breaks, author),
        )
        return results

    def _known_ids(self, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = self.tx.all(f"SELECT id, hash FROM envelopes WHERE id IN ({marks})", ids)
        return {str(r[0]): str(r[1]) for r in rows}

    def _hash_at(self, seq: int) -> str | None:
        """The hash of this author's envelope `seq` (pending in this batch, or stored)."""
        if seq in self.pending:
            return self.pending[seq].hash
        return self._stored_at(seq, "hash")

    def _prev_at(self, seq: int) -> str | None:
        """The hash envelope `seq` names as its predecessor (pending, or stored)."""
        if seq in self.pending:
            return self.pending[seq].prev
        return self._stored_at(seq, "prev")

    def _stored_at(self, seq: int, column: Literal["hash", "prev"]) -> str | None:
        row = self.tx.one(
            f"SELECT {column} FROM envelopes WHERE author = ? AND seq = ?",
            (self.author, seq),
        )
        return None if row is None else str(row[0])

    def _problem(self, kind: str, env: IncomingEnvelope, detail: str) -> None:
        self.problems.append((self.author, kind, env.seq, env.id, self.now, detail))

    def _insert(self, envelopes: list[IncomingEnvelope]) -> None:
        # Last step before commit: take the feed counter's row lock (see the module docstring).
        row = self.tx.one(
            "UPDATE counters SET value = value + ? WHERE name = 'feed' RETURNING value",
            (len(envelopes),),
        )
        assert row is not None
        first = int(row[0]) - len(envelopes) + 1
        self.tx.many(
            "INSERT INTO envelopes (cursor_id, id, hash, author, seq, prev, kind, recipient,"
            " created, received_at, header, sig, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    first + i,
                    e.id,
                    e.hash,
                    e.author,
                    e.seq,
                    e.prev,
                    e.kind,
                    e.to,
                    e.created,
                    self.now,
                    e.header,
                    e.sig,
                    e.payload,
                )
                for i, e in enumerate(envelopes)
            ],
        )
