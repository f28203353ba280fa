"""A small buffered reader over a binary stream, used while parsing an age file.

It reads lines with a hard length limit (for the header) and exact-size blocks (for payload
chunks) without ever holding more than one chunk in memory. `read_exact(n)` returns fewer than
`n` bytes only at the end of the stream.
"""

from __future__ import annotations

from typing import Protocol


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class LineTooLong(Exception):
    """A line exceeded the limit given to `read_line`."""


class BufferedSource:
    """Wraps anything with `read(n)` (a file, a pipe, an armor decoder)."""

    __slots__ = ("_buffer", "_eof", "_raw")

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._buffer = bytearray()
        self._eof = False

    def _fill(self, want: int) -> None:
        while len(self._buffer) < want and not self._eof:
            block = self._raw.read(max(want - len(self._buffer), 8192))
            if not block:
                self._eof = True
            else:
                self._buffer += block

    def read_line(self, limit: int) -> bytes:
        """Return the next line including its `\\n`, or what is left at end of stream.

        Raise `LineTooLong` if no newline appears within `limit` bytes.
        """
        start = 0
        while True:
            index = self._buffer.find(b"\n", start)
            if index >= 0:
                if index + 1 > limit:
                    raise LineTooLong()
                line = bytes(self._buffer[: index + 1])
                del self._buffer[: index + 1]
                return line
            if len(self._buffer) > limit:
                raise LineTooLong()
            if self._eof:
                line = bytes(self._buffer)
                self._buffer.clear()
                return line
            start = len(self._buffer)
            self._fill(len(self._buffer) + 1)

    def read_exact(self, n: int) -> bytes:
        """Return exactly `n` bytes, or fewer only when the stream ends first."""
        if not self._buffer and not self._eof:
            first = self._raw.read(n)
            if len(first) == n:
                return first
            if not first:
                self._eof = True
                return b""
            self._buffer += first
        self._fill(n)
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def read_whole_lines(self, max_bytes: int) -> bytes:
        """Up to `max_bytes` bytes ending just after a newline (b"" if no full line fits)."""
        self._fill(max_bytes)
        end = self._buffer.rfind(b"\n", 0, max_bytes)
        if end < 0:
            return b""
        out = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        return out

    def unread(self, data: bytes) -> None:
        """Put `data` back in front of the stream."""
        self._buffer[:0] = data

    def at_eof(self) -> bool:
        """True when no byte is left (reads ahead by at most one block)."""
        self._fill(1)
        return not self._buffer

    def starts_with_after_whitespace(self, prefix: bytes, max_whitespace: int) -> bool:
        """Peek: does the stream start with `prefix` after at most `max_whitespace` spaces?"""
        self._fill(max_whitespace + len(prefix))
        head = bytes(self._buffer[: max_whitespace + len(prefix)])
        return head.lstrip().startswith(prefix)
