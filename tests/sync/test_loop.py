"""The opportunistic loop: triggers, coalescing, backoff with jitter, pause while locked."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from sync.errors import DeviceRevoked, Offline, ServerKeyChanged
from sync.loop import SyncLoop


class _Rounds:
    """A stand-in for `SyncEngine.run_once`: records calls, can block, fail or be cancelled."""

    def __init__(self, outcomes: list[Any] | None = None, duration: float = 0.0) -> None:
        self.calls: list[int] = []
        self.outcomes = list(outcomes or [])
        self.duration = duration
        self.cancelled = threading.Event()

    def __call__(self) -> str:
        self.calls.append(threading.get_ident())
        deadline = time.monotonic() + self.duration
        while time.monotonic() < deadline and not self.cancelled.is_set():
            time.sleep(0.005)
        if self.outcomes:
            outcome = self.outcomes.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
        return "ok"

    def cancel(self) -> None:
        self.cancelled.set()


async def _until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


def _run(body: Callable[[], Any]) -> Any:
    return asyncio.run(body())


def test_a_trigger_runs_one_round_off_the_event_loop_thread() -> None:
    rounds = _Rounds()

    async def body() -> None:
        loop = SyncLoop(rounds, interval=60)
        task = asyncio.create_task(loop.run())
        loop.trigger("start")
        await _until(lambda: loop.rounds == 1)
        await loop.stop()
        await task

    _run(body)
    assert len(rounds.calls) == 1
    assert rounds.calls[0] != threading.get_ident()


def test_triggers_during_a_round_coalesce_into_one_more_round() -> None:
    rounds = _Rounds(duration=0.2)

    async def body() -> None:
        loop = SyncLoop(rounds, interval=60)
        task = asyncio.create_task(loop.run())
        loop.trigger("start")
        await _until(lambda: len(rounds.calls) == 1)
        for reason in ("connectivity", "manual", "resume", "connectivity"):
            loop.trigger(reason)
        await _until(lambda: loop.rounds == 2)
        await asyncio.sleep(0.3)
        await loop.stop()
        await task

    _run(body)
    assert len(rounds.calls) == 2


def test_retryable_failures_back_off_exponentially_with_jitter_up_to_a_cap() -> None:
    loop = SyncLoop(lambda: None, base_delay=10, max_delay=100, jitter=0.2, rng=lambda: 1.0)
    delays = []
    for failures in range(6):
        loop.failures = failures
        delays.append(loop.next_delay())
    assert delays[1:] == [12.0, 24.0, 48.0, 96.0, 120.0]
    low = SyncLoop(lambda: None, base_delay=10, jitter=0.2, rng=lambda: 0.0)
    low.failures = 1
    assert low.next_delay() == 8.0


def test_a_failure_then_a_success_resets_the_backoff_and_the_timer_retries() -> None:
    rounds = _Rounds([Offline("down"), Offline("down")])
    errors: list[str] = []

    async def body() -> None:
        loop = SyncLoop(
            rounds,
            interval=60,
            base_delay=0.02,
            jitter=0.0,
            on_error=lambda e: errors.append(e.reason),
        )
        task = asyncio.create_task(loop.run())
        loop.trigger("start")
        await _until(lambda: loop.rounds == 3)
        assert loop.failures == 0 and loop.last_error is None
        await loop.stop()
        await task

    _run(body)
    assert errors == ["offline", "offline"]


def test_nothing_runs_while_paused_and_resume_runs_a_round() -> None:
    rounds = _Rounds()

    async def body() -> None:
        loop = SyncLoop(rounds, interval=0.01, start_paused=True)
        task = asyncio.create_task(loop.run())
        loop.trigger("manual")
        await asyncio.sleep(0.1)
        assert rounds.calls == []
        loop.resume()
        await _until(lambda: len(rounds.calls) >= 1)
        await loop.stop()
        await task

    _run(body)


def test_pause_cancels_the_round_in_flight_and_waits_for_it() -> None:
    rounds = _Rounds(duration=10)

    async def body() -> None:
        loop = SyncLoop(rounds, cancel=rounds.cancel, interval=60)
        task = asyncio.create_task(loop.run())
        loop.trigger("start")
        await _until(lambda: len(rounds.calls) == 1)
        started = time.monotonic()
        await loop.pause()
        assert rounds.cancelled.is_set()
        assert time.monotonic() - started < 1
        assert loop.rounds == 1  # the round had finished when pause returned
        await loop.stop()
        await task

    _run(body)


def test_a_revoked_device_keeps_checking_for_a_wipe_on_the_slow_timer() -> None:
    rounds = _Rounds([DeviceRevoked(), DeviceRevoked()])

    async def body() -> None:
        loop = SyncLoop(rounds, interval=0.01, base_delay=0.01, max_delay=30, jitter=0)
        task = asyncio.create_task(loop.run())
        loop.trigger("start")
        await _until(lambda: loop.revoked)
        assert loop.next_delay() == 30  # the slow timer, not the normal interval
        loop.trigger("manual")
        await _until(lambda: len(rounds.calls) == 2)
        await asyncio.sleep(0.1)
        assert len(rounds.calls) == 2  # no fast retries while revoked
        await loop.stop()
        await task

    _run(body)
    assert len(rounds.calls) == 2


def test_an_unfixable_error_halts_the_timer_until_a_manual_sync() -> None:
    rounds = _Rounds([ServerKeyChanged("swapped")])

    async def body() -> None:
        loop = SyncLoop(rounds, interval=0.01, base_delay=0.01)
        task = asyncio.create_task(loop.run())
        loop.trigger("start")
        await _until(lambda: loop.halted)
        loop.trigger("connectivity")
        await asyncio.sleep(0.1)
        assert len(rounds.calls) == 1
        loop.trigger("manual")
        await _until(lambda: len(rounds.calls) == 2)
        await loop.stop()
        await task

    _run(body)


def test_unknown_triggers_are_refused() -> None:
    loop = SyncLoop(lambda: None)
    with pytest.raises(ValueError):
        loop.trigger("whenever")


def test_a_failed_round_that_moved_data_retries_soon_instead_of_backing_off_further() -> None:
    cuts_after_progress = [Offline("cut") for _ in range(4)]
    for cut in cuts_after_progress:
        cut.progressed = True
    rounds = _Rounds([Offline("down"), Offline("down"), Offline("down"), *cuts_after_progress])

    async def body() -> None:
        loop = SyncLoop(rounds, interval=60, base_delay=0.05, jitter=0.0)
        task = asyncio.create_task(loop.run())
        loop.trigger("start")
        await _until(lambda: loop.rounds == 3)
        assert loop.failures == 3  # backing off: the next round is 0.2 s away
        await _until(lambda: loop.rounds == 5)
        assert loop.failures == 1  # each cut after progress: retried after base_delay
        await loop.stop()
        await task

    _run(body)


def test_paused_is_read_only_so_only_resume_lets_rounds_start_again() -> None:
    loop = SyncLoop(lambda: None, start_paused=True)
    with pytest.raises(AttributeError):
        loop.paused = False  # type: ignore[misc]
    assert loop.paused
