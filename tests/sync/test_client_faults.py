"""Each fault the proxy injects reaches the client as the typed error the engine expects."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from core.crypto.signing import SigningKey
from sync.client import Client
from sync.errors import Offline, ServerUnavailable, SyncError, Timeout
from tests.support.fault_proxy import Fault, FaultPlan, FaultProxy, RequestInfo


class _Counting(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    received: list[int] = []  # noqa: RUF012 - one list shared by the handlers of one test

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = self.rfile.read(length)
        except ConnectionResetError:
            return
        if len(body) != length:
            return  # a cut request never counts as received
        self.received.append(len(body))
        answer = json.dumps({"results": [{"id": "x", "status": "stored"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[tuple[str, int]]:
    _Counting.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield ("127.0.0.1", server.server_address[1])
    server.shutdown()
    server.server_close()


def _push(proxy: FaultProxy) -> list[dict]:
    client = Client(proxy.url, signing_key=SigningKey.generate(), read_timeout=0.5)
    return client.push_envelopes([{"payload": "p" * 5000}])


@pytest.mark.parametrize(
    ("fault", "error", "reached_server"),
    [
        (Fault.DROP, Offline, 0),
        (Fault.RESET_BODY, Offline, 0),
        (Fault.STALL, Timeout, 0),
        (Fault.ERROR_5XX, ServerUnavailable, 0),
        (Fault.LOSE_RESPONSE, Offline, 1),
    ],
)
def test_each_fault_becomes_a_retryable_error(
    upstream: tuple[str, int], fault: Fault, error: type[SyncError], reached_server: int
) -> None:
    with (
        FaultProxy(upstream, plan=lambda info: fault, stall_seconds=1.5) as proxy,
        pytest.raises(error) as info,
    ):
        _push(proxy)
    assert info.value.retryable
    assert len(_Counting.received) == reached_server


def test_slow_and_duplicated_requests_still_get_their_answer(upstream: tuple[str, int]) -> None:
    for fault in (Fault.SLOW, Fault.DUPLICATE):
        with FaultProxy(upstream, plan=lambda info, f=fault: f, slow_piece=512) as proxy:
            assert _push(proxy)[0]["status"] == "stored"
    assert len(_Counting.received) == 3  # one slow, two copies of the duplicated request


def test_a_fault_plan_is_reproducible_from_its_seed() -> None:
    def choices(seed: int) -> list[Fault]:
        plan = FaultPlan(seed=seed, rate=0.5)
        return [plan(RequestInfo("POST", "/v1/envelopes", 10, n)) for n in range(50)]

    assert choices(3) == choices(3)
    assert choices(3) != choices(4)
    assert Fault.PASS in choices(3) and len(set(choices(3))) > 3
    capped = FaultPlan(seed=1, rate=1.0, max_faults=2)
    got = [capped(RequestInfo("GET", "/v1/health", 0, n)) for n in range(5)]
    assert got[2:] == [Fault.PASS] * 3 and Fault.PASS not in got[:2]
