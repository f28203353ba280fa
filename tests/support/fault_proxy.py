"""A fault-injecting HTTP proxy on loopback, for reliability tests.

    proxy = FaultProxy(upstream=("127.0.0.1", port), plan=FaultPlan(seed=7, rate=0.3))
    proxy.start(); client = Client(proxy.url, ...); ...; proxy.stop()

It speaks just enough HTTP/1.1 to act per request: it reads each request (head and
Content-Length body), forces `Connection: close` so every request has its own upstream
connection, then applies one `Fault` chosen by the plan:

    PASS           forward untouched
    DROP           reset the client connection before anything reaches the server
    RESET_BODY     forward the head and part of the body, then reset both sides
    STALL          swallow the request and stay silent for `stall_seconds`, then close
    ERROR_5XX      answer 503 without contacting the server
    SLOW           forward the request body and the answer in small pieces with delays
    LOSE_RESPONSE  forward the whole request, read the server's answer, then reset the client
                   (the "crash between send and acknowledgement" case)
    DUPLICATE      send the request to the server twice, return the first answer

With `link=SlowLink(rate=200 * 1024, cut_every=15)` the proxy is also a bad mobile link, for
every request whatever its fault: bytes cross it at `rate` bytes per second each way (shared by
all connections, like one phone's radio), and every `cut_every` seconds every connection open
through it is cut, in whatever state it is (mid-body, waiting for the answer, mid-answer).
`bytes_from_client` and `bytes_to_client` count what actually crossed (heads and bodies), so a
cut request counts the part that got through; `cuts` counts the cuts that hit a connection.

With `forward=True` it is also a plain forward proxy (absolute-URI requests and CONNECT
tunnels), so a client configured with `proxy="http://127.0.0.1:PORT"` can be shown to route
through it (`requests_seen`, `tunnels`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

_MAX_HEAD = 64 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class SlowLink:
    """A slow link that drops: `rate` bytes/s each way, every connection cut every `cut_every` s."""

    rate: float
    cut_every: float | None = None
    piece: int = 4096  # bytes moved at a time


class _Pace:
    """Bytes cross one at a time at `rate`: each caller waits until its bytes are through."""

    def __init__(self, rate: float, stopped: threading.Event) -> None:
        self._rate = rate
        self._stopped = stopped
        self._lock = threading.Lock()
        self._free_at = time.monotonic()

    def take(self, nbytes: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._free_at = max(now, self._free_at) + nbytes / self._rate
            wait = self._free_at - now
        self._stopped.wait(wait)


class Fault(enum.Enum):
    PASS = "pass"
    DROP = "drop"
    RESET_BODY = "reset_body"
    STALL = "stall"
    ERROR_5XX = "error_5xx"
    SLOW = "slow"
    LOSE_RESPONSE = "lose_response"
    DUPLICATE = "duplicate"


ALL_FAULTS: tuple[Fault, ...] = tuple(fault for fault in Fault if fault is not Fault.PASS)


@dataclasses.dataclass(frozen=True, slots=True)
class RequestInfo:
    method: str
    path: str
    body_size: int
    number: int  # 1-based count of requests seen by the proxy


class FaultPlan:
    """Choose a fault per request: with probability `rate`, one of `faults` at random."""

    def __init__(
        self,
        *,
        seed: int = 0,
        rate: float = 0.0,
        faults: tuple[Fault, ...] = ALL_FAULTS,
        max_faults: int | None = None,
        paths: tuple[str, ...] = ("/v1/",),
    ) -> None:
        self._random = random.Random(seed)
        self._rate = rate
        self._faults = faults
        self._remaining = max_faults
        self._paths = paths
        self._lock = threading.Lock()

    def __call__(self, info: RequestInfo) -> Fault:
        with self._lock:
            if not any(p in info.path for p in self._paths):
                return Fault.PASS
            if self._remaining is not None and self._remaining <= 0:
                return Fault.PASS
            if self._random.random() >= self._rate:
                return Fault.PASS
            if self._remaining is not None:
                self._remaining -= 1
            return self._random.choice(self._faults)


class _LoopbackServer:
    """A loopback listener; its accept loop serves each connection on its own thread."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def _serve(self, client: socket.socket) -> None:
        raise NotImplementedError

    def _start(self) -> None:
        self._thread.start()

    def _stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()


