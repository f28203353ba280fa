"""One contract for every `DeviceKeystore`: the in-memory keystore tests use, and the phone's
adapter over Flet's `SecureStorage` (run here against a fake with the plugin's asynchronous API,
on an event loop in another thread, as the page's loop is; it cannot run on a phone here)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from app.field.secure_keystore import SecureStorageKeystore, phone_keystore
from app.services.field_keystore import (
    CHECK_FILE_KEY_NAME,
    NAMES,
    SECRET_NAME,
    DeviceKeystore,
    KeystoreUnavailable,
    MemoryKeystore,
    forget,
)


class FakeSecureStorage:
    """`flet_secure_storage.SecureStorage`'s get/set/remove: strings only, awaited on a loop."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.hang = False
        self.fail = False

    async def _step(self) -> None:
        if self.fail:
            raise RuntimeError("PlatformException")
        while self.hang:
            await asyncio.sleep(0.01)

    async def get(self, key: str) -> str | None:
        await self._step()
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        await self._step()
        if not isinstance(value, str):
            raise TypeError("the platform stores strings")
        self.values[key] = value

    async def remove(self, key: str) -> None:
        await self._step()
        self.values.pop(key, None)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, daemon=True)
    thread.start()
    yield running
    running.call_soon_threadsafe(running.stop)
    thread.join(5)
    running.close()


def _memory(_: asyncio.AbstractEventLoop) -> DeviceKeystore:
    return MemoryKeystore()


def _adapter(loop: asyncio.AbstractEventLoop) -> DeviceKeystore:
    return SecureStorageKeystore(FakeSecureStorage(), loop, timeout=2.0)


@pytest.fixture(params=[_memory, _adapter], ids=["memory", "secure-storage"])
def keystore(request: pytest.FixtureRequest, loop: asyncio.AbstractEventLoop) -> DeviceKeystore:
    make: Callable[[asyncio.AbstractEventLoop], DeviceKeystore] = request.param
    return make(loop)


def test_a_name_never_put_reads_as_none(keystore: DeviceKeystore) -> None:
    assert keystore.get(SECRET_NAME) is None


def test_what_is_put_reads_back_byte_for_byte(keystore: DeviceKeystore) -> None:
    for value in (bytes(32), bytes(range(32)), b"\xff" * 32, b"\x00\n\r\x00" * 8):
        keystore.put(SECRET_NAME, value)
        assert keystore.get(SECRET_NAME) == value


def test_put_replaces_and_names_are_independent(keystore: DeviceKeystore) -> None:
    keystore.put(SECRET_NAME, b"a" * 32)
    keystore.put(CHECK_FILE_KEY_NAME, b"b" * 32)
    keystore.put(SECRET_NAME, b"c" * 32)
    assert keystore.get(SECRET_NAME) == b"c" * 32
    assert keystore.get(CHECK_FILE_KEY_NAME) == b"b" * 32


def test_delete_removes_and_deleting_a_missing_name_is_nothing(keystore: DeviceKeystore) -> None:
    keystore.put(SECRET_NAME, b"a" * 32)
    keystore.delete(SECRET_NAME)
    keystore.delete(SECRET_NAME)
    assert keystore.get(SECRET_NAME) is None


def test_forget_deletes_every_entry_fieldvault_keeps(keystore: DeviceKeystore) -> None:
    for name in NAMES:
        keystore.put(name, b"k" * 32)
    forget(keystore)
    assert [keystore.get(name) for name in NAMES] == [None] * len(NAMES)


def test_the_adapter_keeps_values_as_hex_strings_the_plugin_accepts(
    loop: asyncio.AbstractEventLoop,
) -> None:
    store = FakeSecureStorage()
    SecureStorageKeystore(store, loop).put(SECRET_NAME, b"\x00\xff" * 16)
    assert store.values == {SECRET_NAME: "00ff" * 16}


def test_a_keystore_that_never_answers_fails_in_time_instead_of_hanging(
    loop: asyncio.AbstractEventLoop,
) -> None:
    store = FakeSecureStorage()
    store.hang = True
    with pytest.raises(KeystoreUnavailable):
        SecureStorageKeystore(store, loop, timeout=0.2).get(SECRET_NAME)
    store.hang = False


def test_a_platform_error_or_an_unreadable_entry_is_keystore_unavailable(
    loop: asyncio.AbstractEventLoop,
) -> None:
    store = FakeSecureStorage()
    keystore = SecureStorageKeystore(store, loop)
    store.values[SECRET_NAME] = "not hex"
    with pytest.raises(KeystoreUnavailable):
        keystore.get(SECRET_NAME)
    store.fail = True
    with pytest.raises(KeystoreUnavailable):
        keystore.put(SECRET_NAME, bytes(32))


def test_forget_goes_on_past_a_failing_keystore(loop: asyncio.AbstractEventLoop) -> None:
    store = FakeSecureStorage()
    store.fail = True
    forget(SecureStorageKeystore(store, loop))  # a wipe never stops half-way


def test_a_call_from_the_ui_loop_itself_is_refused_rather_than_deadlocking(
    loop: asyncio.AbstractEventLoop,
) -> None:
    keystore = SecureStorageKeystore(FakeSecureStorage(), loop)

    async def on_the_loop() -> Any:
        return keystore.get(SECRET_NAME)

    future = asyncio.run_coroutine_threadsafe(on_the_loop(), loop)
    with pytest.raises(RuntimeError):
        future.result(5)


def _page(*, web: bool, mobile: bool | None, loop: Any = None) -> Any:
    platform = None if mobile is None else SimpleNamespace(is_mobile=lambda: mobile)
    return SimpleNamespace(web=web, platform=platform, loop=loop)


def test_desktop_and_browser_get_no_keystore_and_keep_todays_behaviour() -> None:
    assert phone_keystore(_page(web=False, mobile=False)) is None
    assert phone_keystore(_page(web=True, mobile=True)) is None  # a phone's browser
    assert phone_keystore(_page(web=False, mobile=None)) is None


def test_a_phone_gets_the_secure_storage_adapter_that_never_resets_silently(
    loop: asyncio.AbstractEventLoop,
) -> None:
    keystore = phone_keystore(_page(web=False, mobile=True, loop=loop))
    assert isinstance(keystore, SecureStorageKeystore)
    store: Any = keystore._store
    assert store.android_options.reset_on_error is False
    assert store.ios_options.accessibility.value == "unlocked_this_device"


def test_a_keystore_that_does_not_answer_at_unlock_is_a_clear_error_and_counts_nothing(
    tmp_path: Any, loop: asyncio.AbstractEventLoop
) -> None:
    from app.errors_text import error_key
    from app.services.field import VaultFieldService
    from app.services.field_types import UnlockFailed

    store = FakeSecureStorage()
    keystore = SecureStorageKeystore(store, loop, timeout=0.2)
    service = VaultFieldService(tmp_path / "phone", kdf_log_n=15, keystore=keystore)
    service.create("walnut orchard lantern 1987", language="en")
    service.lock()
    store.hang = True
    with pytest.raises(UnlockFailed) as failed:
        service.unlock("walnut orchard lantern 1987")
    assert failed.value.reason == "keystore_unavailable"
    assert error_key(failed.value) == "error.keystore_unavailable"
    store.hang = False
    service.unlock("walnut orchard lantern 1987")  # nothing was counted, nothing lost
    assert service.unlocked
