"""Envelopes: a signed header plus an age-encrypted payload. Bytes in docs/formats/envelope.md.

Use:
- `seal(payload, signer=..., recipients=..., seq=..., prev=..., kind=..., now=...)` on the
  sending side: age-encrypts the payload to the recipients, then signs the header.
  `seal_next(head, payload, ...)` does the same at the position after `head` (an object with
  `seq` and `last_hash`) and moves `head` on to the new envelope.
- `verify(envelope, author_public_key)` on the server and on pull: signature, payload hash,
  size and limits, without decrypting. Chain position is `sync.chain`'s job.
- `open_(envelope, identities)` to decrypt (after `verify`).
- `to_wire` / `from_wire` for JSON bodies, `to_bytes` / `from_bytes` (canonical JSON) for
  storage; both parsers are strict and raise `EnvelopeFormatError` with a `reason`.
- `envelope_hash(envelope)`: what the author's next envelope names in `prev`.

Danger: `from_wire` only checks the shape. An envelope is trustworthy only after `verify` with
the author's public key, obtained from somewhere other than the envelope itself.

Errors (every one has a machine-readable `reason`):

    EnvelopeError
    ├── EnvelopeFormatError   malformed, truncated, oversize, unknown field, wrong version
    ├── ForgedEnvelope        bad signature, wrong author key, payload not the signed one
    └── NotForMe              none of our identities is a recipient

Where an envelope stands in its author's chain is a verdict, not an error (`sync.chain`).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Sequence
from typing import Any, NotRequired, Protocol, TypedDict, Unpack

from core.crypto.errors import BadSignature
from core.crypto.hashing import sha256_hex
from core.crypto.signing import SigningKey
from core.crypto.signing import verify as verify_signature
from sync import age, encoding
from sync.age.keys import IdentityLike
from sync.encoding import EncodingError, b64u_decode, b64u_encode, canonical_json, key_problem
from sync.encoding import parse_json_strict as _parse_json
from sync.keys import key_id
from sync.labels import ENVELOPE_SIGNATURE

VERSION = 1
KINDS = frozenset({"report", "event", "message", "reply"})
MAX_HEADER_BYTES = 2048
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_ENVELOPE_BYTES = 352 * 1024
MAX_SEQ = 2**53 - 1
MAX_TIME = 2**53 - 1
ZERO_HASH = "0" * 64
SIGNATURE_SIZE = 64

_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_REQUIRED = frozenset({"v", "id", "author", "seq", "prev", "created", "kind", "size", "payload"})
_WIRE_FIELDS = frozenset({"header", "sig", "payload"})


class EnvelopeError(encoding.ReasonError):
    """Base of every envelope failure. `reason` is machine-readable and never holds secrets."""

    reason = "envelope_error"

    def __init__(self, reason: str | None = None, *, envelope_id: str | None = None) -> None:
        self.envelope_id = envelope_id
        super().__init__(reason)


class EnvelopeFormatError(EnvelopeError):
    """The envelope is malformed, truncated, oversize or of an unknown version."""

    reason = "malformed_envelope"


class ForgedEnvelope(EnvelopeError):
    """The signature, author key or payload hash does not match: the envelope was altered."""

    reason = "forged_envelope"


class NotForMe(EnvelopeError):
    """None of the identities given can decrypt this envelope's payload."""

    reason = "not_for_me"


@dataclasses.dataclass(frozen=True, slots=True)
class EnvelopeHeader:
    """The signed header. `payload` is the SHA-256 hex of the ciphertext, `size` its length."""

    v: int
    id: str
    author: str
    seq: int
    prev: str
    created: int
    kind: str
    to: str | None
    size: int
    payload: str

    def to_dict(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "v": self.v,
            "id": self.id,
            "author": self.author,
            "seq": self.seq,
            "prev": self.prev,
            "created": self.created,
            "kind": self.kind,
            "size": self.size,
            "payload": self.payload,
        }
        if self.to is not None:
            obj["to"] = self.to
        return obj

    def canonical(self) -> bytes:
        return canonical_json(self.to_dict())


@dataclasses.dataclass(frozen=True, slots=True)
class Envelope:
    header: EnvelopeHeader
    sig: bytes
    payload: bytes

    @property
    def id(self) -> str:
        return self.header.id

    @property
    def author(self) -> str:
        return self.header.author

    @property
    def seq(self) -> int:
        return self.header.seq


# --- sealing, verifying, opening ------------------------------------------------------------


class Signing(TypedDict):
    """The keywords of `sign_ciphertext` (and `seal`): who signs, the envelope's place in the
    signer's chain (`seq`, `prev`), its kind, the device it is `to` (a message), when, and its
    id (random when not given)."""

    signer: SigningKey
    seq: int
    prev: str
    kind: str
    to: NotRequired[str | None]
    now: int
    envelope_id: NotRequired[str | None]


