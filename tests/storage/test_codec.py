"""The record codec: the fast shallow encoding writes exactly what the deep copy would."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from core.records import Kind, Record, Status
from storage.codec import encode_record

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _deep_encoding(record: Record) -> bytes:
    return json.dumps(
        record.to_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=True
    ).encode("utf-8", "surrogatepass")


@given(data=st.dictionaries(st.text(), _json, max_size=6), reason=st.text(max_size=20))
def test_shallow_encoding_is_byte_for_byte_the_deep_one(data: dict[str, Any], reason: str) -> None:
    record = Record(kind=Kind.CASE, data=data, status=Status.FAILED, status_reason=reason)
    assert encode_record(record) == _deep_encoding(record)


def test_shallow_dict_names_every_record_field_in_order() -> None:
    record = Record(kind=Kind.NOTE, data={"a": [1, {"b": 2}]})
    names = [f.name for f in dataclasses.fields(Record)]
    assert list(record.to_shallow_dict()) == names
    assert record.to_shallow_dict() == record.to_dict()


def test_shallow_dict_shares_data_and_to_dict_does_not() -> None:
    record = Record(kind=Kind.NOTE, data={"nested": {"x": 1}})
    assert record.to_shallow_dict()["data"] is record.data
    deep = record.to_dict()
    deep["data"]["nested"]["x"] = 2
    assert record.data["nested"]["x"] == 1
