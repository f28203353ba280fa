"""Check and open pulled envelopes, in parallel worker processes when that is safe.

Use `Examiner(identity, keys)` as a context manager and `wait = examiner.submit(items)`, then
`wait()`: for each feed item it parses the envelope, verifies its signature against the author's
key, and decrypts and parses the payload, returning one `Examined` per item in order. Nothing
here touches a vault or the network, so the work can run in other processes: with
`parallel=True`, at least `PARALLEL_MIN` items, and a process that runs a single thread (the
command line), a pool of worker processes (one per CPU) shares it while the caller stores the
previous page. Otherwise (an app, whose UI and sync run threads) everything runs in the calling
thread.

Why not always: the pool forks, and forking a process while another thread holds a lock (a
logging handler, an allocator, an import) leaves that lock held forever in the child, which can
hang. `spawn` and `forkserver` avoid that but re-import the program's main module in each
worker (for an app started as a script: start the app again) and cost about 0.3 s to start.
Worker threads do not help: signature checks and X25519 unwraps hold the GIL (measured: two
threads slower than one).

Danger: worker processes receive this coordinator's age identity (a secret key) at start-up;
they live only for one pull and are shut down at the end of the `with` block.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from sync import envelope
from sync.age.keys import parse_identity
from sync.payload import Payload, PayloadError, parse_payload

_CAN_FORK = "fork" in multiprocessing.get_all_start_methods()
PARALLEL_MIN = 100  # a full feed page: there is a backlog
_CHUNK = 25


def fork_is_safe() -> bool:
    """True if this process can fork now without risking a lock held by another thread."""
    return _CAN_FORK and threading.active_count() == 1


@dataclasses.dataclass(slots=True)
class Examined:
    """What one feed item turned out to be. `sealed` is None if it did not even parse."""

    sealed: envelope.Envelope | None
    signature: str  # "valid", "invalid" or "unknown_author"
    reason: str = ""
    payload: Payload | None = None
    not_for_me: bool = False


def examine(item: dict[str, Any], keys: dict[str, bytes], identities: Sequence[Any]) -> Examined:
    try:
        sealed = envelope.from_wire(item.get("envelope"))
    except envelope.EnvelopeError as exc:
        return Examined(None, "invalid", exc.reason)
    public = keys.get(sealed.author)
    if public is None:
        return Examined(sealed, "unknown_author", "unknown_author")
    result = Examined(sealed, "valid")
    try:
        envelope.verify(sealed, public)
    except envelope.EnvelopeError as exc:
        result.signature, result.reason = "invalid", exc.reason
    try:
        result.payload = parse_payload(envelope.open_(sealed, identities))
    except envelope.NotForMe:
        result.not_for_me = True
    except (envelope.EnvelopeError, PayloadError) as exc:
        result.reason = result.reason or exc.reason
    return result


_worker: dict[str, Any] = {}


def _init_worker(identities: tuple[str, ...], keys: dict[str, bytes]) -> None:
    _worker["identities"] = [parse_identity(i) for i in identities]
    _worker["keys"] = keys


def _examine_chunk(items: list[dict[str, Any]]) -> list[Examined]:
    return [examine(item, _worker["keys"], _worker["identities"]) for item in items]


class Examiner:
    def __init__(
        self, identity: str | Sequence[str], keys: dict[str, bytes], *, parallel: bool = True
    ) -> None:
        # one identity, or several (a coordinator's current one and those before a key change)
        self._identity = (identity,) if isinstance(identity, str) else tuple(identity)
        self.keys = keys
        self._identities = [parse_identity(i) for i in self._identity]
        self._parallel = parallel and (os.cpu_count() or 1) > 1
        self._pool: Executor | None = None

    def __enter__(self) -> Examiner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, items: list[dict[str, Any]]) -> Callable[[], list[Examined]]:
        """Start examining `items`; call the returned function to wait for the results."""
        if not self._parallel or (len(items) < PARALLEL_MIN and self._pool is None):
            done = [examine(item, self.keys, self._identities) for item in items]
            return lambda: done
        if self._pool is None and not fork_is_safe():
            self._parallel = False  # decided once per pull: in this thread from now on
            done = [examine(item, self.keys, self._identities) for item in items]
            return lambda: done
        if self._pool is None:
            # With `fork`, the executor starts every worker here, before its own thread.
            self._pool = ProcessPoolExecutor(
                max_workers=os.cpu_count() or 2,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker,
                initargs=(self._identity, dict(self.keys)),
            )
        pool = self._pool
        futures = [
            pool.submit(_examine_chunk, items[i : i + _CHUNK]) for i in range(0, len(items), _CHUNK)
        ]

        def gather() -> list[Examined]:
            out: list[Examined] = []
            for future in futures:
                out.extend(future.result())
            return out

        return gather

    def again(self, item: dict[str, Any]) -> Examined:
        """Examine one item here, with the current keys (after learning a new author)."""
        return examine(item, self.keys, self._identities)
