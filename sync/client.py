"""The HTTP client every device and coordinator uses to talk to the organisation server.

Use `Client(server_url, signing_key=key, tls_pin=pin, proxy=proxy)` and its verbs
(`push_envelopes`, `blob_chunk`, `commands`, ...). It signs every request with
`sync.auth.sign_request`, puts a (connect, read) timeout on every request, and turns every
failure (network, TLS, HTTP status, malformed answer) into one of the typed errors of
`sync.errors`; nothing from `requests` or `urllib3` escapes.

Network settings:
- `proxy`: `http://host:port` (HTTP CONNECT / forward proxy) or `socks5h://host:port` (SOCKS5
  with DNS resolved by the proxy, as Tor via Orbot needs). `socks5://` is taken as `socks5h://`:
  with plain `socks5` the phone would look the server's name up itself, in clear, on the
  network the proxy is there to avoid. Environment proxy variables and `.netrc` are ignored on
  purpose (`trust_env=False`): traffic goes exactly where configured.
- `tls_pin`: SHA-256 hex of the server certificate (DER). When set, the certificate must match
  it byte for byte and ordinary chain validation is skipped, so self-signed certificates work:
  **the pin is then the only trust**. Without a pin, normal CA validation applies.

Bytes on the wire: requests carry only what the server needs (no `User-Agent`, `Accept` or
`Accept-Encoding`: a few dozen bytes per request on prepaid data, and nothing that tells a
network which software is talking). `org_document_if_changed` fetches the org document only
when it changed (`If-None-Match`) and returns the server's hints about pending commands and
messages, so an idle round is one small request. `blob_chunks` resumes a download cut in the
middle with a `Range` request.

Danger: the client never logs bodies or headers; keep it that way (bodies are ciphertext, but
headers carry signatures and keys that identify the device).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, cast
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import SKIP_HEADER

from core.crypto.signing import SigningKey
from sync.auth import HEADER_HINT_COMMANDS, HEADER_HINT_MESSAGES, sign_request
from sync.encoding import EncodingError, canonical_json, parse_json_strict
from sync.errors import (
    BlobTooLarge,
    DeviceRevoked,
    Offline,
    OffsetMismatch,
    ProtocolError,
    ServerRefused,
    ServerUnavailable,
    SyncError,
    Timeout,
    TlsError,
    TlsPinMismatch,
)
from sync.pacing import HEADER_CHUNK_LIMIT, SERVER_CHUNK_LIMIT, SMALLEST

CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0
DOWNLOAD_RESUMES = 5
"""A download cut this many times in a row without a byte of progress gives up."""
STREAM_PIECE = 1024 * 1024
"""Bytes of a streamed chunk read from the spool and handed to the socket at a time."""
_PIN_HEX_LENGTH = 64
# Nothing but what the server needs: no User-Agent (it names the software), Accept or
# Accept-Encoding (bodies are ciphertext or small JSON). `requests` and `urllib3` would add them.
_BARE_HEADERS = {"User-Agent": SKIP_HEADER, "Accept-Encoding": SKIP_HEADER}


@dataclasses.dataclass(frozen=True, slots=True)
class OrgDocumentAnswer:
    """`GET /v1/org-document` with `If-None-Match`: the document if it changed, and hints.

    `document` is None when the server answered 304 (the one the caller holds is current).
    `commands` (pending commands for this device) and `messages` (a message waits after the
    cursor sent) are None when the server gave no hint (an older server): fetch to find out.
    They are only hints: a server can always withhold, so skipping on them loses nothing.
    """

    document: dict[str, Any] | None
    etag: str
    commands: int | None
    messages: bool | None


def normalise_pin(pin: str) -> str:
    """Accept `AB:CD:...` or plain hex; return 64 lowercase hex digits or raise ValueError."""
    cleaned = pin.replace(":", "").strip().lower()
    if len(cleaned) != _PIN_HEX_LENGTH or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValueError("a TLS pin is the SHA-256 of the certificate as 64 hex digits")
    return cleaned


def normalise_proxy(proxy: str) -> str:
    """Check a proxy URL, `http://host:port` or `socks5h://host:port`; raise ValueError.

    `socks5://` comes back as `socks5h://`, so names are always resolved by the proxy: plain
    SOCKS5 would send a DNS query for the server's name from the phone, past the proxy.
    """
    cleaned = proxy.strip()
    parts = urlsplit(cleaned)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "socks5", "socks5h") or not parts.hostname:
        raise ValueError("proxy must be http://host:port or socks5h://host:port")
    if scheme == "socks5":
        return "socks5h" + cleaned[len(parts.scheme) :]
    return cleaned


class _PinnedAdapter(HTTPAdapter):
    """An adapter that makes urllib3 check the server certificate's SHA-256 fingerprint."""

    def __init__(self, pin: str, **kwargs: Any) -> None:
        self._pin = pin
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, False, cert
        )
        extended: dict[str, Any] = dict(pool_kwargs)
        extended["assert_fingerprint"] = self._pin
        return host_params, extended


