"""Property tests: any JSON-shaped record survives save, load and reopen unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.records import Record
from storage import Vault
from storage.memory import MemoryVault
from tests.storage.conftest import FAST_LOG_N, PASSPHRASE

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=25,
)

records = st.builds(
    Record,
    kind=st.text(min_size=1, max_size=30),
    data=st.dictionaries(st.text(max_size=30), json_values, max_size=6),
    id=st.text(min_size=1, max_size=40),
    status=st.text(max_size=20),
    status_reason=st.text(max_size=50),
    created_at=st.floats(min_value=0, max_value=4e9),
)

_settings = settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60
)


def _expected(record: Record, saved: Record) -> dict[str, Any]:
    expected = record.to_dict()
    expected["version"] = record.version + 1
    expected["updated_at"] = saved.updated_at
    return expected


@_settings
@given(record=records)
def test_any_record_round_trips_through_the_encrypted_vault(vault: Vault, record: Record) -> None:
    saved = vault.put(record)
    assert vault.get(record.id).to_dict() == _expected(record, saved)
    assert [r.id for r in vault.list(kind=record.kind) if r.id == record.id] == [record.id]


@_settings
@given(record=records)
def test_any_record_round_trips_through_the_memory_vault(record: Record) -> None:
    store = MemoryVault()
    saved = store.put(record)
    assert store.get(record.id).to_dict() == _expected(record, saved)


@settings(deadline=None, max_examples=8)
@given(batch=st.lists(records, min_size=1, max_size=8, unique_by=lambda r: r.id))
def test_records_are_identical_after_closing_and_reopening(
    tmp_path_factory: Any, batch: list[Record]
) -> None:
    path: Path = tmp_path_factory.mktemp("roundtrip") / "v"
    vault = Vault.create(path, PASSPHRASE, kdf_log_n=FAST_LOG_N)
    saved = {r.id: r.to_dict() for r in vault.put_many(batch)}
    vault.lock()
    reopened = Vault.open(path, PASSPHRASE)
    try:
        assert {r.id: r.to_dict() for r in reopened.list()} == saved
    finally:
        reopened.lock()
