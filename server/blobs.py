"""Where blob bytes live: a small interface, and a directory implementation of it.

Use `DirectoryBlobStore(path)`. An upload is written to `partial/<random>`; when its hash is
verified it is renamed, atomically, to `complete/<random>` (a fresh random name, so a file's name
says nothing about the blob id or its uploader). The database maps blob ids to names. An
S3-compatible store would implement the same five verbs (multipart upload for `write_at`).

Danger: names are generated here and checked on the way back in; never build a path from
anything a client sent.
"""

from __future__ import annotations

import abc
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

_NAME = re.compile(r"\A[0-9a-f]{32}\Z")
READ_SIZE = 1024 * 1024


class BlobStore(abc.ABC):
    @abc.abstractmethod
    def create(self) -> str:
        """Start an empty upload; return its name."""

    @abc.abstractmethod
    def write_at(self, name: str, offset: int, data: bytes) -> None:
        """Make the upload exactly `offset` bytes long, append `data`, and make it durable."""

    @abc.abstractmethod
    def digest(self, name: str) -> str | None:
        """SHA-256 hex of the upload so far (None if it is missing)."""

    @abc.abstractmethod
    def finish(self, name: str) -> str:
        """Make a verified upload permanent under a new name; return that name."""

    @abc.abstractmethod
    def read(self, name: str) -> Iterator[bytes]:
        """The bytes of a finished blob, in pieces."""

    @abc.abstractmethod
    def size(self, name: str) -> int: ...

    @abc.abstractmethod
    def discard(self, name: str) -> None:
        """Forget an upload (missing is fine)."""


class DirectoryBlobStore(BlobStore):
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.partial = self.root / "partial"
        self.complete = self.root / "complete"
        self.partial.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.complete.mkdir(parents=True, exist_ok=True, mode=0o700)

    @staticmethod
    def _check(name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("not a blob file name")
        return name

    def create(self) -> str:
        name = secrets.token_hex(16)
        fd = os.open(self.partial / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        return name

    def write_at(self, name: str, offset: int, data: bytes) -> None:
        path = self.partial / self._check(name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, offset)
            view = memoryview(data)
            position = offset
            while view:
                written = os.pwrite(fd, view, position)
                view = view[written:]
                position += written
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def digest(self, name: str) -> str | None:
        path = self.partial / self._check(name)
        hasher = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                while piece := handle.read(READ_SIZE):
                    hasher.update(piece)
        except FileNotFoundError:
            return None
        return hasher.hexdigest()

    def finish(self, name: str) -> str:
        final = secrets.token_hex(16)
        os.replace(self.partial / self._check(name), self.complete / final)
        fd = os.open(self.complete, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return final

    def read(self, name: str) -> Iterator[bytes]:
        with (self.complete / self._check(name)).open("rb") as handle:
            while piece := handle.read(READ_SIZE):
                yield piece

    def size(self, name: str) -> int:
        return (self.complete / self._check(name)).stat().st_size

    def discard(self, name: str) -> None:
        for folder in (self.partial, self.complete):
            (folder / self._check(name)).unlink(missing_ok=True)
