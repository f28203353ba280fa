"""The server as the command line starts it (`server.app:from_env`, uvicorn's factory)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.app import from_env


def test_the_started_server_keeps_what_start_up_made_out_of_garbage_collections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDVAULT_DATA", str(tmp_path))
    monkeypatch.delenv("FIELDVAULT_DB", raising=False)
    gc.unfreeze()
    try:
        app = from_env()
        assert gc.get_freeze_count() > 1000  # the app, its routes and modules
        with TestClient(app) as client:
            assert client.get("/v1/health").status_code == 200
    finally:
        gc.unfreeze()
