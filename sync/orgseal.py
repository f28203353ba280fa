"""The org document as the server holds it: sealed, so a seized server learns neither the
organisation's name, nor its coordinators' names, nor its forms and settings.

The signed org document (`sync.orgdoc`) travels inside a **container** the root also signs:

    {"sealed": 1, "root": "<b64u root key>", "version": 7, "expires": 1768884000,
     "coordinators": {"<key id>": "<b64u signing key>", ...},
     "payload": "<b64u age file of the signed document's canonical JSON>",
     "sig": "<b64u root signature>"}

The server reads only what it needs in clear (the root, the version, and the coordinators'
signing keys, with which it authenticates their requests and checks commands) and checks the
root's signature over it. The payload is encrypted with age to every coordinator's recipient and
to the organisation's own recipient, whose identity each device receives in its invite
(`Invite.org_key`) and keeps in its vault. Devices and coordinators open the payload, then
verify the document inside exactly as before (`sync.trust.accept_org_document`), and check that
the container's version, root and coordinators are the document's own.

Use `seal(signed, root_key, org_identity)` on a coordinator, `open_(container, identities)`
before verifying, `server_view(container, pinned_root)` on the server, `is_container(obj)` to
tell a container from a plain (0.1) signed document, which organisations created before 0.2
keep publishing.

A post-quantum organisation (`new_org_identity(post_quantum=True)`, coordinators with hybrid
`age1pq1…` recipients) has a hybrid organisation identity, as one age file cannot mix the two
kinds. An invite carries the identity's 32 bytes either way, without saying which kind:
`open_` tries the bytes as both, and only the kind matching the container's stanzas does any
work.

Danger: the organisation's identity opens every org document: it is on every enrolled phone, so
a seized, unlocked phone can read later documents from the server until coordinators rotate it
(create a new one and re-invite). It protects against the server, not against members.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from core.crypto.errors import BadSignature
from core.crypto.signing import SigningKey, verify
from sync import age, orgdoc
from sync.age import bech32
from sync.age import pq as age_pq
from sync.encoding import EncodingError, b64u_decode, b64u_encode, canonical_json, parse_json_strict
from sync.keys import key_id
from sync.labels import ORG_DOCUMENT_CONTAINER

IDENTITY_SIZE = 32
_CLASSIC_HRP = "age-secret-key-"
_HYBRID_HRP = "age-secret-key-pq-"
_FIELDS = frozenset({"sealed", "root", "version", "expires", "coordinators", "payload", "sig"})


@dataclasses.dataclass(frozen=True, slots=True)
class ServerView:
    """What the server may know of a sealed org document."""

    root_fingerprint: str
    version: int
    coordinators: dict[str, bytes]

    def coordinator(self, coordinator_id: str) -> orgdoc.Coordinator | None:
        """The coordinator's signing key (name and recipient are sealed), for commands."""
        key = self.coordinators.get(coordinator_id)
        return None if key is None else orgdoc.Coordinator(coordinator_id, "", key, "")


