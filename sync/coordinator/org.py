"""The organisation: creating it, joining it, and the root-signed org document.

- `create_organisation(vault, server_url, bootstrap_token, org_name, forms=...)` once: makes the
  root key, this coordinator's keys, and publishes org document v1. `post_quantum=True` makes
  the coordinator's and the organisation's age identities hybrid (mlkem768x25519): devices
  then seal every report to post-quantum recipients (all of them can, on cryptography 43.0.1
  too), and every coordinator who joins must do so with `post_quantum=True` as well, since an
  age file cannot mix the two kinds. `is_post_quantum(document)` says which kind an org is.
- `join_organisation` for a second coordinator, who is then added by one holding the root key
  with `publish_org_document(add_coordinator=join_info)` (see docs/sync.md).
- `refresh_org_document`, `verified_document` (inside a pull), `org_document` (offline).
- `publish_org_document(...)`: the next version, root-signed, with a fresh expiry;
  `renew_if_due` republishes unchanged once less than `orgdoc.RENEW_BEFORE` is left, so devices
  never sit on a lapsed document while a coordinator with the root key pulls regularly.
- `export_root_key_backup` / `import_root_key_backup`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core import links
from core.crypto.signing import SigningKey
from core.links import VICTIM_KEY_SETTING
from core.vault_port import VaultPort
from sync import age, orgdoc, orgseal, referrals
from sync.age import pq as age_pq
from sync.client import Client
from sync.coordinator.alerts import PLAN_SETTING
from sync.coordinator.identity import (
    CoordinatorError,
    CoordinatorIdentity,
    CoordinatorState,
    NoRootKey,
    client_for,
    connect,
    load_identity,
    load_state,
)
from sync.encoding import EncodingError, b64u_decode, b64u_encode, canonical_json, parse_json_strict
from sync.errors import UntrustedDocument
from sync.keys import key_id
from sync.trust import accept_org_document

BACKUP_LABEL = "fieldvault-root-key-backup/v1"
ORG_IDENTITY_SETTING = "org_identity"
"""The org document setting that hands the organisation identity to coordinators who join:
only ever in a sealed document, which only members can open."""


class KeyKindMismatch(ValueError):
    """A coordinator's keys are classic in a post-quantum organisation, or the reverse: devices
    could not seal to both kinds in one file, so the coordinator is not added."""

    def __init__(self, org_is_post_quantum: bool) -> None:
        kinds = ("classic", "post-quantum")
        super().__init__(
            f"this organisation is {kinds[org_is_post_quantum]}: the coordinator must join "
            f"with {kinds[org_is_post_quantum]} keys"
        )
        self.org_is_post_quantum = org_is_post_quantum


# Settings that name people or say how to reach them (the referral directory, the emergency
# plan) or are secret (the victim key): published only where the server cannot read them.
SEALED_ONLY = frozenset({referrals.SETTING, PLAN_SETTING, VICTIM_KEY_SETTING})


class OrgNotSealed(CoordinatorError):
    """The organisation (created before 0.2) publishes its document in clear, so the server
    would read these settings: they are refused rather than published."""

    def __init__(self, settings: list[str]) -> None:
        super().__init__("the organisation document is not sealed: " + ", ".join(settings))
        self.reason = "org_not_sealed"
        self.settings = settings


def create_organisation(
    vault: VaultPort,
    server_url: str,
    bootstrap_token: str,
    org_name: str,
    *,
    forms: Iterable[dict[str, Any]] = (),
    coordinator_name: str = "",
    tls_pin: str | None = None,
    proxy: str | None = None,
    now: Callable[[], float] = time.time,
    post_quantum: bool = False,
) -> orgdoc.OrgDocument:
    """Create the organisation: keys saved in the vault first, then org document v1 published."""
    root = SigningKey.generate()
    identity = CoordinatorIdentity.generate(
        server_url,
        coordinator_name,
        key_id(root.public_bytes()),
        tls_pin=tls_pin,
        proxy=proxy,
        post_quantum=post_quantum,
        root_key=root,
        org_identity=orgseal.new_org_identity(post_quantum=post_quantum),
    )
    me = orgdoc.Coordinator(
        identity.id, coordinator_name, identity.signing_key.public_bytes(), identity.recipient
    )
    issued = int(now())
    doc = orgdoc.OrgDocument(
        v=orgdoc.VERSION,
        org=org_name,
        version=1,
        issued=issued,
        root=root.public_bytes(),
        coordinators=(me,),
        recipients=(identity.recipient,),
        forms=tuple(forms),
        # the victim key (`core.links`) travels only in the sealed document, never to the server
        settings={
            ORG_IDENTITY_SETTING: identity.org_identity,
            links.VICTIM_KEY_SETTING: links.new_victim_key().hex(),
        },
        expires=issued + orgdoc.LIFETIME,
    )
    signed = orgdoc.sign_org_document(doc, root)
    state = CoordinatorState(org_document=orgdoc.to_wire(signed), org_version=1)
    vault.put_many([identity.to_record(), state.to_record()])
    with client_for(identity) as client:
        client.bootstrap(bootstrap_token, for_server(signed, identity, root))
    return doc


def for_server(
    signed: orgdoc.SignedOrgDocument, identity: CoordinatorIdentity, root_key: SigningKey
) -> dict[str, Any]:
    """What the server stores: the sealed container, or the plain document for organisations
    created before 0.2 (which have no organisation identity)."""
    if identity.org_identity is None:
        return orgdoc.to_wire(signed)
    return orgseal.seal(signed, root_key, identity.org_identity)


def join_organisation(
    vault: VaultPort,
    server_url: str,
    *,
    name: str = "",
    root_fingerprint: str,
    tls_pin: str | None = None,
    proxy: str | None = None,
    post_quantum: bool = False,
) -> dict[str, Any]:
    """Make this vault a (not yet listed) coordinator; return the info an existing coordinator
    passes to `publish_org_document(add_coordinator=...)`. `post_quantum` must match the
    organisation's kind (`is_post_quantum`), or adding this coordinator is refused."""
    identity = CoordinatorIdentity.generate(
        server_url, name, root_fingerprint, tls_pin=tls_pin, proxy=proxy, post_quantum=post_quantum
    )
    vault.put_many([identity.to_record(), CoordinatorState().to_record()])
    return identity.public_info()


