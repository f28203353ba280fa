"""Support code for the age tests: reading the C2SP CCTV vectors, finding reference tools."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import zlib
from pathlib import Path

VECTOR_DIR = Path(__file__).resolve().parent.parent / "vectors" / "age-cctv"
AGE_TOOL = shutil.which("age")
AGE_KEYGEN_TOOL = shutil.which("age-keygen")


@dataclasses.dataclass(frozen=True)
class Vector:
    name: str
    expect: str
    payload: str | None
    identities: tuple[str, ...]
    passphrases: tuple[str, ...]
    armored: bool
    body: bytes

    @property
    def is_pq(self) -> bool:
        return any(i.startswith("AGE-SECRET-KEY-PQ-") for i in self.identities)


def load_vector(path: Path) -> Vector:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    fields: dict[str, list[str]] = {}
    for line in head.decode("utf-8").splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    if fields.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return Vector(
        name=path.name,
        expect=fields["expect"][0],
        payload=fields.get("payload", [None])[0],
        identities=tuple(fields.get("identity", [])),
        passphrases=tuple(fields.get("passphrase", [])),
        armored=fields.get("armored") == ["yes"],
        body=body,
    )


def all_vectors() -> list[Vector]:
    skip = {"README.md", "LICENSE"}
    return [load_vector(p) for p in sorted(VECTOR_DIR.iterdir()) if p.name not in skip]


class HashingSink:
    """A write-only file that hashes what it is given (released plaintext)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
