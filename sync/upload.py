"""Sending one spooled blob to the server in signed chunks: `BlobUploader.upload`.

The sync engine owns one `BlobUploader` for as long as it lives (what it learnt about the link
and the server carries into the next round) and calls `upload(client, entry, report)` for each
queued blob (`sync.outbox.pending_blobs`); marking the entry sent is the engine's job.

The upload asks the server for its offset, then sends the rest from the spool in chunks sized to
the link (`sync.pacing`: 256 KiB at first, then what takes about two seconds at the measured
rate, up to the largest chunk the server takes, `Client.chunk_limit`; halved after a cut;
capped at a quarter of the refused size after a 413); `offset_mismatch` answers carry the
server's offset. `upload_busy` (the server is still receiving another chunk of this upload,
usually this phone's own from a connection that was cut on the way) ends the round with that
retryable error: the sync loop backs off and the next round resumes from the server's offset.
Each chunk is signed over the blob's SHA-256 through the chunk's end (`sync.auth`), taken from
the digests noted when the blob was spooled where a chunk ends on one (`_Checkpoints`), hashed
on the way otherwise; a server from before that (`bad_signature`) gets chunks signed over their
own SHA-256. A chunk that ends on a noted digest is read from the spool
while it is sent (`SpoolSlice`: 1 MiB of memory whatever its size); the others, at most
`HELD_CHUNK`, are read into memory (`_Window`), the next one while the current one is on the
wire. A cut connection costs the chunk in flight; the next round resumes from the server's
offset, reading that chunk from the spool again.

Danger: the spool reader is shared by the chunk being sent (held or streamed) and the one read
ahead on a worker thread; only one of them may touch it at a time (the read ahead is always
waited for first, and none is started while a chunk is streamed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, cast

from core.crypto.hashing import sha256_hex
from core.records import Record
from core.vault_port import DeviceVaultPort
from sync.client import Client, SpoolFile, SpoolSlice
from sync.encoding import EncodingError, b64u_decode
from sync.errors import (
    Offline,
    OffsetMismatch,
    ProtocolError,
    ServerRefused,
    SyncError,
    Timeout,
)
from sync.outbox import CHECKPOINT_BYTES
from sync.pacing import LARGEST, ChunkPacer

HELD_CHUNK = LARGEST
"""The largest chunk read into memory: one hashed on the way (no noted digest at its end) or
sent to a server from before upload digests. Others are streamed from the spool."""
MAX_BLOB_RESTARTS = 2
"""Times one upload starts again from 0 after `hash_mismatch` before the error is raised."""
MAX_STALLS = 8
"""Answers in a row that leave the upload where it was (`offset_mismatch`, or an acknowledged
chunk whose offset did not move forward) before the server is taken to be broken or hostile."""


class UploadReport(Protocol):
    bytes_uploaded: int


# eq=False: compared by identity.
# repr=False: it holds the open vault, which no log may show.
@dataclasses.dataclass(eq=False, repr=False)
class BlobUploader:
    """Uploads spooled blobs for one engine.

    Chunks are signed over the upload's running SHA-256 (`sync.auth`) unless the server
    predates that (`upload_digests` turns False); the hash of what the server acknowledged is
    kept per blob, so a round resuming where the last one stopped need not hash the blob from
    its start again.
    """

    vault: DeviceVaultPort
    pacer: ChunkPacer
    _: dataclasses.KW_ONLY
    check_cancel: Callable[[], None]
    progress: Callable[[str, int, int], None]
    upload_digests: bool = dataclasses.field(default=True, init=False)
    _acknowledged: dict[str, tuple[int, Any]] = dataclasses.field(default_factory=dict, init=False)

    def upload(self, client: Client, entry: Record, report: UploadReport) -> bool:
        """Send the rest of one queued blob; True when the server says it is complete."""
        size = int(entry.data["size"])
        digest = str(entry.data["sha256"])
        offset = client.blob_begin(entry.id, size, digest)
        if offset >= size:
            self._acknowledged.pop(entry.id, None)
            return bool(client.blob_status(entry.id).get("complete", offset == size))
        restarts = stalls = 0
        pacer = self.pacer
        known = _Checkpoints(entry.data, size)
        # One worker reads (and, where no checkpoint gives the digest, hashes) the next chunk
        # while the current one is on the wire. Only one thread touches the reader at a time:
        # `ahead` is always waited for first.
        with (
            self.vault.spool_reader(entry.data["spool"]) as source,
            ThreadPoolExecutor(max_workers=1) as reader,
        ):
            window = _Window(source, *self._acknowledged.pop(entry.id, (0, None)))
            streams = _can_stream(source)
            ahead: Future[tuple[bytes, Any]] | None = None
            while True:
                self.check_cancel()
                if ahead is not None:
                    window.extend(*ahead.result())
                    ahead = None
                chunk, upload_hex, ahead = self._chunk_at(
                    client, window, reader, known, offset, size, streams
                )
                started, start = time.monotonic(), offset
                try:
                    offset, complete = self._send(client, entry.id, offset, chunk, upload_hex)
                except OffsetMismatch as exc:
                    offset = _server_offset(exc.offset, size)
                    stalls = _stalled(stalls)
                    continue
                except (Offline, Timeout) as exc:
                    pacer.cut()  # the next round resumes from the server's offset
                    exc.progressed = report.bytes_uploaded > 0
                    self._remember(entry.id, window)
                    raise
                except ServerRefused as exc:
                    if exc.reason == "upload_busy":  # retryable: try again in a later round
                        self._remember(entry.id, window)
                        raise
                    if exc.reason == "bad_signature" and self.upload_digests:
                        self.upload_digests = False  # a server from before upload digests
                        continue
                    if exc.reason == "body_too_large" and len(chunk) > pacer.smallest:
                        pacer.limit(len(chunk) // 4)  # an older server
                        continue
                    restarts += 1
                    if exc.reason == "hash_mismatch" and restarts <= MAX_BLOB_RESTARTS:
                        offset = 0  # the server dropped what it had; send it all again
                        known = _Checkpoints({}, size)  # hash as it goes, trusting no note
                        continue
                    raise
                offset = _server_offset(offset, size)
                stalls = _stalled(stalls) if offset <= start else 0
                pacer.sent(len(chunk), time.monotonic() - started)
                window.drop_before(offset)
                report.bytes_uploaded += len(chunk)
                self.progress(entry.id, offset, size)
                if complete:
                    return True
                if offset >= size:
                    return bool(client.blob_status(entry.id).get("complete"))

    def _chunk_at(
        self,
        client: Client,
        window: _Window,
        reader: ThreadPoolExecutor,
        known: _Checkpoints,
        offset: int,
        size: int,
        streams: bool,
    ) -> tuple[bytes | SpoolSlice, str | None, Future[tuple[bytes, Any]] | None]:
        """The next chunk, from `offset`: (its bytes, or a `SpoolSlice` if it ends on a noted
        digest and the spool `streams`; the upload's digest through it, None if the server
        predates upload digests; the read ahead started for the chunk after it, if any)."""
        room = min(self.pacer.size, client.chunk_limit, size - offset)
        want = known.fit(offset, room)
        upload_hex = known.at(offset + want) if self.upload_digests else None
        if streams and upload_hex is not None:
            window.forget(offset + want)  # the slice moves the reader
            return SpoolSlice(cast(SpoolFile, window.source), offset, want), upload_hex, None
        want = known.fit(offset, min(room, HELD_CHUNK))
        upload_hex = known.at(offset + want) if self.upload_digests else None
        need_hash = self.upload_digests and upload_hex is None
        chunk, through = window.take(offset, want, hashed=need_hash)
        if not chunk and offset < size:
            raise SyncError("the spooled blob is shorter than queued", reason="spool_damaged")
        if need_hash:
            upload_hex = through.hexdigest()
        following = offset + len(chunk)
        ahead = None
        if following < size and following == window.end:
            ahead = self._read_ahead(
                reader, window.source, known, following, size, through, streams
            )
        return chunk, upload_hex, ahead

    def _send(
        self,
        client: Client,
        blob_id: str,
        offset: int,
        chunk: bytes | SpoolSlice,
        upload_hex: str | None,
    ) -> tuple[int, bool]:
        if upload_hex is not None:
            return client.blob_chunk(blob_id, offset, chunk, upload_sha256=upload_hex)
        assert isinstance(chunk, bytes)  # only chunks signed over the upload's digest stream
        return client.blob_chunk(blob_id, offset, chunk, sha256=sha256_hex(chunk))

    def _read_ahead(
        self,
        reader: ThreadPoolExecutor,
        source: Any,
        known: _Checkpoints,
        following: int,
        size: int,
        through: Any,
        streams: bool,
    ) -> Future[tuple[bytes, Any]] | None:
        """Start reading the chunk after this one while this one is on the wire: as much as
        the pacer may ask for next, so that growing costs no join; bytes to hash only as many
        as it asks now, as they are hashed again if it then asks for fewer (slow links, where
        joins cost nothing). None when there is nothing to read ahead yet, or when the next
        chunk ends on a noted digest and `streams` (it is then read while it is sent)."""
        pacer = self.pacer
        reach = known.fit(following, min(pacer.ceiling, HELD_CHUNK, size - following))
        if not self.upload_digests or known.at(following + reach) is not None:
            if streams and self.upload_digests:
                return None
            return reader.submit(_read_hashed, source, reach, None)
        if through is not None:
            next_want = known.fit(following, min(pacer.size, size - following))
            return reader.submit(_read_hashed, source, next_want, through)
        return None

    def _remember(self, blob_id: str, window: _Window) -> None:
        """Keep the running hash of what the server acknowledged, for the next round."""
        if window.state is None:
            return
        self._acknowledged[blob_id] = (window.start, window.state.copy())
        while len(self._acknowledged) > 8:
            self._acknowledged.pop(next(iter(self._acknowledged)))


class _Checkpoints:
    """The digests of a spooled blob noted when it was spooled (`sync.outbox`): at every
    multiple of `CHECKPOINT_BYTES`, and at its end. Entries spooled before them have none."""

    def __init__(self, data: dict[str, Any], size: int) -> None:
        try:
            self._digests = b64u_decode(str(data.get("checkpoints", "")))
        except EncodingError:
            self._digests = b""
        self._count = min(len(self._digests) // 32, size // CHECKPOINT_BYTES)
        self._size = size
        self._sha256 = str(data.get("sha256", "")) or None

    def fit(self, offset: int, want: int) -> int:
        """`want` bytes from `offset`, ending on the last checkpoint within them if the chunk
        spans one (so it needs no hashing)."""
        end = offset + want
        if want >= CHECKPOINT_BYTES and end < self._size:
            aligned = min(end - end % CHECKPOINT_BYTES, self._count * CHECKPOINT_BYTES)
            if aligned > offset:
                return aligned - offset
        return want

    def at(self, end: int) -> str | None:
        """SHA-256 hex of the blob's first `end` bytes, if noted."""
        if end == self._size:
            return self._sha256
        index, rest = divmod(end, CHECKPOINT_BYTES)
        if rest or not 1 <= index <= self._count:
            return None
        return self._digests[(index - 1) * 32 : index * 32].hex()


