"""The plaintext inside an envelope: strict outside, tolerant inside `record`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.payload import KIND_FOR_TYPE, TYPES, BlobRef, PayloadError, build_payload, parse_payload

BLOB: dict[str, Any] = {
    "id": "a" * 32,
    "sha256": "b" * 64,
    "size": 10,
    "media_type": "image/jpeg",
    "name": "фото.jpg",
}


def test_built_payload_is_canonical_json_and_parses_back() -> None:
    data = build_payload("incident", {"title": "Задержание", "n": 2}, [BLOB])
    assert (
        data
        == json.dumps(
            {"type": "incident", "record": {"title": "Задержание", "n": 2}, "blobs": [BLOB]},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
        ).encode()
    )
    payload = parse_payload(data)
    assert payload.type == "incident"
    assert payload.record == {"title": "Задержание", "n": 2}
    assert payload.blobs == (BlobRef(**BLOB),)


def test_blob_refs_and_dicts_build_the_same_bytes() -> None:
    assert build_payload("note", {}, [BlobRef(**BLOB)]) == build_payload("note", {}, [BLOB])


def test_every_payload_type_maps_to_an_envelope_kind() -> None:
    assert set(KIND_FOR_TYPE) == TYPES
    assert set(KIND_FOR_TYPE.values()) == {"report", "event", "message", "reply"}


def test_unknown_keys_inside_the_record_are_kept() -> None:
    data = b'{"blobs":[],"record":{"future_field":{"x":[1]}},"type":"note"}'
    assert parse_payload(data).record == {"future_field": {"x": [1]}}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"blobs":[],"record":{},"type":"note","extra":1}', "unknown_field"),
        (b'{"record":{},"type":"note"}', "missing_field"),
        (b'{"blobs":[],"record":{},"type":"photo"}', "unknown_type"),
        (b'{"blobs":[],"record":[],"type":"note"}', "wrong_type"),
        (b'{"blobs":{},"record":{},"type":"note"}', "wrong_type"),
        (b"[]", "wrong_type"),
        (b'{"blobs":[],"record":{"a":1.5},"type":"note"}', "malformed_json"),
        (b'{"blobs":[],"blobs":[],"record":{},"type":"note"}', "malformed_json"),
        (b"\xff", "malformed_json"),
    ],
)
def test_the_outer_shape_is_strict(data: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload(data)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"extra": 1}, "unknown_field"),
        ({"id": ""}, "bad_blob_id"),
        ({"id": "a/b"}, "bad_blob_id"),
        ({"sha256": "B" * 64}, "bad_blob_hash"),
        ({"size": -1}, "bad_blob_size"),
        ({"size": True}, "bad_blob_size"),
        ({"name": "x" * 256}, "bad_blob_text"),
        ({"media_type": None}, "bad_blob_text"),
    ],
)
def test_blob_references_are_strict(change: dict, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        build_payload("incident", {}, [{**BLOB, **change}])
    assert caught.value.reason == reason


def test_a_record_that_is_not_json_is_refused() -> None:
    with pytest.raises(PayloadError) as caught:
        build_payload("note", {"when": 1.5})
    assert caught.value.reason == "record_not_json"


@given(
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=5),
    st.sampled_from(sorted(TYPES)),
)
def test_build_then_parse_round_trips(record: dict, type_: str) -> None:
    data = build_payload(type_, record)
    assert parse_payload(data).record == record
    assert build_payload(type_, parse_payload(data).record) == data
