"""How big the next upload chunk should be, from how fast the last ones went.

Use `ChunkPacer(largest=...)`: read `size` before sending a chunk, then report what happened
with `sent(nbytes, seconds)` or `cut()`. The engine keeps one pacer for as long as it lives, so
what one round learnt about the link carries into the next; its `largest` is the engine's
`CHUNK_SIZE` (128 MiB), and the uploader sends no more than the server takes (`chunk_limit`,
`SERVER_CHUNK_LIMIT` unless the server says) nor holds more than `LARGEST` in memory.

A chunk is the unit a cut connection loses (the server keeps only whole, authenticated chunks),
so the pacer aims for chunks that take `target_seconds` on the link as measured: it starts small
(`first`, 256 KiB), moves towards `throughput × target_seconds` after every chunk (growing at
most fourfold at a time, so one lucky measurement cannot jump to a chunk the link cannot carry),
and halves after a cut. On loopback it reaches `largest` within a few chunks; at 200 KiB/s it
settles near 400 KiB, so a cut costs about a second of transfer instead of a whole 16 MiB chunk.

Why two seconds: the next chunk goes only after the server's answer, so every chunk leaves the
link idle for one round trip (a few hundred milliseconds on 2G/3G); much shorter chunks would
waste the link's time, much longer ones its bytes when it drops.

Danger: the timing includes the server's answer, so it is a slight under-estimate of the link;
that errs on the side of smaller chunks, which only costs a few hundred bytes of headers each.
"""

from __future__ import annotations

LARGEST = 16 * 1024 * 1024
"""The largest chunk held in memory (hashed on the way, or for a server from before upload
digests); chunks streamed from the spool may be as large as the server takes."""
SERVER_CHUNK_LIMIT = 16 * 1024 * 1024
"""The largest chunk a server takes if its `POST /v1/blobs` answer does not say otherwise."""
HEADER_CHUNK_LIMIT = "X-FieldVault-Chunk-Limit"
"""The `POST /v1/blobs` answer's header naming the largest chunk the server takes, in bytes."""
FIRST = 256 * 1024
SMALLEST = 64 * 1024
TARGET_SECONDS = 2.0
MAX_GROWTH = 4


class ChunkPacer:
    def __init__(
        self,
        *,
        largest: int = LARGEST,
        first: int = FIRST,
        smallest: int = SMALLEST,
        target_seconds: float = TARGET_SECONDS,
    ) -> None:
        if largest <= 0 or smallest <= 0 or first <= 0 or target_seconds <= 0:
            raise ValueError("chunk sizes and the target time must be positive")
        self.largest = largest
        self.smallest = min(smallest, largest)
        self.target_seconds = target_seconds
        self.size = self._clamp(first)

    def _clamp(self, size: float) -> int:
        return int(max(self.smallest, min(self.largest, size)))

    @property
    def ceiling(self) -> int:
        """The largest `size` can be after the next `sent`: read this much ahead, and a pacer
        that grows finds its whole next chunk already read."""
        return self._clamp(self.size * MAX_GROWTH)

    def sent(self, nbytes: int, seconds: float) -> None:
        """A chunk of `nbytes` was acknowledged `seconds` after it started."""
        if nbytes <= 0:
            return
        ideal = nbytes / max(seconds, 1e-3) * self.target_seconds
        self.size = self._clamp(min(ideal, self.size * MAX_GROWTH))

    def cut(self) -> None:
        """The connection dropped during a chunk: the link is worse than it looked."""
        self.size = self._clamp(self.size // 2)

    def limit(self, largest: int) -> None:
        """The server refused a chunk as too large: never send more than `largest` again."""
        self.largest = max(self.smallest, largest)
        self.size = self._clamp(self.size)
