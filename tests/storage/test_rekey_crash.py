"""A crash at any step of a re-keying compaction leaves a vault that opens with every record,
reports no rollback, and ends up holding only the key of the journal actually on disk.

Each test copies the data directory at one step (as a power cut would leave it) by wrapping the
function that runs next, then opens the copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.records import Record
from storage import Vault
from storage import journal as jr
from storage.keystate import StateKey
from tests.forensics import examiner
from tests.storage.conftest import PASSPHRASE


def _image_before(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, source: Path, image: Path
) -> None:
    real = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not image.exists():
            shutil.copytree(source, image, ignore=shutil.ignore_patterns("lock"))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapped)


def _journal_keys(root: Path) -> set[bytes]:
    key_file = (root / "key").read_bytes()
    master = examiner.master_key(key_file, PASSPHRASE)
    assert master is not None
    return {record[4] for record in examiner.state_records(key_file, master)}


@pytest.mark.parametrize(
    ("owner", "name"),
    [(jr.Snapshot, "install"), (jr.Journal, "shred")],
    ids=["before-the-new-journal-is-in-place", "before-the-old-key-is-destroyed"],
)
def test_a_crash_during_compaction_loses_nothing_and_keeps_one_key(
    make_vault: Callable[..., Vault],
    vault_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    owner: Any,
    name: str,
) -> None:
    vault = make_vault()
    saved = vault.put_many([Record(kind="note", data={"n": i}) for i in range(3)])
    image = tmp_path / "image"
    with monkeypatch.context() as patch:
        _image_before(patch, owner, name, vault_path, image)
        vault.compact()
    assert image.exists()
    assert len(_journal_keys(image)) == 2  # mid-compaction: old and new key both present
    with Vault.open(image, PASSPHRASE) as after:
        assert after.open_report.rollback is None
        assert [r.id for r in after.list()] == [r.id for r in saved]
    assert len(_journal_keys(image)) == 1


def test_a_failed_rename_keeps_the_old_journal_current(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = vault.put(Record(kind="note", data={}))

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(5, "I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(jr.os, "replace", refuse)
        with pytest.raises(OSError):
            vault.compact()
    assert vault.key_generation == 0
    vault.put(Record(kind="note", data={}))
    vault.lock()
    with Vault.open(vault_path, PASSPHRASE) as again:
        assert again.open_report.rollback is None
        assert saved.id in {r.id for r in again.list()}
    assert len(_journal_keys(vault_path)) == 1


def test_state_records_do_not_open_under_another_vaults_key(vault: Vault, vault_path: Path) -> None:
    from storage.keyfile import KeyFile

    keyfile = KeyFile.parse((vault_path / "key").read_bytes())
    assert StateKey(bytes(32)).open_all(keyfile) == [None, None]


def test_a_full_disk_still_deletes_and_forgets_at_the_next_save_with_room(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = vault.put_many([Record(kind="note", data={"text": "x" * 1000}) for _ in range(20)])
    real_write = jr.os.write

    def small_writes_only(fd: int, data: Any) -> int:
        if len(data) > 2000:  # a snapshot does not fit; a small entry still does
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    with monkeypatch.context() as patch:
        patch.setattr(jr.os, "write", small_writes_only)
        vault.delete(saved[0].id)
    assert vault.key_generation == 0  # logged, not yet forgotten
    assert saved[0].id not in {r.id for r in vault.list()}
    assert sorted(p.name for p in (vault_path / "tmp").iterdir()) == []
    vault.put(Record(kind="note", data={}))  # room again: this save re-keys
    assert vault.key_generation == 1
    vault.lock()
    with Vault.open(vault_path, PASSPHRASE) as again:
        assert len(again.list()) == 20


def test_an_attachment_whose_key_was_never_saved_is_removed_on_unlock(
    vault: Vault, vault_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = vault.attach(b"kept", media_type="text/plain")
    image = tmp_path / "image"
    with monkeypatch.context() as patch:
        _image_before(patch, Vault, "_keep_file_key", vault_path, image)
        lost = vault.attach(b"written, key not yet saved", media_type="text/plain")
    assert (image / "blobs" / lost.id).exists()
    with Vault.open(image, PASSPHRASE) as after:
        assert [a.id for a in after.attachments()] == [kept.id]
    assert not (image / "blobs" / lost.id).exists()


def test_a_deletion_logged_on_a_full_disk_is_forgotten_at_the_next_unlock(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = vault.put_many([Record(kind="note", data={"text": "x" * 1000}) for _ in range(5)])
    real_write = jr.os.write

    def small_writes_only(fd: int, data: Any) -> int:
        if len(data) > 2000:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    with monkeypatch.context() as patch:
        patch.setattr(jr.os, "write", small_writes_only)
        vault.delete(saved[0].id)
    vault.lock()
    with Vault.open(vault_path, PASSPHRASE) as again:
        assert again.key_generation == 1
        assert len(again.list()) == 4
