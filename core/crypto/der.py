"""A strict DER reader and the few encoders RFC 3161 requests need.

Use `parse(data)` for exactly one element (trailing bytes refused), `element.children()` for the
elements inside a constructed one, and the `as_*` decoders, which check the tag. Encoders
(`sequence`, `integer`, `oid`, `octets`, `null`, `boolean`) return complete elements.

Only DER is accepted: definite lengths in their shortest form, minimal integers, canonical
booleans. High tag numbers (identifier octet ending in 0x1F) are refused; nothing in X.509 or
CMS uses them. Every failure is a `DerError` (a `ValueError`).

Danger: this reads structure, nothing more; a parsed signature is not a verified one.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
BOOLEAN = 0x01
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
GENERALIZED_TIME = 0x18
MAX_DEPTH = 32
_TIME = re.compile(rb"^(\d{14})(\.\d*[1-9])?Z$")


class DerError(ValueError):
    """The bytes are not the DER structure expected."""


@dataclasses.dataclass(frozen=True, slots=True)
class Element:
    tag: int
    value: bytes
    raw: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def children(self) -> list[Element]:
        if not self.constructed:
            raise DerError("a primitive element has no children")
        return parse_all(self.value)


def _read(data: bytes, pos: int) -> tuple[Element, int]:
    if pos + 2 > len(data):
        raise DerError("truncated element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("high tag numbers are not supported")
    first = data[pos + 1]
    start = pos + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0:
            raise DerError("indefinite length is not DER")
        if count > 4 or start + count > len(data):
            raise DerError("length too large or truncated")
        octets = data[start : start + count]
        if octets[0] == 0:
            raise DerError("length not in its shortest form")
        length = int.from_bytes(octets, "big")
        if length < 0x80:
            raise DerError("length not in its shortest form")
        start += count
    end = start + length
    if end > len(data):
        raise DerError("truncated element")
    return Element(tag, bytes(data[start:end]), bytes(data[pos:end])), end


def parse(data: bytes) -> Element:
    """Exactly one element; trailing bytes are refused."""
    element, end = _read(data, 0)
    if end != len(data):
        raise DerError("trailing bytes after the element")
    return element


def parse_all(data: bytes) -> list[Element]:
    out = []
    pos = 0
    while pos < len(data):
        element, pos = _read(data, pos)
        out.append(element)
    return out


def expect(element: Element, tag: int) -> Element:
    if element.tag != tag:
        raise DerError(f"expected tag 0x{tag:02x}, found 0x{element.tag:02x}")
    return element


def as_int(element: Element) -> int:
    value = expect(element, INTEGER).value
    if not value:
        raise DerError("empty integer")
    if len(value) > 1 and (
        (value[0] == 0 and value[1] < 0x80) or (value[0] == 0xFF and value[1] >= 0x80)
    ):
        raise DerError("integer not in its shortest form")
    return int.from_bytes(value, "big", signed=True)


def as_bool(element: Element) -> bool:
    value = expect(element, BOOLEAN).value
    if value not in (b"\x00", b"\xff"):
        raise DerError("boolean not in DER form")
    return value == b"\xff"


def as_octets(element: Element) -> bytes:
    return expect(element, OCTET_STRING).value


def as_oid(element: Element) -> str:
    value = expect(element, OID).value
    if not value or value[-1] & 0x80:
        raise DerError("malformed object identifier")
    arcs: list[int] = []
    current = 0
    fresh = True
    for byte in value:
        if fresh and byte == 0x80:
            raise DerError("object identifier arc not in its shortest form")
        current = (current << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            arcs.append(current)
            current = 0
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(a) for a in head + arcs[1:])


def as_time(element: Element) -> _dt.datetime:
    """A GeneralizedTime in UTC (`YYYYMMDDHHMMSS[.fff]Z`, as RFC 3161 requires)."""
    match = _TIME.match(expect(element, GENERALIZED_TIME).value)
    if match is None:
        raise DerError("malformed GeneralizedTime")
    try:
        moment = _dt.datetime.strptime(match.group(1).decode(), "%Y%m%d%H%M%S")
    except ValueError:
        raise DerError("impossible GeneralizedTime") from None
    fraction = match.group(2)
    micro = int((fraction.decode()[1:] + "000000")[:6]) if fraction else 0
    return moment.replace(microsecond=micro, tzinfo=_dt.UTC)


# ---- encoders -----------------------------------------------------------------------------


def encode(tag: int, value: bytes) -> bytes:
    length = len(value)
    if length < 0x80:
        return bytes([tag, length]) + value
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + value


def sequence(*items: bytes) -> bytes:
    return encode(SEQUENCE, b"".join(items))


def integer(value: int) -> bytes:
    magnitude = value if value >= 0 else ~value
    size = max(1, (magnitude.bit_length() + 8) // 8)
    return encode(INTEGER, value.to_bytes(size, "big", signed=True))


def boolean(value: bool) -> bytes:
    return encode(BOOLEAN, b"\xff" if value else b"\x00")


def octets(value: bytes) -> bytes:
    return encode(OCTET_STRING, value)


def null() -> bytes:
    return encode(NULL, b"")


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError("not an object identifier")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return encode(OID, bytes(body))
