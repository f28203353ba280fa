"""The two keys a device or a coordinator holds for itself, kept in its own vault.

`OwnKeys` is the base of `sync.device.DeviceIdentity` and
`sync.coordinator.identity.CoordinatorIdentity`: an Ed25519 signing key, whose key id (`id`)
names the holder on the server and in envelope headers, and an age identity, whose recipient
(`recipient`) is what others seal messages for the holder to.

Danger: both keys are secrets, in memory only while the vault is unlocked. Never log them or
put them in an error.
"""

from __future__ import annotations

import dataclasses

from core.crypto.signing import SigningKey
from core.records import Kind
from sync import age, singleton
from sync.keys import key_id


@dataclasses.dataclass(slots=True)
class OwnKeys(singleton.Singleton):
    record_kind = Kind.DEVICE_KEY

    signing_key: SigningKey = dataclasses.field(metadata=singleton.seed("signing_seed"))
    age_identity: str = dataclasses.field(repr=False)

    @property
    def id(self) -> str:
        return key_id(self.signing_key.public_bytes())

    @property
    def recipient(self) -> str:
        return age.recipient_of(self.age_identity)
