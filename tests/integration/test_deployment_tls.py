"""docs/deployment-walkthrough.md, followed for real: PostgreSQL, two server processes, Caddy.

The server runs on PostgreSQL as two processes sharing one data directory, behind Caddy
terminating TLS with a self-signed certificate (the walkthrough's "pinned certificate"
variant, Caddyfile from `tests.support.tls_proxy`). A coordinator creates the organisation
through the proxy; a field device is enrolled with `fieldvault field init --invite` using an
invite that carries the certificate's SHA-256, adds an incident with an attachment and syncs it
with `fieldvault field sync`; the coordinator pulls and reads both. A device whose invite
carries another pin is refused with the TLS pin error and sends nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from core.records import Kind
from sync import coordinator
from sync.invite import Invite
from tests.conftest import require
from tests.integration.conftest import make_vault
from tests.support.live_server import (
    _cli,
    _project_env,
    _wait_healthy,
    free_port,
    postgres_database,
    start_live_server,
)
from tests.support.tls_proxy import (
    CaddyProxy,
    Certificate,
    caddy_available,
    openssl_available,
    self_signed_certificate,
    start_caddy,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FIELD_PASSPHRASE = "walkthrough field passphrase"
MARKER = "walkthrough-marker-7f3a"


def _incident(description: str) -> str:
    """What `fieldvault field add` reads: answers to the default form."""
    answers = {
        "occurred_at": "2026-11-01T21:30",
        "region": "kg.bishkek",
        "violation_types": ["detention"],
        "description": description,
        "perpetrator_types": ["police"],
        "victims": "A1",
        "consent": {"share_org": True, "statistics": True, "advocacy": False},
    }
    return json.dumps({"answers": answers})


def _field(data: Path, *args: str, stdin: str = "") -> tuple[int, dict[str, Any]]:
    env = _project_env()
    env["FIELDVAULT_PASSPHRASE"] = FIELD_PASSPHRASE
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "field", args[0], "--data", str(data), "--json",
         *args[1:]],
        input=stdin.encode(),
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )  # fmt: skip
    try:
        answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        answer = {"stdout": done.stdout.decode(), "stderr": done.stderr.decode()[-2000:]}
    return done.returncode, answer


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[CaddyProxy, Certificate, str]]:
    """(proxy, certificate, bootstrap token): two server processes on PostgreSQL behind Caddy."""
    require(caddy_available(), "Debian's caddy is not installed")
    require(openssl_available(), "the openssl command is not installed")
    cert = self_signed_certificate(tmp_path / "tls")
    with postgres_database() as db_url, start_live_server(tmp_path / "srv", db_url) as first:
        port = free_port()
        log = (tmp_path / "second.log").open("ab")
        second_process = subprocess.Popen(
            _cli("run", "--data", str(first.data_dir), "--db", db_url, "--port", str(port)),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_project_env(),
        )
        second = type(first)(
            f"http://127.0.0.1:{port}", "", first.data_dir, db_url, Path(log.name), second_process
        )
        try:
            _wait_healthy(second)
            with start_caddy(tmp_path / "caddy", cert, [first.url, second.url]) as proxy:
                yield proxy, cert, first.bootstrap_token
        finally:
            second.stop()
            log.close()


def test_a_device_enrolled_with_the_pinned_invite_syncs_through_caddy_to_postgresql(
    deployment: tuple[CaddyProxy, Certificate, str], tmp_path: Path
) -> None:
    proxy, cert, token = deployment
    health = requests.get(proxy.url + "/v1/health", verify=str(cert.cert_path), timeout=5)
    assert health.json()["status"] == "ok"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(proxy.url + "/v1/health", timeout=5)  # not trusted without the pin or CA

    coord = make_vault(tmp_path / "coordinator")
    try:
        coordinator.create_organisation(coord, proxy.url, token, "Walkthrough", tls_pin=cert.pin)
        code = coordinator.create_invite(coord, expires_in=3600, label="phone").encode()
        assert Invite.parse(code).tls_pin == cert.pin

        phone = tmp_path / "phone"
        status, answer = _field(phone, "init", "--invite", code)
        assert (status, answer.get("enrolled")) == (0, True), answer
        photo = tmp_path / "statement.txt"
        photo.write_bytes(MARKER.encode() * 200)
        status, answer = _field(phone, "add", "--attach", str(photo), stdin=_incident(MARKER))
        assert status == 0, answer
        status, answer = _field(phone, "sync")
        assert status == 0, answer
        assert answer["envelopes_sent"] >= 1 and answer["blobs_sent"] == 1, answer

        assert coordinator.pull(coord).stored >= 1
        cases = coord.list(kind=Kind.CASE)
        assert [c.data["latest"]["answers"]["description"] for c in cases] == [MARKER]
        blobs = cases[0].data["revisions"][-1]["blobs"]
        assert coordinator.fetch_blob(coord, blobs[0]["id"]) == photo.read_bytes()
    finally:
        coord.lock()
    both_served = all(
        any(
            "/v1/" in line and "/v1/health" not in line
            for line in (tmp_path / name).read_text(errors="replace").splitlines()
        )
        for name in ("srv/server.log", "second.log")
    )
    assert both_served, "Caddy should balance requests over both server processes"


def test_a_device_whose_invite_pins_another_certificate_is_refused_with_the_pin_error(
    deployment: tuple[CaddyProxy, Certificate, str], tmp_path: Path
) -> None:
    proxy, cert, token = deployment
    coord = make_vault(tmp_path / "coordinator")
    try:
        coordinator.create_organisation(coord, proxy.url, token, "Walkthrough", tls_pin=cert.pin)
        genuine = coordinator.create_invite(coord, expires_in=3600)
        other = self_signed_certificate(tmp_path / "other-tls")
        assert other.pin != cert.pin
        forged = Invite(genuine.server_url, genuine.token, genuine.root_fingerprint, other.pin)

        phone = tmp_path / "phone"
        status, answer = _field(phone, "init", "--invite", forged.encode())
        assert (status, answer.get("enrolled"), answer.get("reason")) == (
            0,
            False,
            "tls_pin_mismatch",
        ), answer
        status, answer = _field(phone, "add", stdin=_incident("never sent"))
        assert status == 0, answer
        status, answer = _field(phone, "sync")
        assert (status, answer.get("reason")) == (3, "tls_pin_mismatch"), answer
        assert coordinator.pull(coord).fetched == 0
        assert os.path.isdir(phone)
    finally:
        coord.lock()
