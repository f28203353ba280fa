"""Check and open pulled envelopes, in parallel worker processes when there are many.

Use `Examiner(identity, keys)` as a context manager and `examiner.examine_all(items)`: for each
feed item it parses the envelope, verifies its signature against the author's key, and decrypts
and parses the payload, returning one `Examined` per item in order. Nothing here touches a vault
or the network, so the work can run in other processes: with `parallel=True` and at least
`PARALLEL_MIN` items, a pool of worker processes (one per CPU) shares it, which is what keeps a
coordinator's pull of a large backlog within budget (signature checks and X25519 unwraps
dominate and do not release the GIL).

Danger: worker processes receive this coordinator's age identity (a secret key) at start-up;
they live only for one pull and are shut down at the end of the `with` block.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from sync import envelope
from sync.age.keys import parse_identity
from sync.payload import Payload, PayloadError, parse_payload

# `fork`, because `spawn` and `forkserver` re-import the program's main module in each worker
# (which, for an app started as a script, would start the app again). Workers only run the pure
# functions below (parsing, `cryptography` calls), never code that takes a lock another thread
# could hold at fork time.
_START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
PARALLEL_MIN = 100  # a full feed page: there is a backlog
_CHUNK = 25


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


def _init_worker(identity: str, keys: dict[str, bytes]) -> None:
    _worker["identities"] = [parse_identity(identity)]
    _worker["keys"] = keys


def _examine_chunk(items: list[dict[str, Any]]) -> list[Examined]:
    return [examine(item, _worker["keys"], _worker["identities"]) for item in items]


class Examiner:
    def __init__(self, identity: str, keys: dict[str, bytes], *, parallel: bool = True) -> None:
        self._identity = identity
        self.keys = keys
        self._identities = [parse_identity(identity)]
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
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=os.cpu_count() or 2,
                mp_context=multiprocessing.get_context(_START_METHOD),
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
