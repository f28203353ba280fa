"""Caddy as the TLS reverse proxy in front of the real server, with a self-signed certificate.

    from tests.support.tls_proxy import caddy_available, self_signed_certificate, start_caddy

    cert = self_signed_certificate(tmp_path / "tls")          # openssl, for 127.0.0.1
    with start_caddy(tmp_path / "caddy", cert, [server.url]) as proxy:
        proxy.url                                              # https://127.0.0.1:PORT
        cert.pin                                               # what the invite carries

`self_signed_certificate` runs the same `openssl req` command as docs/deployment-walkthrough.md
and computes the pin the same way (SHA-256 of the DER certificate, hex). `caddyfile` writes the
walkthrough's pinned-certificate Caddyfile for this site, plus three test-only settings (no
admin endpoint, no port-80 redirect listener, no HTTP/3 UDP listener, loopback only);
`start_caddy` runs `caddy run` on it with Caddy's admin
endpoint off and its state under the given directory, waits until the proxy answers
`/v1/health` through TLS, and stops it on exit. Tests call `require(caddy_available(), ...)`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.support.live_server import free_port

START_TIMEOUT = 20.0


@dataclasses.dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path
    pin: str  # SHA-256 of the DER certificate, 64 lowercase hex digits


@dataclasses.dataclass
class CaddyProxy:
    url: str
    config_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def caddy_available() -> bool:
    return shutil.which("caddy") is not None


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def certificate_pin(cert_pem: str) -> str:
    """The pin an invite carries: SHA-256 of the certificate in DER form, as hex."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem)).hexdigest()


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> Certificate:
    """A P-256 self-signed certificate for `host` (an IP address), valid for two days."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "2", "-keyout", str(key), "-out", str(cert),
            "-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host}",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return Certificate(cert, key, certificate_pin(cert.read_text(encoding="ascii")))


def caddyfile(site: str, cert: Certificate, upstreams: Sequence[str]) -> str:
    """The walkthrough's pinned-certificate Caddyfile, for `site` (`https://host:port`)."""
    hosts = " ".join(urlsplit(u).netloc for u in upstreams)
    balance = "\n\t\tlb_policy round_robin" if len(upstreams) > 1 else ""
    return (
        "{\n"
        "\tadmin off\n"
        "\tauto_https off\n"
        "\tservers {\n\t\tprotocols h1 h2\n\t}\n"
        "}\n\n"
        f"{site} {{\n"
        "\tbind 127.0.0.1\n"
        f"\ttls {cert.cert_path} {cert.key_path}\n"
        f"\treverse_proxy {hosts} {{{balance}\n"
        "\t\thealth_uri /v1/health\n\t\thealth_interval 5s\n\t}\n"
        "\tlog {\n\t\toutput discard\n\t}\n"
        "}\n"
    )


@contextlib.contextmanager
def start_caddy(
    directory: Path, cert: Certificate, upstreams: Sequence[str]
) -> Iterator[CaddyProxy]:
    """Run Caddy on a free loopback port, terminating TLS in front of `upstreams`."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    config = directory / "Caddyfile"
    config.write_text(caddyfile(url, cert, upstreams), encoding="utf-8")
    env = dict(os.environ)
    env["XDG_DATA_HOME"] = str(directory / "data")
    env["XDG_CONFIG_HOME"] = str(directory / "config")
    env["HOME"] = str(directory)
    log_path = directory / "caddy.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            ["caddy", "run", "--config", str(config), "--adapter", "caddyfile"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    proxy = CaddyProxy(url, config, log_path, process)
    try:
        _wait_ready(proxy, cert)
        yield proxy
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_ready(proxy: CaddyProxy, cert: Certificate) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise RuntimeError(f"caddy exited early:\n{proxy.log()[-3000:]}")
        try:
            answer = requests.get(proxy.url + "/v1/health", timeout=1, verify=str(cert.cert_path))
            if answer.status_code == 200:
                return
        except requests.exceptions.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"caddy did not become ready:\n{proxy.log()[-3000:]}")
