"""The files and directories of a vault's data directory, in one place.

```
<data dir>/
  key        the key file (fixed size; see docs/formats/vault.md)
  attempts   failed-unlock counter and wipe threshold (no secrets; updatable while locked)
  journal    the encrypted record journal
  lock       target of the exclusive flock
  state      the sealed wipe-check file (fixed size, see storage.checkfile); phones only
  blobs/     encrypted attachments, one file per attachment, random names
  spool/     ciphertext staged by others (age blobs waiting for upload)
  tmp/       temporary files for atomic replaces; always on the same file system
```

Only `storage` opens anything in here. `Layout.ours()` lists every entry the wipe removes.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

KEY = "key"
ATTEMPTS = "attempts"
JOURNAL = "journal"
LOCK = "lock"
STATE = "state"
BLOBS = "blobs"
SPOOL = "spool"
TMP = "tmp"


class _Entry:
    """A `Layout` attribute: the path of one entry below the data directory."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, layout: Layout, owner: type[Layout] | None = None) -> Path:
        return layout.root / self.name


@dataclasses.dataclass(frozen=True)
class Layout:
    root: Path

    key = _Entry(KEY)
    attempts = _Entry(ATTEMPTS)
    journal = _Entry(JOURNAL)
    lock = _Entry(LOCK)
    state = _Entry(STATE)
    blobs = _Entry(BLOBS)
    spool = _Entry(SPOOL)
    tmp = _Entry(TMP)

    @classmethod
    def at(cls, path: str | os.PathLike[str]) -> Layout:
        return cls(Path(path))

    def make_dirs(self) -> None:
        for directory in (self.blobs, self.spool, self.tmp):
            directory.mkdir(mode=0o700, exist_ok=True)

    def files(self) -> tuple[Path, ...]:
        """Plain files in the order the wipe removes them after the key file."""
        return (self.journal, self.attempts, self.lock)

    def dirs(self) -> tuple[Path, ...]:
        return (self.blobs, self.spool, self.tmp)
