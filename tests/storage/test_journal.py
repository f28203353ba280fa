"""The record journal: torn tails, damage in the middle, compaction, disk full."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.records import Record
from storage import StorageFull, Vault, VaultCorrupt
from storage import journal as jr
from storage import vault as vault_module
from tests.storage.conftest import FAST_LOG_N, PASSPHRASE


def note(i: int) -> Record:
    return Record(kind="note", data={"i": i, "text": f"note number {i}"})


def entry_offsets(path: Path) -> list[int]:
    """Start offsets of every entry (from the cleartext length fields)."""
    data = path.read_bytes()
    offsets, pos = [], jr.HEADER_SIZE
    while pos < len(data):
        offsets.append(pos)
        length = int.from_bytes(data[pos : pos + 4], "big")
        pos += 8 + length
    assert pos == len(data)
    return offsets


def _journal_with_entries(tmp_path: Path, count: int) -> tuple[Path, bytes]:
    key = bytes(range(32))
    (tmp_path / "tmp").mkdir(exist_ok=True)
    path = tmp_path / "journal"
    journal = jr.Journal.create(path, key, tmp_path / "tmp")
    for i in range(count):
        journal.append([jr.Op(jr.OP_PUT, f"id{i}", b"sealed record %d" % i)])
    journal.close()
    return path, key


def test_torn_last_entry_is_dropped_at_every_byte_offset(tmp_path: Path) -> None:
    path, key = _journal_with_entries(tmp_path, 4)
    full = path.read_bytes()
    last = entry_offsets(path)[-1]
    for cut in range(last, len(full)):
        path.write_bytes(full[:cut])
        state = jr.read_journal(path, key)
        assert [op.record_id for op in state.ops] == ["id0", "id1", "id2"], cut
        assert state.valid_end == last
        assert state.dropped_tail_bytes == cut - last
        journal = jr.Journal.open_for_append(path, key, state)
        journal.append([jr.Op(jr.OP_DELETE, "id0")])
        journal.close()
        assert [op.record_id for op in jr.read_journal(path, key).ops][-1] == "id0"


def test_vault_drops_a_torn_last_record_and_truncates_before_appending(
    vault: Vault, vault_path: Path
) -> None:
    kept = vault.put_many([note(i) for i in range(3)])
    vault.put(note(99))
    vault.lock()
    journal = vault_path / "journal"
    full = journal.read_bytes()
    last = entry_offsets(journal)[-1]
    for cut in (last + 1, last + 8, len(full) - 1):
        journal.write_bytes(full[:cut])
        reopened = Vault.open(vault_path, PASSPHRASE)
        assert sorted(r.id for r in reopened.list()) == sorted(r.id for r in kept), cut
        assert reopened.open_report.dropped_tail_bytes == cut - last
        reopened.lock()
        assert journal.stat().st_size == last


def test_appends_after_a_torn_tail_are_kept(vault: Vault, vault_path: Path) -> None:
    vault.put(note(1))
    vault.lock()
    journal = vault_path / "journal"
    with open(journal, "ab") as handle:
        handle.write(b"\x00\x00\x01\x00garbage")
    reopened = Vault.open(vault_path, PASSPHRASE)
    reopened.put(note(2))
    reopened.lock()
    final = Vault.open(vault_path, PASSPHRASE)
    assert sorted(r.data["i"] for r in final.list()) == [1, 2]
    assert final.open_report.dropped_tail_bytes == 0
    final.lock()


def test_zero_filled_tail_after_a_power_cut_is_dropped(vault: Vault, vault_path: Path) -> None:
    vault.put(note(1))
    vault.lock()
    with open(vault_path / "journal", "ab") as handle:
        handle.write(bytes(4096))
    reopened = Vault.open(vault_path, PASSPHRASE)
    assert len(reopened.list()) == 1
    reopened.lock()


@pytest.mark.parametrize("where", ["length", "body"])
def test_flipped_bit_in_the_middle_raises_vault_corrupt_naming_the_entry(
    vault: Vault, vault_path: Path, where: str
) -> None:
    for i in range(5):
        vault.put(note(i))
    vault.lock()
    journal = vault_path / "journal"
    offsets = entry_offsets(journal)
    data = bytearray(journal.read_bytes())
    target = offsets[2] + (1 if where == "length" else 20)
    data[target] ^= 0x10
    journal.write_bytes(bytes(data))
    with pytest.raises(VaultCorrupt) as err:
        Vault.open(vault_path, PASSPHRASE)
    assert f"entry 3 at byte {offsets[2]}" in err.value.what
    assert journal.read_bytes() == bytes(data)  # nothing rewritten behind the user's back


def test_recover_opens_what_is_intact_and_rewrites_the_journal(
    vault: Vault, vault_path: Path
) -> None:
    for i in range(5):
        vault.put(note(i))
    vault.lock()
    journal = vault_path / "journal"
    offsets = entry_offsets(journal)
    data = bytearray(journal.read_bytes())
    data[offsets[1] + 30] ^= 0x01
    journal.write_bytes(bytes(data))
    recovered = Vault.open(vault_path, PASSPHRASE, recover=True)
    assert sorted(r.data["i"] for r in recovered.list()) == [0, 2, 3, 4]
    assert len(recovered.open_report.skipped) == 1
    recovered.lock()
    clean = Vault.open(vault_path, PASSPHRASE)
    assert sorted(r.data["i"] for r in clean.list()) == [0, 2, 3, 4]
    clean.lock()


def test_entries_reordered_in_the_journal_are_detected(vault: Vault, vault_path: Path) -> None:
    for i in range(3):
        vault.put(note(i))
    vault.lock()
    journal = vault_path / "journal"
    offsets = [*entry_offsets(journal), journal.stat().st_size]
    data = journal.read_bytes()
    first = data[offsets[0] : offsets[1]]
    second = data[offsets[1] : offsets[2]]
    journal.write_bytes(data[: offsets[0]] + second + first + data[offsets[2] :])
    with pytest.raises(VaultCorrupt, match="out of order"):
        Vault.open(vault_path, PASSPHRASE)


def test_journal_with_a_damaged_header_is_corrupt_not_empty(vault: Vault, vault_path: Path) -> None:
    vault.put(note(1))
    vault.lock()
    journal = vault_path / "journal"
    journal.write_bytes(b"XXXX" + journal.read_bytes()[4:])
    with pytest.raises(VaultCorrupt, match="journal: header"):
        Vault.open(vault_path, PASSPHRASE)
    journal.unlink()
    with pytest.raises(VaultCorrupt, match="journal: file missing"):
        Vault.open(vault_path, PASSPHRASE)


def test_put_many_is_one_entry_so_a_torn_write_loses_all_or_none(
    vault: Vault, vault_path: Path
) -> None:
    vault.put(note(0))
    vault.put_many([note(i) for i in range(1, 50)])
    vault.lock()
    for reopened in _torn_in_the_second_entry(vault_path):
        assert [r.data["i"] for r in reopened.list()] == [0]
    reopened = Vault.open(vault_path, PASSPHRASE)
    assert len(reopened.list()) == 50
    reopened.lock()


def _torn_in_the_second_entry(vault_path: Path) -> Iterator[Vault]:
    """The vault, reopened with its journal's second (and last) entry cut at its start, middle
    and end in turn; the journal is whole again afterwards."""
    journal = vault_path / "journal"
    offsets = entry_offsets(journal)
    assert len(offsets) == 2
    full = journal.read_bytes()
    for cut in (offsets[1] + 9, (offsets[1] + len(full)) // 2, len(full) - 1):
        journal.write_bytes(full[:cut])
        reopened = Vault.open(vault_path, PASSPHRASE)
        yield reopened
        reopened.lock()
    journal.write_bytes(full)


def test_a_unit_is_one_entry_so_a_torn_write_loses_all_or_none(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, doomed = vault.put_many([note(0), note(-1)])
    monkeypatch.setattr(vault_module, "prepare_snapshot", _fail_with(errno.ENOSPC))
    with vault.unit() as uow:  # the deletion stays logged: no room to forget it by re-keying
        changed = uow.get(first.id)
        changed.data["text"] = "changed"
        uow.put(changed)
        uow.put_many([note(i) for i in range(1, 30)])
        uow.delete(doomed.id)
    monkeypatch.undo()
    vault.lock()
    for reopened in _torn_in_the_second_entry(vault_path):
        assert sorted(r.data["i"] for r in reopened.list()) == [-1, 0]
        assert reopened.get(first.id).data["text"] == "note number 0"
    reopened = Vault.open(vault_path, PASSPHRASE)
    assert sorted(r.data["i"] for r in reopened.list()) == list(range(30))
    assert reopened.get(first.id).data["text"] == "changed"
    reopened.lock()


def test_a_unit_that_staged_nothing_writes_nothing(vault: Vault, vault_path: Path) -> None:
    saved = vault.put(note(1))
    size = (vault_path / "journal").stat().st_size
    with vault.unit() as uow:
        uow.get(saved.id)
    assert (vault_path / "journal").stat().st_size == size
    assert uow.saved == []


def test_compaction_keeps_live_records_and_shrinks_the_journal(
    vault: Vault, vault_path: Path
) -> None:
    saved = vault.put_many([note(i) for i in range(20)])
    for _ in range(10):
        for record in saved[:5]:
            vault.put(record)
    before = (vault_path / "journal").stat().st_size
    vault.delete_many([r.id for r in saved[15:]])  # deleting compacts
    after = (vault_path / "journal").stat().st_size
    assert after < before
    vault.put(note(100))
    assert sorted(r.data["i"] for r in vault.list()) == [*range(15), 100]
    vault.lock()
    reopened = Vault.open(vault_path, PASSPHRASE)
    assert sorted(r.data["i"] for r in reopened.list()) == [*range(15), 100]
    assert reopened.get(saved[0].id).version == 2
    assert os.listdir(vault_path / "tmp") == []
    reopened.lock()


def test_compaction_happens_automatically_when_most_of_the_journal_is_dead(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault_module, "COMPACT_MIN_BYTES", 20_000)
    record = vault.put(Record(kind="note", data={"text": "x" * 500}))
    for _ in range(200):
        record = vault.put(record)
    assert (vault_path / "journal").stat().st_size < 20_000
    vault.lock()
    reopened = Vault.open(vault_path, PASSPHRASE)
    assert reopened.get(record.id).version == 201
    reopened.lock()


def _fail_with(code: int) -> Callable[..., object]:
    def fail(*args: object, **kwargs: object) -> object:
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
@pytest.mark.parametrize("call", ["write", "fdatasync"])
def test_disk_full_on_save_raises_storage_full_and_keeps_the_previous_state(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, call: str
) -> None:
    kept = vault.put(note(1))
    before = (vault_path / "journal").read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(os, call, _fail_with(code))
        with pytest.raises(StorageFull):
            vault.put(note(2))
        with pytest.raises(StorageFull):
            vault.put_many([note(3), note(4)])
    assert (vault_path / "journal").read_bytes() == before
    assert [r.id for r in vault.list()] == [kept.id]
    vault.put(note(5))  # and it works again once there is room
    vault.lock()
    reopened = Vault.open(vault_path, PASSPHRASE)
    assert sorted(r.data["i"] for r in reopened.list()) == [1, 5]
    reopened.lock()


def test_disk_full_in_the_middle_of_a_write_leaves_no_partial_entry(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.put(note(1))
    before = (vault_path / "journal").read_bytes()
    real_write = os.write

    def short_then_full(fd: int, data: bytes) -> int:
        if len(data) > 10:
            return real_write(fd, bytes(data)[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_full)
    with pytest.raises(StorageFull):
        vault.put(note(2))
    monkeypatch.undo()
    assert (vault_path / "journal").read_bytes() == before


def test_disk_full_during_compaction_keeps_the_old_journal(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.put_many([note(i) for i in range(10)])
    before = (vault_path / "journal").read_bytes()
    monkeypatch.setattr(os, "fsync", _fail_with(errno.ENOSPC))
    with pytest.raises(StorageFull):
        vault.compact()
    monkeypatch.undo()
    assert (vault_path / "journal").read_bytes() == before
    assert os.listdir(vault_path / "tmp") == []
    vault.put(note(10))
    vault.lock()
    reopened = Vault.open(vault_path, PASSPHRASE)
    assert len(reopened.list()) == 11
    reopened.lock()


def test_disk_full_on_create_raises_storage_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "fsync", _fail_with(errno.ENOSPC))
    with pytest.raises(StorageFull):
        Vault.create(tmp_path / "v", PASSPHRASE, kdf_log_n=FAST_LOG_N)
    monkeypatch.undo()
    assert not Vault.exists(tmp_path / "v")


def test_saves_from_several_threads_are_all_kept(vault: Vault, vault_path: Path) -> None:
    def writer(base: int) -> None:
        for i in range(25):
            vault.put(note(base + i))

    threads = [threading.Thread(target=writer, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    vault.lock()
    reopened = Vault.open(vault_path, PASSPHRASE)
    assert len(reopened.list()) == 100
    reopened.lock()
