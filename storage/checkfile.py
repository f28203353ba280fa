"""The wipe-check file on disk: `<data dir>/state`, always exactly `SIZE` bytes.

Use `CheckFile(data_dir)` (what `sync.wipecheck` reads and writes through), or
`write_check_file(data_dir, sealed)` with what `sync.wipecheck.seal` made and
`read_check_file(data_dir)` at start. The bytes are opaque here (sealed under a key the phone's
keystore holds); this module only keeps them whole: written atomically, read back only when
the size is right. The wipe overwrites and removes the file together with the key file
(`storage.wipe.destroy_keys`).

Danger: the file is readable before unlock by design. Never write anything here that is not
sealed to the full `SIZE` (a shorter file would tell how much it holds).
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from core.checkfile_port import SIZE
from storage.files import atomic_write, fsync_dir
from storage.layout import Layout

__all__ = ["SIZE", "CheckFile", "read_check_file", "remove_check_file", "write_check_file"]


class CheckFile:
    """The wipe-check file of the data directory `data_dir` (satisfies
    `core.checkfile_port.CheckFilePort`, which `sync.wipecheck` takes)."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = data_dir

    def read(self) -> bytes | None:
        return read_check_file(self.data_dir)

    def write(self, sealed: bytes) -> None:
        write_check_file(self.data_dir, sealed)


if TYPE_CHECKING:  # the port sync.wipecheck is typed against
    from core.checkfile_port import CheckFilePort

    _PORT: type[CheckFilePort] = CheckFile


def write_check_file(data_dir: str | os.PathLike[str], sealed: bytes) -> None:
    """Replace the file with `sealed` (exactly `SIZE` bytes; anything else is a ValueError)."""
    if len(sealed) != SIZE:
        raise ValueError("the wipe-check file is exactly 4096 bytes")
    layout = Layout.at(data_dir)
    layout.tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(layout.state, sealed, layout.tmp, prefix="state-")


def read_check_file(data_dir: str | os.PathLike[str]) -> bytes | None:
    """The file's bytes, or None if there is none (or it is not `SIZE` bytes long)."""
    try:
        with open(Layout.at(data_dir).state, "rb") as handle:
            data = handle.read(SIZE + 1)
    except OSError:
        return None
    return data if len(data) == SIZE else None


def remove_check_file(data_dir: str | os.PathLike[str]) -> None:
    """Overwrite and remove the file (nothing happens if there is none)."""
    from storage.wipe import overwrite_and_unlink

    layout = Layout.at(data_dir)
    with contextlib.suppress(OSError):
        if overwrite_and_unlink(layout.state):
            fsync_dir(layout.root)
