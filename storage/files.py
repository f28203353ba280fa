"""Low-level file operations the vault builds on: full writes, fsync, atomic replace.

Use `write_all`, `sync_data`, `atomic_write` (or `atomic_file` to stream), `fsync_dir` and
`overwrite_random` (shredding a file's bytes before it goes); wrap
write paths in `translating_os_errors()` so disk-full and read-only failures become `StorageFull`.
They call `os.write` / `os.fsync` / `os.fdatasync` through the `os` module at call time, so tests
can inject faults by monkeypatching those functions.

Danger: `atomic_write` is only atomic when the temporary file and the target are on the same
file system; the vault keeps its `tmp/` directory inside the data directory for that reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from core.crypto.random import random_bytes
from storage.errors import StorageFull

_FULL_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG}
OVERWRITE_CHUNK = 1024 * 1024


def is_full_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


@contextlib.contextmanager
def translating_os_errors() -> Iterator[None]:
    """Turn disk-full / read-only `OSError`s into `StorageFull` (chained)."""
    try:
        yield
    except OSError as exc:
        if is_full_error(exc):
            raise StorageFull(os.strerror(exc.errno or errno.ENOSPC)) from exc
        raise


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write every byte of `data` to `fd`, looping over short writes."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "short write")
        view = view[written:]


def overwrite_random(fd: int, length: int) -> None:
    """Overwrite the first `length` bytes of `fd` with random bytes, a chunk at a time (files
    can be large). Not flushed: the caller syncs."""
    os.lseek(fd, 0, os.SEEK_SET)
    left = length
    while left > 0:
        chunk = min(left, OVERWRITE_CHUNK)
        write_all(fd, random_bytes(chunk))
        left -= chunk


def sync_data(fd: int) -> None:
    """Flush file contents (and the size) to stable storage."""
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # pragma: no cover - macOS / Windows
        os.fsync(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable. A no-op where directories can't be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(tmp_dir: Path, prefix: str = "") -> Path:
    return tmp_dir / f"{prefix}{random_bytes(12).hex()}.tmp"


@contextlib.contextmanager
def atomic_file(target: Path, tmp_dir: Path, *, prefix: str = "") -> Iterator[int]:
    """Yield a descriptor of a new temp file; when the block ends without error, fsync it,
    rename it over `target` and fsync the directory. On any error the temp file is removed and
    `target` is left as it was. Raises `StorageFull` on a full or read-only disk.
    """
    tmp = temp_name(tmp_dir, prefix)
    with translating_os_errors():
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                yield fd
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        fsync_dir(target.parent)


def atomic_write(target: Path, data: bytes, tmp_dir: Path, *, prefix: str = "") -> None:
    """Replace `target` with `data`: write a temp file, fsync, rename, fsync the directory.

    Raises `StorageFull` on a full or read-only disk, leaving `target` as it was.
    """
    with atomic_file(target, tmp_dir, prefix=prefix) as fd:
        write_all(fd, data)


def read_file(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()
