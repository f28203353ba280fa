"""The unit of work (`vault.unit()`), run against the encrypted `Vault` and the `MemoryVault`."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from tinydb import Query

from core.records import Kind, Record, Status
from storage import RecordNotFound


def note(text: str, **kwargs: Any) -> Record:
    return Record(kind=Kind.NOTE, data={"text": text}, **kwargs)


class Boom(Exception):
    pass


def test_a_unit_writes_nothing_until_its_block_ends_cleanly(store: Any) -> None:
    with store.unit() as uow:
        uow.put(note("a"))
        uow.put_many([note("b"), note("c")])
        assert store.list() == []
    assert sorted(r.data["text"] for r in store.list()) == ["a", "b", "c"]
    assert [r.version for r in uow.saved] == [1, 1, 1]
    assert uow.saved == sorted(store.list(), key=lambda r: r.data["text"])


def test_a_unit_whose_block_raises_writes_nothing(store: Any) -> None:
    kept, doomed = store.put_many([note("kept"), note("doomed")])
    changed = store.get(kept.id)
    changed.data["text"] = "changed"
    with pytest.raises(Boom), store.unit() as uow:
        uow.put(note("new"))
        uow.put(changed)
        uow.delete(doomed.id)
        raise Boom()
    assert sorted(r.data["text"] for r in store.list()) == ["doomed", "kept"]
    assert store.get(kept.id) == kept
    assert uow.saved == []


def test_a_unit_reads_what_it_staged_and_not_what_it_deleted(store: Any) -> None:
    old, gone = store.put_many([note("old", status=Status.QUEUED), note("gone")])
    with store.unit() as uow:
        staged = note("staged", status=Status.QUEUED)
        uow.put(staged)
        staged.data["text"] = "changed after staging"  # the unit keeps its own copy
        uow.delete(gone.id)
        assert uow.get(staged.id).data["text"] == "staged"
        with pytest.raises(RecordNotFound):
            uow.get(gone.id)
        assert [r.id for r in uow.list()] == [old.id, staged.id]
        assert [r.id for r in uow.list(kind=Kind.NOTE, where={"status": "queued"})] == [
            old.id,
            staged.id,
        ]
        assert [r.id for r in uow.list(where=Query().data.text == "staged")] == [staged.id]
        assert uow.list(kind=Kind.INCIDENT) == []
    assert store.get(staged.id).data["text"] == "staged"


def test_a_unit_saves_and_deletes_together_and_forgets_what_it_deleted(store: Any) -> None:
    kept, gone = store.put_many([note("kept"), note("gone")])
    generation = store.key_generation
    with store.unit() as uow:
        record = uow.get(kept.id)
        record.data["text"] = "kept, changed"
        uow.put(record)
        uow.delete(gone.id)
    assert [(r.id, r.data["text"], r.version) for r in store.list()] == [
        (kept.id, "kept, changed", 2)
    ]
    assert store.key_generation > generation


def test_deleting_what_is_neither_stored_nor_staged_raises_record_not_found(store: Any) -> None:
    with store.unit() as uow:
        with pytest.raises(RecordNotFound):
            uow.delete("missing")
        staged = note("staged only")
        uow.put(staged)
        uow.delete(staged.id)  # never stored: it is just unstaged
        with pytest.raises(RecordNotFound):
            uow.delete(staged.id)
    assert store.list() == []


def test_a_record_deleted_elsewhere_before_the_unit_ends_makes_it_write_nothing(
    store: Any,
) -> None:
    first, second = store.put_many([note("first"), note("second")])
    with pytest.raises(RecordNotFound), store.unit() as uow:
        uow.put(note("new"))
        uow.delete(first.id)
        store.delete(first.id)
    assert [r.id for r in store.list()] == [second.id]


def test_a_unit_inside_another_on_the_same_thread_commits_at_its_own_exit(store: Any) -> None:
    with store.unit() as outer:
        outer.put(note("outer"))
        with store.unit() as inner:
            inner.put(note("inner"))
        assert [r.data["text"] for r in store.list()] == ["inner"]
    assert sorted(r.data["text"] for r in store.list()) == ["inner", "outer"]


def test_two_threads_doing_read_modify_write_through_units_never_lose_an_update(
    store: Any,
) -> None:
    counter = store.put(Record(kind=Kind.SETTING, data={"count": 0}))
    rounds = 50
    errors: list[BaseException] = []

    def add_one() -> None:
        try:
            for _ in range(rounds):
                with store.unit() as uow:
                    record = uow.get(counter.id)
                    time.sleep(0.0005)  # let the other thread run between read and write
                    record.data["count"] += 1
                    uow.put(record)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.get(counter.id).data["count"] == 2 * rounds