class _Window:
    """Spooled bytes read but not yet acknowledged by the server: `[start, end)` of the blob.

    Chunk sizes change from one chunk to the next, and a cut chunk is sent again (perhaps
    smaller), so the bytes are kept until the server counts them rather than read again. The
    spool reader stands at `end`.

    Hashing, only where no checkpoint gives a chunk's digest: `state` is the running SHA-256 of
    the blob's first `start` bytes, `end_state` that of its first `end` bytes (a piece read
    ahead is hashed on the reader's thread); None when unknown, because the bytes before were
    sent under checkpoint digests. A chunk that then needs hashing rereads the blob from its
    start (rare: a fast link turned slow in the middle of a blob).
    """

    def __init__(self, source: Any, start: int = 0, state: Any = None) -> None:
        self.source = source
        self.start = 0
        self.data = b""
        self.state: Any = hashlib.sha256()
        self.end_state: Any = self.state.copy()
        if start and state is not None:  # where the last round was acknowledged
            self.start = _seek(source, 0, start)
            if self.start == start:
                self.state, self.end_state = state, state.copy()
            else:
                self._rewind()

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    def extend(self, data: bytes, end_state: Any) -> None:
        """Add a piece read ahead (the reader moved past it), hashed through its end or not."""
        self.data = self.data + data if self.data else data
        self.end_state = end_state

    def drop_before(self, offset: int) -> None:
        """The server holds everything before `offset`: forget what was read of it (into the
        running hash, if kept). Never reads: the reader may be reading ahead meanwhile."""
        if offset <= self.start:
            return
        if offset >= self.end:
            self.state = self.end_state.copy() if self.end_state is not None else None
            self.start, self.data = self.end, b""
            return
        dropped = offset - self.start
        if self.state is not None:
            self.state.update(self.data[:dropped])
        self.data = self.data[dropped:]
        self.start += dropped

    def forget(self, position: int) -> None:
        """The bytes before `position` go straight from the spool to the server (a streamed
        chunk, which moves the reader): stand the reader at `position`, holding nothing and
        with the running hash unknown (sent under a noted digest)."""
        self.start = _seek(self.source, self.end, position)
        self.data, self.state, self.end_state = b"", None, None

    def _rewind(self) -> None:
        self.start = _seek(self.source, self.end, 0)
        self.data, self.state = b"", hashlib.sha256()
        self.end_state = self.state.copy()

    def take(self, offset: int, want: int, *, hashed: bool) -> tuple[bytes, Any]:
        """Up to `want` bytes at `offset`, and (`hashed`) the running hash through them."""
        if offset < self.start or (hashed and self.state is None):
            self._rewind()
        self.drop_before(offset)
        while self.start < offset:  # past what was read: skip (hash) the bytes up to it
            more = self.source.read(min(1 << 20, offset - self.start))
            if not more:
                break
            if self.state is not None:
                self.state.update(more)
            self.start += len(more)
            self.end_state = self.state.copy() if self.state is not None else None
        while len(self.data) < want:
            more = self.source.read(want - len(self.data))
            if not more:
                break
            self.data, self.end_state = (self.data + more if self.data else more), None
        chunk = self.data[:want]
        if not hashed:
            if len(chunk) == len(self.data):
                self.end_state = None  # sent under a noted digest: not hashed here
            return chunk, None
        if len(chunk) == len(self.data) and self.end_state is not None:
            return chunk, self.end_state.copy()
        through = self.state.copy()
        through.update(chunk)
        if len(chunk) == len(self.data):
            self.end_state = through.copy()
        return chunk, through