def is_container(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("sealed") == 1


def new_org_identity(*, post_quantum: bool = False) -> str:
    """A fresh organisation identity (`AGE-SECRET-KEY-1…`, or `AGE-SECRET-KEY-PQ-1…` for a
    post-quantum organisation): keep it in coordinator vaults."""
    return age.generate_identity(pq=post_quantum)[0]


def identity_bytes(identity: str) -> bytes:
    """The 32 secret bytes of an organisation identity (either kind), as an invite carries them."""
    hrp, data = bech32.decode(identity.lower())
    if hrp not in (_CLASSIC_HRP, _HYBRID_HRP) or len(data) != IDENTITY_SIZE:
        raise ValueError("not an X25519 or hybrid age identity")
    return bytes(data)


def identity_from_bytes(raw: bytes) -> str:
    if len(raw) != IDENTITY_SIZE:
        raise ValueError("an organisation identity is 32 bytes")
    return bech32.encode(_CLASSIC_HRP, raw).upper()


def of_kind(identity: str, *, hybrid: bool) -> str:
    """The organisation identity of the same 32 bytes in the kind asked for: an organisation that
    switched to post-quantum keeps its bytes (every phone holds them) and seals to their hybrid
    form from then on."""
    return bech32.encode(_HYBRID_HRP if hybrid else _CLASSIC_HRP, identity_bytes(identity)).upper()


def _both_kinds(identities: Sequence[str]) -> list[str]:
    """`identities`, each X25519 one followed by the hybrid identity of the same 32 bytes."""
    out: list[str] = []
    for identity in identities:
        out.append(identity)
        try:
            hrp, data = bech32.decode(identity.lower())
        except ValueError:
            continue
        if hrp == _CLASSIC_HRP and len(data) == IDENTITY_SIZE:
            out.append(bech32.encode(_HYBRID_HRP, bytes(data)).upper())
    return out


def seal(
    signed: orgdoc.SignedOrgDocument, root_key: SigningKey, org_identity: str
) -> dict[str, Any]:
    """The container for `signed`, readable by its coordinators and the organisation's devices."""
    doc = signed.doc
    # The organisation's stanza first: a phone finds it at once (each post-quantum stanza it
    # tries costs it a decapsulation in pure Python).
    hybrid = bool(doc.recipients) and all(
        r.startswith(age_pq.RECIPIENT_HRP + "1") for r in doc.recipients
    )
    recipients = [age.recipient_of(of_kind(org_identity, hybrid=hybrid)), *doc.recipients]
    clear = {
        "sealed": 1,
        "root": b64u_encode(doc.root),
        "version": doc.version,
        "expires": doc.expires,
        "coordinators": {c.id: b64u_encode(c.signing_key) for c in doc.coordinators},
        "payload": b64u_encode(
            age.encrypt(canonical_json(orgdoc.to_wire(signed)), list(dict.fromkeys(recipients)))
        ),
    }
    sig = root_key.sign(ORG_DOCUMENT_CONTAINER + canonical_json(clear))
    return {**clear, "sig": b64u_encode(sig)}


def server_view(obj: Any, pinned_root: str | None = None) -> ServerView:
    """Check a container's shape and root signature (against `pinned_root` if given, else its
    own root, as at bootstrap); raise `orgdoc.OrgDocumentError` otherwise."""
    clear, sig = _parse(obj)
    root = _b64u(clear["root"], 32)
    fingerprint = key_id(root)
    if pinned_root is not None and fingerprint != pinned_root:
        raise orgdoc.UntrustedRoot()
    try:
        verify(root, sig, ORG_DOCUMENT_CONTAINER + canonical_json(clear))
    except BadSignature:
        raise orgdoc.BadOrgSignature() from None
    coordinators = {}
    for coordinator_id, key in clear["coordinators"].items():
        public = _b64u(key, 32)
        if key_id(public) != coordinator_id:
            raise orgdoc.MalformedOrgDocument("bad_coordinator_id")
        coordinators[coordinator_id] = public
    return ServerView(fingerprint, clear["version"], coordinators)


def open_(obj: Any, identities: Sequence[str]) -> dict[str, Any]:
    """The signed document inside a container, as wire JSON (verify it next).

    Raises `orgdoc.MalformedOrgDocument("not_readable")` if none of `identities` opens it, and
    `orgdoc.MalformedOrgDocument("container_mismatch")` if the clear part is not the document's.
    """
    clear, _ = _parse(obj)
    try:
        plain = age.decrypt(_b64u(clear["payload"], None), _both_kinds(identities))
        wire = parse_json_strict(plain)
    except (age.AgeError, EncodingError):
        raise orgdoc.MalformedOrgDocument("not_readable") from None
    doc = orgdoc.from_wire(wire).doc
    same = (
        doc.version == clear["version"]
        and doc.expires == clear["expires"]
        and b64u_encode(doc.root) == clear["root"]
        and {c.id: b64u_encode(c.signing_key) for c in doc.coordinators} == clear["coordinators"]
    )
    if not same:
        raise orgdoc.MalformedOrgDocument("container_mismatch")
    return dict(wire)


def _parse(obj: Any) -> tuple[dict[str, Any], bytes]:
    if not is_container(obj) or set(obj) != _FIELDS:
        raise orgdoc.MalformedOrgDocument("bad_container")
    for name in ("version", "expires"):
        if type(obj[name]) is not int or not 0 <= obj[name] < 2**53:
            raise orgdoc.MalformedOrgDocument("bad_number")
    coordinators = obj["coordinators"]
    if not isinstance(coordinators, dict) or not coordinators:
        raise orgdoc.MalformedOrgDocument("no_coordinators")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in coordinators.items()):
        raise orgdoc.MalformedOrgDocument("bad_coordinator")
    if not isinstance(obj["root"], str) or not isinstance(obj["payload"], str):
        raise orgdoc.MalformedOrgDocument("wrong_type")
    if len(obj["payload"]) > 2 * orgdoc.MAX_DOCUMENT_BYTES:
        raise orgdoc.MalformedOrgDocument("too_large")
    sig = _b64u(obj["sig"], 64)
    return {k: v for k, v in obj.items() if k != "sig"}, sig


def _b64u(value: Any, length: int | None) -> bytes:
    try:
        return b64u_decode(value, length=length) if length else b64u_decode(value)
    except (EncodingError, TypeError):
        raise orgdoc.MalformedOrgDocument("bad_b64u") from None
