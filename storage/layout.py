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


@dataclasses.dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def at(cls, path: str | os.PathLike[str]) -> Layout:
        return cls(Path(path))

    @property
    def key(self) -> Path:
        return self.root / KEY

    @property
    def attempts(self) -> Path:
        return self.root / ATTEMPTS

    @property
    def journal(self) -> Path:
        return self.root / JOURNAL

    @property
    def lock(self) -> Path:
        return self.root / LOCK

    @property
    def state(self) -> Path:
        return self.root / STATE

    @property
    def blobs(self) -> Path:
        return self.root / BLOBS

    @property
    def spool(self) -> Path:
        return self.root / SPOOL

    @property
    def tmp(self) -> Path:
        return self.root / TMP

    def make_dirs(self) -> None:
        for directory in (self.blobs, self.spool, self.tmp):
            directory.mkdir(mode=0o700, exist_ok=True)

    def files(self) -> tuple[Path, ...]:
        """Plain files in the order the wipe removes them after the key file."""
        return (self.journal, self.attempts, self.lock)

    def dirs(self) -> tuple[Path, ...]:
        return (self.blobs, self.spool, self.tmp)
