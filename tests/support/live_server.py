"""The real server in a subprocess, and throw-away PostgreSQL databases, for integration tests.

    from tests.support.live_server import postgres_database, start_live_server

    with start_live_server(tmp_path / "server") as server:          # SQLite
        requests.get(server.url + "/v1/health")
        server.bootstrap_token                                      # from `server init`

    with postgres_database() as url, start_live_server(tmp_path / "s", db_url=url) as server:
        ...

    with live_server_on(db, tmp_path / "server") as server:         # db: "sqlite" or "postgres"
        ...

`start_live_server` runs `fieldvault server init`, then `fieldvault server run` on a free
loopback port, waits for `/v1/health` and stops the process on exit. The server's log (stdout
and stderr) is written to `server.log_path`. `postgres_database()` creates a uniquely named
database at 127.0.0.1:5432 and drops it afterwards; without PostgreSQL it calls `require`, so
the test is skipped locally and fails in CI.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from tests.conftest import require

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
START_TIMEOUT = 30.0


@dataclasses.dataclass
class LiveServer:
    url: str
    bootstrap_token: str
    data_dir: Path
    db_url: str | None
    log_path: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", "server", *args]


def _project_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


@contextlib.contextmanager
def start_live_server(
    data_dir: Path | str,
    db_url: str | None = None,
    *,
    workers: int = 1,
    environment: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    """Initialise and run the real server; yield it once `/v1/health` answers. `environment`
    adds variables to the server's (`FIELDVAULT_PUBLISH_API`, `FIELDVAULT_QUOTA_*`, ...)."""
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    db_args = ["--db", db_url] if db_url else []
    env = {**_project_env(), **(environment or {})}
    init = subprocess.run(
        _cli("init", "--data", str(data), *db_args),
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    if init.returncode != 0:
        raise RuntimeError(f"server init failed: {init.stderr.decode(errors='replace')[-2000:]}")
    token = init.stdout.decode().strip()
    port = free_port()
    log_path = data / "server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            _cli(
                "run",
                "--data",
                str(data),
                "--port",
                str(port),
                "--workers",
                str(workers),
                *db_args,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", token, data, db_url, log_path, process)
    try:
        _wait_healthy(server)
        yield server
    finally:
        server.stop()


def _wait_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()[-3000:]}")
        try:
            if requests.get(server.url + "/v1/health", timeout=1).status_code == 200:
                return
        except requests.exceptions.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not become healthy:\n{server.log()[-3000:]}")


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, uniquely named database at 127.0.0.1:5432, dropped afterwards; yields its URL."""
    require(postgres_available(), "PostgreSQL is not running at 127.0.0.1:5432")
    import psycopg

    name = "fieldvault_test_" + secrets.token_hex(6)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def live_server_on(db: str, data_dir: Path) -> Iterator[LiveServer]:
    """`start_live_server` on SQLite (`db == "sqlite"`) or on a fresh PostgreSQL database."""
    if db == "sqlite":
        with start_live_server(data_dir) as server:
            yield server
    else:
        with postgres_database() as url, start_live_server(data_dir, db_url=url) as server:
            yield server
