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

Implementations:
- `MemoryKeystore`: in memory, for tests and previews (it binds nothing real).
- On Android, Flet's `flet-secure-storage` (pin `==1.0.5`; its `SecureStorage` service keeps
  values in Android's EncryptedSharedPreferences, whose key lives in the Android Keystore). Its
  API is asynchronous and tied to the page, so the adapter belongs in `app/field/` and is not
  written yet: it can only be exercised on a phone (see docs/field-app.md).
- Desktop and browser: no keystore (`keystore=None`); keys come from the passphrase alone, as
  before. A vault created without a secret keeps opening without one.

Danger: if the platform loses the keystore entry (app data cleared, some OS updates invalidate
keystore keys), the vault cannot be opened with the right passphrase any more: the data is then
as lost as after a wipe. That is the price of making an image of the phone worthless; the
organisation keeps what was already sent.
"""

from __future__ import annotations

from typing import Protocol

SECRET_NAME = "a1"  # noqa: S105 - a neutral entry name (it must not say what it is for)
SECRET_SIZE = 32
_SEPARATOR = "\x00fieldvault/device-bound/v1\x00"


class DeviceKeystore(Protocol):
    def get(self, name: str) -> bytes | None: ...
    def put(self, name: str, value: bytes) -> None: ...
    def delete(self, name: str) -> None: ...


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
