"""Downloads that are cut mid-body resume where they stopped (or skip what already arrived)."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator

import pytest

from core.crypto.signing import SigningKey
from sync.client import Client
from sync.errors import Offline

DATA = os.urandom(300_000)
BLOB = "0123456789abcdef0123456789abcdef"


class _Cutting(http.server.BaseHTTPRequestHandler):
    """Serves DATA; the first answer stops after a third of it. `ranges`: honour `Range`."""

    protocol_version = "HTTP/1.1"
    ranges = True
    cuts_left = 1
    seen: list[str | None] = []  # noqa: RUF012 - the Range header of each request, per class

    def do_GET(self) -> None:
        wanted = self.headers.get("Range")
        type(self).seen.append(wanted)
        start = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted and self.ranges else 0
        body = DATA[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(DATA) - 1}/{len(DATA)}")
        self.end_headers()
        if type(self).cuts_left > 0:
            type(self).cuts_left -= 1
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(ranges: bool) -> Iterator[tuple[str, type[_Cutting]]]:
    handler = type("Handler", (_Cutting,), {"ranges": ranges, "cuts_left": 1, "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ranged() -> Iterator[tuple[str, type[_Cutting]]]:
    yield from _serve(ranges=True)


@pytest.fixture
def plain() -> Iterator[tuple[str, type[_Cutting]]]:
    yield from _serve(ranges=False)


def test_a_cut_download_asks_only_for_the_rest(ranged: tuple[str, type[_Cutting]]) -> None:
    url, handler = ranged
    with Client(url, signing_key=SigningKey.generate()) as client:
        assert b"".join(client.blob_chunks(BLOB, 4096)) == DATA
    first, again = handler.seen
    resumed_at = int(str(again).removeprefix("bytes=").rstrip("-"))
    assert first is None and len(DATA) // 3 - 4096 < resumed_at <= len(DATA) // 3


def test_a_server_without_ranges_sends_it_all_again_and_the_start_is_skipped(
    plain: tuple[str, type[_Cutting]],
) -> None:
    url, handler = plain
    with Client(url, signing_key=SigningKey.generate()) as client:
        assert client.blob_download(BLOB) == DATA
    assert len(handler.seen) == 2


def test_a_download_that_never_progresses_gives_up() -> None:
    client = Client("http://127.0.0.1:9", signing_key=SigningKey.generate())
    with client, pytest.raises(Offline):
        client.blob_download(BLOB)
