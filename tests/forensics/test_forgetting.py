"""Forgetting is cryptographic: what was deleted, compacted away or replaced cannot be decoded
afterwards, not even by an examiner holding the passphrase, the published format, an image of
the data directory and a copy of the journal taken before (a backup, or blocks the flash kept).

Each test first checks that the examiner *can* read the marker before the forgetting step, so a
broken examiner cannot make a test pass.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from core.records import Kind, Record, Status
from storage import Vault
from tests.forensics import examiner
from tests.forensics.conftest import MARKER, PASSPHRASE, decoded_hits, disk_hits, reopen


def report(text: str = MARKER) -> Record:
    return Record(kind=Kind.INCIDENT, status=Status.QUEUED, data={"what": text, "who": text})


def test_a_deleted_report_cannot_be_decoded_from_an_old_copy_of_the_journal(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    vault.put(Record(kind=Kind.NOTE, data={"text": "harmless"}))
    saved = vault.put(report())
    old_journal = (data_dir / "journal").read_bytes()
    assert decoded_hits(data_dir, PASSPHRASE) > 0  # the examiner reads it before deletion
    vault.delete(saved.id)
    vault.lock()
    assert disk_hits(data_dir) == []
    assert decoded_hits(data_dir, PASSPHRASE, old_journal) == 0


def test_send_and_forget_then_compact_leaves_only_the_stub_readable(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    saved = vault.put(report())
    copies = [(data_dir / "journal").read_bytes()]
    saved = vault.put(dataclasses.replace(saved, status=Status.SENT))  # acknowledged
    copies.append((data_dir / "journal").read_bytes())
    stub = Record(kind=saved.kind, id=saved.id, status=Status.SENT, version=saved.version, data={})
    vault.put(stub)  # what the sync engine keeps: no title, no fields
    copies.append((data_dir / "journal").read_bytes())
    assert decoded_hits(data_dir, PASSPHRASE, *copies) > 0
    vault.compact()  # what the sync engine calls once it forgot a report
    assert vault.get(saved.id).data == {}
    vault.lock()
    assert decoded_hits(data_dir, PASSPHRASE, *copies) == 0
    assert disk_hits(data_dir) == []


def test_compaction_destroys_the_old_journal_key_in_the_key_file(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    vault.put(report("kept"))

    def journal_keys() -> set[bytes]:
        key_file = (data_dir / "key").read_bytes()
        master = examiner.master_key(key_file, PASSPHRASE)
        assert master is not None
        return {record[4] for record in examiner.state_records(key_file, master)}

    before = journal_keys()
    assert len(before) == 1
    vault.compact()
    after = journal_keys()
    assert len(after) == 1 and after.isdisjoint(before)
    assert vault.key_generation == 1
    vault.lock()
    assert reopen(data_dir).list()[0].data["what"] == "kept"


def test_the_replaced_journal_is_overwritten_before_it_is_let_go(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    saved = vault.put(report())
    # An open descriptor keeps reaching the old journal's blocks after it is replaced.
    fd = os.open(data_dir / "journal", os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        assert os.pread(fd, 8, 0) == examiner.JOURNAL_MAGIC
        vault.delete(saved.id)
        old_blocks = os.pread(fd, size, 0)
    finally:
        os.close(fd)
    assert len(old_blocks) == size
    assert not old_blocks.startswith(examiner.JOURNAL_MAGIC)
    assert decoded_hits(data_dir, PASSPHRASE, old_blocks) == 0


def test_deleting_many_reports_forgets_all_of_them_and_keeps_the_rest(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    kept = vault.put(Record(kind=Kind.NOTE, data={"text": "shopping list"}))
    doomed = vault.put_many([report(f"{MARKER} {i}") for i in range(5)])
    old_journal = (data_dir / "journal").read_bytes()
    vault.delete_many([r.id for r in doomed])
    vault.lock()
    assert decoded_hits(data_dir, PASSPHRASE, old_journal) == 0
    with reopen(data_dir) as again:
        assert [r.id for r in again.list()] == [kept.id]


def test_a_crashed_compaction_leaves_no_readable_snapshot_behind(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    vault.put(report())
    vault.lock()
    # What a compaction interrupted before its rename leaves: a journal in tmp/ (here a copy
    # of the real one, which the examiner can read).
    stray = data_dir / "tmp" / "journal-0123456789abcdef01234567.tmp"
    stray.write_bytes((data_dir / "journal").read_bytes())
    with reopen(data_dir):
        pass
    assert not stray.exists()


def test_a_deleted_attachment_is_overwritten_before_it_is_unlinked(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    attachment = vault.attach(os.urandom(200_000), media_type="audio/mp4")
    blob = data_dir / "blobs" / attachment.id
    fd = os.open(blob, os.O_RDONLY)
    try:
        before = os.pread(fd, 300_000, 0)
        vault.delete_attachment(attachment.id)
        after = os.pread(fd, len(before), 0)
    finally:
        os.close(fd)
    assert not blob.exists()
    assert after[:8] != before[:8] and after[1000:2000] != before[1000:2000]


def test_a_deleted_attachment_cannot_be_decrypted_from_a_copy_with_the_passphrase(
    make_vault: Callable[..., Vault], data_dir: Path
) -> None:
    vault = make_vault()
    payload = f"voice memo: {MARKER}".encode() * 5000  # several chunks
    attachment = vault.attach(payload, media_type="audio/mp4")
    blob_copy = (data_dir / "blobs" / attachment.id).read_bytes()
    journal_copy = (data_dir / "journal").read_bytes()
    key_file = (data_dir / "key").read_bytes()
    keys = examiner.file_keys(key_file, PASSPHRASE, [journal_copy])
    assert examiner.attachment_plaintext(blob_copy, attachment.id, keys[attachment.id]) == payload
    vault.delete_attachment(attachment.id)
    vault.lock()
    after = examiner.files_under(data_dir)
    journals = [journal_copy, *examiner.journal_shaped(after)]
    assert examiner.file_keys(after[data_dir / "key"], PASSPHRASE, journals) == {}
    assert disk_hits(data_dir) == []


def test_a_discarded_draft_cannot_be_decoded_from_an_old_copy_of_the_journal(
    data_dir: Path,
) -> None:
    from app.services.field import VaultFieldService

    service = VaultFieldService(data_dir, kdf_log_n=15)
    service.create(PASSPHRASE, language="kk")
    draft = service.save_draft(None, "incident", "", {"answers": {"description": MARKER}})
    service.save_draft(draft, "incident", "", {"answers": {"description": MARKER + " 2"}})
    old_journal = (data_dir / "journal").read_bytes()
    assert decoded_hits(data_dir, PASSPHRASE) > 0  # the examiner reads the draft before
    assert disk_hits(data_dir) == []  # never in clear
    service.delete_draft(draft)  # sent, saved or discarded: the draft is forgotten
    service.lock()
    assert disk_hits(data_dir) == []
    assert decoded_hits(data_dir, PASSPHRASE, old_journal) == 0
