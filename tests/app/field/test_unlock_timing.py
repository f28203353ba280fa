"""Attack: an onlooker times the unlock. The calculator must answer the unlock code as fast as
any sum, and the passphrase, the duress passphrase and a wrong one must take the same time."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from app.field import calculator as calculator_mod
from app.field.calculator import CalculatorScreen
from app.field.context import FieldContext, RecordingNavigator
from app.field.entry import make_service
from app.i18n import Translator
from app.services.fake_field import FakeFieldService
from app.services.field import UNLOCK_FLOOR_SECONDS, VaultFieldService
from app.services.field_types import UnlockFailed

T = TypeVar("T")
CODE = "739105628417"
PASS = "walnut orchard lantern 1987"
DURESS = "sunny morning in Karakol"


class ThreadNavigator(RecordingNavigator):
    """Runs blocking work in a thread, as the app shell does."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)


class SlowUnlock(FakeFieldService):
    """A fake whose key derivation takes `delay` seconds and can be held."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.started = threading.Event()

    def unlock(self, passphrase: str) -> None:
        self.started.set()
        time.sleep(self.delay)
        super().unlock(passphrase)


def shown_after(keys: str, monkeypatch: pytest.MonkeyPatch) -> tuple[float, str, bool]:
    """Seconds from pressing the last key to the display being sent, what it showed, and
    whether the vault was unlocked by then."""
    service = SlowUnlock(delay=0.4)
    service.create(CODE, language="ru", disguise=True)
    service.lock()
    ctx = FieldContext(service, Translator("ru", "field"), ThreadNavigator())
    screen = CalculatorScreen(ctx)
    screen.build()
    shown: list[tuple[float, str, bool]] = []

    def refresh(control: Any) -> None:
        shown.append((time.perf_counter(), str(control.value), service.unlocked))

    monkeypatch.setattr(calculator_mod, "refresh", refresh)

    async def type_keys() -> float:
        for key in keys[:-1]:
            await screen.press(key)
        started = time.perf_counter()
        await screen.press(keys[-1])
        return started

    started = asyncio.run(type_keys())
    at, value, unlocked = shown[-1]
    return at - started, value, unlocked


def test_the_unlock_code_is_on_the_screen_before_the_key_derivation_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code_s, code_shown, unlocked_then = shown_after(CODE + "=", monkeypatch)
    sum_s, sum_shown, _ = shown_after("123456+1=", monkeypatch)
    assert code_shown == CODE and sum_shown == "123457"
    assert not unlocked_then  # the answer came first; the derivation (0.4 s) came after
    assert code_s < 0.1 and sum_s < 0.1


def test_a_wrong_code_is_answered_as_fast_as_a_sum(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong_s, wrong_shown, _ = shown_after("111111111111=", monkeypatch)
    assert wrong_shown == "111111111111" and wrong_s < 0.1


def timed_unlock(service: VaultFieldService, passphrase: str, slept: list[float]) -> float:
    """The time the unlock's own work took (the sleep it asked for is recorded, not slept)."""
    slept.clear()
    started = time.monotonic()
    with contextlib.suppress(UnlockFailed):
        service.unlock(passphrase)
    work = time.monotonic() - started
    assert len(slept) == 1, "every outcome is padded"
    return work


def test_the_passphrase_the_duress_passphrase_and_a_wrong_one_all_take_the_floor(
    tmp_path: Path,
) -> None:
    floor = 30.0  # far above any unlock here: what is asked of `sleep` shows the padding
    slept: list[float] = []
    service = VaultFieldService(
        tmp_path / "phone", kdf_log_n=15, unlock_floor=floor, sleep=slept.append
    )
    service.create(PASS, duress=DURESS, language="ru")
    service.save_note(None, "a real note", shared=False)
    service.lock()
    padded = []
    for passphrase in ("not it at all", PASS, DURESS):
        work = timed_unlock(service, passphrase, slept)
        padded.append(work + slept[0])
        service.lock()
    assert all(abs(total - floor) < 0.05 for total in padded)


def test_the_phone_app_pads_every_unlock_to_one_second(tmp_path: Path) -> None:
    service = make_service(tmp_path / "phone")
    assert isinstance(service, VaultFieldService)
    assert service.unlock_floor == UNLOCK_FLOOR_SECONDS == 1.0
