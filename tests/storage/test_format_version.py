"""A key file or journal from a newer release is told apart from a damaged one: it raises
`VaultFormatTooNew`, counts no wrong passphrase and changes no byte on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.records import Kind, Record
from storage import Vault, VaultCorrupt, VaultError, VaultFormatTooNew, WrongPassphrase
from storage.journal import MAGIC as JOURNAL_MAGIC
from storage.journal import read_journal
from storage.keyfile import FILE_SIZE, KeyFile
from storage.keyfile import MAGIC as KEY_MAGIC
from tests.storage.conftest import PASSPHRASE, all_files

VERSION_AT = len(KEY_MAGIC) - 1  # the last byte of each magic is the format version


def _snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in all_files(root) if p.name != "lock"}


def _set_byte(path: Path, index: int, value: int) -> None:
    data = bytearray(path.read_bytes())
    data[index] = value
    path.write_bytes(bytes(data))


def test_format_too_new_is_a_vault_error_but_not_corruption() -> None:
    assert issubclass(VaultFormatTooNew, VaultError)
    assert not issubclass(VaultFormatTooNew, VaultCorrupt | WrongPassphrase)


def test_a_newer_key_file_is_refused_before_any_passphrase_is_tried_and_nothing_is_wiped(
    make_vault: Callable[..., Vault], vault_path: Path
) -> None:
    make_vault(wipe_threshold=2).lock()
    _set_byte(vault_path / "key", VERSION_AT, KEY_MAGIC[-1] + 1)
    before = _snapshot(vault_path)
    for passphrase in (PASSPHRASE, "wrong", "wrong", "wrong"):
        with pytest.raises(VaultFormatTooNew) as refused:
            Vault.open(vault_path, passphrase)
        assert refused.value.what == "key file"
        assert (refused.value.version, refused.value.supported) == (3, 2)
        assert PASSPHRASE not in str(refused.value)
    assert _snapshot(vault_path) == before


def test_a_newer_key_file_with_another_layout_size_is_still_too_new_not_corrupt() -> None:
    newer = KEY_MAGIC[:-1] + bytes([KEY_MAGIC[-1] + 7]) + bytes(FILE_SIZE + 100)
    with pytest.raises(VaultFormatTooNew) as refused:
        KeyFile.parse(newer)
    assert refused.value.version == KEY_MAGIC[-1] + 7


@pytest.mark.parametrize(
    ("index", "value"),
    [(VERSION_AT, 0), (0, ord("X")), (VERSION_AT - 1, 0x05)],
    ids=["older-version", "other-magic", "flipped-magic-byte"],
)
def test_a_key_file_with_a_damaged_or_older_magic_is_corrupt_not_too_new(
    make_vault: Callable[..., Vault], vault_path: Path, index: int, value: int
) -> None:
    make_vault().lock()
    _set_byte(vault_path / "key", index, value)
    with pytest.raises(VaultCorrupt):
        Vault.open(vault_path, PASSPHRASE)


@pytest.mark.parametrize("recover", [False, True])
def test_a_newer_journal_is_refused_even_in_recovery_and_left_unchanged(
    make_vault: Callable[..., Vault], vault_path: Path, recover: bool
) -> None:
    vault = make_vault(wipe_threshold=2)
    vault.put(Record(kind=Kind.NOTE, data={"text": "in the journal"}))
    vault.lock()
    _set_byte(vault_path / "journal", len(JOURNAL_MAGIC) - 1, JOURNAL_MAGIC[-1] + 1)
    before = _snapshot(vault_path)
    with pytest.raises(VaultFormatTooNew) as refused:
        Vault.open(vault_path, PASSPHRASE, recover=recover)
    assert (refused.value.what, refused.value.version) == ("journal", 2)
    assert _snapshot(vault_path) == before
    with pytest.raises(WrongPassphrase) as wrong:
        Vault.open(vault_path, "not the passphrase")
    assert wrong.value.attempts_left == 1  # the refusal above counted nothing


def test_a_journal_with_a_damaged_magic_is_still_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    path.write_bytes(b"FVJRNX\x00\x01" + bytes(16))
    with pytest.raises(VaultCorrupt, match="header damaged"):
        read_journal(path, bytes(32))
    path.write_bytes(JOURNAL_MAGIC[:-1] + bytes([JOURNAL_MAGIC[-1] + 1]))  # short, but newer
    with pytest.raises(VaultFormatTooNew):
        read_journal(path, bytes(32))


def _release_0_1_field_vault(tmp_path: Path) -> Path:
    source = Path(__file__).resolve().parent.parent / "fixtures" / "v0.1" / "field"
    target = tmp_path / "field"
    for path in source.rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(path.read_bytes())
    return target


def test_a_format_1_vault_is_upgraded_on_unlock_to_a_random_journal_key(tmp_path: Path) -> None:
    from tests.fixtures.make_v0_1 import FIELD_PASSPHRASE
    from tests.forensics import examiner

    field = _release_0_1_field_vault(tmp_path)
    assert len((field / "key").read_bytes()) == 276
    with Vault.open(field, FIELD_PASSPHRASE) as vault:
        count = len(vault.list())
        assert vault.key_generation == 1  # the derived key was replaced at once
    key_file = (field / "key").read_bytes()
    assert len(key_file) == FILE_SIZE and key_file[:8] == KEY_MAGIC
    master = examiner.master_key(key_file, FIELD_PASSPHRASE)
    assert master is not None
    derived = examiner.subkey(master, "fieldvault/vault/journal/v1")
    assert {record[4] for record in examiner.state_records(key_file, master)} != {derived}
    with Vault.open(field, FIELD_PASSPHRASE) as again:
        assert len(again.list()) == count and again.open_report.rollback is None


def test_the_duress_passphrase_of_a_format_1_vault_survives_the_upgrade(tmp_path: Path) -> None:
    from tests.fixtures.make_v0_1 import DURESS_PASSPHRASE, FIELD_PASSPHRASE

    field = _release_0_1_field_vault(tmp_path)
    Vault.open(field, FIELD_PASSPHRASE).lock()  # upgrades the key file
    with Vault.open(field, DURESS_PASSPHRASE) as decoy:
        assert decoy.list() == []