def seal(
    record_payload: bytes, *, recipients: Sequence[str], **signing: Unpack[Signing]
) -> Envelope:
    """Encrypt `record_payload` to `recipients` with age, then sign the header as
    `sign_ciphertext` does with the `signing` keywords.

    Raises `EnvelopeFormatError` (reason `payload_too_large`, `bad_value`, ...) when the result
    would not be a valid envelope, and `ValueError` for recipients that are not age recipients.
    """
    if not recipients:
        raise ValueError("an envelope needs at least one recipient")
    if len(record_payload) > MAX_PAYLOAD_BYTES:  # age only adds bytes: refuse before encrypting
        raise EnvelopeFormatError("payload_too_large", envelope_id=signing.get("envelope_id"))
    return sign_ciphertext(age.encrypt(record_payload, list(recipients)), **signing)


class ChainPosition(Protocol):
    """The head of the sender's own chain: the last seq used and that envelope's hash."""

    seq: int
    last_hash: str


def seal_next(
    head: ChainPosition,
    record_payload: bytes,
    *,
    signer: SigningKey,
    recipients: Sequence[str],
    kind: str,
    to: str | None = None,
    now: int,
) -> Envelope:
    """`seal` at seq `head.seq + 1` naming `head.last_hash`, then move `head` to the new envelope.

    `head` is changed only when sealing succeeds; the caller persists it with the envelope.
    """
    sealed = seal(
        record_payload,
        signer=signer,
        recipients=recipients,
        seq=head.seq + 1,
        prev=head.last_hash,
        kind=kind,
        to=to,
        now=now,
    )
    head.seq = sealed.seq
    head.last_hash = envelope_hash(sealed)
    return sealed


def sign_ciphertext(
    ciphertext: bytes,
    *,
    signer: SigningKey,
    seq: int,
    prev: str,
    kind: str,
    to: str | None = None,
    now: int,
    envelope_id: str | None = None,
) -> Envelope:
    """Sign an already age-encrypted payload (what `seal` does after encrypting)."""
    header = EnvelopeHeader(
        v=VERSION,
        id=envelope_id if envelope_id is not None else uuid.uuid4().hex,
        author=key_id(signer.public_bytes()),
        seq=seq,
        prev=prev,
        created=now,
        kind=kind,
        to=to,
        size=len(ciphertext),
        payload=sha256_hex(ciphertext),
    )
    _check_header(header)
    return Envelope(header, signer.sign(ENVELOPE_SIGNATURE + header.canonical()), ciphertext)


def verify(envelope: Envelope, author_public_key: bytes) -> None:
    """Check signature, author key, payload hash, size and limits. Does not decrypt.

    Raises `ForgedEnvelope` (reasons `wrong_author`, `payload_mismatch`, `bad_signature`) or
    `EnvelopeFormatError`.
    """
    header = envelope.header
    _check_header(header)
    eid = header.id
    if len(author_public_key) != 32 or key_id(author_public_key) != header.author:
        raise ForgedEnvelope("wrong_author", envelope_id=eid)
    _check_payload(envelope)
    if len(envelope.sig) != SIGNATURE_SIZE:
        raise EnvelopeFormatError("bad_length", envelope_id=eid)
    try:
        verify_signature(author_public_key, envelope.sig, ENVELOPE_SIGNATURE + header.canonical())
    except BadSignature:
        raise ForgedEnvelope("bad_signature", envelope_id=eid) from None


def open_(envelope: Envelope, identities: Sequence[IdentityLike]) -> bytes:
    """Decrypt the payload with any of `identities`: age identity strings, or identities parsed
    once with `sync.age.keys.parse_identity` (about 40 % faster when opening many envelopes).

    Call `verify` first: this checks only that the ciphertext is the one the header names.
    Raises `NotForMe` when no identity matches, `ForgedEnvelope` (`payload_mismatch`,
    `bad_ciphertext`) when the ciphertext is not a valid age file, and `ValueError` for an
    identity string that is not an age identity (a caller mistake).
    """
    _check_payload(envelope)
    try:
        return age.decrypt(envelope.payload, list(identities))
    except age.NoIdentityMatch:
        raise NotForMe(envelope_id=envelope.header.id) from None
    except age.UnsupportedRecipient:
        raise NotForMe("unsupported_recipient", envelope_id=envelope.header.id) from None
    except age.AgeError:
        raise ForgedEnvelope("bad_ciphertext", envelope_id=envelope.header.id) from None


def envelope_hash(envelope: Envelope) -> str:
    """`sha256(canonical_json(header) || sig)` as 64 hex digits: the link in the chain."""
    return sha256_hex(envelope.header.canonical() + envelope.sig)


def _check_payload(envelope: Envelope) -> None:
    header = envelope.header
    if len(envelope.payload) != header.size or sha256_hex(envelope.payload) != header.payload:
        raise ForgedEnvelope("payload_mismatch", envelope_id=header.id)


# --- wire form --------------------------------------------------------------------------------


def to_wire(envelope: Envelope) -> dict[str, Any]:
    """The JSON object sent over HTTP (and inside `to_bytes`)."""
    return {
        "header": envelope.header.to_dict(),
        "sig": b64u_encode(envelope.sig),
        "payload": b64u_encode(envelope.payload),
    }


