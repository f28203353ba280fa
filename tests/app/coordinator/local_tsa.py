"""A local RFC 3161 timestamping authority for tests, made with `openssl ts`.

`make_authority(directory)` creates a throwaway root CA and a time-stamping certificate it
issued (critical extendedKeyUsage timeStamping). `serve(authority)` runs an HTTP TSA on
127.0.0.1 (a thread) that answers every POST by running `openssl ts -reply`; it counts requests
and can be told to fail or to answer with garbage. Nothing here touches the internet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

_CONFIG = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = {ess}
"""

_TSA_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = {critical}timeStamping
subjectKeyIdentifier = hash
"""


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


@dataclasses.dataclass
class Authority:
    directory: Path
    name: str

    @property
    def ca_pem(self) -> bytes:
        return (self.directory / "ca.pem").read_bytes()

    @property
    def tsa_pem(self) -> bytes:
        return (self.directory / "tsa.pem").read_bytes()

    def reply(self, query: bytes) -> bytes:
        """`openssl ts -reply` for a DER TimeStampReq."""
        with tempfile.TemporaryDirectory(dir=self.directory) as work:
            q, r = Path(work) / "q.tsq", Path(work) / "r.tsr"
            q.write_bytes(query)
            cnf = str(self.directory / "tsa.cnf")
            subprocess.run(
                ["openssl", "ts", "-reply", "-config", cnf, "-queryfile", str(q), "-out", str(r)],
                check=True,
                capture_output=True,
            )
            return r.read_bytes()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_authority(
    directory: Path,
    *,
    name: str = "Test TSA",
    key: str = "ec",
    ess: str = "sha256",
    critical_eku: bool = True,
) -> Authority:
    """A root CA and a TSA certificate in `directory` (key: "ec" P-256 or "rsa" 2048)."""
    directory.mkdir(parents=True, exist_ok=True)
    new_key = (
        ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        if key == "ec"
        else ["-newkey", "rsa:2048"]
    )
    _openssl(
        "req", "-x509", *new_key, "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "3650", "-subj", f"/CN={name} Root",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "req", "-new", *new_key, "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
        "-subj", f"/CN={name}",
        cwd=directory,
    )  # fmt: skip
    (directory / "tsa.ext").write_text(
        _TSA_EXTENSIONS.format(critical="critical, " if critical_eku else "")
    )
    _openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "365", "-extfile", "tsa.ext", "-out", "tsa.pem",
        cwd=directory,
    )  # fmt: skip
    (directory / "serial").write_text("01\n")
    (directory / "tsa.cnf").write_text(_CONFIG.format(dir=directory, ess=ess))
    return Authority(directory, name)


@dataclasses.dataclass
class RunningTsa:
    url: str
    authority: Authority
    requests: list[bytes] = dataclasses.field(default_factory=list)
    mode: str = "ok"  # "ok" | "down" (HTTP 503) | "garbage" (200 with junk)


@contextlib.contextmanager
def serve(authority: Authority) -> Iterator[RunningTsa]:
    running = RunningTsa(url="", authority=authority)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            running.requests.append(query)
            if running.mode == "down":
                self.send_response(503)
                self.end_headers()
                return
            body = b"not a timestamp" if running.mode == "garbage" else authority.reply(query)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    running.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    try:
        yield running
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
