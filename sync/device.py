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
from core.vault_port import RecordReader, VaultPort
from sync import age
from sync.envelope import ZERO_HASH
from sync.invite import Invite
from sync.orgseal import identity_from_bytes
from sync.own_keys import OwnKeys
from sync.singleton import Singleton, fixed_id
from sync.singleton import get_or_none as get_or_none  # where most callers import it from

IDENTITY_ID = fixed_id("device-identity")
CHAIN_ID = fixed_id("device-chain")
SYNC_STATE_ID = fixed_id("device-sync-state")
SETTINGS_ID = fixed_id("device-sync-settings")


@dataclasses.dataclass(slots=True)
class DeviceIdentity(OwnKeys):
    record_id = IDENTITY_ID

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
        """This device's key id (`id`), by which the server and the coordinators know it."""
        return self.id


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
class ChainState(Singleton):
    """Where this device's envelope chain stands: the last seq used and its envelope hash."""

    record_id = CHAIN_ID

    seq: int = 0
    last_hash: str = ZERO_HASH


def load_chain(vault: RecordReader) -> ChainState:
    return ChainState.load(vault) or ChainState()


@dataclasses.dataclass(slots=True)
class SyncState(Singleton):
    """What the engine has learnt from the server, all of it verified before it was kept."""

    record_id = SYNC_STATE_ID

    org_document: dict[str, Any] | None = None
    org_version: int = 0
    org_etag: str = ""  # the server's entity tag for `org_document`, to ask "changed?"
    executed_commands: list[str] = dataclasses.field(default_factory=list)
    message_cursor: int = 0
    revoked: bool = False
    last_sync: int = 0


def load_sync_state(vault: RecordReader) -> SyncState:
    return SyncState.load(vault) or SyncState()


def save_sync_state(vault: VaultPort, state: SyncState) -> None:
    state.save(vault)


def update_sync_state(vault: VaultPort, **changes: Any) -> SyncState:
    """Set the fields named in `changes` on the sync state, read and written in one unit of
    work (so no other field changed meanwhile is lost); return the new state."""
    with vault.unit() as uow:
        state = dataclasses.replace(load_sync_state(uow), **changes)
        uow.put(state.to_record())
    return state


@dataclasses.dataclass(slots=True)
class SyncSettings(Singleton):
    """User-facing sync preferences (the settings screen edits these)."""

    record_id = SETTINGS_ID

    send_and_forget: bool = True


def load_settings(vault: RecordReader) -> SyncSettings:
    return SyncSettings.load(vault) or SyncSettings()


def save_settings(vault: VaultPort, settings: SyncSettings) -> None:
    settings.save(vault)
