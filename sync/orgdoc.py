"""The org document: who may read reports, who may command devices, which forms to use.

Signed by the organisation's root key, which never leaves coordinators. A device pins the root
key's fingerprint at enrolment (from the invite) and accepts only documents that
`verify_org_document(signed, pinned_fingerprint, min_version=last_accepted)` passes, so a seized
or hostile server cannot add itself as a recipient or push a form.

Use `sign_org_document(doc, root_key)` on a coordinator, `to_wire`/`from_wire` for JSON, and
`verify_org_document` on a device before using anything in the document.

Expiry: since 0.2 a document carries `expires` (Unix seconds; 0 in documents from 0.1, which
never expire). A hostile server can withhold a newer document but not forge one, so the worst it
can do is freeze devices on the last document they hold; expiry bounds that. Coordinators' tools
renew the document well before it lapses (`sync.coordinator.renew_if_due`), and a device that
holds only an expired document keeps its reports queued and says why
(`sync.errors.OrgDocumentExpired`). Use `is_expired(doc, now)`.

Danger: a `SignedOrgDocument` from `from_wire` is only well-formed, not trusted. Forms and
settings are opaque JSON here; validate forms with the forms module before rendering them.
Accept documents through `sync.trust.accept_org_document`, the one place that applies the
pinned root, the version floor and expiry.

Errors (each with a machine-readable `reason`):

    OrgDocumentError
    ├── MalformedOrgDocument   not the documented shape (`reason` says what)
    ├── UntrustedRoot          signed by a root other than the pinned one
    ├── BadOrgSignature        the root's signature does not verify
    └── StaleOrgDocument       older than the version already accepted
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from core.crypto.errors import BadSignature
from core.crypto.signing import SigningKey, verify
from sync import encoding
from sync.age import bech32
from sync.encoding import EncodingError, b64u_decode, b64u_encode, canonical_json, key_problem
from sync.keys import key_id
from sync.labels import ORG_DOCUMENT_SIGNATURE

VERSION = 1
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_NAME = 200
MAX_RECIPIENT = 4096
MAX_COORDINATORS = 1000

_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
_DOC_FIELDS = frozenset(
    {"v", "org", "version", "issued", "root", "coordinators", "recipients", "forms", "settings"}
)
_OPTIONAL_DOC_FIELDS = frozenset({"expires"})
LIFETIME = 60 * 86400
"""How long a document coordinators sign stays valid on devices."""
RENEW_BEFORE = 40 * 86400
"""Coordinators with the root key publish a renewed document once less than this is left."""
_COORDINATOR_FIELDS = frozenset({"id", "name", "signing_key", "recipient"})


class OrgDocumentError(encoding.ReasonError):
    reason = "org_document_error"


class MalformedOrgDocument(OrgDocumentError):
    reason = "malformed_document"


class UntrustedRoot(OrgDocumentError):
    reason = "untrusted_root"


class BadOrgSignature(OrgDocumentError):
    reason = "bad_signature"


class StaleOrgDocument(OrgDocumentError):
    reason = "stale_version"


@dataclasses.dataclass(frozen=True, slots=True)
class Coordinator:
    """A coordinator: `id` is the key id of `signing_key`; `recipient` their age recipient."""

    id: str
    name: str
    signing_key: bytes
    recipient: str

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "signing_key": b64u_encode(self.signing_key)}


@dataclasses.dataclass(frozen=True, slots=True)
class OrgDocument:
    v: int
    org: str
    version: int
    issued: int
    root: bytes
    coordinators: tuple[Coordinator, ...]
    recipients: tuple[str, ...]
    forms: tuple[dict[str, Any], ...]
    settings: dict[str, Any]
    expires: int = 0

    @property
    def root_fingerprint(self) -> str:
        return key_id(self.root)

    def coordinator(self, coordinator_id: str) -> Coordinator | None:
        for coordinator in self.coordinators:
            if coordinator.id == coordinator_id:
                return coordinator
        return None

    def to_dict(self) -> dict[str, Any]:
        out = self._fields()
        if self.expires:
            out["expires"] = self.expires  # absent in 0.1 documents, so their signatures hold
        return out

    def _fields(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "org": self.org,
            "version": self.version,
            "issued": self.issued,
            "root": b64u_encode(self.root),
            "coordinators": [c.to_dict() for c in self.coordinators],
            "recipients": list(self.recipients),
            "forms": list(self.forms),
            "settings": self.settings,
        }

    def canonical(self) -> bytes:
        return canonical_json(self.to_dict())


@dataclasses.dataclass(frozen=True, slots=True)
class SignedOrgDocument:
    doc: OrgDocument
    sig: bytes


def sign_org_document(doc: OrgDocument, root_key: SigningKey) -> SignedOrgDocument:
    """Sign `doc` with the root key. `doc.root` must be that key's public half."""
    if doc.root != root_key.public_bytes():
        raise ValueError("doc.root is not the public key of root_key")
    _check(doc)
    return SignedOrgDocument(doc, root_key.sign(ORG_DOCUMENT_SIGNATURE + doc.canonical()))


def verify_org_document(
    signed: SignedOrgDocument, pinned_root_fingerprint: str, *, min_version: int = 0
) -> OrgDocument:
    """Return the document if its root is the pinned one, its signature verifies and its
    version is at least `min_version`; raise an `OrgDocumentError` otherwise."""
    doc = signed.doc
    _check(doc)
    if doc.root_fingerprint != pinned_root_fingerprint:
        raise UntrustedRoot()
    try:
        verify(doc.root, signed.sig, ORG_DOCUMENT_SIGNATURE + doc.canonical())
    except BadSignature:
        raise BadOrgSignature() from None
    if doc.version < min_version:
        raise StaleOrgDocument()
    return doc


