"""Invite codes: what a coordinator hands a new device (as text or as a QR code).

An invite carries the server URL, a one-time enrolment token, the organisation's root-key
fingerprint (pinned by the device from then on), optionally a TLS pin (the SHA-256 of the
server's DER certificate as 64 lowercase hex digits, what urllib3's `assert_fingerprint` checks),
and, since 0.2, an enrolment secret and the org document floor:

- `enrol_secret` (16 random bytes, hex) is never sent to the server. The device proves with it
  that its keys are the ones the invite was handed to (`sync.enrolment.enrolment_proof`), and the
  coordinator who made the invite checks that proof before it admits the device to the roster.
  A server that invents a device or swaps a device's keys cannot make that proof.
- `org_floor` is the org document version the coordinator held when making the invite: the new
  device refuses anything older, so a hostile server cannot roll it back to a document that
  still lists a removed coordinator.
- `org_key` (32 bytes, hex) is the organisation's age identity, which opens the sealed org
  document the server keeps (`sync.orgseal`). Absent for organisations created before 0.2.

Use `Invite(...).encode()` for the text (`FV1-` then Crockford base32 in groups of five, with a
checksum so a mistyped code is refused), `Invite.parse(text)` to read one back, and
`to_qr_png` / `to_qr_svg` for the QR image. Bytes and grammar are in docs/formats/invite.md.

Danger: the token is a credential until used; don't log the invite text. `http://` URLs are
refused except for loopback addresses and `.onion` hosts.

`InviteError.reason`: not_an_invite, unknown_version, bad_character, bad_length, not_canonical,
bad_checksum, bad_flags, bad_url, insecure_url, bad_token, bad_fingerprint, bad_tls_pin,
bad_secret, bad_floor, bad_org_key.
"""

from __future__ import annotations

import dataclasses
import io
import ipaddress
import re
from typing import BinaryIO
from urllib.parse import urlsplit

import segno

from core.crypto.hashing import sha256
from sync.encoding import CROCKFORD, ReasonError, crockford_digits
from sync.labels import INVITE_CHECKSUM

PREFIX = "FV1-"
ALPHABET = CROCKFORD
GROUP = 5
CHECKSUM_SIZE = 4
MAX_TEXT = 1024
MAX_URL = 255
MAX_TOKEN = 128
FLAG_TLS_PIN = 0x01
FLAG_ENROL_SECRET = 0x02
FLAG_ORG_FLOOR = 0x04
FLAG_ORG_KEY = 0x08
_KNOWN_FLAGS = FLAG_TLS_PIN | FLAG_ENROL_SECRET | FLAG_ORG_FLOOR | FLAG_ORG_KEY
SECRET_SIZE = 16
MAX_FLOOR = 2**32 - 1

_VERSION = re.compile(r"\AFV(\d+)[-\s]")
_TOKEN = re.compile(r"\A[A-Za-z0-9_-]+\Z")
_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_URL_CHARS = re.compile(r"\A[!-~]+\Z")


class InviteError(ReasonError, ValueError):
    """An invite code or its fields are not valid. `reason` is machine-readable."""


