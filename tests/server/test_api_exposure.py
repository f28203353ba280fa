"""What the server tells someone who is not a member: nothing that names its software or release.

`/openapi.json` (and the interactive pages) and a version in `/v1/health` would let a scanner
recognise an organisation's FieldVault server and its release. They are off unless the operator
publishes the API description (`FIELDVAULT_PUBLISH_API=1`, for fuzzing or writing a client).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient

from core.version import __version__
from server.app import create_app
from server.config import Quotas, ServerConfig
from tests.server.conftest import Server
from tests.support.live_server import start_live_server


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"])
def test_an_outsider_gets_no_api_description_by_default(server: Server, path: str) -> None:
    answer = server.api.call("GET", path)
    assert answer.status_code == 404
    assert __version__ not in answer.text
    assert "FieldVault" not in answer.text


def test_health_says_only_ok_by_default(server: Server) -> None:
    answer = server.api.call("GET", "/v1/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_publishing_the_api_serves_the_document_and_the_version(tmp_path: Path) -> None:
    app = create_app(ServerConfig.for_data_dir(tmp_path, publish_api=True))
    with TestClient(app) as client:
        document = client.get("/openapi.json")
        health = client.get("/v1/health")
    assert document.status_code == 200
    assert "/v1/envelopes" in document.json()["paths"]
    assert health.json() == {"status": "ok", "version": __version__}


def test_the_environment_turns_publishing_on_and_sets_the_quotas(tmp_path: Path) -> None:
    config = ServerConfig.from_env(
        {
            "FIELDVAULT_DATA": str(tmp_path),
            "FIELDVAULT_PUBLISH_API": "1",
            "FIELDVAULT_QUOTA_ENVELOPES_PER_HOUR": "50",
            "FIELDVAULT_QUOTA_BLOB_BYTES_PER_DAY": "0",
        }
    )
    assert config.publish_api is True
    assert config.quotas == Quotas(envelopes_per_hour=50, blob_bytes_per_day=0)
    assert ServerConfig.from_env({"FIELDVAULT_DATA": str(tmp_path)}).publish_api is False
    with pytest.raises(ValueError, match="FIELDVAULT_PUBLISH_API"):
        ServerConfig.from_env({"FIELDVAULT_DATA": str(tmp_path), "FIELDVAULT_PUBLISH_API": "y"})
    with pytest.raises(ValueError, match="BLOBS_PER_DAY"):
        ServerConfig.from_env(
            {"FIELDVAULT_DATA": str(tmp_path), "FIELDVAULT_QUOTA_BLOBS_PER_DAY": "-1"}
        )


def test_the_real_server_tells_an_outsider_neither_its_schema_nor_its_version(
    tmp_path: Path,
) -> None:
    with start_live_server(tmp_path / "quiet") as quiet:
        assert requests.get(quiet.url + "/openapi.json", timeout=5).status_code == 404
        assert requests.get(quiet.url + "/v1/health", timeout=5).json() == {"status": "ok"}
    environment = {"FIELDVAULT_PUBLISH_API": "1"}
    with start_live_server(tmp_path / "published", environment=environment) as published:
        assert requests.get(published.url + "/openapi.json", timeout=5).status_code == 200
        assert requests.get(published.url + "/v1/health", timeout=5).json()["version"]