def org_document(vault: VaultPort) -> orgdoc.OrgDocument | None:
    """The last org document this coordinator accepted (verified against its root)."""
    state = load_state(vault)
    if state.org_document is None:
        return None
    return orgdoc.from_wire(state.org_document).doc


def verified_document(
    vault: VaultPort, identity: CoordinatorIdentity, client: Client
) -> orgdoc.OrgDocument:
    """Fetch the org document, accept it only if signed by our pinned root and not older than
    the one we hold, and remember it."""
    state = load_state(vault)
    signed, doc = accept_org_document(
        client.org_document(),
        identity.root_fingerprint,
        min_version=state.org_version,
        now=None,
        identities=[*identity.age_identities, identity.org_identity or ""],
        held=state.org_document,
    )
    shared = doc.settings.get(ORG_IDENTITY_SETTING)
    if identity.org_identity is None and isinstance(shared, str):
        identity.org_identity = shared  # a coordinator who joined learns it from the document
        vault.put(identity.to_record())
    if doc.version != state.org_version or state.org_document is None:
        _remember(vault, signed, doc.version)
    return doc


def _remember(vault: VaultPort, signed: orgdoc.SignedOrgDocument, version: int) -> None:
    """Keep `signed` as the org document this coordinator accepted."""
    with vault.unit() as uow:
        state = load_state(uow)
        state.org_document = orgdoc.to_wire(signed)
        state.org_version = version
        uow.put(state.to_record())


def refresh_org_document(vault: VaultPort) -> orgdoc.OrgDocument:
    """Fetch the org document and accept it only if signed by our pinned root."""
    identity, client = connect(vault)
    with client:
        return verified_document(vault, identity, client)


