"""The panic wipe: keys destroyed first, then every file, leaving no trace of a vault."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.records import Record
from storage import Vault, VaultNotFound, wipe_directory
from tests.storage.conftest import FAST_LOG_N, PASSPHRASE, all_files


def _fill(vault: Vault) -> None:
    vault.put_many([Record(kind="incident", data={"i": i}) for i in range(50)])
    vault.attach(os.urandom(200_000), media_type="video/mp4")
    with vault.spool_writer("pending.age") as out:
        out.write(b"ciphertext")


def test_wipe_leaves_no_file_and_the_old_passphrase_opens_nothing(
    vault: Vault, vault_path: Path
) -> None:
    _fill(vault)
    report = vault.wipe()
    assert not vault_path.exists()
    assert report.failures == 0
    assert 0 <= report.key_destroyed_s <= report.total_s
    assert not Vault.exists(vault_path)
    with pytest.raises(VaultNotFound):
        Vault.open(vault_path, PASSPHRASE)


def test_wipe_destroys_key_before_deleting_files(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(vault)
    original_key = (vault_path / "key").read_bytes()
    removed: list[str] = []
    key_at_unlink: list[bytes] = []
    real_unlink = os.unlink

    def spy(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        name = os.path.relpath(path, vault_path)
        if name == "key":
            key_at_unlink.append(Path(path).read_bytes())
        removed.append(name)
        real_unlink(path)

    monkeypatch.setattr(os, "unlink", spy)
    vault.wipe()
    assert removed[0] == "key"
    assert key_at_unlink[0] != original_key and len(key_at_unlink[0]) == len(original_key)
    assert {"journal", "attempts", "lock"} <= set(removed)


def test_wipe_directory_works_on_a_locked_vault_and_removes_extra_dirs(
    vault_path: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    (cache / "thumbs").mkdir(parents=True)
    (cache / "thumbs" / "t.bin").write_bytes(b"x")
    vault = Vault.create(vault_path, PASSPHRASE, kdf_log_n=FAST_LOG_N)
    _fill(vault)
    vault.lock()
    report = wipe_directory(vault_path, extra_dirs=[cache])
    assert report.failures == 0
    assert not vault_path.exists()
    assert not cache.exists()


def test_wipe_keeps_a_directory_it_did_not_create_and_files_that_are_not_its_own(
    tmp_path: Path,
) -> None:
    app_dir = tmp_path / "app-data"
    app_dir.mkdir()
    (app_dir / "unrelated.txt").write_text("not ours")
    vault = Vault.create(app_dir, PASSPHRASE, kdf_log_n=FAST_LOG_N)
    _fill(vault)
    vault.wipe()
    assert app_dir.is_dir()
    assert [p.name for p in all_files(app_dir)] == ["unrelated.txt"]


def test_wipe_also_destroys_a_key_file_left_half_written_by_a_crash(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leftover = vault_path / "tmp" / "key-0123.tmp"
    leftover.write_bytes(b"stale wrapped key" * 10)
    seen: dict[str, bytes] = {}
    real_unlink = os.unlink

    def spy(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if Path(path) == leftover:
            seen["at_unlink"] = leftover.read_bytes()
        real_unlink(path)

    monkeypatch.setattr(os, "unlink", spy)
    vault.wipe()
    assert b"stale wrapped key" not in seen["at_unlink"]


def test_wipe_of_an_empty_place_is_harmless(tmp_path: Path) -> None:
    report = wipe_directory(tmp_path / "never-existed")
    assert report.failures == 0
