"""The phone's keystore for the field app: `DeviceKeystore` over Flet's `SecureStorage`.

Use `phone_keystore(page)` once per session: on Android and iOS it returns a
`SecureStorageKeystore` over `flet_secure_storage.SecureStorage` (pinned `==1.0.5`), elsewhere
None (desktop and browser keep today's behaviour: no device binding, no wipe-check file).
Values are stored as hex strings (the plugin stores strings only).

`SecureStorage` is asynchronous and bound to the page's event loop, while the service's
blocking methods (create, unlock, wipe, the start-up check) run on worker threads. The adapter
bridges the two: each call is sent to the page's loop and waited for, at most `timeout`
seconds; a call made on the loop's own thread would deadlock, so it raises `RuntimeError`.

Platform options: on Android `reset_on_error=False` (the plugin would otherwise erase every
entry, and with them the vault's binding, on a keystore error, without telling); on iOS the
entries are readable only on this device once unlocked (`UNLOCKED_THIS_DEVICE`: not in
backups, not moved to a new phone).

Danger: not run on a phone in this repository's tests (see docs/android.md): the contract
test runs it against a fake `SecureStorage` with the same asynchronous API.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from app.services.field_keystore import KeystoreUnavailable

T = TypeVar("T")
TIMEOUT = 10.0


class AsyncSecretStore(Protocol):
    """The part of `flet_secure_storage.SecureStorage` the adapter uses."""

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str) -> None: ...
    async def remove(self, key: str) -> None: ...


class SecureStorageKeystore:
    """A blocking `DeviceKeystore` over an asynchronous secret store on an event loop."""

    def __init__(
        self, store: AsyncSecretStore, loop: asyncio.AbstractEventLoop, *, timeout: float = TIMEOUT
    ) -> None:
        self._store = store
        self._loop = loop
        self._timeout = timeout

    def get(self, name: str) -> bytes | None:
        value = self._run(self._store.get(name))
        if value is None:
            return None
        try:
            return bytes.fromhex(str(value))
        except ValueError:
            raise KeystoreUnavailable("the keystore returned an unreadable entry") from None

    def put(self, name: str, value: bytes) -> None:
        self._run(self._store.set(name, bytes(value).hex()))

    def delete(self, name: str) -> None:
        self._run(self._store.remove(name))

    def _run(self, call: Awaitable[T]) -> T:
        if _on_loop_thread(self._loop):
            if asyncio.iscoroutine(call):
                call.close()
            raise RuntimeError("keystore calls block: make them off the UI thread")
        future = asyncio.run_coroutine_threadsafe(_await(call), self._loop)
        try:
            return future.result(self._timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise KeystoreUnavailable("the keystore did not answer in time") from None
        except Exception as exc:
            raise KeystoreUnavailable("the keystore refused the call") from exc


async def _await(call: Awaitable[T]) -> T:
    return await call


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:  # no loop runs on this thread
        return False


def phone_keystore(page: Any) -> SecureStorageKeystore | None:
    """The keystore on Android and iOS (registers a `SecureStorage` service on `page`), or
    None on desktop and in the browser. Call it on the page's loop (in `main`), before the
    first page update, so the service reaches the client with the page."""
    platform = getattr(page, "platform", None)
    if getattr(page, "web", False) or platform is None or not platform.is_mobile():
        return None
    from flet_secure_storage import (
        AndroidOptions,
        IOSOptions,
        KeychainAccessibility,
        SecureStorage,
    )

    store = SecureStorage(
        android_options=AndroidOptions(reset_on_error=False),
        ios_options=IOSOptions(accessibility=KeychainAccessibility.UNLOCKED_THIS_DEVICE),
    )
    return SecureStorageKeystore(store, page.loop)
