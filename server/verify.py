"""What the server checks in signed objects, using the verifiers of `sync` (never its own).

- `org_document(obj, pinned_root=None)`: parse and verify a signed org document; with no pinned
  root it must verify under its own root (bootstrap). Raises `ApiError` `bad_document`.
- `command(obj, org_text)`: parse and verify a signed command against the stored org document.
- `check_key(key, proof, device_id)`: a device's check key and its proof of possession.
- `envelope(obj, signer_key)`: parse and verify one envelope pushed by `signer_key`; raises
  `EnvelopeRefused` with the per-envelope reason (the batch goes on).

The server never decrypts anything: these checks use public keys, hashes and signatures only.
"""

from __future__ import annotations

import json
from typing import Any

from server.db.base import IncomingEnvelope, OrgDocument
from server.errors import ApiError
from sync import checkkey as sync_checkkey
from sync import commands as sync_commands
from sync import envelope as sync_envelope
from sync import orgdoc as sync_orgdoc
from sync import orgseal as sync_orgseal
from sync.age import bech32
from sync.encoding import EncodingError, ReasonError, b64u_decode, b64u_encode, canonical_json

MAX_RECIPIENT = 4096


class EnvelopeRefused(ReasonError):
    """One pushed envelope is refused (`reason`); the rest of the batch goes on."""


def org_document(obj: Any, pinned_root: str | None = None) -> OrgDocument:
    """A plain signed document (organisations from 0.1) or a sealed container, whose clear
    part (root, version, coordinators' keys) is all the server learns."""
    view: sync_orgdoc.OrgDocument | sync_orgseal.ServerView
    try:
        if sync_orgseal.is_container(obj):
            stored = obj
            view = sync_orgseal.server_view(obj, pinned_root)
            keys = dict(view.coordinators)
        else:
            signed = sync_orgdoc.from_wire(obj)
            stored = sync_orgdoc.to_wire(signed)
            root = pinned_root or signed.doc.root_fingerprint
            view = sync_orgdoc.verify_org_document(signed, root)
            keys = {c.id: c.signing_key for c in view.coordinators}
    except sync_orgdoc.OrgDocumentError as exc:
        raise ApiError(422, "bad_document", f"org document refused: {exc.reason}") from None
    return OrgDocument(
        root=view.root_fingerprint,
        version=view.version,
        document=canonical_json(stored).decode("ascii"),
        coordinators={k: b64u_encode(v) for k, v in keys.items()},
    )


def command(obj: Any, org_text: str) -> sync_commands.Command:
    try:
        signed = sync_commands.from_wire(obj)
        stored = json.loads(org_text)
        doc: sync_orgdoc.OrgDocument | sync_orgseal.ServerView = (
            sync_orgseal.server_view(stored)
            if sync_orgseal.is_container(stored)
            else sync_orgdoc.from_wire(stored).doc
        )
        return sync_commands.verify_command(signed, doc, signed.cmd.device, executed_ids=())
    except sync_commands.CommandError as exc:
        raise ApiError(422, "bad_command", f"command refused: {exc.reason}") from None


def recipient(text: str) -> str:
    """An age recipient string (`age1…`, lowercase Bech32), or `invalid_body`."""
    try:
        if len(text) > MAX_RECIPIENT or text != text.lower():
            raise ValueError("bad recipient")
        hrp, _ = bech32.decode(text)
        if not hrp.startswith("age"):
            raise ValueError("bad recipient")
    except (ValueError, TypeError):
        raise ApiError(422, "invalid_body", "recipient is not an age recipient") from None
    return text


def envelope(obj: Any, signer_key: bytes, signer_id: str) -> IncomingEnvelope:
    try:
        env = sync_envelope.from_wire(obj)
    except sync_envelope.EnvelopeError as exc:
        raise EnvelopeRefused(exc.reason) from None
    if env.header.author != signer_id:
        raise EnvelopeRefused("author_not_signer")
    try:
        sync_envelope.verify(env, signer_key)
    except sync_envelope.EnvelopeError as exc:
        raise EnvelopeRefused(exc.reason) from None
    header = env.header
    return IncomingEnvelope(
        id=header.id,
        hash=sync_envelope.envelope_hash(env),
        author=header.author,
        seq=header.seq,
        prev=header.prev,
        kind=header.kind,
        to=header.to,
        created=header.created,
        header=header.canonical().decode("ascii"),
        sig=b64u_encode(env.sig),
        payload=env.payload,
    )


def envelope_id_of(obj: Any) -> str:
    """The id a refused envelope claims, for its result line (may be empty)."""
    header = obj.get("header") if isinstance(obj, dict) else None
    value = header.get("id") if isinstance(header, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else ""


def check_key(key: str, proof: str, device_id: str) -> bytes:
    """The check key's 32 public bytes if `proof` is its signature over `device_id`."""
    try:
        public = b64u_decode(key, length=32)
        signature = b64u_decode(proof, length=64)
    except EncodingError:
        raise ApiError(422, "bad_check_key", "the check key is malformed") from None
    if not sync_checkkey.verify_proof(public, signature, device_id):
        raise ApiError(422, "bad_check_key", "the check key's proof does not verify")
    return public
