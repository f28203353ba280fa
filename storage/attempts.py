"""The failed-unlock counter, the wipe threshold and the "we created the directory" flag.

They live in their own small file, `attempts`, outside the key file, because they must change
while the vault is locked (every wrong passphrase) and rewriting the key file each time would
leave stale copies of wrapped keys in freed flash blocks. Nothing here is secret: someone holding
the files can copy them and guess offline anyway; the counter limits guessing through the app.

Use `Attempts.load(path)` and `save(path, tmp_dir)`. A missing or damaged file reads as zero
failures with the default threshold (it is rewritten on the next change), so damage to it can
never lock the owner out.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from pathlib import Path

from storage.files import atomic_write

MAGIC = b"FVA\x01"
DEFAULT_WIPE_THRESHOLD = 10
FLAG_CREATED_DIR = 0x01
_BODY = struct.Struct(">4sIIB3x")
SIZE = _BODY.size + 4


@dataclasses.dataclass(frozen=True)
class Attempts:
    failed: int = 0
    threshold: int = DEFAULT_WIPE_THRESHOLD
    created_dir: bool = False

    def __post_init__(self) -> None:
        if self.failed < 0 or not 0 <= self.threshold < 2**32:
            raise ValueError("wipe threshold must be between 0 (off) and 2^32-1")

    @property
    def attempts_left(self) -> int | None:
        if self.threshold == 0:
            return None
        return max(0, self.threshold - self.failed)

    @property
    def exhausted(self) -> bool:
        return self.threshold > 0 and self.failed >= self.threshold

    def to_bytes(self) -> bytes:
        flags = FLAG_CREATED_DIR if self.created_dir else 0
        body = _BODY.pack(MAGIC, min(self.failed, 2**32 - 1), self.threshold, flags)
        return body + struct.pack(">I", zlib.crc32(body))

    @classmethod
    def parse(cls, data: bytes) -> Attempts | None:
        if len(data) != SIZE:
            return None
        body = data[: _BODY.size]
        if struct.unpack(">I", data[_BODY.size :])[0] != zlib.crc32(body):
            return None
        magic, failed, threshold, flags = _BODY.unpack(body)
        if magic != MAGIC:
            return None
        return cls(failed, threshold, bool(flags & FLAG_CREATED_DIR))

    @classmethod
    def load(cls, path: Path) -> Attempts:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls()
        return cls.parse(data) or cls()

    def save(self, path: Path, tmp_dir: Path) -> None:
        atomic_write(path, self.to_bytes(), tmp_dir)
