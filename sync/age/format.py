"""The age v1 header: parse and serialise, byte for byte as the specification requires.

    age-encryption.org/v1
    -> TYPE ARG ARG...          one stanza per recipient (any number, unknown types allowed)
    BODY (base64, 64 columns, the last line shorter, possibly empty)
    --- MAC                     HMAC-SHA-256 over everything above, up to and including "---"

Use `read_header(source)` to parse (strictly: any deviation raises `HeaderError`) and
`Header.encode()` to serialise. The MAC is computed and checked by `sync.age.api`, not here.
"""

from __future__ import annotations

import dataclasses
import re

from sync.age import b64
from sync.age.errors import HeaderError
from sync.age.reader import BufferedSource, LineTooLong

VERSION_LINE = b"age-encryption.org/v1"
STANZA_PREFIX = b"->"
FOOTER_PREFIX = b"---"
COLUMNS_PER_LINE = 64
BYTES_PER_LINE = COLUMNS_PER_LINE // 4 * 3
MAC_SIZE = 32
# Limits against hostile headers; real headers are a few hundred bytes (PQ stanzas ~1.6 KiB).
MAX_LINE = 16 * 1024
MAX_HEADER = 1024 * 1024
MAX_STANZAS = 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Stanza:
    """One recipient stanza: its type, arguments and binary body."""

    type: str
    args: tuple[str, ...]
    body: bytes

    def __post_init__(self) -> None:
        for word in (self.type, *self.args):
            if not word.isascii() or not _valid_arg(word.encode("ascii")):
                raise ValueError("stanza type and arguments must be non-empty printable ASCII")

    def encode(self) -> bytes:
        line = b" ".join(
            [STANZA_PREFIX, self.type.encode("ascii")] + [a.encode() for a in self.args]
        )
        encoded = b64.encode(self.body)
        body_lines = [
            encoded[i : i + COLUMNS_PER_LINE] for i in range(0, len(encoded), COLUMNS_PER_LINE)
        ]
        if not body_lines or len(body_lines[-1]) == COLUMNS_PER_LINE:
            body_lines.append(b"")
        return line + b"\n" + b"".join(part + b"\n" for part in body_lines)

    def first_arg(self, *, count: int, label: str, what: str, size: int) -> bytes:
        """The first of exactly `count` arguments, canonical base64 of `size` bytes (a share,
        salt or encapsulation); else `HeaderError` naming the stanza's `label` and `what`."""
        if len(self.args) != count:
            plural = "s" if count > 1 else ""
            raise HeaderError(f"{label} stanza needs exactly {_COUNTS[count]} argument{plural}")
        try:
            value = b64.decode(self.args[0].encode())
        except ValueError:
            raise HeaderError(f"{label} {what} is not canonical base64") from None
        if len(value) != size:
            raise HeaderError(f"{label} {what} has the wrong length")
        return value


_COUNTS = {1: "one", 2: "two"}


@dataclasses.dataclass(frozen=True, slots=True)
class Header:
    """A parsed header. `mac_input` is the exact bytes the MAC covers."""

    stanzas: tuple[Stanza, ...]
    mac: bytes
    mac_input: bytes


def encode_without_mac(stanzas: list[Stanza] | tuple[Stanza, ...]) -> bytes:
    """The header bytes the MAC covers: version line, stanzas, and the bare `---`."""
    return VERSION_LINE + b"\n" + b"".join(s.encode() for s in stanzas) + FOOTER_PREFIX


def encode_with_mac(mac_input: bytes, mac: bytes) -> bytes:
    return mac_input + b" " + b64.encode(mac) + b"\n"


_ARGUMENT = re.compile(rb"[\x21-\x7e]+")


def _valid_arg(word: bytes) -> bool:
    return _ARGUMENT.fullmatch(word) is not None


def _decode_b64(text: bytes, what: str) -> bytes:
    try:
        return b64.decode(text)
    except ValueError:
        raise HeaderError(f"malformed base64 in {what}") from None


def read_header(source: BufferedSource) -> Header:
    """Parse the header from `source`, leaving it positioned at the payload."""
    raw = bytearray()

    def line() -> bytes:
        try:
            text = source.read_line(MAX_LINE)
        except LineTooLong:
            raise HeaderError("header line too long") from None
        if not text.endswith(b"\n"):
            raise HeaderError("header truncated")
        raw.extend(text)
        if len(raw) > MAX_HEADER:
            raise HeaderError("header too large")
        return text[:-1]

    first = line()
    if first != VERSION_LINE:
        if first.startswith(b"age-encryption.org/"):
            raise HeaderError("unsupported age version")
        raise HeaderError("not an age file (bad version line)")

    stanzas: list[Stanza] = []
    while True:
        start = len(raw)
        text = line()
        if text.startswith(FOOTER_PREFIX):
            prefix, *args = text.split(b" ")
            if prefix != FOOTER_PREFIX or len(args) != 1:
                raise HeaderError("malformed header MAC line")
            mac = _decode_b64(args[0], "header MAC")
            if len(mac) != MAC_SIZE:
                raise HeaderError("header MAC has the wrong length")
            mac_input = bytes(raw[: start + len(FOOTER_PREFIX)])
            return Header(tuple(stanzas), mac, mac_input)
        if not text.startswith(STANZA_PREFIX):
            raise HeaderError("malformed header line")
        prefix, *args = text.split(b" ")
        if prefix != STANZA_PREFIX or not args or not all(_valid_arg(a) for a in args):
            raise HeaderError("malformed stanza line")
        body = bytearray()
        while True:
            body_line = line()
            if len(body_line) > COLUMNS_PER_LINE:
                raise HeaderError("stanza body line too long")
            chunk = _decode_b64(body_line, "stanza body")
            body += chunk
            if len(chunk) < BYTES_PER_LINE:
                break
        if len(stanzas) >= MAX_STANZAS:
            raise HeaderError("too many stanzas")
        words = [a.decode("ascii") for a in args]
        stanzas.append(Stanza(words[0], tuple(words[1:]), bytes(body)))
