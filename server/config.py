"""Server settings: where data lives, which database, and the limits every request obeys.

Use `ServerConfig.for_data_dir(path, db_url=None)`, or `ServerConfig.from_env()` for what
`fieldvault server run` and `uvicorn --factory server.app:from_env` read from the environment.
With no `db_url` the database is SQLite in WAL mode at `DATA/server.sqlite3`; `postgresql://…`
selects PostgreSQL (keep the data directory and the database on encrypted volumes if you can,
although everything in them is ciphertext, keys and times).

`blob_store` says where blob bytes live: `auto` (the default) keeps them in a directory under
`DATA/blobs/` on SQLite and in the database itself on PostgreSQL, so that server processes on
several machines share one database and nothing else; `directory` or `database` force one
(`FIELDVAULT_BLOB_STORE`). `database` needs PostgreSQL.

`publish_api` (off by default, `FIELDVAULT_PUBLISH_API=1`) serves the OpenAPI document at
`/openapi.json` and puts the server's version in `/v1/health`. Both answer anyone, so they tell a
scanner which software and release a machine runs: turn them on for fuzzing, for writing a
client, or on a server nobody outside can reach. `Quotas` are per device (coordinators are
exempt); each is read from `FIELDVAULT_QUOTA_<NAME>` and 0 switches it off.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

MIB = 1024 * 1024

JSON_BODY_LIMIT = 1 * MIB
"""Every JSON body except an envelope batch."""

ENVELOPE_BATCH_LIMIT = 4 * MIB
"""`POST /v1/envelopes`: a batch of up to 100 envelopes, whatever comes first."""

BLOB_CHUNK_LIMIT = 128 * MIB
"""`PUT /v1/blobs/{id}/chunks`: one chunk of raw bytes, streamed into the upload as it arrives
(the server holds about `blob_pipe.PIPE_QUEUED` MiB of it at a time). Told to devices in the
`X-FieldVault-Chunk-Limit` header of `POST /v1/blobs` answers."""
BLOB_BUFFERED_LIMIT = 16 * MIB
"""The largest chunk the server reads whole before writing it: one that cannot be streamed
(not the upload's next bytes, or signed over its own body by an older device, which never sends
more than this). Larger ones are refused (413) once their headers are checked."""

MAX_BATCH = 100
MAX_BLOB_SIZE = 4 * 1024 * MIB
MAX_INVITE_SECONDS = 30 * 24 * 3600
FEED_PAGE_LIMIT = 100
FEED_PAGE_BYTES = 4 * MIB
"""A feed page stops after the envelope that takes its payloads past this many bytes."""

PREAUTH_BODY_LIMIT = 64 * 1024
"""The most of a body the server reads before it knows who is asking. A larger body is read only
from an enrolled device or a coordinator whose signature headers are well-formed and current
(the signature itself covers the body, so it is checked once the body is in)."""

SQLITE_FILE = "server.sqlite3"
BLOB_DIR = "blobs"
BLOB_STORES = ("auto", "directory", "database")
GIB = 1024 * MIB


@dataclasses.dataclass(frozen=True)
class Quotas:
    """What one device may ask of the server; 0 switches a quota off.

    Generous for a documenter (a day of photos and videos, weeks of queued reports sent at
    once), small enough that one seized or hostile phone cannot fill the organisation's disk.
    """

    envelopes_per_hour: int = 10_000
    """Envelopes stored from this device in the last hour; past it a push gets 429."""
    blobs_per_day: int = 1_000
    """Blob uploads declared by this device in the last 24 hours; past it 429."""
    blob_bytes_per_day: int = 16 * GIB
    """Declared sizes of this device's blob uploads in the last 24 hours; past it 413."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Quotas:
        values: dict[str, int] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(f"FIELDVAULT_QUOTA_{field.name.upper()}")
            if raw is None or raw.strip() == "":
                continue
            if not raw.strip().isdigit():
                raise ValueError(f"FIELDVAULT_QUOTA_{field.name.upper()} must be a whole number")
            values[field.name] = int(raw)
        return cls(**values)


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be 1 or 0")


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    db_url: str
    publish_api: bool = False
    quotas: Quotas = dataclasses.field(default_factory=Quotas)
    blob_store: str = "auto"

    def __post_init__(self) -> None:
        if self.blob_store not in BLOB_STORES:
            raise ValueError("FIELDVAULT_BLOB_STORE must be auto, directory or database")
        if self.blob_store == "database" and not self.on_postgres:
            raise ValueError("FIELDVAULT_BLOB_STORE=database needs a PostgreSQL database")

    @classmethod
    def for_data_dir(
        cls,
        data_dir: Path | str,
        db_url: str | None = None,
        *,
        publish_api: bool = False,
        quotas: Quotas | None = None,
        blob_store: str = "auto",
    ) -> ServerConfig:
        data = Path(data_dir)
        return cls(
            data_dir=data,
            db_url=db_url or f"sqlite:///{data / SQLITE_FILE}",
            publish_api=publish_api,
            quotas=quotas or Quotas(),
            blob_store=blob_store,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerConfig:
        """FIELDVAULT_DATA (required), FIELDVAULT_DB, FIELDVAULT_PUBLISH_API, FIELDVAULT_QUOTA_*,
        FIELDVAULT_BLOB_STORE."""
        env = os.environ if env is None else env
        data = env.get("FIELDVAULT_DATA")
        if not data:
            raise RuntimeError("set FIELDVAULT_DATA to the server's data directory")
        return cls.for_data_dir(
            data,
            env.get("FIELDVAULT_DB") or None,
            publish_api=_flag(env, "FIELDVAULT_PUBLISH_API"),
            quotas=Quotas.from_env(env),
            blob_store=env.get("FIELDVAULT_BLOB_STORE", "").strip().lower() or "auto",
        )

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / BLOB_DIR

    @property
    def on_postgres(self) -> bool:
        return self.db_url.startswith(("postgresql://", "postgres://"))

    @property
    def blob_store_kind(self) -> str:
        """`directory` or `database`: what `blob_store` comes to for this database."""
        if self.blob_store == "auto":
            return "database" if self.on_postgres else "directory"
        return self.blob_store
