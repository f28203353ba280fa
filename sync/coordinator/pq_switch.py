"""Switching a classic organisation to post-quantum keys (mlkem768x25519), with no report lost.

An age file cannot mix classic and hybrid recipients, so devices seal to one kind for the whole
organisation, and the switch is one new org document in which every coordinator's recipient is
hybrid. The steps:

1. Each coordinator runs `prepare(vault)`: a new hybrid identity becomes theirs, and the classic
   one is kept (`CoordinatorIdentity.previous_age_identities`) to open everything sealed to it
   before and until the switch. It returns a **key update**: the coordinator's id and new
   recipient, signed with the coordinator's signing key, as a short code (`FVK1-…`) to give to
   the root holder.
2. The root holder runs `switch(vault, codes)`: every key update must be signed by the signing key
   the current org document lists for that coordinator (so nobody between the two, the server
   included, can substitute a recipient), every listed coordinator must have one (their own is
   made on the spot), and then the next org document lists the hybrid recipients. The
   organisation identity keeps its 32 bytes (every phone holds them from its invite) and the
   document is sealed to their hybrid form from then on.

Phones seal to post-quantum recipients from their next sync (in pure Python on cryptography
43.0.1). What is already on the server stays as it was sealed and opens with the kept classic
identities; exported identity files carry both.

Danger: the classic identities are kept, so a laptop seized later still opens what was sealed
classically; the switch protects what is sealed from then on, against an adversary recording
traffic now to break X25519 later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core.crypto.errors import BadSignature
from core.crypto.signing import SigningKey, verify
from core.vault_port import VaultPort
from sync import age, orgdoc, orgseal
from sync.age import pq as age_pq
from sync.coordinator.identity import CoordinatorError, CoordinatorIdentity, load_identity
from sync.coordinator.org import (
    ORG_IDENTITY_SETTING,
    is_post_quantum,
    publish_org_document,
    refresh_org_document,
)
from sync.encoding import EncodingError, b64u_decode, b64u_encode, canonical_json, parse_json_strict
from sync.keys import key_id

KEY_UPDATE_PREFIX = "FVK1-"
KEY_UPDATE_CONTEXT = b"fieldvault/coordinator-key-update/v1\n"
MAX_CODE = 4096


class KeyUpdateError(CoordinatorError):
    """A key update code that cannot be used; `reason` says why (machine-readable)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class MissingKeyUpdates(CoordinatorError):
    """Some listed coordinators have not prepared post-quantum keys yet (`names`)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("waiting for the key updates of: " + ", ".join(names))
        self.reason = "missing_key_updates"
        self.names = names


def is_hybrid(recipient: str) -> bool:
    return recipient.startswith(age_pq.RECIPIENT_HRP + "1")


def prepare(vault: VaultPort) -> str:
    """Give this coordinator a hybrid identity (once; the classic one is kept) and return its
    signed key update code for the root holder."""
    identity = load_identity(vault)
    if not is_hybrid(identity.recipient):
        fresh, _ = age.generate_identity(pq=True)
        identity.previous_age_identities = (
            identity.age_identity,
            *identity.previous_age_identities,
        )
        identity.age_identity = fresh
        vault.put(identity.to_record())
    return encode_key_update(identity)


def encode_key_update(identity: CoordinatorIdentity) -> str:
    return key_update_code(identity.signing_key, identity.recipient)


def key_update_code(signing_key: SigningKey, recipient: str) -> str:
    """The key update code announcing `recipient` as the coordinator's, signed by its key."""
    fields = {"id": key_id(signing_key.public_bytes()), "recipient": recipient}
    sig = signing_key.sign(KEY_UPDATE_CONTEXT + canonical_json(fields))
    return KEY_UPDATE_PREFIX + b64u_encode(canonical_json({**fields, "sig": b64u_encode(sig)}))


def decode_key_update(code: str) -> dict[str, Any]:
    """The fields of a key update code (its signature is checked by `switch`, which knows the
    signing key); `KeyUpdateError("invalid_key_update")` for anything malformed."""
    text = "".join(code.split())
    if not text.startswith(KEY_UPDATE_PREFIX) or len(text) > MAX_CODE:
        raise KeyUpdateError("invalid_key_update", "not a key update code")
    try:
        obj = parse_json_strict(b64u_decode(text[len(KEY_UPDATE_PREFIX) :]))
        if not isinstance(obj, dict) or set(obj) != {"id", "recipient", "sig"}:
            raise ValueError("unexpected fields")
        recipient = str(obj["recipient"])
        age.parse_recipient(recipient)
        return {"id": str(obj["id"]), "recipient": recipient, "sig": b64u_decode(str(obj["sig"]))}
    except (EncodingError, ValueError, TypeError, age.AgeError):
        raise KeyUpdateError("invalid_key_update", "the code is damaged") from None


def listed_coordinators(document: orgdoc.OrgDocument) -> dict[str, tuple[str, bytes]]:
    """Coordinator id → (name, signing key), as `checked_recipients` takes them."""
    return {c.id: (c.name, c.signing_key) for c in document.coordinators}


def checked_recipients(
    listed: Mapping[str, tuple[str, bytes]], codes: Iterable[str], own: tuple[str, str]
) -> dict[str, str]:
    """Coordinator id → new hybrid recipient, every key update verified against the signing key
    listed for its coordinator (`own` is this coordinator's (id, recipient)); raises
    `MissingKeyUpdates` unless every listed coordinator has one."""
    found = {own[0]: own[1]}
    for code in codes:
        update = decode_key_update(code)
        if update["id"] not in listed:
            raise KeyUpdateError("unknown_coordinator", update["id"])
        name, signing_key = listed[update["id"]]
        fields = {"id": update["id"], "recipient": update["recipient"]}
        try:
            verify(signing_key, update["sig"], KEY_UPDATE_CONTEXT + canonical_json(fields))
        except BadSignature:
            raise KeyUpdateError("bad_signature", name or update["id"]) from None
        if not is_hybrid(update["recipient"]):
            raise KeyUpdateError("not_post_quantum", name or update["id"])
        found[update["id"]] = update["recipient"]
    missing = [name or cid for cid, (name, _) in listed.items() if cid not in found]
    if missing:
        raise MissingKeyUpdates(missing)
    return found


def switch(
    vault: VaultPort, codes: Iterable[str], *, now: Callable[[], float] | None = None
) -> orgdoc.OrgDocument:
    """Publish the org document that makes the organisation post-quantum (needs the root key)."""
    codes = list(codes)
    current = refresh_org_document(vault)
    if is_post_quantum(current):
        raise KeyUpdateError("already_post_quantum", "the organisation already is")
    prepare(vault)
    identity = load_identity(vault)
    own = (identity.id, identity.recipient)
    recipients = checked_recipients(listed_coordinators(current), codes, own)
    settings: dict[str, Any] = {}
    if identity.org_identity is not None:
        identity.org_identity = orgseal.of_kind(identity.org_identity, hybrid=True)
        vault.put(identity.to_record())
        settings[ORG_IDENTITY_SETTING] = identity.org_identity
    kwargs: dict[str, Any] = {"now": now} if now is not None else {}
    return publish_org_document(vault, settings=settings, new_recipients=recipients, **kwargs)
