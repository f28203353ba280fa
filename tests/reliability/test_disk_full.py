"""Resource limits: a full disk gives a clear `StorageFull` and loses nothing acknowledged.

Two forms of the same check:
- a real, tiny tmpfs mounted for the test (only where the machine allows mounting: root in a
  permissive container or VM; skipped with the reason elsewhere);
- a simulated disk at the file layer: `os.write` fails with ENOSPC once a byte budget is spent,
  which runs everywhere, CI included.

In both, records are saved until the vault refuses; every record saved before is still there,
the refused one is not, and once space is back the vault reopens and saves again.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.records import Kind, Record
from storage import StorageFull, Vault

PASSPHRASE = "disk full passphrase"
RECORD_BYTES = 16 * 1024


def _note(i: int) -> Record:
    return Record(kind=Kind.NOTE, data={"i": i, "blob": os.urandom(RECORD_BYTES // 2).hex()})


def _fill_until_full(vault: Vault, limit: int = 100_000) -> tuple[dict[str, Any], str]:
    """Save records until the vault refuses; return what was saved and the refused id."""
    saved: dict[str, Any] = {}
    for i in range(limit):
        record = _note(i)
        try:
            stored = vault.put(record)
        except StorageFull as exc:
            assert "passphrase" not in str(exc).lower()
            return saved, record.id
        saved[stored.id] = stored.data
    raise AssertionError("the disk never filled up")


def _check_intact(path: Path, saved: dict[str, Any], refused: str | None) -> None:
    vault = Vault.open(path, PASSPHRASE)
    try:
        present = {r.id: r.data for r in vault.list(kind=Kind.NOTE)}
        assert refused not in present
        assert present == saved
        after = vault.put(_note(-1))
        assert vault.get(after.id).data == after.data
    finally:
        vault.lock()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'not permitted'})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_real_full_disk_refuses_with_storage_full_and_keeps_every_saved_record(
    tmpfs: Path,
) -> None:
    ballast = tmpfs / "ballast"
    ballast.write_bytes(os.urandom(256 * 1024))
    path = tmpfs / "vault"
    vault = Vault.create(path, PASSPHRASE, kdf_log_n=15)
    try:
        saved, refused = _fill_until_full(vault)
        assert len(saved) > 10
    finally:
        vault.lock()
    ballast.unlink()  # space comes back, as when the user deletes a video
    _check_intact(path, saved, refused)


class SimulatedDisk:
    """`os.write` that fails with ENOSPC once `budget` bytes have been written through it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
        self.left = budget
        self._real_write = os.write
        monkeypatch.setattr(os, "write", self._write)

    def _write(self, fd: int, data: bytes | memoryview) -> int:
        size = len(data)
        if size > self.left:
            if self.left > 0:  # a short write first, like a real disk at its last block
                written = self._real_write(fd, bytes(data)[: self.left])
                self.left = 0
                return written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.left -= size
        return self._real_write(fd, data)


def test_a_simulated_full_disk_refuses_with_storage_full_and_keeps_every_saved_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vault"
    vault = Vault.create(path, PASSPHRASE, kdf_log_n=15)
    try:
        with monkeypatch.context() as patch:
            SimulatedDisk(patch, budget=600 * 1024)
            saved, refused = _fill_until_full(vault)
        assert len(saved) > 10
    finally:
        vault.lock()
    _check_intact(path, saved, refused)


def test_compaction_on_a_full_disk_fails_cleanly_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vault"
    vault = Vault.create(path, PASSPHRASE, kdf_log_n=15)
    try:
        saved: dict[str, Any] = {}
        for i in range(40):
            stored = vault.put(_note(i))
            saved[stored.id] = stored.data
        for record_id in list(saved)[:20]:  # make compaction worth doing
            vault.delete(record_id)
            del saved[record_id]
        with monkeypatch.context() as patch:
            SimulatedDisk(patch, budget=4 * 1024)
            with pytest.raises(StorageFull):
                vault.compact()
        assert {r.id: r.data for r in vault.list(kind=Kind.NOTE)} == saved
    finally:
        vault.lock()
    leftovers = [p for p in path.rglob("*") if p.is_file() and "tmp" in p.relative_to(path).parts]
    assert leftovers == [], "a failed compaction left a temporary file behind"
    _check_intact(path, saved, None)
    shutil.rmtree(path)
