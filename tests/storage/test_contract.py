"""The vault contract, run against the encrypted `Vault` and the in-memory `MemoryVault`.

Other parts of FieldVault unit-test against `MemoryVault`; these tests are what make that safe.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tinydb import Query

from core.records import Kind, Record, Status
from storage import (
    AttachmentNotFound,
    RecordNotFound,
    SpoolNotFound,
    VaultLocked,
    WrongPassphrase,
)
from tests.storage.conftest import PASSPHRASE


def note(text: str = "hello", **kwargs: Any) -> Record:
    return Record(kind=Kind.NOTE, data={"text": text}, **kwargs)


def test_put_bumps_version_and_get_returns_an_equal_record(store: Any) -> None:
    original = note("first")
    saved = store.put(original)
    assert saved.version == original.version + 1
    assert saved.updated_at > 0
    assert store.get(saved.id) == saved
    again = store.put(saved)
    assert again.version == 2
    assert store.get(saved.id).version == 2


def test_put_does_not_mutate_the_callers_record_or_share_its_data(store: Any) -> None:
    original = note("mine")
    saved = store.put(original)
    assert original.version == 0
    original.data["text"] = "changed after saving"
    saved.data["text"] = "changed the returned copy"
    assert store.get(saved.id).data == {"text": "mine"}


def test_get_missing_record_raises_record_not_found(store: Any) -> None:
    with pytest.raises(RecordNotFound):
        store.get("0" * 32)


def test_list_filters_by_kind_and_by_tinydb_query_and_by_mapping(store: Any) -> None:
    a = store.put(Record(kind=Kind.INCIDENT, data={"region": "Osh"}, status=Status.READY))
    b = store.put(Record(kind=Kind.INCIDENT, data={"region": "Chui"}))
    c = store.put(note())
    assert {r.id for r in store.list()} == {a.id, b.id, c.id}
    assert {r.id for r in store.list(kind=Kind.INCIDENT)} == {a.id, b.id}
    assert [r.id for r in store.list(where=Query().data.region == "Osh")] == [a.id]
    assert [r.id for r in store.list(kind="incident", where={"status": "ready"})] == [a.id]
    assert [r.id for r in store.list(where=lambda doc: doc["kind"] == "note")] == [c.id]
    assert store.list(kind="outbox") == []


def test_list_is_ordered_oldest_first(store: Any) -> None:
    ids = [store.put(note(str(i), created_at=1000.0 + (5 - i))).id for i in range(5)]
    assert [r.id for r in store.list()] == list(reversed(ids))


def test_put_many_saves_every_record_and_returns_them(store: Any) -> None:
    saved = store.put_many([note(str(i)) for i in range(20)])
    assert len(saved) == 20
    assert sorted(r.data["text"] for r in store.list()) == sorted(str(i) for i in range(20))
    assert store.put_many([]) == []


def test_delete_removes_and_missing_delete_raises(store: Any) -> None:
    saved = store.put(note())
    store.delete(saved.id)
    with pytest.raises(RecordNotFound):
        store.get(saved.id)
    with pytest.raises(RecordNotFound):
        store.delete(saved.id)


def test_delete_many_is_all_or_nothing(store: Any) -> None:
    kept = store.put_many([note("a"), note("b")])
    with pytest.raises(RecordNotFound):
        store.delete_many([kept[0].id, "missing"])
    assert len(store.list()) == 2
    store.delete_many([r.id for r in kept])
    assert store.list() == []


def test_compact_replaces_the_journal_key_and_keeps_every_record(store: Any) -> None:
    saved = store.put_many([note(str(i)) for i in range(5)])
    generation = store.key_generation
    store.compact()
    assert store.key_generation == generation + 1
    assert [r.id for r in store.list()] == [r.id for r in saved]


def test_deleting_forgets_at_once_with_a_new_journal_key(store: Any) -> None:
    kept, gone, also_gone = store.put_many([note("kept"), note("gone"), note("also gone")])
    generation = store.key_generation
    store.delete(gone.id)
    assert store.key_generation == generation + 1
    store.delete_many([also_gone.id])
    assert store.key_generation == generation + 2
    assert [r.id for r in store.list()] == [kept.id]


def test_deleting_an_attachment_forgets_it_with_a_new_journal_key(store: Any) -> None:
    kept = store.attach(b"kept", media_type="text/plain")
    gone = store.attach(b"gone", media_type="text/plain")
    generation = store.key_generation
    store.delete_attachment(gone.id)
    assert store.key_generation == generation + 1
    assert [a.id for a in store.attachments()] == [kept.id]
    with pytest.raises(AttachmentNotFound):
        store.read_attachment(gone.id)


def test_attachment_round_trip_listing_and_deletion(store: Any) -> None:
    payload = bytes(range(256)) * 1000
    info = store.attach(payload, media_type="application/octet-stream", name="a.bin")
    assert info.size == len(payload)
    assert store.read_attachment(info.id) == payload
    with store.open_attachment(info.id) as stream:
        assert stream.read(10) == payload[:10]
        assert stream.read() == payload[10:]
    assert [a.id for a in store.attachments()] == [info.id]
    assert store.attachment_info(info.id).name == "a.bin"
    store.delete_attachment(info.id)
    with pytest.raises(AttachmentNotFound):
        store.read_attachment(info.id)
    with pytest.raises(AttachmentNotFound):
        store.delete_attachment(info.id)


def test_attach_accepts_a_stream_and_a_path(store: Any, tmp_path: Path) -> None:
    source = tmp_path / "doc.txt"
    source.write_bytes(b"from a path")
    by_path = store.attach(source, media_type="text/plain")
    by_stream = store.attach(io.BytesIO(b"from a stream"), media_type="text/plain")
    assert store.read_attachment(by_path.id) == b"from a path"
    assert store.read_attachment(by_stream.id) == b"from a stream"
    assert source.exists()


def test_attach_with_remove_source_deletes_the_source_file(store: Any, tmp_path: Path) -> None:
    source = tmp_path / "picker-copy.bin"
    source.write_bytes(b"temporary copy")
    info = store.attach(source, media_type="application/octet-stream", remove_source=True)
    assert not source.exists()
    assert store.read_attachment(info.id) == b"temporary copy"


def test_spool_write_read_size_delete(store: Any) -> None:
    with store.spool_writer("blob-1.age") as out:
        out.write(b"age-encryption.org/v1 ciphertext")
    assert store.spool_size("blob-1.age") == 32
    with store.spool_reader("blob-1.age") as handle:
        assert handle.read() == b"age-encryption.org/v1 ciphertext"
    assert store.spool_names() == ["blob-1.age"]
    store.spool_delete("blob-1.age")
    with pytest.raises(SpoolNotFound):
        store.spool_size("blob-1.age")


def test_spool_writer_discards_the_file_when_the_block_raises(store: Any) -> None:
    with pytest.raises(RuntimeError), store.spool_writer("half") as out:
        out.write(b"partial")
        raise RuntimeError("upload preparation failed")
    assert store.spool_names() == []


@pytest.mark.parametrize("name", ["", "../key", "a/b", ".hidden", "x" * 200, "nul\x00"])
def test_spool_refuses_names_that_could_escape(store: Any, name: str) -> None:
    with pytest.raises(ValueError):
        store.spool_writer(name)


def test_settings_wipe_threshold_is_adjustable(store: Any) -> None:
    assert store.settings.wipe_threshold == 10
    store.settings.wipe_threshold = 3
    assert store.settings.wipe_threshold == 3
    with pytest.raises(ValueError):
        store.settings.wipe_threshold = -1


def test_change_passphrase_refuses_a_wrong_old_passphrase(store: Any) -> None:
    with pytest.raises(WrongPassphrase):
        store.change_passphrase("not it", "new passphrase")


def test_duress_passphrase_must_differ_from_the_passphrase(store: Any) -> None:
    with pytest.raises(ValueError):
        store.set_duress_passphrase(PASSPHRASE)


def test_everything_raises_vault_locked_after_lock(store: Any) -> None:
    saved = store.put(note())
    store.lock()
    calls: list[Callable[[], object]] = [
        lambda: store.get(saved.id),
        lambda: store.put(note()),
        lambda: store.list(),
        lambda: store.attach(b"x", media_type="text/plain"),
        lambda: store.spool_writer("x"),
    ]
    for call in calls:
        with pytest.raises(VaultLocked):
            call()


def test_wipe_empties_the_store_and_locks_it(store: Any) -> None:
    store.put(note())
    store.wipe()
    with pytest.raises(VaultLocked):
        store.list()