def is_expired(doc: OrgDocument, now: float) -> bool:
    """True once a document with an expiry has lapsed (0.1 documents have none)."""
    return bool(doc.expires) and now >= doc.expires


def to_wire(signed: SignedOrgDocument) -> dict[str, Any]:
    return {"doc": signed.doc.to_dict(), "sig": b64u_encode(signed.sig)}


def from_wire(obj: Any) -> SignedOrgDocument:
    """Parse `{"doc": …, "sig": …}` strictly (shape only: call `verify_org_document` next)."""
    if not isinstance(obj, dict) or set(obj) != {"doc", "sig"}:
        raise MalformedOrgDocument("bad_shape")
    doc = _parse_doc(obj["doc"])
    sig = _b64u(obj["sig"], 64)
    signed = SignedOrgDocument(doc, sig)
    _check(doc)
    return signed


def _parse_doc(obj: Any) -> OrgDocument:
    if not isinstance(obj, dict):
        raise MalformedOrgDocument("wrong_type")
    _fields(obj, _DOC_FIELDS, _OPTIONAL_DOC_FIELDS)
    if "expires" in obj and obj["expires"] == 0:
        raise MalformedOrgDocument("not_canonical")  # 0 means "none" and is written as absent
    if not isinstance(obj["coordinators"], list) or not isinstance(obj["recipients"], list):
        raise MalformedOrgDocument("wrong_type")
    if not isinstance(obj["forms"], list):
        raise MalformedOrgDocument("wrong_type")
    coordinators = []
    for item in obj["coordinators"]:
        if not isinstance(item, dict):
            raise MalformedOrgDocument("wrong_type")
        _fields(item, _COORDINATOR_FIELDS)
        coordinators.append(
            Coordinator(
                id=item["id"],
                name=item["name"],
                signing_key=_b64u(item["signing_key"], 32),
                recipient=item["recipient"],
            )
        )
    return OrgDocument(
        v=obj["v"],
        org=obj["org"],
        version=obj["version"],
        issued=obj["issued"],
        root=_b64u(obj["root"], 32),
        coordinators=tuple(coordinators),
        recipients=tuple(obj["recipients"]),
        forms=tuple(obj["forms"]),
        settings=obj["settings"],
        expires=obj.get("expires", 0),
    )


def _check(doc: OrgDocument) -> None:
    """Value rules shared by signing, parsing and verifying."""
    if type(doc.v) is not int or doc.v != VERSION:
        raise MalformedOrgDocument("unsupported_version")
    if not isinstance(doc.org, str) or not 1 <= len(doc.org) <= MAX_NAME:
        raise MalformedOrgDocument("bad_org")
    for number in (doc.version, doc.issued, doc.expires):
        if type(number) is not int or not 0 <= number < 2**53:
            raise MalformedOrgDocument("bad_number")
    if not isinstance(doc.root, bytes) or len(doc.root) != 32:
        raise MalformedOrgDocument("bad_root")
    if not doc.coordinators or len(doc.coordinators) > MAX_COORDINATORS:
        raise MalformedOrgDocument("no_coordinators")
    ids = set()
    for c in doc.coordinators:
        if not isinstance(c.signing_key, bytes) or len(c.signing_key) != 32:
            raise MalformedOrgDocument("bad_coordinator")
        if not isinstance(c.id, str) or c.id != key_id(c.signing_key):
            raise MalformedOrgDocument("bad_coordinator_id")
        if not isinstance(c.name, str) or len(c.name) > MAX_NAME:
            raise MalformedOrgDocument("bad_coordinator")
        _check_recipient(c.recipient)
        ids.add(c.id)
    if len(ids) != len(doc.coordinators):
        raise MalformedOrgDocument("duplicate_coordinator")
    for recipient in doc.recipients:
        _check_recipient(recipient)
    if not doc.recipients or len(set(doc.recipients)) != len(doc.recipients):
        raise MalformedOrgDocument("bad_recipients")
    if not all(isinstance(form, dict) for form in doc.forms):
        raise MalformedOrgDocument("bad_forms")
    if not isinstance(doc.settings, dict):
        raise MalformedOrgDocument("bad_settings")
    try:
        size = len(doc.canonical())
    except (EncodingError, TypeError, ValueError):
        raise MalformedOrgDocument("not_json") from None
    if size > MAX_DOCUMENT_BYTES:
        raise MalformedOrgDocument("too_large")


def _check_recipient(recipient: Any) -> None:
    """An age recipient: lowercase Bech32 with an `age` human-readable part."""
    if not isinstance(recipient, str) or len(recipient) > MAX_RECIPIENT:
        raise MalformedOrgDocument("bad_recipient")
    try:
        hrp, _ = bech32.decode(recipient)
    except ValueError:
        raise MalformedOrgDocument("bad_recipient") from None
    if not hrp.startswith("age") or recipient != recipient.lower():
        raise MalformedOrgDocument("bad_recipient")


def _fields(
    obj: dict[str, Any], expected: frozenset[str], optional: frozenset[str] = frozenset()
) -> None:
    problem = key_problem(obj, expected, optional)
    if problem is not None:
        raise MalformedOrgDocument(problem)


def _b64u(value: Any, length: int) -> bytes:
    try:
        return b64u_decode(value, length=length)
    except EncodingError:
        raise MalformedOrgDocument("bad_b64u") from None
