"""Which blob store a server uses, and blobs a PostgreSQL server kept in a directory before."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from server.blobs import DirectoryBlobStore, open_blob_store
from server.config import ServerConfig
from server.db import open_repository
from server.db.base import Blob, Repository
from server.pg_blobs import ROW_SIZE, PostgresBlobStore
from tests.server.conftest import _empty

PG = "postgresql://fieldvault@db.internal/fieldvault"


def test_sqlite_keeps_blobs_in_a_directory_and_postgresql_in_the_database(
    tmp_path: Path,
) -> None:
    assert ServerConfig.for_data_dir(tmp_path).blob_store_kind == "directory"
    assert ServerConfig.for_data_dir(tmp_path, PG).blob_store_kind == "database"
    assert ServerConfig.for_data_dir(tmp_path, "postgres://h/db").blob_store_kind == "database"


def test_the_blob_store_setting_overrides_the_choice(tmp_path: Path) -> None:
    env = {"FIELDVAULT_DATA": str(tmp_path), "FIELDVAULT_DB": PG}
    assert ServerConfig.from_env(env).blob_store_kind == "database"
    forced = ServerConfig.from_env({**env, "FIELDVAULT_BLOB_STORE": "Directory "})
    assert forced.blob_store_kind == "directory"
    assert ServerConfig.from_env({**env, "FIELDVAULT_BLOB_STORE": ""}).blob_store == "auto"


def test_blobs_in_the_database_need_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a PostgreSQL database"):
        ServerConfig.for_data_dir(tmp_path, blob_store="database")
    with pytest.raises(ValueError, match="auto, directory or database"):
        ServerConfig.for_data_dir(tmp_path, PG, blob_store="s3")


@pytest.fixture
def pg_repo(postgres_url: str) -> Iterator[Repository]:
    _empty(postgres_url)
    repo = open_repository(postgres_url)
    yield repo
    repo.close()


def _old_directory_blob(config: ServerConfig, data: bytes) -> str:
    """A blob finished by this server back when its blobs lived in `DATA/blobs`."""
    old = DirectoryBlobStore(config.blob_dir)
    name = old.create()
    old.write_at(name, 0, data)
    return old.finish(name)


def test_blobs_finished_in_the_directory_before_the_move_are_still_served(
    pg_repo: Repository, postgres_url: str, tmp_path: Path
) -> None:
    config = ServerConfig.for_data_dir(tmp_path, postgres_url)
    data = os.urandom(ROW_SIZE + 99)
    name = _old_directory_blob(config, data)
    store = PostgresBlobStore(postgres_url, legacy=DirectoryBlobStore(config.blob_dir))
    try:
        assert store.size(name) == len(data)
        assert b"".join(store.read(name)) == data
        store.discard(name)
        assert not (config.blob_dir / "complete" / name).exists()
    finally:
        store.close()


def test_blobs_in_the_directory_move_into_the_database_under_their_names(
    pg_repo: Repository, postgres_url: str, tmp_path: Path
) -> None:
    config = ServerConfig.for_data_dir(tmp_path, postgres_url)
    blobs = {_old_directory_blob(config, data): data for data in (b"", b"x", os.urandom(3_000_000))}
    store = PostgresBlobStore(postgres_url, legacy=DirectoryBlobStore(config.blob_dir))
    try:
        assert store.adopt_directory() == 3
        assert list((config.blob_dir / "complete").iterdir()) == []
        without_directory = PostgresBlobStore(postgres_url)
        try:
            for name, data in blobs.items():
                assert without_directory.size(name) == len(data)
                read = b"".join(without_directory.read(name))
                assert hashlib.sha256(read).digest() == hashlib.sha256(data).digest()
        finally:
            without_directory.close()
        assert store.adopt_directory() == 0
    finally:
        store.close()


def test_a_server_started_on_postgresql_moves_old_directory_blobs_in_by_itself(
    pg_repo: Repository, postgres_url: str, tmp_path: Path
) -> None:
    config = ServerConfig.for_data_dir(tmp_path, postgres_url)
    name = _old_directory_blob(config, b"from before the upgrade")
    store = open_blob_store(config, pg_repo)
    try:
        assert isinstance(store, PostgresBlobStore)
        store.wait_adopted(timeout=30)
        assert not (config.blob_dir / "complete" / name).exists()
        assert b"".join(store.read(name)) == b"from before the upgrade"
    finally:
        store.close()


def test_a_database_connection_lost_mid_chunk_leaves_neither_its_bytes_nor_its_offset(
    pg_repo: Repository, postgres_url: str
) -> None:
    store = PostgresBlobStore(postgres_url)
    try:
        name = store.create()
        pg_repo.begin_blob(Blob("ab" * 16, "d" * 32, 9 * ROW_SIZE, "f" * 64, 0, name, False), 1)
        store.write_at(name, 0, b"before")
        assert pg_repo.advance_blob("ab" * 16, 0, 6)
        with store.locked(name):
            appender = store.append(name, 6)
            appender.write(os.urandom(2 * ROW_SIZE + 5))
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND xact_start IS NOT NULL"
                    " AND pid <> pg_backend_pid()"
                ).fetchall()
            assert killed == [(True,)]
            with pytest.raises(psycopg.OperationalError):
                appender.keep("ab" * 16)
        blob = pg_repo.blob("ab" * 16)
        assert blob is not None and blob.offset == 6
        assert store.digest(name) == hashlib.sha256(b"before").hexdigest()
        with store.locked(name):  # the store carries on with fresh connections
            store.write_at(name, 6, b" and after")
        assert store.digest(name) == hashlib.sha256(b"before and after").hexdigest()
    finally:
        store.close()
