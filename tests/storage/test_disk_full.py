"""Disk full or read-only while attaching, spooling, changing settings or counting failures:
a clear `StorageFull` (or the usual answer) and the previous state intact."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from core.records import Record
from storage import StorageFull, Vault, WrongPassphrase
from storage.attempts import Attempts
from tests.storage.conftest import DURESS, PASSPHRASE, snapshot


def _fail_with(code: int) -> Callable[..., object]:
    def fail(*args: object, **kwargs: object) -> object:
        raise OSError(code, os.strerror(code))

    return fail


def _writes_fail_after(limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.write accepts `limit` bytes in total, then fails with ENOSPC."""
    real_write = os.write
    budget = [limit]

    def write(fd: int, data: bytes) -> int:
        if budget[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        chunk = bytes(data)[: budget[0]]
        budget[0] -= len(chunk)
        return real_write(fd, chunk)

    monkeypatch.setattr(os, "write", write)


def test_disk_full_during_attach_leaves_no_partial_attachment(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = vault.attach(b"already here", media_type="text/plain")
    before = snapshot(vault_path)
    with monkeypatch.context() as patch:
        _writes_fail_after(200_000, patch)
        with pytest.raises(StorageFull):
            vault.attach(os.urandom(1_000_000), media_type="video/mp4")
    assert snapshot(vault_path) == before
    assert [a.id for a in vault.attachments()] == [kept.id]


def test_read_only_disk_during_spooling_leaves_nothing_behind(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", _fail_with(errno.EROFS))
        with pytest.raises(StorageFull), vault.spool_writer("blob.age") as out:
            out.write(b"ciphertext")
    assert vault.spool_names() == []
    assert os.listdir(vault_path / "tmp") == []


def test_disk_full_while_changing_passphrase_keeps_the_old_passphrase(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.put(Record(kind="note", data={}))
    before = (vault_path / "key").read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", _fail_with(errno.ENOSPC))
        with pytest.raises(StorageFull):
            vault.change_passphrase(PASSPHRASE, "new")
        with pytest.raises(StorageFull):
            vault.set_duress_passphrase(DURESS)
        with pytest.raises(StorageFull):
            vault.settings.wipe_threshold = 2
    assert (vault_path / "key").read_bytes() == before
    assert vault.settings.wipe_threshold == 10
    vault.lock()
    Vault.open(vault_path, PASSPHRASE).lock()


def test_wrong_passphrase_on_a_read_only_disk_is_still_wrong_passphrase(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.lock()
    monkeypatch.setattr(os, "fsync", _fail_with(errno.EROFS))
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, "guess")
    monkeypatch.undo()
    assert Attempts.load(vault_path / "attempts").failed == 0
