"""Server settings: where data lives, which database, and the limits every request obeys.

Use `ServerConfig.for_data_dir(path, db_url=None)`. With no `db_url` the database is SQLite in
WAL mode at `DATA/server.sqlite3`; `postgresql://…` selects PostgreSQL. Blobs always live under
`DATA/blobs/` (a directory store; keep the data directory on an encrypted volume if you can,
although everything in it is ciphertext, keys and times).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

MIB = 1024 * 1024

JSON_BODY_LIMIT = 1 * MIB
"""Every JSON body except an envelope batch."""

ENVELOPE_BATCH_LIMIT = 4 * MIB
"""`POST /v1/envelopes`: a batch of up to 100 envelopes, whatever comes first."""

BLOB_CHUNK_LIMIT = 16 * MIB
"""`PUT /v1/blobs/{id}/chunks`: one chunk of raw bytes."""

MAX_BATCH = 100
MAX_BLOB_SIZE = 4 * 1024 * MIB
MAX_INVITE_SECONDS = 30 * 24 * 3600
FEED_PAGE_LIMIT = 100
FEED_PAGE_BYTES = 4 * MIB
"""A feed page stops after the envelope that takes its payloads past this many bytes."""

SQLITE_FILE = "server.sqlite3"
BLOB_DIR = "blobs"


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    db_url: str

    @classmethod
    def for_data_dir(cls, data_dir: Path | str, db_url: str | None = None) -> ServerConfig:
        data = Path(data_dir)
        return cls(data_dir=data, db_url=db_url or f"sqlite:///{data / SQLITE_FILE}")

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / BLOB_DIR
