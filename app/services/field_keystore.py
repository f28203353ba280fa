"""Binding the vault to the phone: a secret kept by the platform's keystore, mixed into every
passphrase before its key derivation, so that a copy of the app's files alone cannot be
guessed at offline.

Use `DeviceKeystore` (get, put, delete of small byte strings under a name) and give one to
`VaultFieldService(keystore=...)`. At creation the service draws a 32-byte secret, keeps it in
the keystore under `SECRET_NAME`, and from then on derives the vault's keys from
`bound(passphrase, secret)` instead of the passphrase alone (the duress passphrase too). The
passphrase stays necessary; the secret adds 256 bits that never leave the keystore, so an
examiner with an image of the data directory has nothing to guess against. A wipe deletes the
secret first.

The keystore also keeps the key of the wipe-check file (`CHECK_FILE_KEY_NAME`, see
`sync.wipecheck`): with it a locked phone can ask the server whether a wipe waits. Every wipe
calls `forget(keystore)` first, which deletes every entry in `NAMES`.

Implementations (one contract, tests/app/field/test_keystore_contract.py):
- `MemoryKeystore`: in memory, for tests and previews (it binds nothing real). A test that
  "restarts" the app keeps the same object, as a phone keeps its keystore across restarts.
- On Android and iOS, `app.field.secure_keystore.SecureStorageKeystore` over Flet's
  `flet-secure-storage==1.0.5` (`SecureStorage`: Android's EncryptedSharedPreferences, whose
  key lives in the Android Keystore; the iOS keychain, this device only). Its calls block, so
  make them off the UI thread, as the service's blocking methods already are.
- Desktop and browser: no keystore (`keystore=None`); keys come from the passphrase alone, as
  before, and there is no wipe-check file (a wipe still arrives at the next sync). A vault
  created without a secret keeps opening without one.

Danger: if the platform loses the keystore entry (app data cleared, some OS updates invalidate
keystore keys), the vault cannot be opened with the right passphrase any more: the data is then
as lost as after a wipe. That is the price of making an image of the phone worthless; the
organisation keeps what was already sent.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

SECRET_NAME = "a1"  # noqa: S105 - a neutral entry name (it must not say what it is for)
CHECK_FILE_KEY_NAME = "a2"
NAMES = (SECRET_NAME, CHECK_FILE_KEY_NAME)
SECRET_SIZE = 32
_SEPARATOR = "\x00fieldvault/device-bound/v1\x00"


class KeystoreUnavailable(Exception):
    """The platform's keystore did not answer (or answered nonsense) in time."""

    reason = "keystore_unavailable"


class DeviceKeystore(Protocol):
    """Small byte strings under short names. `get` of a missing name is None; `delete` of a
    missing name does nothing; `put` replaces. Any failure is `KeystoreUnavailable`."""

    def get(self, name: str) -> bytes | None: ...
    def put(self, name: str, value: bytes) -> None: ...
    def delete(self, name: str) -> None: ...


def forget(keystore: DeviceKeystore | None) -> None:
    """Delete every entry FieldVault keeps (the first step of every wipe). Never raises: a wipe
    never stops half-way, and an entry that resists is tried again by the next wipe."""
    if keystore is None:
        return
    for name in NAMES:
        with contextlib.suppress(Exception):
            keystore.delete(name)


class MemoryKeystore:
    """A `DeviceKeystore` in memory (tests, previews)."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    def get(self, name: str) -> bytes | None:
        return self.values.get(name)

    def put(self, name: str, value: bytes) -> None:
        self.values[name] = bytes(value)

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


def bound(passphrase: str, secret: bytes | None) -> str:
    """What the key derivation is given: the passphrase alone without a secret, else the
    passphrase, a separator no keyboard types (NFC cannot join across it) and the secret."""
    if not secret:
        return passphrase
    if len(secret) != SECRET_SIZE:
        raise ValueError("the device secret must be 32 bytes")
    return passphrase + _SEPARATOR + secret.hex()
