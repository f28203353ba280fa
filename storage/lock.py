"""The exclusive vault lock: `fcntl.flock` on the `lock` file of the data directory.

Use `VaultLock.acquire(path)` (raises `VaultInUse` when held elsewhere, including by another
`Vault` object in the same process, since each acquisition opens its own file description) and
`release()`. On platforms without `fcntl` (Windows) locking is a no-op: importing never fails.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from storage.errors import VaultInUse
from storage.files import translating_os_errors

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class VaultLock:
    __slots__ = ("_fd",)

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    @classmethod
    def acquire(cls, path: Path) -> VaultLock:
        with translating_os_errors():
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is None:  # pragma: no cover - Windows
            return cls(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise VaultInUse() from None
        except BaseException:
            os.close(fd)
            raise
        return cls(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        with contextlib.suppress(OSError):
            os.close(fd)