@dataclasses.dataclass(frozen=True, slots=True)
class Invite:
    server_url: str
    token: str = dataclasses.field(repr=False)
    root_fingerprint: str
    tls_pin: str | None = None
    enrol_secret: str | None = dataclasses.field(default=None, repr=False)
    org_floor: int = 0
    org_key: str | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        _check_url(self.server_url)
        if not isinstance(self.token, str) or not _TOKEN.match(self.token):
            raise InviteError("bad_token")
        if len(self.token) > MAX_TOKEN:
            raise InviteError("bad_token")
        if not isinstance(self.root_fingerprint, str) or not _HEX32.match(self.root_fingerprint):
            raise InviteError("bad_fingerprint")
        if self.tls_pin is not None and (
            not isinstance(self.tls_pin, str) or not _HEX64.match(self.tls_pin)
        ):
            raise InviteError("bad_tls_pin")
        if self.enrol_secret is not None and (
            not isinstance(self.enrol_secret, str) or not _HEX32.match(self.enrol_secret)
        ):
            raise InviteError("bad_secret")
        if type(self.org_floor) is not int or not 0 <= self.org_floor <= MAX_FLOOR:
            raise InviteError("bad_floor")
        if self.org_key is not None and (
            not isinstance(self.org_key, str) or not _HEX64.match(self.org_key)
        ):
            raise InviteError("bad_org_key")

    def to_binary(self) -> bytes:
        """The checksummed binary form that the text encodes."""
        flags = (
            (FLAG_TLS_PIN if self.tls_pin else 0)
            | (FLAG_ENROL_SECRET if self.enrol_secret else 0)
            | (FLAG_ORG_FLOOR if self.org_floor else 0)
            | (FLAG_ORG_KEY if self.org_key else 0)
        )
        body = bytearray([flags])
        body += bytes.fromhex(self.root_fingerprint)
        if self.tls_pin:
            body += bytes.fromhex(self.tls_pin)
        if self.enrol_secret:
            body += bytes.fromhex(self.enrol_secret)
        if self.org_floor:
            body += self.org_floor.to_bytes(4, "big")
        if self.org_key:
            body += bytes.fromhex(self.org_key)
        body.append(len(self.token))
        body += self.token.encode("ascii")
        body += self.server_url.encode("ascii")
        return bytes(body) + _checksum(bytes(body))

    def encode(self) -> str:
        """`FV1-` and groups of five Crockford base32 characters joined by `-`."""
        text = _base32_encode(self.to_binary())
        return PREFIX + "-".join(text[i : i + GROUP] for i in range(0, len(text), GROUP))

    @classmethod
    def parse(cls, text: str) -> Invite:
        """Read an invite typed, pasted or scanned. Case, spaces and `-` between groups, and
        the look-alikes O/I/L are forgiven; anything else off raises `InviteError`."""
        if not isinstance(text, str):
            raise InviteError("not_an_invite")
        if not text.isascii():
            raise InviteError("bad_character")
        text = text.strip().upper()
        if len(text) > MAX_TEXT:
            raise InviteError("bad_length")
        match = _VERSION.match(text)
        if not match:
            raise InviteError("not_an_invite")
        if match.group(1) != "1":
            raise InviteError("unknown_version")
        data = _base32_decode(re.sub(r"[\s-]", "", text[match.end() :]))
        return cls.from_binary(data)

    @classmethod
    def from_binary(cls, data: bytes) -> Invite:
        if len(data) < 1 + 16 + 1 + 1 + CHECKSUM_SIZE + len("http://a"):
            raise InviteError("bad_length")
        body, checksum = data[:-CHECKSUM_SIZE], data[-CHECKSUM_SIZE:]
        if _checksum(body) != checksum:
            raise InviteError("bad_checksum")
        flags, pos = body[0], 1
        if flags & ~_KNOWN_FLAGS:
            raise InviteError("bad_flags")
        fingerprint = body[pos : pos + 16].hex()
        pos += 16
        pin, pos = _field(body, pos, flags & FLAG_TLS_PIN, 32)
        secret, pos = _field(body, pos, flags & FLAG_ENROL_SECRET, SECRET_SIZE)
        floor_bytes, pos = _field(body, pos, flags & FLAG_ORG_FLOOR, 4)
        floor = 0 if floor_bytes is None else int.from_bytes(floor_bytes, "big")
        if floor_bytes is not None and floor == 0:
            raise InviteError("not_canonical")
        org_key, pos = _field(body, pos, flags & FLAG_ORG_KEY, 32)
        token_length = body[pos]
        pos += 1
        if token_length == 0 or len(body) <= pos + token_length:
            raise InviteError("bad_length")
        try:
            token = body[pos : pos + token_length].decode("ascii")
            url = body[pos + token_length :].decode("ascii")
        except UnicodeDecodeError:
            raise InviteError("bad_character") from None
        return cls(url, token, fingerprint, _hex(pin), _hex(secret), floor, _hex(org_key))

    def to_qr_png(self, out: str | BinaryIO, *, scale: int = 8) -> None:
        """Write the invite text as a QR code PNG to a path or binary stream."""
        self._qr().save(out, kind="png", scale=scale, border=4)

    def to_qr_svg(self, *, scale: int = 4) -> str:
        """The invite text as a QR code, as an SVG document."""
        buffer = io.BytesIO()
        self._qr().save(buffer, kind="svg", scale=scale, border=4, xmldecl=False)
        return buffer.getvalue().decode("utf-8")

    def _qr(self) -> segno.QRCode:
        # Only 0-9, A-Z and '-': QR alphanumeric mode, the densest for this text.
        return segno.make_qr(self.encode(), error="m", mode="alphanumeric")


def _field(body: bytes, pos: int, present: int, size: int) -> tuple[bytes | None, int]:
    """The optional field of `size` bytes at `pos` if its flag is `present` (None if not), and
    where the next field starts. The token's length byte must still follow it."""
    if not present:
        return None, pos
    if len(body) < pos + size + 1:
        raise InviteError("bad_length")
    return body[pos : pos + size], pos + size


def _hex(field: bytes | None) -> str | None:
    return None if field is None else field.hex()


def _checksum(body: bytes) -> bytes:
    return sha256(INVITE_CHECKSUM + body)[:CHECKSUM_SIZE]


def _check_url(url: object) -> None:
    if not isinstance(url, str) or not 1 <= len(url) <= MAX_URL or not _URL_CHARS.match(url):
        raise InviteError("bad_url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InviteError("bad_url") from None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise InviteError("bad_url")
    if parts.username is not None or parts.password is not None:
        raise InviteError("bad_url")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise InviteError("bad_url")
    if parts.scheme == "http" and not _is_local_or_onion(host):
        raise InviteError("insecure_url")


def _is_local_or_onion(host: str) -> bool:
    if host == "localhost" or host.endswith(".onion"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base32_encode(data: bytes) -> str:
    bits = int.from_bytes(data, "big") if data else 0
    total = len(data) * 8
    count = -(-total // 5)
    bits <<= count * 5 - total
    return "".join(ALPHABET[(bits >> (5 * (count - 1 - i))) & 31] for i in range(count))


def _base32_decode(text: str) -> bytes:
    if len(text) * 5 % 8 >= 5:
        raise InviteError("bad_length")
    digits = crockford_digits(text)
    if digits is None:
        raise InviteError("bad_character")
    value = 0
    for digit in digits:
        value = value << 5 | digit
    padding = len(text) * 5 % 8
    if value & ((1 << padding) - 1):
        raise InviteError("not_canonical")
    return (value >> padding).to_bytes(len(text) * 5 // 8, "big")