class FaultProxy(_LoopbackServer):
    def __init__(
        self,
        upstream: tuple[str, int] | None = None,
        *,
        plan: Callable[[RequestInfo], Fault] | None = None,
        forward: bool = False,
        stall_seconds: float = 3.0,
        slow_piece: int = 4096,
        slow_delay: float = 0.001,
        link: SlowLink | None = None,
    ) -> None:
        if upstream is None and not forward:
            raise ValueError("a proxy needs an upstream or forward=True")
        self.upstream = upstream
        self.plan = plan or (lambda info: Fault.PASS)
        self.forward = forward
        self.stall_seconds = stall_seconds
        self.slow_piece = slow_piece
        self.slow_delay = slow_delay
        self.faults: Counter[str] = Counter()
        self.requests_seen: list[tuple[str, str]] = []
        self.tunnels: list[str] = []
        self.bytes_from_client = 0
        self.bytes_to_client = 0
        self.bodies: list[tuple[str, int]] = []  # (path, body bytes received from the client)
        self.link = link
        self.cuts = 0
        self._count = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        super().__init__()
        self._up = _Pace(link.rate, self._stopped) if link else None
        self._down = _Pace(link.rate, self._stopped) if link else None
        self._cutter = threading.Thread(target=self._cut_loop, daemon=True)

    def counters(self) -> tuple[int, int]:
        """(bytes from the client, bytes to the client) so far: take two and subtract."""
        with self._lock:
            return self.bytes_from_client, self.bytes_to_client

    def body_bytes_from_client_for(self, fragment: str) -> int:
        """Request body bytes the client sent on paths containing `fragment`."""
        with self._lock:
            return sum(size for path, size in self.bodies if fragment in path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._start()
        if self.link is not None and self.link.cut_every:
            self._cutter.start()
        return self

    def stop(self) -> None:
        self._stop()
        if self._cutter.is_alive():
            self._cutter.join(timeout=5)

    # -- the slow link ------------------------------------------------------------------------

    def _cut_loop(self) -> None:
        assert self.link is not None and self.link.cut_every
        while not self._stopped.wait(self.link.cut_every):
            with self._lock:
                hit = list(self._open)
                if hit:
                    self.cuts += 1
            for sock in hit:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _track(self, sock: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def _recv(self, sock: socket.socket, size: int) -> bytes:
        """Read from the client across the link (paced, counted)."""
        if self._up is not None and self.link is not None:
            size = min(size, self.link.piece)
            self._up.take(size)
        data = sock.recv(size)
        with self._lock:
            self.bytes_from_client += len(data)
        return data

    def _send(self, sock: socket.socket, data: bytes) -> None:
        """Write to the client across the link (paced, counted as it goes)."""
        piece = self.link.piece if self.link is not None else len(data) or 1
        for start in range(0, len(data), piece):
            part = data[start : start + piece]
            if self._down is not None:
                self._down.take(len(part))
            sock.sendall(part)
            with self._lock:
                self.bytes_to_client += len(part)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connection handling ----------------------------------------------------------------

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(30)
        self._track(client, True)
        try:
            self._serve_requests(client)
        except OSError:
            pass
        finally:
            self._track(client, False)
            _close(client)

    def _serve_requests(self, client: socket.socket) -> None:
        buffer = b""
        while not self._stopped.is_set():
            head, buffer = _read_head(client, buffer, self._recv)
            if head is None:
                return
            request_line, headers = _parse_head(head)
            method, target, version = request_line.split(" ", 2)
            if method == "CONNECT":
                self._tunnel(client, target, buffer)
                return
            upstream = self.upstream
            path = target
            if target.startswith("http://"):
                parts = urlsplit(target)
                upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
            if upstream is None:
                return
            length = int(_header(headers, "content-length") or 0)
            try:
                body, buffer = _read_exact(client, buffer, length, self._recv)
            except ConnectionError as exc:
                with self._lock:
                    self.bodies.append((path, exc.args[1] if len(exc.args) > 1 else 0))
                raise
            with self._lock:
                self._count += 1
                self.requests_seen.append((method, path))
                self.bodies.append((path, len(body)))
                info = RequestInfo(method, path, length, self._count)
            fault = self.plan(info)
            self.faults[fault.value] += 1
            kept = [
                (k, v)
                for k, v in headers
                if k.lower() not in ("connection", "keep-alive", "proxy-connection")
            ]
            kept.append(("Connection", "close"))
            raw_head = (
                f"{method} {path} {version}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in kept)
                + "\r\n"
            ).encode("latin-1")
            if not self._apply(fault, client, upstream, raw_head, body):
                return

    def _apply(
        self,
        fault: Fault,
        client: socket.socket,
        upstream: tuple[str, int],
        head: bytes,
        body: bytes,
    ) -> bool:
        """Carry out one request with `fault`; return False when the client connection ends."""
        if fault is Fault.DROP:
            _reset(client)
            return False
        if fault is Fault.ERROR_5XX:
            self._send(
                client,
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                b"Connection: close\r\n\r\n",
            )
            return False
        if fault is Fault.STALL:
            self._stopped.wait(self.stall_seconds)
            return False
        with socket.create_connection(upstream, timeout=60) as server:
            self._track(server, True)
            if fault is Fault.RESET_BODY:
                server.sendall(head + body[: len(body) // 2])
                time.sleep(0.01)
                self._track(server, False)
                _reset(server)
                _reset(client)
                return False
            if fault is Fault.SLOW:
                for piece in _pieces(head + body, self.slow_piece):
                    server.sendall(piece)
                    time.sleep(self.slow_delay)
            else:
                server.sendall(head + body)
            response = _closing(_drain(server))
            if fault is Fault.DUPLICATE:
                with socket.create_connection(upstream, timeout=60) as second:
                    second.sendall(head + body)
                    _drain(second)
        self._track(server, False)
        if fault is Fault.LOSE_RESPONSE:
            _reset(client)
            return False
        if not response and self.link is not None:
            _reset(client)  # the link was cut before the server's answer came back
            return False
        if fault is Fault.SLOW:
            for piece in _pieces(response, self.slow_piece):
                self._send(client, piece)
                time.sleep(self.slow_delay)
        else:
            self._send(client, response)
        return False  # we forced Connection: close

    def _tunnel(self, client: socket.socket, target: str, early: bytes) -> None:
        host, _, port = target.rpartition(":")
        with self._lock:
            self.tunnels.append(target)
        server = socket.create_connection((host.strip("[]"), int(port)), timeout=60)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if early:
            server.sendall(early)
        _relay(client, server, join_timeout=60)


def _read_head(
    sock: socket.socket, buffer: bytes, recv: Callable[[socket.socket, int], bytes]
) -> tuple[bytes | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > _MAX_HEAD:
            return None, b""
        data = recv(sock, 65536)
        if not data:
            return None, b""
        buffer += data
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _read_exact(
    sock: socket.socket,
    buffer: bytes,
    length: int,
    recv: Callable[[socket.socket, int], bytes],
) -> tuple[bytes, bytes]:
    chunks = [buffer]
    have = len(buffer)
    while have < length:
        try:
            data = recv(sock, min(1 << 20, length - have))
        except OSError as exc:
            raise ConnectionError("client connection failed mid-body", have) from exc
        if not data:
            raise ConnectionError("client closed mid-body", have)
        chunks.append(data)
        have += len(data)
    whole = b"".join(chunks)
    return whole[:length], whole[length:]


def _drain(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def _closing(response: bytes) -> bytes:
    """Mark a response `Connection: close`, so the client never reuses a socket we close."""
    head, sep, body = response.partition(b"\r\n\r\n")
    if not sep:
        return response
    status, *lines = head.split(b"\r\n")
    kept = [line for line in lines if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([status, *kept, b"Connection: close"]) + sep + body


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _relay(client: socket.socket, server: socket.socket, *, join_timeout: float) -> None:
    """Copy bytes both ways until either side closes, then close `server`."""
    other = threading.Thread(target=_pump, args=(server, client), daemon=True)
    other.start()
    _pump(client, server)
    other.join(timeout=join_timeout)
    _close(server)


class Socks5Proxy(_LoopbackServer):
    """A minimal SOCKS5 proxy (no authentication, CONNECT only) on loopback.

    `connects` lists the `host:port` each client asked for: with `socks5h://` the host is the
    name the client wanted (resolved here, as Tor does), not an address it resolved itself.
    """

    def __init__(self) -> None:
        self.connects: list[str] = []
        super().__init__()

    @property
    def url(self) -> str:
        return f"socks5h://127.0.0.1:{self.port}"

    def __enter__(self) -> Socks5Proxy:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(30)
        try:
            version, count = _recv_exact(client, 2)
            _recv_exact(client, count)
            client.sendall(bytes([5, 0]))  # no authentication
            _, command, _, address_type = _recv_exact(client, 4)
            if address_type == 3:
                host = _recv_exact(client, _recv_exact(client, 1)[0]).decode("ascii")
            elif address_type == 1:
                host = socket.inet_ntoa(_recv_exact(client, 4))
            else:
                client.sendall(bytes([5, 8, 0, 1, 0, 0, 0, 0, 0, 0]))
                return
            port = struct.unpack(">H", _recv_exact(client, 2))[0]
            if version != 5 or command != 1:
                client.sendall(bytes([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]))
                return
            self.connects.append(f"{host}:{port}")
            server = socket.create_connection((host, port), timeout=30)
            client.sendall(bytes([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]))
        except (OSError, ValueError):
            _close(client)
            return
        _relay(client, server, join_timeout=30)
        _close(client)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            raise ValueError("connection closed during the SOCKS handshake")
        data += part
    return data
