"""The blob-store contract, run unchanged against the directory store (the SQLite default) and
the PostgreSQL store, each as `open_blob_store` picks it for its database."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server import blobs
from server.blobs import BlobStore, DirectoryBlobStore, open_blob_store
from server.config import ServerConfig
from server.db import open_repository
from server.db.base import Blob, Repository
from server.pg_blobs import ROW_SIZE, PostgresBlobStore

BLOB_ID = "0123456789abcdef0123456789abcdef"
NOW = 1_763_700_000
PIECE_LIMIT = 1024 * 1024


@dataclasses.dataclass
class Stores:
    store: BlobStore
    other: BlobStore
    """The same store as another server process sees it (same directory or database)."""
    repo: Repository
    config: ServerConfig

    def upload(self, size: int, name: str) -> Blob:
        """A blob record for an upload of `size` bytes into `name`, at offset 0."""
        blob = Blob(BLOB_ID, "d" * 32, size, "f" * 64, 0, name, False)
        return self.repo.begin_blob(blob, NOW)


@pytest.fixture
def stores(db_url: str, tmp_path: Path) -> Iterator[Stores]:
    config = ServerConfig(data_dir=tmp_path / "data", db_url=db_url)
    repo = open_repository(db_url)
    second = open_repository(db_url, migrate=False)
    store = open_blob_store(config, repo)
    other = open_blob_store(config, second)
    kind = PostgresBlobStore if db_url.startswith("postgresql") else DirectoryBlobStore
    assert isinstance(store, kind)
    try:
        yield Stores(store, other, repo, config)
    finally:
        for each in (store, other):
            each.close()
        repo.close()
        second.close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _append(store: BlobStore, name: str, offset: int, data: bytes, pieces: int = 7) -> bool:
    appender = store.append(name, offset)
    step = max(1, len(data) // pieces)
    for at in range(0, len(data), step):
        appender.write(data[at : at + step])
    return appender.keep()


def test_digest_matches_the_bytes_written_in_chunks(stores: Stores) -> None:
    store = stores.store
    name = store.create()
    data = os.urandom(10_000)
    for at in range(0, len(data), 3000):
        store.write_at(name, at, data[at : at + 3000])
    assert store.digest(name) == _sha(data)


def test_digest_notices_an_upload_extended_by_another_process(stores: Stores) -> None:
    first, second = stores.store, stores.other
    name = first.create()
    first.write_at(name, 0, b"a" * 100)
    second.write_at(name, 100, b"b" * 100)
    first.write_at(name, 200, b"c" * 100)
    expected = _sha(b"a" * 100 + b"b" * 100 + b"c" * 100)
    assert first.digest(name) == expected
    assert second.digest(name) == expected


def test_rewriting_from_an_earlier_offset_truncates_what_followed(stores: Stores) -> None:
    store = stores.store
    name = store.create()
    store.write_at(name, 0, b"x" * 50)
    store.write_at(name, 10, b"y" * 5)
    assert store.digest(name) == _sha(b"x" * 10 + b"y" * 5)


def test_rewriting_from_the_middle_of_a_stored_row_keeps_the_bytes_before_it(
    stores: Stores,
) -> None:
    store = stores.store
    name = store.create()
    data = os.urandom(2 * ROW_SIZE + 1000)
    store.write_at(name, 0, data)
    cut = ROW_SIZE + 12_345
    store.write_at(name, cut, b"tail")
    final = store.finish(name)
    assert b"".join(store.read(final)) == data[:cut] + b"tail"
    assert store.size(final) == cut + 4


@pytest.mark.parametrize("size", [0, 1, ROW_SIZE - 1, ROW_SIZE, ROW_SIZE + 1, 3 * ROW_SIZE + 7])
def test_a_blob_written_in_uneven_pieces_reads_back_byte_for_byte(
    stores: Stores, size: int
) -> None:
    store = stores.store
    name = store.create()
    data = os.urandom(size)
    half = size // 2
    assert _append(store, name, 0, data[:half], pieces=5)
    assert _append(store, name, half, data[half:], pieces=3)
    assert store.digest(name) == _sha(data)
    final = store.finish(name)
    assert store.size(final) == size
    assert b"".join(store.read(final)) == data


def test_writing_and_hashing_on_two_threads_match_one_write(stores: Stores) -> None:
    store = stores.store
    name = store.create()
    before = os.urandom(ROW_SIZE // 2)
    store.write_at(name, 0, before)
    data = os.urandom(2 * ROW_SIZE + 5)
    pieces = [data[at : at + 7777] for at in range(0, len(data), 7777)]
    appender = store.append(name, len(before))
    appender.hash_upload()
    hashing = threading.Thread(target=appender.hash_pieces, args=(pieces,))
    hashing.start()
    appender.write_pieces(pieces)
    hashing.join()
    assert appender.written == len(data)
    assert appender.upload_digest() == _sha(before + data)
    assert appender.keep()
    assert store.digest(name) == _sha(before + data)
    final = store.finish(name)
    assert b"".join(store.read(final)) == before + data


def test_a_finished_blob_is_read_in_pieces_of_at_most_a_mebibyte(stores: Stores) -> None:
    store = stores.store
    name = store.create()
    data = os.urandom(3 * PIECE_LIMIT + 5)
    _append(store, name, 0, data, pieces=2)
    final = store.finish(name)
    pieces = list(store.read(final))
    assert max(len(p) for p in pieces) <= PIECE_LIMIT
    assert b"".join(pieces) == data


@pytest.mark.parametrize("start", [0, 1, ROW_SIZE - 1, ROW_SIZE, ROW_SIZE + 77, 2 * ROW_SIZE + 9])
def test_a_finished_blob_is_read_from_any_byte_on(stores: Stores, start: int) -> None:
    store = stores.store
    name = store.create()
    data = os.urandom(2 * ROW_SIZE + 9)
    _append(store, name, 0, data[: ROW_SIZE + 5], pieces=3)
    _append(store, name, ROW_SIZE + 5, data[ROW_SIZE + 5 :], pieces=2)
    final = store.finish(name)
    pieces = list(store.read(final, start))
    assert max((len(p) for p in pieces), default=0) <= PIECE_LIMIT
    assert b"".join(pieces) == data[start:]


def test_finish_moves_the_upload_under_a_new_random_name(stores: Stores) -> None:
    store = stores.store
    name = store.create()
    store.write_at(name, 0, b"hello")
    final = store.finish(name)
    assert final != name
    assert b"".join(store.read(final)) == b"hello"
    assert store.size(final) == 5
    assert store.digest(name) is None
    with pytest.raises(FileNotFoundError), store.locked(name):
        pass


def test_an_unfinished_upload_cannot_be_read(stores: Stores) -> None:
    store = stores.store
    name = store.create()
    store.write_at(name, 0, b"half of it")
    with pytest.raises(FileNotFoundError):
        list(store.read(name))
    with pytest.raises(FileNotFoundError):
        store.size(name)


def test_names_from_outside_are_refused(stores: Stores) -> None:
    store = stores.store
    with pytest.raises(ValueError):
        store.write_at("../../etc/passwd", 0, b"x")
    with pytest.raises(ValueError):
        list(store.read("../x"))
    with pytest.raises(ValueError), store.locked("'; DROP TABLE blobs; --"):
        pass


def test_locking_an_upload_that_does_not_exist_is_refused(stores: Stores) -> None:
    with pytest.raises(FileNotFoundError), stores.store.locked("ab" * 16):
        pass


def test_undo_leaves_the_upload_as_it_was(stores: Stores) -> None:
    store = stores.store
    name = store.create()
    store.write_at(name, 0, b"kept")
    appender = store.append(name, 4)
    appender.write(os.urandom(ROW_SIZE + 10))
    appender.undo()
    appender.undo()  # the second end is a no-op
    assert store.digest(name) == _sha(b"kept")
    assert stores.other.digest(name) == _sha(b"kept")
    store.write_at(name, 4, b"!")
    assert b"".join(store.read(store.finish(name))) == b"kept!"


def test_keep_moves_the_blobs_offset_with_the_bytes(stores: Stores) -> None:
    store = stores.store
    name = store.create()
    stores.upload(10, name)
    appender = store.append(name, 0)
    appender.write(b"012345")
    assert appender.keep(BLOB_ID) is True
    blob = stores.repo.blob(BLOB_ID)
    assert blob is not None and blob.offset == 6
    assert store.digest(name) == _sha(b"012345")


def test_keep_refuses_and_undoes_a_chunk_whose_offset_moved_meanwhile(stores: Stores) -> None:
    store = stores.store
    name = store.create()
    stores.upload(10, name)
    appender = store.append(name, 0)
    appender.write(b"0123")
    assert stores.repo.advance_blob(BLOB_ID, 0, 2)  # someone else counted two bytes
    assert appender.keep(BLOB_ID) is False
    assert store.digest(name) == _sha(b"")
    blob = stores.repo.blob(BLOB_ID)
    assert blob is not None and blob.offset == 2


def test_discard_forgets_uploads_and_finished_blobs(stores: Stores) -> None:
    store = stores.store
    upload = store.create()
    store.write_at(upload, 0, b"partial")
    done = store.create()
    store.write_at(done, 0, b"finished")
    final = store.finish(done)
    store.discard(upload)
    store.discard(final)
    store.discard("cd" * 16)  # missing is fine
    assert store.digest(upload) is None
    with pytest.raises(FileNotFoundError):
        list(store.read(final))


def test_the_lock_on_an_upload_holds_off_every_other_process(stores: Stores) -> None:
    name = stores.store.create()
    order: list[str] = []
    inside = threading.Event()

    def second() -> None:
        inside.wait(10)
        with stores.other.locked(name):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with stores.store.locked(name):
        inside.set()
        time.sleep(0.3)
        order.append("first")
    thread.join(10)
    assert order == ["first", "second"]


def test_a_lock_tried_without_waiting_is_refused_at_once_while_held_and_taken_once_free(
    stores: Stores,
) -> None:
    name = stores.store.create()
    with stores.store.locked(name):
        started = time.monotonic()
        with pytest.raises(blobs.UploadBusy), stores.other.locked(name, wait=False):
            pass
        assert time.monotonic() - started < 1
    with (
        stores.other.locked(name, wait=False),
        pytest.raises(blobs.UploadBusy),
        stores.store.locked(name, wait=False),
    ):
        pass


def test_writes_under_the_lock_are_seen_by_every_process(stores: Stores) -> None:
    name = stores.store.create()
    stores.upload(6, name)
    with stores.store.locked(name):
        appender = stores.store.append(name, 0)
        appender.write(b"abc")
        assert appender.keep(BLOB_ID)
    with stores.other.locked(name):
        appender = stores.other.append(name, 3)
        appender.write(b"def")
        assert appender.keep(BLOB_ID)
        assert stores.other.digest(name) == _sha(b"abcdef")
        final = stores.other.finish(name)
    assert b"".join(stores.store.read(final)) == b"abcdef"


@pytest.mark.parametrize("cut_back", [0, 7])
def test_the_upload_digest_covers_the_bytes_before_the_chunk_even_when_another_process_wrote_them(
    stores: Stores, cut_back: int
) -> None:
    first, second = stores.store, stores.other
    name = first.create()
    before = os.urandom(ROW_SIZE + 100)
    first.write_at(name, 0, before[:ROW_SIZE])
    second.write_at(name, ROW_SIZE, before[ROW_SIZE:])  # `first` does not hold their hash
    offset = len(before) - cut_back
    appender = first.append(name, offset)
    appender.hash_upload()
    appender.write(b"chunk")
    assert appender.upload_digest() == _sha(before[:offset] + b"chunk")
    assert appender.keep() is True
    assert first.digest(name) == _sha(before[:offset] + b"chunk")
    appender = first.append(name, offset + 5)  # the running hash is held now
    appender.hash_upload()
    appender.write(b"!")
    assert appender.upload_digest() == _sha(before[:offset] + b"chunk!")
    appender.undo()


def test_a_long_chunk_is_flushed_while_it_arrives_and_can_still_be_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs, "FLUSH_EARLY", 1024)
    store = DirectoryBlobStore(tmp_path)
    flushed: list[int] = []
    flush_later = store._flush_later
    monkeypatch.setattr(store, "_flush_later", lambda fd: (flushed.append(fd), flush_later(fd)))
    name = store.create()
    store.write_at(name, 0, b"kept")
    appender = store.append(name, 4)
    for _ in range(5):
        appender.write(b"x" * 600)
    assert len(flushed) == 2  # after 1,200 and 2,400 bytes, before the chunk is kept
    appender.undo()
    store.close()  # waits for the flushes
    assert store.digest(name) == _sha(b"kept")
