"""A hostile server operator: the real server process, plus someone who edits its database and
blob directory by hand and holds no organisation key.

    op = HostileOperator(org.server)
    op.insert_device(key, recipient)              # an invented device row
    op.swap_recipient(device_id, recipient)       # a real device's age recipient replaced
    op.replace_blob(blob_id, ciphertext)          # a stored attachment swapped (DB and file)
    op.restore_org_document(old_wire)             # an older, genuinely root-signed document
    op.forget_envelopes(author)                   # "stored", then dropped
    op.insert_envelope(sealed)                    # an envelope its own checks would refuse
    op.insert_locked_alarm(device_id, sealed)     # a locked phone's alarm, invented or replayed

Everything goes through SQLite on the server's own files, as an operator with shell access
would; the server keeps running and answers from what it finds.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from server.config import BLOB_DIR, SQLITE_FILE
from sync.encoding import b64u_encode
from sync.envelope import to_wire as envelope_wire
from sync.keys import key_id
from tests.support.live_server import LiveServer


class HostileOperator:
    def __init__(self, server: LiveServer) -> None:
        self.data_dir = Path(server.data_dir)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.data_dir / SQLITE_FILE, timeout=10)
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def insert_device(self, signing_key: bytes, recipient: str, label: str = "phone") -> str:
        device_id = key_id(signing_key)
        now = int(time.time())
        with self._db() as db:
            db.execute(
                "INSERT INTO devices (id, signing_key, recipient, label, enrolled_at, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (device_id, b64u_encode(signing_key), recipient, label, now, now),
            )
        return device_id

    def swap_recipient(self, device_id: str, recipient: str) -> None:
        with self._db() as db:
            db.execute("UPDATE devices SET recipient = ? WHERE id = ?", (recipient, device_id))

    def replace_blob(self, blob_id: str, data: bytes) -> None:
        import hashlib

        with self._db() as db:
            (name,) = db.execute(
                "SELECT storage_name FROM blobs WHERE id = ?", (blob_id,)
            ).fetchone()
            db.execute(
                "UPDATE blobs SET sha256 = ?, size = ?, received = ? WHERE id = ?",
                (hashlib.sha256(data).hexdigest(), len(data), len(data), blob_id),
            )
        (self.data_dir / BLOB_DIR / "complete" / name).write_bytes(data)

    def blob_ids(self) -> list[str]:
        with self._db() as db:
            return [row[0] for row in db.execute("SELECT id FROM blobs WHERE complete = 1")]

    def restore_org_document(self, wire: dict[str, Any]) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE org_document SET version = ?, document = ? WHERE id = 1",
                (wire["version"] if "sealed" in wire else wire["doc"]["version"], json.dumps(wire)),
            )

    def forget_envelopes(self, author: str) -> int:
        with self._db() as db:
            cursor = db.execute("DELETE FROM envelopes WHERE author = ?", (author,))
            db.execute("DELETE FROM chains WHERE author = ?", (author,))
            return cursor.rowcount

    def forget_blobs(self) -> None:
        with self._db() as db:
            db.execute("DELETE FROM blobs")

    def insert_envelope(
        self,
        sealed: Any,
        *,
        signing_key: bytes | None = None,
        received_at: int | None = None,
    ) -> None:
        """Put a signed envelope in the feed directly, past the server's own kind checks
        (verified against `signing_key`, by default the key the server holds for its author)."""
        from server.verify import envelope as incoming

        key = signing_key or self._signing_key(sealed.author)
        env = incoming(envelope_wire(sealed), key, sealed.author)
        self._append_to_feed(
            (env.id, env.hash, env.author, env.seq, env.prev, env.kind, env.to, env.created),
            (received_at or int(time.time()), env.header, env.sig, env.payload),
        )

    def _append_to_feed(self, head: tuple[Any, ...], tail: tuple[Any, ...]) -> None:
        """Insert an envelope row at the end of the feed: `head` is (id, hash, author, seq,
        prev, kind, recipient, created), `tail` (received_at, header, sig, payload)."""
        with self._db() as db:
            (cursor,) = db.execute(
                "UPDATE counters SET value = value + 1 WHERE name = 'feed' RETURNING value"
            ).fetchone()
            db.execute(
                "INSERT INTO envelopes (cursor_id, id, hash, author, seq, prev, kind, recipient,"
                " created, received_at, header, sig, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cursor, *head, *tail),
            )

    def _signing_key(self, author: str) -> bytes:
        from sync.encoding import b64u_decode

        with self._db() as db:
            row = db.execute("SELECT signing_key FROM devices WHERE id = ?", (author,)).fetchone()
            if row is None:
                row = db.execute(
                    "SELECT signing_key FROM coordinators WHERE key_id = ?", (author,)
                ).fetchone()
        return b64u_decode(row[0], length=32)

    # -- alarms from locked phones (server.routers.alarms) ------------------------------------
    def locked_alarms(self) -> list[tuple[int, str, bytes, int]]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id, device_id, sealed, received_at FROM locked_alarms ORDER BY id"
            ).fetchall()
        return [(int(r[0]), str(r[1]), bytes(r[2]), int(r[3])) for r in rows]

    def insert_locked_alarm(
        self, device_id: str, sealed: bytes, received_at: int | None = None
    ) -> None:
        when = int(time.time()) if received_at is None else received_at
        with self._db() as db:
            db.execute(
                "INSERT INTO locked_alarms (device_id, sealed, received_at) VALUES (?, ?, ?)",
                (device_id, sealed, when),
            )

    def move_locked_alarm(self, alarm_id: int, device_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE locked_alarms SET device_id = ? WHERE id = ?", (device_id, alarm_id))

    def forget_locked_alarms(self) -> None:
        with self._db() as db:
            db.execute("DELETE FROM locked_alarms")

    def set_check_key(self, device_id: str, public_key: bytes) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE devices SET check_key = ? WHERE id = ?",
                (b64u_encode(public_key), device_id),
            )


class RedTeamOperator(HostileOperator):
    """More of what an operator with shell access can do (used by `test_red_team.py`)."""

    def device_proof(self, device_id: str) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT proof FROM devices WHERE id = ?", (device_id,)).fetchone()
        return None if row is None else row[0]

    def set_proof(self, device_id: str, proof: str | None) -> None:
        """Hide (None) or put back a device's enrolment proof in the device list."""
        with self._db() as db:
            db.execute("UPDATE devices SET proof = ? WHERE id = ?", (proof, device_id))

    def insert_device_with_proof(self, signing_key: bytes, recipient: str, proof: str) -> str:
        device_id = self.insert_device(signing_key, recipient, label="")
        self.set_proof(device_id, proof)
        return device_id

    def insert_envelope_as(self, sealed: Any, signing_key: bytes) -> None:
        """Put an envelope signed by `signing_key` in the feed, whoever the server thinks that is
        (a coordinator the org document no longer lists, say)."""
        self.insert_envelope(sealed, signing_key=signing_key)

    def move_to_end_of_feed(self, envelope_id: str) -> None:
        """Reorder the feed: the envelope is answered after everything stored so far."""
        with self._db() as db:
            (cursor,) = db.execute(
                "UPDATE counters SET value = value + 1 WHERE name = 'feed' RETURNING value"
            ).fetchone()
            db.execute("UPDATE envelopes SET cursor_id = ? WHERE id = ?", (cursor, envelope_id))

    def org_document_wire(self) -> dict[str, Any]:
        with self._db() as db:
            (document,) = db.execute("SELECT document FROM org_document WHERE id = 1").fetchone()
        return json.loads(document)

    def insert_envelope_unchecked(self, sealed: Any, *, recipient: str | None = None) -> None:
        """Put any well-formed envelope in the feed, its signature unchecked (a forgery); with
        `recipient`, in that device's message list whatever its header says."""
        from sync.envelope import envelope_hash

        header = sealed.header
        self._append_to_feed(
            (
                header.id,
                envelope_hash(sealed),
                header.author,
                header.seq,
                header.prev,
                header.kind,
                recipient or header.to,
                header.created,
            ),
            (
                int(time.time()),
                header.canonical().decode("ascii"),
                b64u_encode(sealed.sig),
                sealed.payload,
            ),
        )

    def readdress(self, envelope_id: str, device_id: str) -> None:
        """Move a coordinator's message into another device's message list."""
        with self._db() as db:
            db.execute("UPDATE envelopes SET recipient = ? WHERE id = ?", (device_id, envelope_id))

    def set_received_at(self, envelope_id: str, received_at: int) -> None:
        """Say an envelope arrived at another time than it did."""
        with self._db() as db:
            db.execute(
                "UPDATE envelopes SET received_at = ? WHERE id = ?", (received_at, envelope_id)
            )
