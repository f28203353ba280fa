"""ASCII armor: the age file as strict PEM-style base64 text.

    -----BEGIN AGE ENCRYPTED FILE-----
    base64 (standard alphabet, padded), 64 columns per line, the last line shorter or full
    -----END AGE ENCRYPTED FILE-----

`ArmorWriter(dst)` encodes on the fly (call `close()` to write the footer); `ArmorReader(src)`
decodes line by line in constant memory. Leading and trailing whitespace (at most 1 KiB) around
the armor is tolerated, as the reference implementation does; anything else raises `ArmorError`.
"""

from __future__ import annotations

import base64
import binascii

from sync.age.errors import ArmorError
from sync.age.reader import BufferedSource, LineTooLong
from sync.age.stream import Writable

HEADER = b"-----BEGIN AGE ENCRYPTED FILE-----"
FOOTER = b"-----END AGE ENCRYPTED FILE-----"
COLUMNS_PER_LINE = 64
BYTES_PER_LINE = COLUMNS_PER_LINE // 4 * 3
MAX_WHITESPACE = 1024
_LINE_LIMIT = 4096
_BATCH_LINES = 1024


class ArmorWriter:
    """A file-like writer that armors everything written to it."""

    def __init__(self, dst: Writable) -> None:
        self._dst = dst
        self._pending = bytearray()
        self._dst.write(HEADER + b"\n")

    def write(self, data: bytes) -> int:
        self._pending += data
        whole = len(self._pending) - len(self._pending) % BYTES_PER_LINE
        if whole >= BYTES_PER_LINE * _BATCH_LINES:
            self._emit(bytes(self._pending[:whole]))
            del self._pending[:whole]
        return len(data)

    def _emit(self, data: bytes) -> None:
        encoded = base64.b64encode(data)
        lines = [
            encoded[i : i + COLUMNS_PER_LINE] for i in range(0, len(encoded), COLUMNS_PER_LINE)
        ]
        self._dst.write(b"\n".join(lines) + b"\n")

    def close(self) -> None:
        if self._pending:
            self._emit(bytes(self._pending))
            self._pending.clear()
        self._dst.write(FOOTER + b"\n")


class ArmorReader:
    """A file-like reader returning the binary age file inside an armored stream."""

    def __init__(self, source: BufferedSource) -> None:
        self._source = source
        self._started = False
        self._done = False
        self._unread = b""

    def _line(self) -> bytes:
        try:
            line = self._source.read_line(_LINE_LIMIT)
        except LineTooLong:
            raise ArmorError("armor line too long") from None
        if not line:
            raise ArmorError("armor truncated")
        if line.endswith(b"\n"):
            line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        return line

    def _start(self) -> None:
        skipped = 0
        while True:
            line = self._line()
            if not line.strip():
                skipped += len(line) + 1
                if skipped > MAX_WHITESPACE:
                    raise ArmorError("too much whitespace before the armor")
                continue
            if line != HEADER:
                raise ArmorError("invalid armor header line")
            self._started = True
            return

    def _finish(self) -> None:
        self._done = True
        rest = self._source.read_exact(MAX_WHITESPACE)
        if rest.strip():
            raise ArmorError("trailing data after the armor")
        if len(rest) == MAX_WHITESPACE:
            raise ArmorError("too much trailing whitespace after the armor")

    def _next_block(self) -> bytes:
        if not self._started:
            self._start()
        # Fast path: a run of full 64-column lines (no CR, padding or footer) decodes at once.
        text = self._source.read_whole_lines(_BATCH_LINES * (COLUMNS_PER_LINE + 1))
        if text and b"\r" not in text and b"=" not in text and b"-" not in text:
            lines = text.split(b"\n")
            lines.pop()
            if set(map(len, lines)) == {COLUMNS_PER_LINE}:
                try:
                    return base64.b64decode(b"".join(lines), validate=True)
                except (binascii.Error, ValueError):
                    raise ArmorError("invalid base64 in armor") from None
        self._source.unread(text)
        return self._next_lines()

    def _next_lines(self) -> bytes:
        """Decode up to `_BATCH_LINES` lines; only the last line of the armor may be short."""
        lines: list[bytes] = []
        while len(lines) < _BATCH_LINES:
            line = self._line()
            if line == FOOTER:
                self._finish()
                break
            if len(line) == COLUMNS_PER_LINE and b"=" not in line:
                lines.append(line)
                continue
            if not line or len(line) > COLUMNS_PER_LINE:
                raise ArmorError("armor line empty or too long")
            lines.append(line)
            if self._line() != FOOTER:
                raise ArmorError("invalid armor footer line")
            self._finish()
            break
        encoded = b"".join(lines)
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ArmorError("invalid base64 in armor") from None
        if base64.b64encode(data) != encoded:
            raise ArmorError("non-canonical base64 in armor")
        return data

    def read(self, n: int = -1) -> bytes:
        parts: list[bytes] = []
        if n is None or n < 0:
            while True:
                block = self.read(1 << 16)
                if not block:
                    return b"".join(parts)
                parts.append(block)
        size = 0
        while size < n:
            if not self._unread:
                if self._done:
                    break
                self._unread = self._next_block()
                continue
            take = self._unread[: n - size]
            self._unread = self._unread[len(take) :]
            parts.append(take)
            size += len(take)
        return b"".join(parts)