def from_wire(obj: Any) -> Envelope:
    """Parse a wire object strictly; raise `EnvelopeFormatError` with a reason on anything off."""
    if not isinstance(obj, dict):
        raise EnvelopeFormatError("wrong_type")
    _check_keys(obj, _WIRE_FIELDS)
    header = _parse_header(obj["header"])
    sig = _b64u(obj["sig"], header.id)
    if len(sig) != SIGNATURE_SIZE:
        raise EnvelopeFormatError("bad_length", envelope_id=header.id)
    raw_payload = obj["payload"]
    if isinstance(raw_payload, str) and len(raw_payload) > (MAX_PAYLOAD_BYTES * 4 + 2) // 3:
        raise EnvelopeFormatError("too_large", envelope_id=header.id)
    payload = _b64u(raw_payload, header.id)
    if len(payload) != header.size:
        raise EnvelopeFormatError("size_mismatch", envelope_id=header.id)
    return Envelope(header, sig, payload)


def to_bytes(envelope: Envelope) -> bytes:
    """Canonical JSON of the wire form: one envelope, one byte string."""
    return canonical_json(to_wire(envelope))


def from_bytes(data: bytes) -> Envelope:
    """Inverse of `to_bytes`; refuses anything that is not exactly the canonical bytes."""
    if not isinstance(data, bytes | bytearray):
        raise EnvelopeFormatError("wrong_type")
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeFormatError("too_large")
    try:
        obj = _parse_json(bytes(data))
    except EncodingError:
        raise EnvelopeFormatError("malformed_json") from None
    envelope = from_wire(obj)
    if to_bytes(envelope) != data:
        raise EnvelopeFormatError("not_canonical_json", envelope_id=envelope.header.id)
    return envelope


def _parse_header(obj: Any) -> EnvelopeHeader:
    if not isinstance(obj, dict):
        raise EnvelopeFormatError("wrong_type")
    kind = obj.get("kind")
    required = _REQUIRED | {"to"} if kind == "message" else _REQUIRED
    _check_keys(obj, required, frozenset({"to"}))
    if type(obj["v"]) is not int:
        raise EnvelopeFormatError("wrong_type")
    if obj["v"] != VERSION:
        raise EnvelopeFormatError("unsupported_version")
    for name in ("id", "author", "prev", "kind", "payload"):
        if not isinstance(obj[name], str):
            raise EnvelopeFormatError("wrong_type")
    for name in ("seq", "created", "size"):
        if type(obj[name]) is not int:
            raise EnvelopeFormatError("wrong_type")
    if "to" in obj and not isinstance(obj["to"], str):
        raise EnvelopeFormatError("wrong_type")
    header = EnvelopeHeader(
        v=obj["v"],
        id=obj["id"],
        author=obj["author"],
        seq=obj["seq"],
        prev=obj["prev"],
        created=obj["created"],
        kind=obj["kind"],
        to=obj.get("to"),
        size=obj["size"],
        payload=obj["payload"],
    )
    _check_header(header)
    return header


def _check_header(h: EnvelopeHeader) -> None:
    """Value rules shared by the parser, `sign_ciphertext` and `verify`."""
    eid = h.id if isinstance(h.id, str) and _HEX32.match(h.id) else None

    def bad(reason: str = "bad_value") -> EnvelopeFormatError:
        return EnvelopeFormatError(reason, envelope_id=eid)

    if type(h.v) is not int or h.v != VERSION:
        raise bad("unsupported_version")
    if eid is None:
        raise bad()
    if not isinstance(h.author, str) or not _HEX32.match(h.author):
        raise bad()
    if type(h.seq) is not int or not 1 <= h.seq <= MAX_SEQ:
        raise bad()
    if not isinstance(h.prev, str) or not _HEX64.match(h.prev):
        raise bad()
    if h.seq == 1 and h.prev != ZERO_HASH:
        raise bad("first_prev_not_zero")
    if type(h.created) is not int or not 0 <= h.created <= MAX_TIME:
        raise bad()
    if not isinstance(h.kind, str) or h.kind not in KINDS:
        raise bad("unknown_kind")
    if h.kind == "message":
        if not isinstance(h.to, str) or not _HEX32.match(h.to):
            raise bad()
    elif h.to is not None:
        raise bad("unexpected_to")
    if type(h.size) is not int or h.size < 0:
        raise bad()
    if h.size > MAX_PAYLOAD_BYTES:
        raise bad("payload_too_large")
    if not isinstance(h.payload, str) or not _HEX64.match(h.payload):
        raise bad()
    # Every field is bounded above, so a header that passes is far below MAX_HEADER_BYTES.


def _check_keys(
    obj: dict[str, Any], required: frozenset[str], optional: frozenset[str] = frozenset()
) -> None:
    problem = key_problem(obj, required, optional)
    if problem is not None:
        raise EnvelopeFormatError(problem)


def _b64u(value: Any, envelope_id: str) -> bytes:
    if not isinstance(value, str):
        raise EnvelopeFormatError("wrong_type", envelope_id=envelope_id)
    try:
        return b64u_decode(value)
    except EncodingError:
        raise EnvelopeFormatError("not_canonical_b64u", envelope_id=envelope_id) from None