def _server_offset(offset: int, size: int) -> int:
    """The server's answer where the upload stands, if it is within the blob."""
    if not 0 <= offset <= size:
        raise ProtocolError(f"the server's offset {offset} is outside the blob of {size} bytes")
    return offset


def _stalled(stalls: int) -> int:
    """One more answer in a row that did not move the upload forward; too many is an error."""
    if stalls + 1 >= MAX_STALLS:
        raise ProtocolError("the server's offset does not move forward")
    return stalls + 1


def _can_stream(source: Any) -> bool:
    """Whether chunks can be read from `source` while they are sent (`SpoolSlice`)."""
    seekable = getattr(source, "seekable", None)
    return callable(seekable) and bool(seekable()) and hasattr(source, "readinto")


def _read_hashed(source: Any, size: int, state: Any) -> tuple[bytes, Any]:
    """Read the next `size` bytes; the running hash `state` (a copy) carried through them, or
    None without one."""
    data = source.read(size)
    if state is None:
        return data, None
    state = state.copy()
    state.update(data)
    return data, state


def _seek(source: Any, position: int, offset: int) -> int:
    """Move a spool reader to `offset` (seek if it can, else reopen is the caller's job)."""
    if hasattr(source, "seek") and getattr(source, "seekable", lambda: False)():
        source.seek(offset)
        return offset
    if offset < position:
        raise SyncError("cannot rewind the spooled blob", reason="spool_not_seekable")
    while position < offset:
        skipped = source.read(min(1 << 20, offset - position))
        if not skipped:
            break
        position += len(skipped)
    return position
