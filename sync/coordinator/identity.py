"""Who this coordinator is and what its pull has learnt, both kept inside its vault.

`load_identity(vault)` gives the keys (signing key, age identity, and the root key if this
coordinator holds it) and the connection settings; `load_state` / `CoordinatorState.to_record`
the pull's cursor, accepted org document, chain heads and this coordinator's own chain.
`connect(vault)` opens a client to the server as this coordinator.

Danger: the root key is the organisation's trust anchor. It lives only in coordinator vaults
and in passphrase-encrypted backups; never send it to the server or print it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from core.crypto.signing import SigningKey
from core.vault_port import RecordReader, VaultPort
from sync import age, envelope, singleton
from sync.client import Client
from sync.encoding import b64u_encode
from sync.errors import NotEnrolled, SyncError
from sync.own_keys import OwnKeys
from sync.singleton import Singleton, fixed_id

IDENTITY_ID = fixed_id("coordinator-identity")
STATE_ID = fixed_id("coordinator-state")


class CoordinatorError(SyncError):
    reason = "coordinator_error"


class NoRootKey(CoordinatorError):
    """This coordinator does not hold the organisation's root key (import a backup first)."""

    reason = "no_root_key"


@dataclasses.dataclass(slots=True)
class CoordinatorIdentity(OwnKeys):
    record_id = IDENTITY_ID

    server_url: str
    name: str = ""
    root_key: SigningKey | None = dataclasses.field(
        default=None, repr=False, metadata=singleton.seed("root_seed")
    )
    root_fingerprint: str = ""
    tls_pin: str | None = None
    proxy: str | None = None
    org_identity: str | None = dataclasses.field(default=None, repr=False)
    """Opens the sealed org document; devices get it in their invite (None before 0.2)."""
    previous_age_identities: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    """Identities used before a key change (classic to post-quantum), kept only to open what
    was sealed to them; nothing is sealed to them any more."""

    @classmethod
    def generate(
        cls,
        server_url: str,
        name: str,
        root_fingerprint: str,
        *,
        tls_pin: str | None,
        proxy: str | None,
        post_quantum: bool,
        root_key: SigningKey | None = None,
        org_identity: str | None = None,
    ) -> CoordinatorIdentity:
        """A new coordinator: a fresh signing key and age identity (post-quantum or classic)."""
        return cls(
            signing_key=SigningKey.generate(),
            age_identity=age.generate_identity(pq=post_quantum)[0],
            server_url=server_url.rstrip("/"),
            name=name,
            root_key=root_key,
            root_fingerprint=root_fingerprint,
            tls_pin=tls_pin,
            proxy=proxy,
            org_identity=org_identity,
        )

    @property
    def age_identities(self) -> list[str]:
        """Every identity that may open something sealed to this coordinator, current first."""
        return [self.age_identity, *self.previous_age_identities]

    def public_info(self) -> dict[str, Any]:
        """What another coordinator needs to add this one to the org document."""
        return {
            "id": self.id,
            "name": self.name,
            "signing_key": b64u_encode(self.signing_key.public_bytes()),
            "recipient": self.recipient,
        }


@dataclasses.dataclass(slots=True)
class CoordinatorState(Singleton):
    """The pull's progress and this coordinator's own chain (`seq`, `last_hash`).

    `pending_blobs` lists attachments named by stored reports whose bytes could not be checked
    yet (still uploading): `[blob id, author device, sha256, size]`, retried at every pull.
    """

    record_id = STATE_ID

    cursor: int = 0
    org_document: dict[str, Any] | None = None
    org_version: int = 0
    heads: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    seq: int = 0
    last_hash: str = envelope.ZERO_HASH
    pending_blobs: list[list[Any]] = dataclasses.field(default_factory=list)


def load_identity(vault: RecordReader) -> CoordinatorIdentity:
    identity = CoordinatorIdentity.load(vault)
    if identity is None:
        raise NotEnrolled("this vault holds no coordinator identity")
    return identity


def load_state(vault: RecordReader) -> CoordinatorState:
    return CoordinatorState.load(vault) or CoordinatorState()


def coordinator_info(vault: VaultPort) -> dict[str, Any]:
    """Public facts for the UI: id, name, server, root fingerprint, holds root key."""
    identity = load_identity(vault)
    return {
        **identity.public_info(),
        "server_url": identity.server_url,
        "root_fingerprint": identity.root_fingerprint,
        "holds_root_key": identity.root_key is not None,
        "tls_pin": identity.tls_pin,
        "proxy": identity.proxy,
    }


def client_for(identity: CoordinatorIdentity, *, factory: Callable[..., Client] = Client) -> Client:
    return factory(
        identity.server_url,
        signing_key=identity.signing_key,
        tls_pin=identity.tls_pin,
        proxy=identity.proxy,
    )


def connect(vault: VaultPort) -> tuple[CoordinatorIdentity, Client]:
    """This coordinator's identity and a client signed with its key (use it in `with`)."""
    identity = load_identity(vault)
    return identity, client_for(identity)
