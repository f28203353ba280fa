"""The directory blob store: atomic finish under random names, and an honest running hash."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from server.blobs import DirectoryBlobStore


def test_digest_matches_the_bytes_written_in_chunks(tmp_path: Path) -> None:
    store = DirectoryBlobStore(tmp_path)
    name = store.create()
    data = os.urandom(10_000)
    for at in range(0, len(data), 3000):
        store.write_at(name, at, data[at : at + 3000])
    assert store.digest(name) == hashlib.sha256(data).hexdigest()


def test_digest_notices_a_file_extended_by_another_process(tmp_path: Path) -> None:
    first = DirectoryBlobStore(tmp_path)
    second = DirectoryBlobStore(tmp_path)  # another server process, same directory
    name = first.create()
    first.write_at(name, 0, b"a" * 100)
    second.write_at(name, 100, b"b" * 100)
    first.write_at(name, 200, b"c" * 100)
    expected = hashlib.sha256(b"a" * 100 + b"b" * 100 + b"c" * 100).hexdigest()
    assert first.digest(name) == expected
    assert second.digest(name) == expected


def test_rewriting_from_an_earlier_offset_truncates_what_followed(tmp_path: Path) -> None:
    store = DirectoryBlobStore(tmp_path)
    name = store.create()
    store.write_at(name, 0, b"x" * 50)
    store.write_at(name, 10, b"y" * 5)
    assert store.digest(name) == hashlib.sha256(b"x" * 10 + b"y" * 5).hexdigest()


def test_finish_moves_the_upload_under_a_new_random_name(tmp_path: Path) -> None:
    store = DirectoryBlobStore(tmp_path)
    name = store.create()
    store.write_at(name, 0, b"hello")
    final = store.finish(name)
    assert final != name
    assert b"".join(store.read(final)) == b"hello"
    assert store.size(final) == 5
    assert not (tmp_path / "partial" / name).exists()


def test_names_from_outside_are_refused(tmp_path: Path) -> None:
    store = DirectoryBlobStore(tmp_path)
    with pytest.raises(ValueError):
        store.write_at("../../etc/passwd", 0, b"x")
    with pytest.raises(ValueError):
        list(store.read("../x"))
