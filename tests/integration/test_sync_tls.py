"""The real server over HTTPS with a self-signed certificate: the invite's pin is the trust."""

from __future__ import annotations

import dataclasses
import hashlib
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from core.records import Kind, Record
from sync import coordinator
from sync.device import create_identity, identity_from_invite
from sync.engine import SyncEngine
from sync.errors import TlsError, TlsPinMismatch
from sync.outbox import queue_record
from tests.integration.conftest import make_vault
from tests.support.live_server import _cli, _project_env, free_port


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(https URL, bootstrap token, certificate pin) of the real server on loopback."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    pin = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.read_text())).hexdigest()
    data, env, port = tmp_path / "server", _project_env(), free_port()
    init = subprocess.run(
        _cli("init", "--data", str(data)), capture_output=True, env=env, timeout=60, check=True
    )
    token = init.stdout.decode().strip()
    tls_args = ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    process = subprocess.Popen(
        _cli("run", "--data", str(data), "--port", str(port), *tls_args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/v1/health", timeout=1, verify=str(cert))
                break
            except requests.exceptions.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url, token, pin
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_pinned_self_signed_server_works_end_to_end_and_a_wrong_pin_is_refused(
    tls_server: tuple[str, str, str], tmp_path: Path
) -> None:
    url, token, pin = tls_server
    coord = make_vault(tmp_path / "coordinator")
    coordinator.create_organisation(coord, url, token, "TLS Org", tls_pin=pin)
    invite = coordinator.create_invite(coord, expires_in=600)
    assert invite.tls_pin == pin

    device = make_vault(tmp_path / "phone")
    identity_from_invite(device, invite)
    queue_record(device, Record(kind=Kind.NOTE, data={"text": "over TLS"}))
    assert SyncEngine(device).run_once().envelopes_sent == 1
    assert coordinator.pull(coord).stored == 1

    wrong = make_vault(tmp_path / "wrong")
    second = coordinator.create_invite(coord, expires_in=600)
    identity_from_invite(wrong, dataclasses.replace(second, tls_pin="00" * 32))
    with pytest.raises(TlsPinMismatch):
        SyncEngine(wrong).run_once()

    unpinned = make_vault(tmp_path / "unpinned")
    create_identity(
        unpinned, server_url=url, root_fingerprint=second.root_fingerprint, invite_token="x"
    )
    with pytest.raises(TlsError):
        SyncEngine(unpinned).run_once()
    for vault in (coord, device, wrong, unpinned):
        vault.lock()