class SpoolFile(Protocol):
    """What a streamed chunk reads: an open, seekable binary file (a spool reader)."""

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def readinto(self, buffer: memoryview, /) -> int | None: ...


class SpoolSlice:
    """`length` bytes of a seekable file from `offset`, as a request body read while it is sent.

    `Client.blob_chunk` sends it with a `Content-Length`, `STREAM_PIECE` bytes at a time through
    one buffer, so a chunk of any size costs that much memory and each piece is copied once on
    its way from the file to the socket. Sending it again (after a cut) reads the file again.

    Danger: the file must not change or move while the body is sent; a file shorter than
    `offset + length` raises `SyncError` (`spool_damaged`) in the middle of the request.
    """

    def __init__(self, source: SpoolFile, offset: int, length: int) -> None:
        if offset < 0 or length <= 0:
            raise ValueError("a slice starts at 0 or later and holds at least one byte")
        self.source = source
        self.offset = offset
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[memoryview]:
        self.source.seek(self.offset)
        buffer = memoryview(bytearray(min(STREAM_PIECE, self.length)))
        left = self.length
        while left:
            got = self.source.readinto(buffer[: min(left, len(buffer))])
            if not got:
                raise SyncError("the spooled blob is shorter than queued", reason="spool_damaged")
            yield buffer[:got]  # sent before the next piece is read into the buffer
            left -= got


