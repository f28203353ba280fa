"""The HTTP client: signing, timeouts, error mapping, proxies and the TLS pin.

These run against small loopback servers of the test's own (plain and TLS), so they check the
client's behaviour on the wire, not a mock of `requests`.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.crypto.signing import SigningKey
from sync.auth import upload_digest_field, verify_request, verify_request_digest
from sync.client import STREAM_PIECE, Client, SpoolSlice, normalise_pin, normalise_proxy
from sync.errors import (
    DeviceRevoked,
    Offline,
    OffsetMismatch,
    ServerRefused,
    ServerUnavailable,
    SyncError,
    Timeout,
    TlsError,
    TlsPinMismatch,
)
from sync.pacing import HEADER_CHUNK_LIMIT, SERVER_CHUNK_LIMIT
from tests.support.fault_proxy import FaultProxy

Handler = Callable[[http.server.BaseHTTPRequestHandler, bytes], tuple[int, bytes]]


class _Server:
    """A loopback HTTP(S) server answering every request with `handler`; records requests."""

    def __init__(
        self,
        handler: Handler,
        *,
        tls: tuple[Path, Path] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append((self.command, self.path, dict(self.headers), body))
                status, answer = handler(self, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _json(status: int, obj: object) -> Handler:
    return lambda request, body: (status, json.dumps(obj).encode())


@pytest.fixture
def serve() -> Iterator[Callable[..., _Server]]:
    servers: list[_Server] = []

    def start(handler: Handler, **kwargs: object) -> _Server:
        server = _Server(handler, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A self-signed certificate for 127.0.0.1, its key, and its SHA-256 pin."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return cert, key, hashlib.sha256(der).hexdigest()


def test_every_request_carries_a_signature_the_server_can_verify(serve) -> None:
    server = serve(_json(200, {"results": [{"id": "a", "status": "stored"}]}))
    key = SigningKey.generate()
    client = Client(server.url, signing_key=key)
    client.push_envelopes([{"x": 1}])
    client.envelopes(7, 50)
    for method, path, headers, body in server.seen:
        verified = verify_request(headers, method, path, body, now=int(time.time()))
        assert verified.public_key == key.public_bytes()
    assert server.seen[1][1] == "/v1/envelopes?after=7&limit=50"


def test_unsigned_client_refuses_to_send_a_request_that_needs_a_signature(serve) -> None:
    server = serve(_json(200, {}))
    with pytest.raises(ValueError, match="signed"):
        Client(server.url).devices()
    assert server.seen == []


def test_a_closed_port_is_reported_offline() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Offline) as info:
        Client(f"http://127.0.0.1:{port}", connect_timeout=2).health()
    assert info.value.retryable and info.value.reason == "offline"


def test_a_server_that_never_answers_times_out_quickly(serve) -> None:
    def stall(request: object, body: bytes) -> tuple[int, bytes]:
        time.sleep(3)
        return 200, b"{}"

    server = serve(stall)
    started = time.monotonic()
    with pytest.raises(Timeout):
        Client(server.url, read_timeout=0.5).health()
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    ("status", "body", "expected", "reason"),
    [
        (403, {"error": "device_revoked", "detail": "x"}, DeviceRevoked, "device_revoked"),
        (401, {"error": "bad_signature", "detail": "x"}, ServerRefused, "bad_signature"),
        (503, {"error": "busy"}, ServerUnavailable, "server_unavailable"),
        (429, {"error": "slow_down"}, ServerUnavailable, "server_unavailable"),
        (400, "not our API", ServerUnavailable, "server_unavailable"),
    ],
)
def test_http_refusals_become_typed_errors_with_machine_reasons(
    serve, status, body, expected, reason
) -> None:
    server = serve(_json(status, body))
    with pytest.raises(expected) as info:
        Client(server.url, signing_key=SigningKey.generate()).commands()
    assert info.value.reason == reason


def test_a_spool_slice_is_sent_with_its_length_its_bytes_and_a_signature_over_the_upload(
    serve,
) -> None:
    server = serve(_json(200, {"offset": 10, "complete": False}))
    data = os.urandom(2 * STREAM_PIECE + 5)
    key = SigningKey.generate()
    upload = hashlib.sha256(b"the blob through the chunk's end").hexdigest()
    sent = SpoolSlice(io.BytesIO(data), 3, len(data) - 4)
    assert Client(server.url, signing_key=key).blob_chunk("b1", 3, sent, upload_sha256=upload) == (
        10,
        False,
    )
    method, path, headers, body = server.seen[0]
    assert body == data[3:-1] and headers["Content-Length"] == str(len(data) - 4)
    assert "Transfer-Encoding" not in headers
    field = upload_digest_field(upload)
    verified = verify_request_digest(headers, method, path, field, now=int(time.time()))
    assert verified.public_key == key.public_bytes()


def test_a_spool_slice_reads_through_one_buffer_of_at_most_one_piece() -> None:
    data = os.urandom(3 * STREAM_PIECE)
    pieces = [bytes(piece) for piece in SpoolSlice(io.BytesIO(data), 1, len(data) - 1)]
    assert b"".join(pieces) == data[1:]
    assert [len(piece) for piece in pieces] == [STREAM_PIECE, STREAM_PIECE, STREAM_PIECE - 1]


def test_a_spool_shorter_than_its_slice_is_reported_damaged() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:  # takes the bytes, never answers
        client = Client(
            f"http://127.0.0.1:{listener.getsockname()[1]}", signing_key=SigningKey.generate()
        )
        upload = hashlib.sha256(b"x").hexdigest()
        short = SpoolSlice(io.BytesIO(b"abc"), 0, 10)
        with pytest.raises(SyncError) as info:
            client.blob_chunk("b1", 0, short, upload_sha256=upload)
    assert info.value.reason == "spool_damaged"


def test_a_spool_slice_is_only_sent_signed_over_its_uploads_digest(serve) -> None:
    server = serve(_json(200, {"offset": 10, "complete": False}))
    client = Client(server.url, signing_key=SigningKey.generate())
    with pytest.raises(ValueError):
        client.blob_chunk("b1", 0, SpoolSlice(io.BytesIO(b"abc"), 0, 3))
    assert server.seen == []


def test_declaring_a_blob_learns_the_largest_chunk_the_server_takes(serve) -> None:
    named = serve(_json(200, {"offset": 0}), headers={HEADER_CHUNK_LIMIT: str(128 * 1024 * 1024)})
    client = Client(named.url, signing_key=SigningKey.generate())
    assert client.chunk_limit == SERVER_CHUNK_LIMIT == 16 * 1024 * 1024  # until it says
    assert client.blob_begin("b1", 5, "00" * 32) == 0
    assert client.chunk_limit == 128 * 1024 * 1024
    silent = serve(_json(200, {"offset": 0}))  # a server from before the header
    client = Client(silent.url, signing_key=SigningKey.generate())
    client.blob_begin("b1", 5, "00" * 32)
    assert client.chunk_limit == SERVER_CHUNK_LIMIT


def test_a_chunk_refused_as_too_large_by_a_proxy_in_front_of_the_server_says_so(serve) -> None:
    proxy = serve(lambda request, body: (413, b"<html>413 Request Entity Too Large</html>"))
    client = Client(proxy.url, signing_key=SigningKey.generate())
    with pytest.raises(ServerRefused) as info:
        client.blob_chunk("b1", 0, b"abc", upload_sha256=hashlib.sha256(b"abc").hexdigest())
    assert (info.value.reason, info.value.status) == ("body_too_large", 413)
    ours = serve(_json(413, {"error": "body_too_large", "detail": "over 16 MiB"}))
    with pytest.raises(ServerRefused) as info:
        Client(ours.url, signing_key=SigningKey.generate()).blob_chunk("b1", 0, b"abc")
    assert (info.value.reason, info.value.detail) == ("body_too_large", "over 16 MiB")


def test_offset_mismatch_carries_the_servers_offset(serve) -> None:
    server = serve(_json(409, {"error": "offset_mismatch", "detail": "", "offset": 1234}))
    with pytest.raises(OffsetMismatch) as info:
        Client(server.url, signing_key=SigningKey.generate()).blob_chunk("b1", 0, b"abc")
    assert info.value.offset == 1234


def test_a_busy_upload_is_a_retryable_refusal(serve) -> None:
    answer = {"error": "upload_busy", "detail": "", "offset": 1234}
    server = serve(_json(409, answer))
    with pytest.raises(ServerRefused) as info:
        Client(server.url, signing_key=SigningKey.generate()).blob_chunk("b1", 0, b"abc")
    assert (info.value.reason, info.value.status, info.value.retryable) == (
        "upload_busy",
        409,
        True,
    )


def test_a_push_answer_for_the_wrong_number_of_envelopes_is_a_protocol_error(serve) -> None:
    from sync.errors import ProtocolError

    server = serve(_json(200, {"results": []}))
    with pytest.raises(ProtocolError):
        Client(server.url, signing_key=SigningKey.generate()).push_envelopes([{"a": 1}])


def test_pinned_self_signed_certificate_is_accepted(serve, self_signed) -> None:
    cert, key, pin = self_signed
    server = serve(_json(200, {"status": "ok", "version": "1"}), tls=(cert, key))
    assert Client(server.url, tls_pin=pin).health()["status"] == "ok"


def test_wrong_pin_is_refused_before_any_request_is_sent(serve, self_signed) -> None:
    cert, key, _ = self_signed
    server = serve(_json(200, {"status": "ok"}), tls=(cert, key))
    with pytest.raises(TlsPinMismatch):
        Client(server.url, tls_pin="ab" * 32).health()
    assert server.seen == []


def test_without_a_pin_a_self_signed_certificate_is_refused(serve, self_signed) -> None:
    cert, key, _ = self_signed
    server = serve(_json(200, {"status": "ok"}), tls=(cert, key))
    with pytest.raises(TlsError):
        Client(server.url).health()


def test_http_proxy_setting_routes_every_request_through_the_proxy(serve) -> None:
    server = serve(_json(200, {"status": "ok"}))
    with FaultProxy(forward=True) as proxy:
        client = Client(server.url, proxy=proxy.url)
        client.health()
        client.health()
    assert [path for _, path in proxy.requests_seen] == ["/v1/health", "/v1/health"]


def test_https_through_a_proxy_tunnels_and_still_checks_the_pin(serve, self_signed) -> None:
    cert, key, pin = self_signed
    server = serve(_json(200, {"status": "ok"}), tls=(cert, key))
    with FaultProxy(forward=True) as proxy:
        assert Client(server.url, proxy=proxy.url, tls_pin=pin).health()["status"] == "ok"
        with pytest.raises(TlsPinMismatch):
            Client(server.url, proxy=proxy.url, tls_pin="cd" * 32).health()
    assert proxy.tunnels == [f"127.0.0.1:{server.port}"] * 2


def test_an_unreachable_proxy_is_reported_as_such() -> None:
    with pytest.raises(Offline) as info:
        Client("http://127.0.0.1:9", proxy="http://127.0.0.1:1", connect_timeout=2).health()
    assert info.value.reason == "proxy_unreachable"


def test_environment_proxy_variables_are_ignored(serve, monkeypatch) -> None:
    server = serve(_json(200, {"status": "ok"}))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:1")
    assert Client(server.url).health()["status"] == "ok"


def test_pins_and_proxies_are_validated() -> None:
    assert normalise_pin("AB:" * 31 + "AB") == "ab" * 32
    with pytest.raises(ValueError):
        normalise_pin("abc")
    assert normalise_proxy("socks5h://127.0.0.1:9050") == "socks5h://127.0.0.1:9050"
    with pytest.raises(ValueError):
        normalise_proxy("ftp://x")


def test_socks5h_proxy_carries_requests_and_resolves_the_name_itself(serve) -> None:
    from tests.support.fault_proxy import Socks5Proxy

    server = serve(_json(200, {"status": "ok"}))
    with Socks5Proxy() as proxy:
        client = Client(f"http://localhost:{server.port}", proxy=proxy.url)
        assert client.health()["status"] == "ok"
    assert proxy.connects == [f"localhost:{server.port}"]


def test_a_socks5_proxy_never_lets_the_phone_resolve_the_server_name_itself(serve) -> None:
    # Plain socks5:// would look "localhost" up on the phone and hand the proxy an address: a
    # DNS query in clear, past the proxy. It is taken as socks5h://, so the proxy gets the name.
    from tests.support.fault_proxy import Socks5Proxy

    server = serve(_json(200, {"status": "ok"}))
    with Socks5Proxy() as proxy:
        plain = "socks5://" + proxy.url.split("://", 1)[1]
        client = Client(f"http://localhost:{server.port}", proxy=plain)
        assert client.health()["status"] == "ok"
        client.close()
    assert proxy.connects == [f"localhost:{server.port}"]


def test_a_socks5_proxy_setting_is_stored_as_socks5h() -> None:
    assert normalise_proxy("socks5://127.0.0.1:9050") == "socks5h://127.0.0.1:9050"
    assert (
        normalise_proxy(" SOCKS5://user:pw@proxy.lan:1080 ") == "socks5h://user:pw@proxy.lan:1080"
    )
    assert normalise_proxy("http://127.0.0.1:8118") == "http://127.0.0.1:8118"
    with pytest.raises(ValueError):
        normalise_proxy("socks4://127.0.0.1:9050")
