"""A device's identity and sync state, kept inside its vault (so it is encrypted at rest).

Use:
- `DeviceIdentity.load(vault)` / `create_identity(vault, invite)` for the secrets: the Ed25519
  signing key, the age identity (for messages sent back to this device), and the enrolment
  settings (server address, pinned root fingerprint, TLS pin, proxy, invite token).
- `load_chain` / `chain_record` for the envelope chain (next seq, hash of the last envelope):
  written only by the outbox, in the same `put_many` as the envelope it sealed.
- `load_sync_state` / `save_sync_state` for what the engine learns: accepted org document and
  its version, executed command ids, message cursor, revocation.

Three records, three writers, so the app saving an incident and the engine finishing a round
never overwrite each other's fields. `state_lock(vault)` serialises read-modify-write cycles
inside one process.

Danger: `DeviceIdentity.signing_key` and `age_identity` are the device's secrets. They exist in
memory only while the vault is unlocked; never log them or put them in an error.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from typing import Any, Protocol

from core.crypto.hashing import sha256_hex
from core.crypto.signing import SigningKey
from core.records import Kind, Record, Status
from sync import age
from sync.encoding import b64u_decode, b64u_encode
from sync.envelope import ZERO_HASH
from sync.invite import Invite
from sync.keys import key_id
from sync.orgseal import identity_from_bytes


def fixed_id(name: str) -> str:
    """A stable record id (32 hex digits) for a singleton record such as device state."""
    return sha256_hex(f"fieldvault/singleton/{name}".encode())[:32]


IDENTITY_ID = fixed_id("device-identity")
CHAIN_ID = fixed_id("device-chain")
SYNC_STATE_ID = fixed_id("device-sync-state")
SETTINGS_ID = fixed_id("device-sync-settings")


class VaultLike(Protocol):
    def get(self, record_id: str) -> Record: ...
    def put(self, record: Record) -> Record: ...
    def put_many(self, records: list[Record]) -> list[Record]: ...
    def list(self, kind: str | None = None, where: Any = None) -> list[Record]: ...
    def delete(self, record_id: str) -> None: ...


_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def state_lock(vault: Any) -> threading.RLock:
    """The one lock for read-modify-write of this vault's sync records within a process."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(vault)
        if lock is None:
            lock = _LOCKS[vault] = threading.RLock()
        return lock


def get_or_none(vault: Any, record_id: str) -> Record | None:
    """`vault.get` that returns None when the record does not exist."""
    try:
        return vault.get(record_id)
    except Exception as exc:  # storage's RecordNotFound; imported lazily to keep layers thin
        if type(exc).__name__ in ("RecordNotFound", "KeyError"):
            return None
        raise


@dataclasses.dataclass(slots=True)
class DeviceIdentity:
    signing_key: SigningKey
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
        return Record(
            kind=Kind.DEVICE_KEY,
            id=IDENTITY_ID,
            status=Status.LOCAL,
            data={
                "signing_seed": b64u_encode(self.signing_key.private_bytes()),
                "age_identity": self.age_identity,
                "server_url": self.server_url,
                "root_fingerprint": self.root_fingerprint,
                "tls_pin": self.tls_pin,
                "proxy": self.proxy,
                "label": self.label,
                "invite_token": self.invite_token,
                "enrolled": self.enrolled,
                "enrol_secret": self.enrol_secret,
                "org_floor": self.org_floor,
                "org_identity": self.org_identity,
            },
        )

    @classmethod
    def from_record(cls, record: Record) -> DeviceIdentity:
        d = record.data
        return cls(
            signing_key=SigningKey.from_bytes(b64u_decode(d["signing_seed"], length=32)),
            age_identity=d["age_identity"],
            server_url=d["server_url"],
            root_fingerprint=d["root_fingerprint"],
            tls_pin=d.get("tls_pin"),
            proxy=d.get("proxy"),
            label=d.get("label"),
            invite_token=d.get("invite_token"),
            enrolled=bool(d.get("enrolled")),
            enrol_secret=d.get("enrol_secret"),
            org_floor=int(d.get("org_floor") or 0),
            org_identity=d.get("org_identity"),
        )

    @classmethod
    def load(cls, vault: Any) -> DeviceIdentity | None:
        record = get_or_none(vault, IDENTITY_ID)
        return None if record is None else cls.from_record(record)

    def save(self, vault: Any) -> None:
        vault.put(self.to_record())


def create_identity(
    vault: Any,
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
    vault: Any,
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
        return Record(
            kind=Kind.SETTING,
            id=CHAIN_ID,
            status=Status.LOCAL,
            data={"seq": self.seq, "last_hash": self.last_hash},
        )


def load_chain(vault: Any) -> ChainState:
    record = get_or_none(vault, CHAIN_ID)
    if record is None:
        return ChainState()
    return ChainState(int(record.data["seq"]), str(record.data["last_hash"]))


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
        return Record(
            kind=Kind.SETTING,
            id=SYNC_STATE_ID,
            status=Status.LOCAL,
            data=dataclasses.asdict(self),
        )


def load_sync_state(vault: Any) -> SyncState:
    record = get_or_none(vault, SYNC_STATE_ID)
    if record is None:
        return SyncState()
    known = {f.name for f in dataclasses.fields(SyncState)}
    return SyncState(**{k: v for k, v in record.data.items() if k in known})


def save_sync_state(vault: Any, state: SyncState) -> None:
    vault.put(state.to_record())


@dataclasses.dataclass(slots=True)
class SyncSettings:
    """User-facing sync preferences (the settings screen edits these)."""

    send_and_forget: bool = True

    def to_record(self) -> Record:
        return Record(
            kind=Kind.SETTING,
            id=SETTINGS_ID,
            status=Status.LOCAL,
            data=dataclasses.asdict(self),
        )


def load_settings(vault: Any) -> SyncSettings:
    record = get_or_none(vault, SETTINGS_ID)
    if record is None:
        return SyncSettings()
    return SyncSettings(send_and_forget=bool(record.data.get("send_and_forget", True)))


def save_settings(vault: Any, settings: SyncSettings) -> None:
    vault.put(settings.to_record())
