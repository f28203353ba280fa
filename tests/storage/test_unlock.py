"""Key file, unlocking, the failed-attempt counter, duress and passphrase changes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from core.records import Record
from storage import (
    Vault,
    VaultCorrupt,
    VaultExists,
    VaultInUse,
    VaultLocked,
    VaultNotFound,
    WrongPassphrase,
)
from storage import keyfile as kf
from storage.attempts import Attempts
from storage.layout import Layout
from tests.storage.conftest import DURESS, FAST_LOG_N, PASSPHRASE, all_files, snapshot

ROOT = Path(__file__).resolve().parents[2]


def test_key_file_has_the_same_size_with_and_without_a_duress_passphrase(tmp_path: Path) -> None:
    plain = Vault.create(tmp_path / "a", PASSPHRASE, kdf_log_n=FAST_LOG_N)
    duress = Vault.create(tmp_path / "b", PASSPHRASE, DURESS, kdf_log_n=FAST_LOG_N)
    plain.lock()
    duress.lock()
    a = (tmp_path / "a" / "key").read_bytes()
    b = (tmp_path / "b" / "key").read_bytes()
    assert len(a) == len(b) == kf.FILE_SIZE
    # Same header layout; every slot is opaque and differs between files.
    assert a[:8] == b[:8] == kf.MAGIC
    assert all(
        x != y for x, y in zip(kf.KeyFile.parse(a).slots, kf.KeyFile.parse(b).slots, strict=True)
    )


def test_only_the_right_passphrase_opens_a_slot_and_its_role_is_inside_the_ciphertext() -> None:
    params = kf.KdfParams(FAST_LOG_N)
    salt = bytes(16)
    real = kf.derive_kek(PASSPHRASE, salt, params)
    duress = kf.derive_kek(DURESS, salt, params)
    master = bytes(range(32))
    keyfile = kf.KeyFile.new(params, salt, real, master, duress)
    opened = keyfile.unwrap(real)
    assert opened is not None and opened.role == kf.ROLE_MASTER and opened.key == master
    marker = keyfile.unwrap(duress)
    assert marker is not None and marker.role == kf.ROLE_DURESS and marker.key != master
    assert keyfile.unwrap(kf.derive_kek("guess", salt, params)) is None


def test_slots_do_not_open_when_moved_to_another_index() -> None:
    params = kf.KdfParams(FAST_LOG_N)
    kek = kf.derive_kek(PASSPHRASE, bytes(16), params)
    keyfile = kf.KeyFile.new(params, bytes(16), kek, bytes(32))
    opened = keyfile.unwrap(kek)
    assert opened is not None
    rotated = kf.KeyFile(params, bytes(16), keyfile.slots[1:] + keyfile.slots[:1])
    assert rotated.unwrap(kek) is None


def test_passphrases_are_normalised_so_composed_and_decomposed_letters_unlock() -> None:
    params = kf.KdfParams(FAST_LOG_N)
    composed = "\u0439\u04e9"  # й ө as single code points
    decomposed = "\u0438\u0306\u04e9"  # и + combining breve, ө
    assert kf.derive_kek(composed, bytes(16), params) == kf.derive_kek(
        decomposed, bytes(16), params
    )


def test_scrypt_parameters_below_the_floor_are_refused() -> None:
    with pytest.raises(ValueError):
        kf.KdfParams(14)
    with pytest.raises(ValueError):
        kf.KdfParams(15, r=4)


def test_calibration_never_goes_below_the_floor_and_is_stored(tmp_path: Path) -> None:
    log_n = kf.calibrate(target_s=0.0001)
    assert log_n == kf.MIN_SCRYPT_LOG_N
    assert kf.MIN_SCRYPT_LOG_N <= kf.calibrate() <= kf.MAX_CALIBRATED_LOG_N
    vault = Vault.create(tmp_path / "v", PASSPHRASE, kdf_log_n=16)
    assert vault.settings.kdf.log_n == 16
    vault.lock()
    parsed = kf.KeyFile.parse((tmp_path / "v" / "key").read_bytes())
    assert (parsed.params.log_n, parsed.params.r, parsed.params.p) == (16, 8, 1)


@pytest.mark.parametrize("cut", [0, 10, kf.HEADER_SIZE, kf.FILE_SIZE - 1])
def test_truncated_key_file_is_reported_as_corrupt_key_file(
    vault: Vault, vault_path: Path, cut: int
) -> None:
    vault.lock()
    key = vault_path / "key"
    key.write_bytes(key.read_bytes()[:cut])
    with pytest.raises(VaultCorrupt, match="key file"):
        Vault.open(vault_path, PASSPHRASE)


def test_damaged_key_file_header_is_reported_as_corrupt_key_file(
    vault: Vault, vault_path: Path
) -> None:
    vault.lock()
    key = vault_path / "key"
    data = bytearray(key.read_bytes())
    data[8] ^= 0x01  # log_n
    key.write_bytes(bytes(data))
    with pytest.raises(VaultCorrupt, match="key file: header"):
        Vault.open(vault_path, PASSPHRASE)


def test_wrong_passphrase_is_counted_and_changes_nothing_else(
    vault: Vault, vault_path: Path
) -> None:
    vault.put(Record(kind="note", data={"x": 1}))
    vault.attach(b"blob", media_type="text/plain")
    vault.lock()
    before = snapshot(vault_path, skip=("attempts",))
    with pytest.raises(WrongPassphrase) as first:
        Vault.open(vault_path, "wrong one")
    assert first.value.attempts_left == 9
    with pytest.raises(WrongPassphrase) as second:
        Vault.open(vault_path, "wrong two")
    assert second.value.attempts_left == 8
    assert Attempts.load(vault_path / "attempts").failed == 2
    assert snapshot(vault_path, skip=("attempts",)) == before
    reopened = Vault.open(vault_path, PASSPHRASE)
    assert reopened.settings.failed_attempts == 0
    assert Attempts.load(vault_path / "attempts").failed == 0
    assert len(reopened.list()) == 1
    reopened.lock()


def test_reaching_the_threshold_wipes_the_vault(make_vault: Callable[..., Vault]) -> None:
    vault = make_vault(wipe_threshold=3)
    path = vault.path
    vault.put(Record(kind="note", data={"x": 1}))
    vault.lock()
    for left in (2, 1):
        with pytest.raises(WrongPassphrase) as err:
            Vault.open(path, "guess")
        assert err.value.attempts_left == left
    with pytest.raises(WrongPassphrase) as last:
        Vault.open(path, "guess")
    assert last.value.attempts_left == 0
    assert not path.exists()
    with pytest.raises(VaultNotFound):
        Vault.open(path, PASSPHRASE)


def test_threshold_zero_never_wipes(make_vault: Callable[..., Vault]) -> None:
    vault = make_vault(wipe_threshold=0)
    path = vault.path
    vault.lock()
    for _ in range(12):
        with pytest.raises(WrongPassphrase) as err:
            Vault.open(path, "guess")
        assert err.value.attempts_left is None
    Vault.open(path, PASSPHRASE).lock()


def test_threshold_set_while_unlocked_applies_to_later_attempts(vault: Vault) -> None:
    path = vault.path
    vault.settings.wipe_threshold = 1
    vault.lock()
    with pytest.raises(WrongPassphrase):
        Vault.open(path, "guess")
    assert not path.exists()


def test_duress_passphrase_wipes_real_data_and_opens_an_empty_vault(
    make_vault: Callable[..., Vault],
) -> None:
    vault = make_vault(duress_passphrase=DURESS)
    path = vault.path
    secret = vault.put(Record(kind="incident", data={"victim": "A."}))
    att = vault.attach(b"photo bytes", media_type="application/octet-stream")
    with vault.spool_writer("outgoing") as out:
        out.write(b"ciphertext")
    vault.lock()
    old_key = (path / "key").read_bytes()

    decoy = Vault.open(path, DURESS)
    assert decoy.list() == []
    assert decoy.attachments() == []
    assert decoy.spool_names() == []
    assert not (path / "blobs" / att.id).exists()
    assert len((path / "key").read_bytes()) == len(old_key)
    assert (path / "key").read_bytes() != old_key
    decoy.put(Record(kind="note", data={"shopping": "bread"}))
    decoy.lock()

    # The duress passphrase now opens the decoy; the real one opens nothing.
    with pytest.raises(WrongPassphrase):
        Vault.open(path, PASSPHRASE)
    again = Vault.open(path, DURESS)
    assert [r.data for r in again.list()] == [{"shopping": "bread"}]
    with pytest.raises(Exception, match="no record"):
        again.get(secret.id)
    again.lock()


def test_set_and_remove_duress_passphrase_while_unlocked(vault: Vault) -> None:
    path = vault.path
    size = len((path / "key").read_bytes())
    vault.set_duress_passphrase(DURESS)
    assert len((path / "key").read_bytes()) == size
    vault.set_duress_passphrase("another duress")  # replaces, never adds
    vault.put(Record(kind="note", data={}))
    vault.lock()
    with pytest.raises(WrongPassphrase):
        Vault.open(path, DURESS)
    decoy = Vault.open(path, "another duress")
    assert decoy.list() == []
    decoy.set_duress_passphrase(DURESS)
    decoy.set_duress_passphrase(None)
    decoy.lock()
    with pytest.raises(WrongPassphrase):
        Vault.open(path, DURESS)


def test_change_passphrase_rewraps_only_the_key_file(vault: Vault, vault_path: Path) -> None:
    saved = vault.put(Record(kind="note", data={"t": "kept"}))
    before = snapshot(vault_path, skip=("key",))
    vault.change_passphrase(PASSPHRASE, "a brand new passphrase")
    assert snapshot(vault_path, skip=("key",)) == before
    assert len((vault_path / "key").read_bytes()) == kf.FILE_SIZE
    vault.lock()
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, PASSPHRASE)
    reopened = Vault.open(vault_path, "a brand new passphrase")
    assert reopened.get(saved.id).data == {"t": "kept"}
    reopened.lock()


def test_change_passphrase_keeps_the_duress_slot_and_refuses_the_duress_passphrase(
    make_vault: Callable[..., Vault],
) -> None:
    vault = make_vault(duress_passphrase=DURESS)
    with pytest.raises(ValueError):
        vault.change_passphrase(PASSPHRASE, DURESS)
    vault.change_passphrase(PASSPHRASE, "new words")
    vault.put(Record(kind="note", data={}))
    path = vault.path
    vault.lock()
    decoy = Vault.open(path, DURESS)
    assert decoy.list() == []
    decoy.lock()


def test_create_over_an_existing_vault_raises_vault_exists(vault: Vault) -> None:
    with pytest.raises(VaultExists):
        Vault.create(vault.path, "other", kdf_log_n=FAST_LOG_N)


def test_open_where_there_is_no_vault_raises_vault_not_found(tmp_path: Path) -> None:
    with pytest.raises(VaultNotFound):
        Vault.open(tmp_path / "nothing", PASSPHRASE)
    assert not Vault.exists(tmp_path / "nothing")


def test_second_opener_in_the_same_process_gets_vault_in_use(vault: Vault) -> None:
    with pytest.raises(VaultInUse):
        Vault.open(vault.path, PASSPHRASE)
    vault.lock()
    Vault.open(vault.path, PASSPHRASE).lock()


def test_second_opener_in_another_process_gets_vault_in_use(vault: Vault) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from storage import Vault, VaultInUse
        try:
            Vault.open(sys.argv[1], {PASSPHRASE!r})
        except VaultInUse:
            print("in use")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(vault.path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "in use"


def test_wrong_passphrase_attempt_on_a_vault_in_use_is_refused_uncounted(vault: Vault) -> None:
    with pytest.raises(VaultInUse):
        Vault.open(vault.path, "guess")
    assert vault.settings.failed_attempts == 0
    assert Attempts.load(Layout.at(vault.path).attempts).failed == 0


def test_locked_vault_refuses_use_and_context_manager_locks(vault_path: Path) -> None:
    with Vault.create(vault_path, PASSPHRASE, kdf_log_n=FAST_LOG_N) as vault:
        vault.put(Record(kind="note", data={}))
    assert vault.locked
    with pytest.raises(VaultLocked):
        vault.list()
    assert "key" in {p.name for p in all_files(vault_path)}


def test_missing_working_directories_are_recreated_on_open(vault: Vault, vault_path: Path) -> None:
    vault.lock()
    for name in ("tmp", "spool"):
        (vault_path / name).rmdir()
    reopened = Vault.open(vault_path, PASSPHRASE)
    reopened.put(Record(kind="note", data={}))
    with reopened.spool_writer("x") as out:
        out.write(b"y")
    reopened.lock()
