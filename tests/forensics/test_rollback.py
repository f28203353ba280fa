"""Rollback is detected: a journal cut short at an entry boundary, or an older journal or key
file put back, is noticed on unlock. A cut journal still opens (nothing more is lost) with
`open_report.rollback` saying so; a journal whose key the key file no longer holds is refused
with `VaultRolledBack`, and nothing is changed."""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from core.records import Kind, Record
from storage import Vault, VaultCorrupt, VaultRolledBack
from tests.forensics.conftest import reopen


def notes(vault: Vault, count: int) -> list[Record]:
    return [vault.put(Record(kind=Kind.NOTE, data={"n": i})) for i in range(count)]


def entry_ends(journal: bytes) -> list[int]:
    """Offsets at which each entry of a journal ends (the published entry framing)."""
    pos, ends = 24, []
    while pos + 8 <= len(journal):
        (length,) = struct.unpack_from(">I", journal, pos)
        pos += 8 + length
        ends.append(pos)
    return ends


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "lock"
    }


@pytest.mark.parametrize("kept", [0, 1, 2, 3])
def test_a_journal_cut_at_an_entry_boundary_is_reported_and_keeps_what_is_left(
    make_vault: Callable[..., Vault], data_dir: Path, kept: int
) -> None:
    vault = make_vault()
    saved = notes(vault, 4)
    vault.lock()
    journal = data_dir / "journal"
    data = journal.read_bytes()
    ends = entry_ends(data)
    assert len(ends) == 4 and ends[-1] == len(data)
    journal.write_bytes(data[: ([24, *ends])[kept]])
    with reopen(data_dir) as cut:
        assert cut.open_report.rollback is not None
        assert "missing" in cut.open_report.rollback
        assert [r.id for r in cut.list()] == [r.id for r in saved[:kept]]


def test_the_rollback_is_reported_on_that_unlock_and_the_vault_keeps_working(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    notes(vault, 3)
    vault.lock()
    journal = data_dir / "journal"
    journal.write_bytes(journal.read_bytes()[: entry_ends(journal.read_bytes())[1]])
    with reopen(data_dir) as cut:
        assert cut.open_report.rollback is not None
        cut.put(Record(kind=Kind.NOTE, data={"n": "after"}))
    with reopen(data_dir) as again:
        assert again.open_report.rollback is None
        assert len(again.list()) == 3


def test_an_untouched_vault_reports_no_rollback(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    notes(vault, 3)
    vault.compact()
    notes(vault, 2)
    vault.lock()
    for _ in range(2):
        with reopen(data_dir) as again:
            assert again.open_report.rollback is None
            assert len(again.list()) == 5


def test_an_older_key_file_put_back_beside_a_newer_journal_is_reported(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    notes(vault, 1)
    old_key = (data_dir / "key").read_bytes()
    notes(vault, 3)
    vault.lock()
    (data_dir / "key").write_bytes(old_key)
    with reopen(data_dir) as rolled:
        assert rolled.open_report.rollback is not None
        assert "key file" in rolled.open_report.rollback
        assert len(rolled.list()) == 4  # nothing lost


def test_a_key_file_one_save_behind_is_a_crash_not_a_rollback(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    notes(vault, 2)
    one_behind = (data_dir / "key").read_bytes()
    notes(vault, 1)
    vault.lock()
    (data_dir / "key").write_bytes(one_behind)  # as a crash between the two writes leaves it
    with reopen(data_dir) as again:
        assert again.open_report.rollback is None
        assert len(again.list()) == 3


def test_an_older_journal_put_back_after_a_deletion_is_refused_and_nothing_is_changed(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    first, _ = notes(vault, 2)
    old_journal = (data_dir / "journal").read_bytes()
    vault.delete(first.id)  # the deleted note must not come back
    vault.lock()
    (data_dir / "journal").write_bytes(old_journal)
    before = snapshot(data_dir)
    with pytest.raises(VaultRolledBack) as refused:
        reopen(data_dir)
    assert isinstance(refused.value, VaultCorrupt)  # apps that know only VaultCorrupt cope
    assert snapshot(data_dir) == before


def test_an_older_key_file_and_journal_put_back_together_cannot_be_told_apart_locally(
    make_vault: Callable[..., Vault], data_dir: Path, tmp_path: Path
) -> None:
    """The documented limit: a whole older image is self-consistent. What the vault promises
    instead is that the older image was unreadable to begin with once its key was replaced,
    which the forensic tests prove; this test pins the limit so the docs stay honest."""
    vault = make_vault()
    notes(vault, 2)
    vault.lock()
    image = tmp_path / "image"
    shutil.copytree(data_dir, image)
    with reopen(data_dir) as later:
        notes(later, 2)
    shutil.rmtree(data_dir)
    shutil.copytree(image, data_dir)
    with reopen(data_dir) as restored:
        assert restored.open_report.rollback is None
        assert len(restored.list()) == 2


def test_an_older_key_file_put_back_after_a_compaction_is_refused(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    notes(vault, 2)
    old_key = (data_dir / "key").read_bytes()
    vault.compact()
    vault.lock()
    (data_dir / "key").write_bytes(old_key)
    with pytest.raises(VaultRolledBack):
        reopen(data_dir)


def test_a_note_deleted_on_a_full_disk_does_not_silently_reappear_when_its_entry_is_cut(
    make_vault: Callable[..., Vault], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack of the issue: the deletion is the journal's last entry (here because a full
    disk made the vault log it instead of re-keying); cutting that entry brings the note back.
    The counter in the key file says so on unlock."""
    from storage import journal as jr

    vault = make_vault()
    kept = vault.put(Record(kind=Kind.NOTE, data={"text": "k" * 3000}))
    doomed = vault.put(Record(kind=Kind.NOTE, data={"text": "x" * 3000}))
    real_write = jr.os.write

    def small_writes_only(fd: int, data: bytes) -> int:
        if len(data) > 2000:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    with monkeypatch.context() as patch:
        patch.setattr(jr.os, "write", small_writes_only)
        vault.delete(doomed.id)
    assert vault.key_generation == 0  # logged, not re-keyed
    vault.lock()
    journal = data_dir / "journal"
    data = journal.read_bytes()
    journal.write_bytes(data[: entry_ends(data)[-2]])  # cut the delete entry
    with reopen(data_dir) as rolled:
        assert [r.id for r in rolled.list()] == [kept.id, doomed.id]  # it is back...
        assert rolled.open_report.rollback is not None  # ...and the unlock says so