class Client:
    """A signed, timed, optionally proxied and pinned connection to one organisation server."""

    def __init__(
        self,
        server_url: str,
        *,
        signing_key: SigningKey | None = None,
        tls_pin: str | None = None,
        proxy: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        now: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(server_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("server address must be http(s)://host[:port]")
        self.server_url = server_url.rstrip("/")
        self._prefix = parts.path.rstrip("/")
        self.signing_key = signing_key
        self.timeout = (connect_timeout, read_timeout)
        self._now = now
        self.chunk_limit = SERVER_CHUNK_LIMIT
        """The largest blob chunk the server takes (learnt by `blob_begin`)."""
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.headers.clear()
        self._session.headers.update(_BARE_HEADERS)
        if tls_pin:
            self._session.verify = False
            self._session.mount("https://", _PinnedAdapter(normalise_pin(tls_pin)))
        if proxy:
            url = normalise_proxy(proxy)
            self._session.proxies = {"http": url, "https": url}

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the low level ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        json_body: Any = None,
        raw_body: bytes | SpoolSlice | None = None,
        signed: bool = True,
        stream: bool = False,
        body_sha256: str | None = None,
        upload_sha256: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        accept: tuple[int, ...] = (),
    ) -> requests.Response:
        """Send one request and return the 2xx response; raise a `SyncError` otherwise.

        `extra_headers` are sent unsigned (`Range`, `If-None-Match`: they only choose which
        bytes come back, and what comes back is verified). `accept` lists non-2xx statuses
        (304) returned instead of raised. `body_sha256` and `upload_sha256`: see `sign_request`.
        """
        path_and_query = self._prefix + path
        if query:
            path_and_query += "?" + urlencode(query)
        headers: dict[str, str] = {}
        streamed = isinstance(raw_body, SpoolSlice)
        if streamed and upload_sha256 is None:
            raise ValueError("a streamed body must be signed over its upload's digest")
        body: bytes | SpoolSlice
        if json_body is not None:
            body = canonical_json(json_body)
            headers["Content-Type"] = "application/json"
        elif raw_body is not None:
            body = raw_body
            headers["Content-Type"] = "application/octet-stream"
        else:
            body = b""
        if extra_headers:
            headers.update(extra_headers)
        if signed:
            if self.signing_key is None:
                raise ValueError("this request must be signed but the client has no key")
            headers.update(
                sign_request(
                    self.signing_key,
                    method,
                    path_and_query,
                    body if isinstance(body, bytes) else b"",  # streamed: upload digest only
                    now=int(self._now()),
                    body_sha256=body_sha256 if raw_body is not None else None,
                    upload_sha256=upload_sha256 if raw_body is not None else None,
                )
            )
        url = self.server_url[: len(self.server_url) - len(self._prefix)] + path_and_query
        try:
            response = self._session.request(
                method,
                url,
                data=cast(Any, body) if body else None,  # a SpoolSlice: an iterable of pieces
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=stream,
            )
        except requests.exceptions.RequestException as exc:
            raise _translate(exc) from exc
        if response.status_code >= 300 and response.status_code not in accept:
            raise _refusal(response)
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and parse its JSON answer strictly."""
        return _json(self.request(method, path, **kwargs))

    # -- the API (docs/protocol.md) ----------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return _obj(self.call("GET", "/v1/health", signed=False))

    def bootstrap(self, token: str, org_document: dict[str, Any]) -> dict[str, Any]:
        body = {"token": token, "org_document": org_document}
        return _obj(self.call("POST", "/v1/bootstrap", json_body=body, signed=False))

    def org_document(self) -> dict[str, Any]:
        return _obj(self.call("GET", "/v1/org-document"))

    def org_document_if_changed(
        self, etag: str | None, *, messages_after: int | None = None
    ) -> OrgDocumentAnswer:
        """The org document unless it is still `etag`, with the server's hints for a device."""
        query = {"messages_after": messages_after} if messages_after is not None else None
        headers = {"If-None-Match": etag} if etag else None
        response = self.request(
            "GET", "/v1/org-document", query=query, extra_headers=headers, accept=(304,)
        )
        new_etag = response.headers.get("ETag", "")
        document = None
        if response.status_code == 304:
            if not etag:
                raise ProtocolError("the server answered 'not modified' to a plain request")
            new_etag = new_etag or etag
        else:
            try:
                document = _obj(parse_json_strict(response.content))
            except requests.exceptions.RequestException as exc:
                raise _translate(exc) from exc
            except EncodingError as exc:
                raise ProtocolError("the server's answer is not valid JSON") from exc
        return OrgDocumentAnswer(
            document,
            new_etag,
            _hint_int(response.headers.get(HEADER_HINT_COMMANDS)),
            _hint_bool(response.headers.get(HEADER_HINT_MESSAGES)),
        )

    def put_org_document(self, document: dict[str, Any]) -> None:
        self.call("PUT", "/v1/org-document", json_body=document)

    def create_invite(self, *, expires_in: int, label: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"expires_in": int(expires_in)}
        if label:
            body["label"] = label
        return _obj(self.call("POST", "/v1/invites", json_body=body))

    def enrol(
        self, token: str, recipient: str, label: str | None = None, *, proof: str | None = None
    ) -> dict[str, Any]:
        body = {"token": token, "recipient": recipient}
        if label:
            body["label"] = label
        if proof:
            body["proof"] = proof
        return _obj(self.call("POST", "/v1/enrol", json_body=body))

    def devices(self) -> list[dict[str, Any]]:
        return _list(_obj(self.call("GET", "/v1/devices")).get("devices"))

    def revoke_device(self, device_id: str) -> None:
        self.call("POST", f"/v1/devices/{_segment(device_id)}/revoke")

    def post_command(self, command: dict[str, Any]) -> None:
        self.call("POST", "/v1/commands", json_body=command)

    def commands(self) -> list[dict[str, Any]]:
        return _list(_obj(self.call("GET", "/v1/commands")).get("commands"))

    def ack_command(self, command_id: str) -> None:
        self.call("POST", f"/v1/commands/{_segment(command_id)}/ack")

    def push_envelopes(self, envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Push up to 100 envelopes; return the server's per-envelope results in order."""
        answer = _obj(self.call("POST", "/v1/envelopes", json_body={"envelopes": envelopes}))
        results = _list(answer.get("results"))
        if len(results) != len(envelopes):
            raise ProtocolError("the server answered for a different number of envelopes")
        return results

    def envelopes(self, after: int, limit: int) -> dict[str, Any]:
        return _obj(self.call("GET", "/v1/envelopes", query={"after": after, "limit": limit}))

    def messages(self, after: int, limit: int) -> dict[str, Any]:
        return _obj(self.call("GET", "/v1/messages", query={"after": after, "limit": limit}))

    def blob_begin(self, blob_id: str, size: int, sha256: str) -> int:
        """Announce a blob (idempotent); return how many bytes the server already holds.

        Also learns the largest chunk the server takes (`chunk_limit`), from its answer's
        `X-FieldVault-Chunk-Limit`; a server that does not say (or names 0 or nonsense) takes
        `SERVER_CHUNK_LIMIT`, and one that names less than `SMALLEST` gets that much.
        """
        body = {"id": blob_id, "size": size, "sha256": sha256}
        response = self.request("POST", "/v1/blobs", json_body=body)
        named = _hint_int(response.headers.get(HEADER_CHUNK_LIMIT))
        # a tiny limit would have the phone send a few bytes a request: never below SMALLEST
        self.chunk_limit = max(named, SMALLEST) if named else SERVER_CHUNK_LIMIT
        return _int(_obj(_json(response)).get("offset"))

    def blob_status(self, blob_id: str) -> dict[str, Any]:
        return _obj(self.call("GET", f"/v1/blobs/{_segment(blob_id)}/status"))

    def blob_chunk(
        self,
        blob_id: str,
        offset: int,
        data: bytes | SpoolSlice,
        *,
        sha256: str | None = None,
        upload_sha256: str | None = None,
    ) -> tuple[int, bool]:
        """Send bytes at `offset`; return (server offset, complete). `OffsetMismatch` if off;
        `ServerRefused("upload_busy")` (retryable) while the server is still receiving another
        chunk of the upload.

        `data`: the bytes, or a `SpoolSlice` read from the spool while it is sent (only with
        `upload_sha256`, which signs it without reading it first).

        `sha256`: the chunk's SHA-256 (hex) if already computed, so it is not hashed twice.
        `upload_sha256`: sign the SHA-256 of the blob's first `offset + len(data)` bytes instead
        of the chunk's, so neither side hashes the bytes twice (`sync.auth`); servers from
        before it answer `bad_signature`. Any 413 is `ServerRefused("body_too_large")`, also one
        without the server's JSON (a proxy in front of it that takes smaller bodies), so the
        engine sends smaller chunks.
        """
        response = self.request(
            "PUT",
            f"/v1/blobs/{_segment(blob_id)}/chunks",
            query={"offset": offset},
            raw_body=data,
            body_sha256=sha256,
            upload_sha256=upload_sha256,
            accept=(413,),
        )
        if response.status_code == 413:
            refusal = _refusal(response)
            if isinstance(refusal, ServerRefused):
                raise refusal
            raise ServerRefused("body_too_large", status=413, detail="the body was refused")
        answer = _obj(_json(response))
        return _int(answer.get("offset")), bool(answer.get("complete"))

    def blob_download(self, blob_id: str) -> bytes:
        return b"".join(self.blob_chunks(blob_id))

    def blob_chunks(
        self,
        blob_id: str,
        chunk_size: int = 16 * 1024,
        *,
        resumes: int = DOWNLOAD_RESUMES,
        limit: int | None = None,
    ) -> Iterator[bytes]:
        """A complete blob's bytes as they arrive, in constant memory, resumed after a cut.

        A connection that drops mid-body is asked again for the rest (`Range: bytes=N-`); a
        server without range support answers the whole blob and the bytes already delivered
        are skipped. A cut loses at most the `chunk_size` bytes being gathered, so keep it
        small. It gives up (raising the network error) after `resumes` cuts in a row that
        delivered nothing. The caller still checks the whole blob's hash. With `limit` (the
        size its author signed), `BlobTooLarge` stops it as soon as more than that arrives.
        """
        path = f"/v1/blobs/{_segment(blob_id)}"
        delivered, fruitless = 0, 0
        while True:
            at_start = delivered
            try:
                headers = {"Range": f"bytes={delivered}-"} if delivered else None
                response = self.request("GET", path, stream=True, extra_headers=headers)
                try:
                    skip = _resume_skip(response, delivered)
                    for piece in response.iter_content(chunk_size):
                        if skip:
                            dropped = min(skip, len(piece))
                            piece, skip = piece[dropped:], skip - dropped
                        if piece:
                            delivered += len(piece)
                            if limit is not None and delivered > limit:
                                raise BlobTooLarge(f"more than the {limit} bytes signed")
                            yield piece
                    if skip:
                        raise ProtocolError("the blob ended before the bytes already received")
                    _check_complete(response, delivered)
                    return
                except requests.exceptions.RequestException as exc:
                    raise _translate(exc) from exc
                finally:
                    response.close()
            except (Offline, Timeout):
                fruitless = 0 if delivered > at_start else fruitless + 1
                if fruitless >= resumes:
                    raise


def _resume_skip(response: requests.Response, delivered: int) -> int:
    """How many bytes of this answer were already delivered (0 for a matching 206)."""
    if response.status_code == 206:
        start = _content_range_start(response.headers.get("Content-Range", ""))
        if start != delivered:
            raise ProtocolError("the server resumed the blob at another offset")
        return 0
    return delivered  # a 200 carries the whole blob again


def _content_range_start(value: str) -> int | None:
    unit, _, rest = value.partition(" ")
    first, dash, _ = rest.partition("-")
    if unit != "bytes" or not dash or not first.isdigit():
        return None
    return int(first)


def _check_complete(response: requests.Response, delivered: int) -> None:
    """A body that ended early without an error is a cut too (urllib3 may not notice)."""
    total = response.headers.get("Content-Range", "").rpartition("/")[2]
    length = response.headers.get("Content-Length")
    if response.status_code == 206 and total.isdigit():
        expected = int(total)
    elif response.status_code == 200 and length is not None and length.isdigit():
        expected = int(length)
    else:
        return
    if delivered < expected:
        raise Offline("the download was cut")


def _json(response: requests.Response) -> Any:
    try:
        return parse_json_strict(response.content)
    except requests.exceptions.RequestException as exc:
        raise _translate(exc) from exc
    except EncodingError as exc:
        raise ProtocolError("the server's answer is not valid JSON") from exc


def _hint_int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and len(value) < 10 else None


def _hint_bool(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


def _segment(value: str) -> str:
    if not value or not all(c.isalnum() or c in "-_" for c in value):
        raise ValueError("an id in a URL path must be alphanumeric")
    return value


def _obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError("expected a JSON object from the server")
    return value


def _list(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ProtocolError("expected a list of objects from the server")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError("expected a non-negative integer from the server")
    return value


def _translate(exc: requests.exceptions.RequestException) -> SyncError:
    """Map a `requests` failure to our error tree (messages stay free of URLs and bodies)."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        if "ingerprint" in text:
            return TlsPinMismatch("the server certificate does not match the pin")
        return TlsError("TLS handshake failed")
    if isinstance(exc, requests.exceptions.Timeout):
        return Timeout("the server did not answer in time")
    if isinstance(exc, requests.exceptions.ProxyError):
        return Offline("the proxy could not be reached", reason="proxy_unreachable")
    if isinstance(
        exc, requests.exceptions.ConnectionError | requests.exceptions.ChunkedEncodingError
    ):
        if "timed out" in text.lower():
            return Timeout("the connection timed out")
        return Offline("the server could not be reached")
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return ProtocolError("the server's answer could not be decoded")
    return Offline(type(exc).__name__)


def _refusal(response: requests.Response) -> SyncError:
    status = response.status_code
    reason, detail, payload = "", "", {}
    try:
        body = parse_json_strict(response.content)
        if isinstance(body, dict):
            payload = body
            reason = str(body.get("error", ""))
            detail = str(body.get("detail", ""))[:300]
    except (EncodingError, requests.exceptions.RequestException):
        pass
    if status >= 500 or status in (408, 429) or not reason or status < 400:
        return ServerUnavailable(f"HTTP {status}")
    if reason == "device_revoked":
        return DeviceRevoked()
    if reason == "offset_mismatch":
        offset = payload.get("offset")
        if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0:
            return OffsetMismatch(offset, detail=detail)
        return ProtocolError("offset_mismatch without the server's offset")
    return ServerRefused(reason, status=status, detail=detail)
