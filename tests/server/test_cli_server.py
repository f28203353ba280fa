"""`fieldvault server init`: a one-time bootstrap token, printed once, stored only hashed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.cli import main
from server.app import create_app
from server.config import ServerConfig
from tests.server.helpers import Clock, Harness, Org


def _init(data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["server", "init", "--data", str(data)])
    return code, capsys.readouterr().out.strip()


def test_init_prints_a_token_that_is_stored_only_as_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, token = _init(tmp_path, capsys)
    assert code == 0
    assert len(token) >= 40
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes()


def test_only_the_latest_token_bootstraps_and_init_refuses_afterwards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, old = _init(tmp_path, capsys)
    _, new = _init(tmp_path, capsys)
    org = Org.new()
    clock = Clock()
    with TestClient(create_app(ServerConfig.for_data_dir(tmp_path), clock=clock)) as client:
        api = Harness(client, "", clock)
        stale = api.call(
            "POST", "/v1/bootstrap", json={"token": old, "org_document": org.document()}
        )
        assert stale.status_code == 403
        api.bootstrap(org, new)
    code = main(["server", "init", "--data", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "already set up" in captured.err
