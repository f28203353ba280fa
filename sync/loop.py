"""The opportunistic sync loop the apps run: sync whenever there is a chance, never while locked.

Use it from the app's asyncio event loop:

    loop = SyncLoop(engine.run_once, cancel=engine.cancel)
    task = asyncio.create_task(loop.run())
    loop.trigger("start")            # also "resume", "connectivity", "manual"
    await loop.pause()               # before locking the vault: cancels and awaits the round
    loop.resume()                    # after unlocking
    await loop.stop()

A round (`SyncEngine.run_once`) runs in a worker thread (`asyncio.to_thread`), so the UI never
blocks. Triggers that arrive during a round coalesce into one more round afterwards. Between
triggers a timer fires: `interval` after a good round; after a retryable failure (offline,
timeout, 5xx) an exponential backoff `base_delay * 2**(failures-1)` capped at `max_delay`, with
±`jitter` randomisation so a fleet of phones regaining signal together does not stampede. A
failed round that still moved data (`SyncError.progressed`: an upload cut after some chunks
got through) counts as the first failure again: the link works, badly, and a long video on a
link that drops every minute keeps going every `base_delay` instead of waiting an hour.
A failure that retrying cannot fix (changed server key, TLS pin mismatch) stops the timer; only
an explicit "manual" trigger tries again. A revoked device keeps a slow timer (`max_delay`) and
answers every trigger, because the engine then only checks for commands: a remote wipe ordered
after the revocation must still reach the phone. It never pushes again.

Nothing runs while the vault is locked. The device's signing key, its age identity and the
sealed outbox all live inside the vault, so a locked vault cannot authenticate a request or even
read what is queued; `pause()` must be awaited before `vault.lock()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Any

from sync.errors import DeviceRevoked, SyncError

TRIGGERS = ("start", "resume", "connectivity", "manual", "timer")


class SyncLoop:
    def __init__(
        self,
        round_: Callable[[], Any],
        *,
        cancel: Callable[[], None] | None = None,
        interval: float = 900.0,
        base_delay: float = 15.0,
        max_delay: float = 3600.0,
        jitter: float = 0.2,
        rng: Callable[[], float] = random.random,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[SyncError], None] | None = None,
        paused: bool = False,
    ) -> None:
        self._round = round_
        self._cancel = cancel
        self.interval = interval
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self._rng = rng
        self._on_result = on_result
        self._on_error = on_error
        self.failures = 0
        self.rounds = 0
        self.last_error: SyncError | None = None
        self.revoked = False
        self.halted = False
        self._paused = paused
        self._wake = asyncio.Event()
        self._pending: set[str] = set()
        self._running: asyncio.Future[Any] | None = None
        self._stopping = False

    # -- called by the app ------------------------------------------------------------------

    def trigger(self, reason: str) -> None:
        """Ask for a round soon. Safe to call any time, from the event loop's thread."""
        if reason not in TRIGGERS:
            raise ValueError(f"unknown sync trigger: {reason}")
        if reason == "manual":
            self.halted = False
        self._pending.add(reason)
        self._wake.set()

    async def pause(self) -> None:
        """Stop starting rounds; cancel and wait for the one in flight (call before locking)."""
        self._paused = True
        running = self._running
        if running is not None and not running.done():
            if self._cancel is not None:
                self._cancel()
            with contextlib.suppress(Exception):
                await asyncio.shield(running)

    def resume(self) -> None:
        """Allow rounds again (after unlocking) and run one straight away."""
        self._paused = False
        self.trigger("resume")

    @property
    def paused(self) -> bool:
        return self._paused

    def next_delay(self) -> float:
        """Seconds until the timer fires, from the current failure count (with jitter)."""
        if self.revoked:
            base = self.max_delay
        elif self.failures == 0:
            base = self.interval
        else:
            base = min(self.max_delay, self.base_delay * 2 ** (self.failures - 1))
        spread = base * self.jitter
        return max(0.0, base - spread + 2 * spread * self._rng())

    async def stop(self) -> None:
        self._stopping = True
        await self.pause()
        self._wake.set()

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        while not self._stopping:
            delay = None if self.halted else self.next_delay()
            try:
                if delay is None:
                    await self._wake.wait()
                else:
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                self._pending.add("timer")
            self._wake.clear()
            if self._stopping:
                return
            if self._paused or not self._pending:
                continue
            if self.halted and "manual" not in self._pending:
                self._pending.clear()
                continue
            self._pending.clear()
            await self._run_round()

    async def _run_round(self) -> None:
        self._running = asyncio.ensure_future(asyncio.to_thread(self._round))
        try:
            result = await asyncio.shield(self._running)
        except Exception as exc:
            error = (
                exc
                if isinstance(exc, SyncError)
                else SyncError(type(exc).__name__, reason="internal_error")
            )
            self.last_error = error
            if isinstance(error, DeviceRevoked):
                self.revoked = True
            elif error.retryable:
                self.failures = 1 if error.progressed else self.failures + 1
            else:
                self.halted = True
            if self._on_error is not None:
                self._on_error(error)
            return
        finally:
            self.rounds += 1
            self._running = None
        self.failures = 0
        self.last_error = None
        if self._on_result is not None:
            self._on_result(result)
