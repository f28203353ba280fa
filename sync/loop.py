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
import dataclasses
import random
from collections.abc import Callable
from typing import Any

from sync.errors import DeviceRevoked, SyncError

TRIGGERS = ("start", "resume", "connectivity", "manual", "timer")


# eq=False: compared by identity.
# repr=False: it holds callbacks into the open vault, which no log may show.
@dataclasses.dataclass(eq=False, repr=False)
class SyncLoop:
    """Runs `round_` on triggers and on its timer (see the module docstring).

    The keywords are its configuration (`start_paused=True` starts it paused). `failures`,
    `rounds`, `last_error`, `revoked` and `halted` are its state: read them, but change them
    only through `trigger`, `pause` and `resume`. `paused` is read-only: only `resume` may let
    rounds start again (never while the vault is locked).
    """

    round_: Callable[[], Any]
    _: dataclasses.KW_ONLY
    cancel: Callable[[], None] | None = None
    interval: float = 900.0
    base_delay: float = 15.0
    max_delay: float = 3600.0
    jitter: float = 0.2
    rng: Callable[[], float] = random.random
    on_result: Callable[[Any], None] | None = None
    on_error: Callable[[SyncError], None] | None = None
    start_paused: dataclasses.InitVar[bool] = False
    failures: int = dataclasses.field(default=0, init=False)
    rounds: int = dataclasses.field(default=0, init=False)
    last_error: SyncError | None = dataclasses.field(default=None, init=False)
    revoked: bool = dataclasses.field(default=False, init=False)
    halted: bool = dataclasses.field(default=False, init=False)
    _wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event, init=False)
    _pending: set[str] = dataclasses.field(default_factory=set, init=False)
    _running: asyncio.Future[Any] | None = dataclasses.field(default=None, init=False)
    _stopping: bool = dataclasses.field(default=False, init=False)
    _paused: bool = dataclasses.field(default=False, init=False)

    def __post_init__(self, start_paused: bool) -> None:
        self._paused = start_paused

    @property
    def paused(self) -> bool:
        return self._paused

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
            if self.cancel is not None:
                self.cancel()
            with contextlib.suppress(Exception):
                await asyncio.shield(running)

    def resume(self) -> None:
        """Allow rounds again (after unlocking) and run one straight away."""
        self._paused = False
        self.trigger("resume")

    def next_delay(self) -> float:
        """Seconds until the timer fires, from the current failure count (with jitter)."""
        if self.revoked:
            base = self.max_delay
        elif self.failures == 0:
            base = self.interval
        else:
            base = min(self.max_delay, self.base_delay * 2 ** (self.failures - 1))
        spread = base * self.jitter
        return max(0.0, base - spread + 2 * spread * self.rng())

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
            if self.paused or not self._pending:
                continue
            if self.halted and "manual" not in self._pending:
                self._pending.clear()
                continue
            self._pending.clear()
            await self._run_round()

    async def _run_round(self) -> None:
        self._running = asyncio.ensure_future(asyncio.to_thread(self.round_))
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
            if self.on_error is not None:
                self.on_error(error)
            return
        finally:
            self.rounds += 1
            self._running = None
        self.failures = 0
        self.last_error = None
        if self.on_result is not None:
            self.on_result(result)
