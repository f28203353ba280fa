"""The wipe-check file as the sync layer sees it: a typed port, free of I/O.

`storage.checkfile.CheckFile` keeps the file on disk; `sync.wipecheck` seals what goes in it
and reads it back through this port, so sync never imports storage.

Danger: the file is readable before unlock by design. Whatever is written must be sealed to
exactly `SIZE` bytes (a shorter file would tell how much it holds).
"""

from __future__ import annotations

from typing import Protocol

SIZE = 4096
"""The file's one size, whatever it holds."""


class CheckFilePort(Protocol):
    def read(self) -> bytes | None:
        """The sealed bytes, or None if there is no whole file."""
        ...

    def write(self, sealed: bytes) -> None:
        """Replace the file atomically with `sealed` (exactly `SIZE` bytes)."""
        ...
