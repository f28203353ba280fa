"""The spool: staging for ciphertext encrypted by someone else (age blobs awaiting upload).

Use `Spool(spool_dir, tmp_dir)`: `writer(name)` returns a file you write to inside a `with`
block; the file appears under its name only when the block ends without error (temp file,
fsync, rename, fsync directory); on error or `abort()` nothing appears. `reader(name)`,
`size(name)`, `delete(name)` and `names()` do what they say.

Names are 1-128 characters of `[A-Za-z0-9._-]`, not starting with a dot: no path can escape the
spool directory.

Danger: the spool stores bytes as given. Only put ciphertext here.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from storage.errors import SpoolNotFound
from storage.files import fsync_dir, temp_name, translating_os_errors, write_all

_NAME = re.compile(r"\A[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\Z")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError("spool names are 1-128 of A-Z a-z 0-9 . _ - and do not start with a dot")
    return name


class CommitsOnExit:
    """`with` support for spool writers: commit when the block ends cleanly, abort on error.

    Subclasses define `commit()`, `abort()` and `closed`; a writer already closed is left alone.
    """

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.closed:
            return
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class SpoolWriter(CommitsOnExit):
    """A write-only file that becomes visible atomically when closed without error."""

    def __init__(self, target: Path, tmp_dir: Path) -> None:
        self._target = target
        self._tmp = temp_name(tmp_dir, "spool-")
        with translating_os_errors():
            self._fd: int | None = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.written = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._fd is None:
            raise ValueError("spool writer is closed")
        with translating_os_errors():
            try:
                write_all(self._fd, data)
            except BaseException:
                self.abort()
                raise
        self.written += len(data)
        return len(data)

    def writable(self) -> bool:
        return True

    def commit(self) -> None:
        """fsync, then rename into place. Raises `StorageFull` (and discards) on a full disk."""
        fd, self._fd = self._fd, None
        if fd is None:
            raise ValueError("spool writer is closed")
        with translating_os_errors():
            try:
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(self._tmp, self._target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(self._tmp)
                raise
            fsync_dir(self._target.parent)

    def abort(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)

    close = commit

    @property
    def closed(self) -> bool:
        return self._fd is None


class Spool:
    def __init__(self, spool_dir: Path, tmp_dir: Path) -> None:
        self._dir = spool_dir
        self._tmp = tmp_dir

    def _path(self, name: str) -> Path:
        return self._dir / check_name(name)

    def writer(self, name: str) -> SpoolWriter:
        return SpoolWriter(self._path(name), self._tmp)

    def reader(self, name: str) -> IO[bytes]:
        try:
            return open(self._path(name), "rb")
        except FileNotFoundError:
            raise SpoolNotFound(name) from None

    def size(self, name: str) -> int:
        try:
            return self._path(name).stat().st_size
        except FileNotFoundError:
            raise SpoolNotFound(name) from None

    def delete(self, name: str) -> None:
        """Remove a spool file; removing one that is absent is not an error."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(name))

    def names(self) -> list[str]:
        try:
            return sorted(entry.name for entry in os.scandir(self._dir) if entry.is_file())
        except FileNotFoundError:
            return []
