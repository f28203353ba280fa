"""Schema migrations, numbered and applied in order at start-up.

`MIGRATIONS[n]` is the list of statements taking the schema from version n to n+1. The current
version lives in the `schema_version` table. `{bytes}` and `{serial}` are filled in per database
(BLOB / BYTEA, INTEGER PRIMARY KEY AUTOINCREMENT / BIGSERIAL PRIMARY KEY). Never edit a
migration that has shipped: append a new one.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE org_document (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            root TEXT NOT NULL, version BIGINT NOT NULL,
            document TEXT NOT NULL, updated_at BIGINT NOT NULL)""",
        "CREATE TABLE coordinators (key_id TEXT PRIMARY KEY, signing_key TEXT NOT NULL)",
        "CREATE TABLE nonces (nonce TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)",
        "CREATE INDEX nonces_expiry ON nonces (expires_at)",
        """CREATE TABLE invites (
            token_hash TEXT PRIMARY KEY, label TEXT NOT NULL, created_by TEXT NOT NULL,
            created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
            used_at BIGINT, device_id TEXT)""",
        """CREATE TABLE devices (
            id TEXT PRIMARY KEY, signing_key TEXT NOT NULL UNIQUE, recipient TEXT NOT NULL,
            label TEXT NOT NULL, enrolled_at BIGINT NOT NULL, last_seen BIGINT NOT NULL,
            revoked_at BIGINT)""",
        """CREATE TABLE chains (
            author TEXT PRIMARY KEY, stored BIGINT NOT NULL, max_seq BIGINT NOT NULL,
            last_hash TEXT NOT NULL, forks BIGINT NOT NULL, breaks BIGINT NOT NULL)""",
        """CREATE TABLE chain_problems (
            id {serial}, author TEXT NOT NULL, kind TEXT NOT NULL, seq BIGINT NOT NULL,
            envelope_id TEXT NOT NULL, detected_at BIGINT NOT NULL, detail TEXT NOT NULL)""",
        "CREATE INDEX chain_problems_author ON chain_problems (author, id)",
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        "INSERT INTO counters (name, value) VALUES ('feed', 0)",
        """CREATE TABLE envelopes (
            cursor_id BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, hash TEXT NOT NULL,
            author TEXT NOT NULL, seq BIGINT NOT NULL, prev TEXT NOT NULL, kind TEXT NOT NULL,
            recipient TEXT, created BIGINT NOT NULL, received_at BIGINT NOT NULL,
            header TEXT NOT NULL, sig TEXT NOT NULL, payload {bytes} NOT NULL,
            UNIQUE (author, seq))""",
        "CREATE INDEX envelopes_recipient ON envelopes (recipient, cursor_id)",
        """CREATE TABLE commands (
            id TEXT PRIMARY KEY, device_id TEXT NOT NULL, kind TEXT NOT NULL,
            document TEXT NOT NULL, created_at BIGINT NOT NULL, acked_at BIGINT)""",
        "CREATE INDEX commands_device ON commands (device_id, created_at)",
        """CREATE TABLE blobs (
            id TEXT PRIMARY KEY, owner TEXT NOT NULL, size BIGINT NOT NULL,
            sha256 TEXT NOT NULL, received BIGINT NOT NULL, storage_name TEXT NOT NULL,
            complete INTEGER NOT NULL, created_at BIGINT NOT NULL, completed_at BIGINT)""",
    ],
    [
        # 0.2: the device's enrolment proof (an HMAC under the invite's secret, which the
        # server never sees), handed to coordinators so they can admit it to the roster.
        "ALTER TABLE devices ADD COLUMN proof TEXT",
    ],
    [
        # 0.2: blob bytes in the database (`server.pg_blobs`, used on PostgreSQL), so server
        # processes on several machines share one database and one backup. One row per upload
        # (`name` is the random storage name the `blobs` table points at), its bytes in rows of
        # up to 1 MiB keyed by where they start. Created on SQLite too, where they stay empty.
        """CREATE TABLE blob_files (
            id {serial}, name TEXT NOT NULL UNIQUE, length BIGINT NOT NULL,
            version BIGINT NOT NULL, complete INTEGER NOT NULL)""",
        """CREATE TABLE blob_chunks (
            file_id BIGINT NOT NULL REFERENCES blob_files (id) ON DELETE CASCADE,
            start BIGINT NOT NULL, data {bytes} NOT NULL, PRIMARY KEY (file_id, start))""",
    ],
    [
        # 0.3: short join codes. An invite sealed under a key derived from the code, kept under
        # the code's lookup id (the server can neither read nor alter it), and the recent
        # lookups that missed, each under a per-process keyed hash of the asking address, so
        # guessing is rate-limited without the database holding an address.
        """CREATE TABLE invite_drops (
            lookup TEXT PRIMARY KEY, sealed {bytes} NOT NULL, created_by TEXT NOT NULL,
            created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
            fetches_left BIGINT NOT NULL)""",
        "CREATE TABLE invite_drop_misses (source TEXT NOT NULL, at BIGINT NOT NULL)",
        "CREATE INDEX invite_drop_misses_at ON invite_drop_misses (at)",
    ],
    [
        # 0.3: the check key (b64u Ed25519 public key) a device registers so that, locked, it
        # can ask for its pending commands and nothing else (see server.auth.check_key).
        "ALTER TABLE devices ADD COLUMN check_key TEXT",
        "CREATE UNIQUE INDEX devices_check_key ON devices (check_key)",
    ],
    [
        # 0.3: alarms a locked phone sent with its check key (`server.routers.alarms`): age
        # ciphertext the server cannot read, kept for coordinators for `LOCKED_ALARM_DAYS`.
        """CREATE TABLE locked_alarms (
            id {serial}, device_id TEXT NOT NULL, sealed {bytes} NOT NULL,
            received_at BIGINT NOT NULL)""",
        "CREATE INDEX locked_alarms_received ON locked_alarms (received_at)",
        "CREATE INDEX locked_alarms_device ON locked_alarms (device_id, received_at)",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
TABLES = (
    "meta",
    "org_document",
    "coordinators",
    "nonces",
    "invites",
    "devices",
    "chains",
    "chain_problems",
    "envelopes",
    "commands",
    "blobs",
    "blob_files",
    "blob_chunks",
    "invite_drops",
    "invite_drop_misses",
    "locked_alarms",
)
