"""Fixtures for the server tests: every API test runs on SQLite and on real PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.app import create_app
from server.config import ServerConfig
from server.db.base import Repository
from server.tokens import new_token, token_hash
from tests.server.helpers import Actor, Clock, Harness, Org
from tests.support.live_server import postgres_database


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One PostgreSQL database for the whole run, created and dropped here."""
    with postgres_database() as url:
        yield url


def _empty(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_name <> 'schema_version'"
            ).fetchall()
        ]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY")
            conn.execute("INSERT INTO counters (name, value) VALUES ('feed', 0)")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test starts from an empty database: a new SQLite file, or the emptied PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
        _empty(url)
        yield url


@dataclasses.dataclass
class Server:
    app: FastAPI
    api: Harness
    repo: Repository
    config: ServerConfig
    clock: Clock
    org: Org
    token: str


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    """A fresh in-process server with a clock the test controls; not yet bootstrapped."""
    clock = Clock()
    config = ServerConfig(data_dir=tmp_path / "data", db_url=db_url)
    app = create_app(config, clock=clock)
    repo: Repository = app.state.services.repo
    token = new_token()
    repo.set_bootstrap_token(token_hash(token))
    with TestClient(app, raise_server_exceptions=True) as client:
        yield Server(app, Harness(client, "", clock), repo, config, clock, Org.new(), token)


@pytest.fixture
def org_server(server: Server) -> Server:
    """A server bootstrapped with `server.org`."""
    server.api.bootstrap(server.org, server.token)
    return server


@pytest.fixture
def device(org_server: Server) -> Actor:
    return org_server.api.enrol(org_server.org)
