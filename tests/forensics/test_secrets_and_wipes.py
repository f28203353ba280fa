"""After a passphrase change, a duress unlock or a panic wipe, the data directory (and the cache
directories handed to the wipe) give an examiner nothing: no marker in any byte, nothing the old
or the real passphrase decodes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from core.records import Kind, Record
from storage import Vault
from tests.forensics import examiner
from tests.forensics.conftest import (
    DURESS,
    MARKER,
    PASSPHRASE,
    decoded_hits,
    disk_hits,
    hits,
    reopen,
)

NEW_PASSPHRASE = "teapot glacier saddle 2031 Talas"


def test_changing_the_passphrase_rewrites_the_key_file_in_place(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    vault.put(Record(kind=Kind.NOTE, data={"text": "kept"}))
    key = data_dir / "key"
    inode, size = key.stat().st_ino, key.stat().st_size
    old_slots = key.read_bytes()[32:276]
    vault.change_passphrase(PASSPHRASE, NEW_PASSPHRASE)
    assert (key.stat().st_ino, key.stat().st_size) == (inode, size)
    assert os.listdir(data_dir / "tmp") == []
    vault.lock()
    everything = b"".join(examiner.files_under(data_dir).values())
    assert old_slots not in everything
    assert examiner.master_key(key.read_bytes(), PASSPHRASE) is None
    with reopen(data_dir, NEW_PASSPHRASE) as again:
        assert again.list()[0].data == {"text": "kept"}


def test_setting_a_duress_passphrase_rewrites_the_key_file_in_place(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    key = data_dir / "key"
    inode = key.stat().st_ino
    vault.set_duress_passphrase(DURESS)
    vault.set_duress_passphrase(None)
    vault.set_duress_passphrase(DURESS)
    assert key.stat().st_ino == inode
    assert os.listdir(data_dir / "tmp") == []


def test_a_note_deleted_before_a_passphrase_change_is_gone_for_both_passphrases(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    doomed = vault.put(Record(kind=Kind.NOTE, data={"text": MARKER}))
    old_journal = (data_dir / "journal").read_bytes()
    old_key = (data_dir / "key").read_bytes()
    assert hits(examiner.everything_readable(old_key, PASSPHRASE, [old_journal])) > 0
    vault.delete(doomed.id)
    vault.change_passphrase(PASSPHRASE, NEW_PASSPHRASE)
    vault.lock()
    assert disk_hits(data_dir) == []
    for passphrase in (PASSPHRASE, NEW_PASSPHRASE):
        assert decoded_hits(data_dir, passphrase, old_journal) == 0


def test_the_duress_passphrase_leaves_nothing_of_the_real_vault(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault(duress_passphrase=DURESS)
    vault.put(Record(kind=Kind.INCIDENT, data={"what": MARKER}))
    vault.attach(MARKER.encode() * 100, media_type="text/plain", name=MARKER)
    old_journal = (data_dir / "journal").read_bytes()
    vault.lock()
    with reopen(data_dir, DURESS) as decoy:
        assert decoy.list() == []
        decoy.put(Record(kind=Kind.NOTE, data={"text": "groceries"}))
    assert disk_hits(data_dir) == []
    for passphrase in (PASSPHRASE, DURESS):
        assert decoded_hits(data_dir, passphrase, old_journal) == 0


def test_a_panic_wipe_removes_the_vault_and_the_cache_directories(
    make_vault: Callable[..., Vault], data_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "phone" / "cache"
    picker = tmp_path / "phone" / "picker-cache"
    for directory in (cache, picker):
        directory.mkdir(parents=True)
        (directory / "IMG_0001.jpg").write_bytes(MARKER.encode())
    vault = make_vault(extra_dirs=[cache, picker])
    vault.put(Record(kind=Kind.NOTE, data={"text": MARKER}))
    vault.attach(cache / "IMG_0001.jpg", media_type="image/jpeg")
    assert disk_hits(tmp_path) != []  # the control: the scan sees the picked copies
    vault.wipe()
    assert not data_dir.exists()
    assert not cache.exists() and not picker.exists()
    assert disk_hits(tmp_path) == []


def test_a_panic_wipe_of_a_locked_vault_removes_the_cache_directories_too(
    make_vault: Callable[..., Vault], data_dir: Path, tmp_path: Path
) -> None:
    from storage import wipe_directory

    cache = tmp_path / "cache"
    (cache / "nested").mkdir(parents=True)
    (cache / "nested" / "recording.m4a").write_bytes(MARKER.encode())
    make_vault().lock()
    report = wipe_directory(data_dir, [cache])
    assert report.failures == 0
    assert not data_dir.exists() and not cache.exists()
    assert disk_hits(tmp_path) == []


def test_after_a_wipe_nothing_beside_the_data_directory_tells_a_vault_or_a_disguise_existed(
    make_vault: Callable[..., Vault], data_dir: Path, tmp_path: Path
) -> None:
    from storage.launch import read_launch, remove_launch, write_launch

    write_launch(data_dir, language="ky", disguise=False)  # an undisguised phone...
    write_launch(data_dir, language="ky", disguise=True)  # ...switched to the calculator
    vault = make_vault()
    vault.put(Record(kind=Kind.NOTE, data={"text": MARKER}))
    everything = b"".join(examiner.files_under(tmp_path).values())
    assert b"disguise" not in everything
    vault.wipe()
    remove_launch(data_dir)  # what the app does after any wipe
    assert read_launch(data_dir) is None
    assert list((tmp_path / "phone").iterdir()) == []
