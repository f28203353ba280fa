"""A device's identity and sync state, kept inside its vault (so it is encrypted at rest).

Use:
- `DeviceIdentity.load(vault)` / `create_identity(vault, invite)` for the secrets: the Ed25519
  signing key, the age identity (for messages sent back to this device), and the enrolment
  settings (server address, pinned root fingerprint, TLS pin, proxy, invite token).
- `load_chain` / `ChainState.to_record` for the envelope chain (next seq, hash of the last
  envelope): written only by the outbox, in the same unit of work as the envelope it sealed.
- `load_sync_state` / `update_sync_state` for what the engine learns: accepted org document
  and its version, executed command ids, message cursor, revocation.

Three records, three writers, so the app saving an incident and the engine finishing a round
never overwrite each other's fields (each kept by `sync.singleton`). A read-modify-write of
any of them is a unit of work (`with vault.unit() as uow:`), which serialises them.

Danger: `DeviceIdentity.signing_key` and `age_identity` are the device's secrets. They exist in
memory only while the vault is unlocked; never log them or put them in an error.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from core.crypto.signing import SigningKey
from core.records import Kind, Record
from core.vault_port import RecordReader, VaultPort
from sync import age, singleton
from sync.envelope import ZERO_HASH
from sync.invite import Invite
from sync.keys import key_id
from sync.orgseal import identity_from_bytes
from sync.singleton import fixed_id
from sync.singleton import get_or_none as get_or_none  # where most callers import it from

IDENTITY_ID = fixed_id("device-identity")
CHAIN_ID = fixed_id("device-chain")
SYNC_STATE_ID = fixed_id("device-sync-state")
SETTINGS_ID = fixed_id("device-sync-settings")


@dataclasses.dataclass(slots=True)
class DeviceIdentity:
    signing_key: SigningKey = dataclasses.field(metadata=singleton.seed("signing_seed"))
    age_identity: str = dataclasses.field(repr=False)
    server_url: str
    root_fingerprint: str
    tls_pin: str | None = None
    proxy: str | None = None
    label: str | None = None
    invite_token: str | None = dataclasses.field(default=None, repr=False)
    enrolled: bool = False
    enrol_secret: str | None = dataclasses.field(default=None, repr=False)
    org_floor: int = 0
    org_identity: str | None = dataclasses.field(default=None, repr=False)

    @property
    def device_id(self) -> str:
        return key_id(self.signing_key.public_bytes())

    @property
    def recipient(self) -> str:
        return age.recipient_of(self.age_identity)

    def to_record(self) -> Record:
        return singleton.to_record(self, IDENTITY_ID, kind=Kind.DEVICE_KEY)

    @classmethod
    def load(cls, vault: RecordReader) -> DeviceIdentity | None:
        return singleton.load(cls, vault, IDENTITY_ID)

    def save(self, vault: VaultPort) -> None:
        vault.put(self.to_record())


def create_identity(
    vault: VaultPort,
    *,
    server_url: str,
    root_fingerprint: str,
    invite_token: str,
    tls_pin: str | None = None,
    proxy: str | None = None,
    label: str | None = None,
    enrol_secret: str | None = None,
    org_floor: int = 0,
    org_identity: str | None = None,
) -> DeviceIdentity:
    """Generate this device's keys and remember the invite; enrolment happens at next sync.

    Prefer `identity_from_invite`, which cannot forget the enrolment secret or the org floor:
    without the secret no coordinator can admit this device to the roster, so its reports wait
    until a coordinator confirms it by hand.
    """
    identity = DeviceIdentity(
        signing_key=SigningKey.generate(),
        age_identity=age.generate_identity()[0],
        server_url=server_url,
        root_fingerprint=root_fingerprint,
        tls_pin=tls_pin,
        proxy=proxy,
        label=label,
        invite_token=invite_token,
        enrol_secret=enrol_secret,
        org_floor=org_floor,
        org_identity=org_identity,
    )
    identity.save(vault)
    return identity


def identity_from_invite(
    vault: VaultPort,
    invite: Invite,
    *,
    server_url: str | None = None,
    proxy: str | None = None,
    label: str | None = None,
) -> DeviceIdentity:
    """`create_identity` with everything the invite carries (`server_url` overrides its URL)."""
    return create_identity(
        vault,
        server_url=server_url or invite.server_url,
        root_fingerprint=invite.root_fingerprint,
        invite_token=invite.token,
        tls_pin=invite.tls_pin,
        proxy=proxy,
        label=label,
        enrol_secret=invite.enrol_secret,
        org_floor=invite.org_floor,
        org_identity=identity_from_bytes(bytes.fromhex(invite.org_key)) if invite.org_key else None,
    )


@dataclasses.dataclass(slots=True)
class ChainState:
    """Where this device's envelope chain stands: the last seq used and its envelope hash."""

    seq: int = 0
    last_hash: str = ZERO_HASH

    def to_record(self) -> Record:
        return singleton.to_record(self, CHAIN_ID)


def load_chain(vault: RecordReader) -> ChainState:
    return singleton.load(ChainState, vault, CHAIN_ID) or ChainState()


@dataclasses.dataclass(slots=True)
class SyncState:
    """What the engine has learnt from the server, all of it verified before it was kept."""

    org_document: dict[str, Any] | None = None
    org_version: int = 0
    org_etag: str = ""  # the server's entity tag for `org_document`, to ask "changed?"
    executed_commands: list[str] = dataclasses.field(default_factory=list)
    message_cursor: int = 0
    revoked: bool = False
    last_sync: int = 0

    def to_record(self) -> Record:
        return singleton.to_record(self, SYNC_STATE_ID)


def load_sync_state(vault: RecordReader) -> SyncState:
    return singleton.load(SyncState, vault, SYNC_STATE_ID) or SyncState()


def save_sync_state(vault: VaultPort, state: SyncState) -> None:
    vault.put(state.to_record())


def update_sync_state(vault: VaultPort, **changes: Any) -> SyncState:
    """Set the fields named in `changes` on the sync state, read and written in one unit of
    work (so no other field changed meanwhile is lost); return the new state."""
    with vault.unit() as uow:
        state = dataclasses.replace(load_sync_state(uow), **changes)
        uow.put(state.to_record())
    return state


@dataclasses.dataclass(slots=True)
class SyncSettings:
    """User-facing sync preferences (the settings screen edits these)."""

    send_and_forget: bool = True

    def to_record(self) -> Record:
        return singleton.to_record(self, SETTINGS_ID)


def load_settings(vault: RecordReader) -> SyncSettings:
    return singleton.load(SyncSettings, vault, SETTINGS_ID) or SyncSettings()


def save_settings(vault: VaultPort, settings: SyncSettings) -> None:
    vault.put(settings.to_record())