def publish_org_document(
    vault: VaultPort,
    *,
    forms: Iterable[dict[str, Any]] | None = None,
    add_coordinator: dict[str, Any] | None = None,
    remove_coordinator: str | None = None,
    settings: dict[str, Any] | None = None,
    now: Callable[[], float] = time.time,
    new_recipients: Mapping[str, str] | None = None,
) -> orgdoc.OrgDocument:
    """Sign and publish the next version of the org document (needs the root key).

    `settings` are merged into the document's settings (for example
    `{"forget_sent_notes": True, "forget_read_messages": True}`, which phones apply at their
    next sync; see `sync.engine.forget_policy`)."""
    identity = load_identity(vault)
    if identity.root_key is None:
        raise NoRootKey("import the root key backup before publishing")
    clear = SEALED_ONLY & set(settings or {})
    if identity.org_identity is None and clear:
        raise OrgNotSealed(sorted(clear))
    current = refresh_org_document(vault)
    coordinators = list(current.coordinators)
    if add_coordinator is not None:
        added = orgdoc.Coordinator(
            str(add_coordinator["id"]),
            str(add_coordinator.get("name", "")),
            b64u_decode(str(add_coordinator["signing_key"]), length=32),
            str(add_coordinator["recipient"]),
        )
        if key_id(added.signing_key) != added.id:
            raise ValueError("coordinator id does not match its signing key")
        if _is_hybrid(added.recipient) != is_post_quantum(current):
            raise KeyKindMismatch(is_post_quantum(current))
        coordinators = [c for c in coordinators if c.id != added.id] + [added]
    if remove_coordinator is not None:
        coordinators = [c for c in coordinators if c.id != remove_coordinator]
    if new_recipients is not None:  # a key change (see sync.coordinator.pq_switch)
        coordinators = [
            dataclasses.replace(c, recipient=new_recipients.get(c.id, c.recipient))
            for c in coordinators
        ]
    issued = int(now())
    doc = dataclasses.replace(
        current,
        version=current.version + 1,
        issued=issued,
        expires=issued + orgdoc.LIFETIME,
        coordinators=tuple(coordinators),
        recipients=tuple(dict.fromkeys(c.recipient for c in coordinators)),
        forms=tuple(forms) if forms is not None else current.forms,
        settings={**current.settings, **(settings or {})},
    )
    signed = orgdoc.sign_org_document(doc, identity.root_key)
    with client_for(identity) as client:
        client.put_org_document(for_server(signed, identity, identity.root_key))
    _remember(vault, signed, doc.version)
    if add_coordinator is not None:
        from sync.coordinator.roster import reshare_roster

        reshare_roster(vault, now=now)  # the newcomer could not read the earlier entries
    return doc


def _is_hybrid(recipient: str) -> bool:
    return recipient.startswith(age_pq.RECIPIENT_HRP + "1")


def is_post_quantum(document: orgdoc.OrgDocument) -> bool:
    """True if devices seal to this organisation with post-quantum (mlkem768x25519) stanzas."""
    return bool(document.recipients) and all(_is_hybrid(r) for r in document.recipients)


def renew_if_due(
    vault: VaultPort, document: orgdoc.OrgDocument, *, now: Callable[[], float] = time.time
) -> orgdoc.OrgDocument | None:
    """Republish `document` unchanged but for version and expiry if it lapses within
    `orgdoc.RENEW_BEFORE` (or has no expiry, as 0.1 documents) and this coordinator holds
    the root key; return the new document, or None if nothing was due or possible."""
    if load_identity(vault).root_key is None:
        return None
    if document.expires and document.expires - now() > orgdoc.RENEW_BEFORE:
        return None
    return publish_org_document(vault, now=now)


def export_root_key_backup(vault: VaultPort, passphrase: str) -> bytes:
    """The root key, age-encrypted to `passphrase` (armored text, safe to print or store)."""
    identity = load_identity(vault)
    if identity.root_key is None:
        raise NoRootKey("this coordinator does not hold the root key")
    secret = canonical_json(
        {
            "label": BACKUP_LABEL,
            "root_seed": b64u_encode(identity.root_key.private_bytes()),
            "server_url": identity.server_url,
            "org_identity": identity.org_identity,
        }
    )
    return age.encrypt_with_passphrase(secret, passphrase, armor=True)


def import_root_key_backup(vault: VaultPort, backup: bytes, passphrase: str) -> str:
    """Add the root key from a backup to this coordinator; return the root fingerprint.

    Raises `UntrustedDocument` if the key does not match the root this vault already pins.
    """
    try:
        obj = parse_json_strict(age.decrypt_with_passphrase(backup, passphrase))
        if not isinstance(obj, dict) or obj.get("label") != BACKUP_LABEL:
            raise ValueError("not a root key backup")
        root = SigningKey.from_bytes(b64u_decode(str(obj["root_seed"]), length=32))
    except (age.AgeError, EncodingError, ValueError, KeyError):
        raise UntrustedDocument("the backup could not be opened with this passphrase") from None
    fingerprint = key_id(root.public_bytes())
    identity = load_identity(vault)
    if identity.root_fingerprint and identity.root_fingerprint != fingerprint:
        raise UntrustedDocument("the backup holds another organisation's root key")
    identity.root_key = root
    identity.root_fingerprint = fingerprint
    if isinstance(obj.get("org_identity"), str):
        identity.org_identity = obj["org_identity"]
    vault.put(identity.to_record())
    return fingerprint
