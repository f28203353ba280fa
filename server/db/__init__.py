"""The server's storage of records: `open_repository(url)` returns a migrated `Repository`.

`sqlite:///path/to/file` (the default, WAL mode) or `postgresql://user@host/db`. Plain sqlite3 and
psycopg 3 under one SQL implementation (`server.db.sql`): the schema is small and the queries few,
so an ORM or SQLAlchemy Core would add a dependency without removing much code, and the explicit
SQL keeps the locking (see `server.db.sql`) easy to read.
"""

from __future__ import annotations

from server.db.base import (
    Blob,
    Command,
    Device,
    DeviceSummary,
    FeedItem,
    IncomingEnvelope,
    IngestResult,
    OrgDocument,
    Problem,
    Refused,
    Repository,
    RepositoryError,
)

__all__ = [
    "Blob",
    "Command",
    "Device",
    "DeviceSummary",
    "FeedItem",
    "IncomingEnvelope",
    "IngestResult",
    "OrgDocument",
    "Problem",
    "Refused",
    "Repository",
    "RepositoryError",
    "open_repository",
]


def open_repository(url: str, *, migrate: bool = True) -> Repository:
    """Connect to the database named by `url` and (by default) bring its schema up to date."""
    repo: Repository
    if url.startswith("sqlite:///"):
        from server.db.sqlite import SqliteRepository

        repo = SqliteRepository(url[len("sqlite:///") :])
    elif url.startswith(("postgresql://", "postgres://")):
        from server.db.postgres import PostgresRepository

        repo = PostgresRepository(url)
    else:
        raise ValueError("database URL must start with sqlite:/// or postgresql://")
    if migrate:
        try:
            repo.migrate()
        except BaseException:
            repo.close()
            raise
    return repo
