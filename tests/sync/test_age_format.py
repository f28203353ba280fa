"""The header format: whatever we serialise parses back to the same stanzas and bytes."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.age import b64, bech32
from sync.age.errors import HeaderError
from sync.age.format import Stanza, encode_with_mac, encode_without_mac, read_header
from sync.age.reader import BufferedSource

_WORD = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20
)
_STANZA = st.builds(Stanza, _WORD, st.lists(_WORD, max_size=4).map(tuple), st.binary(max_size=300))


@settings(max_examples=200, deadline=None)
@given(stanzas=st.lists(_STANZA, max_size=5), mac=st.binary(min_size=32, max_size=32))
def test_serialised_headers_parse_back_to_the_same_stanzas_and_bytes(
    stanzas: list[Stanza], mac: bytes
) -> None:
    encoded = encode_with_mac(encode_without_mac(stanzas), mac)
    source = BufferedSource(io.BytesIO(encoded + b"PAYLOAD"))
    header = read_header(source)
    assert list(header.stanzas) == stanzas
    assert header.mac == mac
    assert encode_with_mac(header.mac_input, header.mac) == encoded
    assert source.read_exact(100) == b"PAYLOAD"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400))
def test_parsing_arbitrary_bytes_raises_only_header_error(data: bytes) -> None:
    for candidate in (data, b"age-encryption.org/v1\n" + data):
        try:
            header = read_header(BufferedSource(io.BytesIO(candidate)))
        except HeaderError:
            continue
        # Whatever parses must re-serialise to exactly the bytes that were read.
        assert candidate.startswith(encode_with_mac(header.mac_input, header.mac))


@given(data=st.binary(max_size=200))
def test_strict_base64_round_trips_and_rejects_padding(data: bytes) -> None:
    text = b64.encode(data)
    assert b64.decode(text) == data
    assert b"=" not in text
    if len(data) % 3:
        with pytest.raises(ValueError):
            b64.decode(text + b"=")


@given(hrp=st.sampled_from(["age", "age1pq", "AGE-SECRET-KEY-"]), data=st.binary(max_size=1300))
def test_bech32_round_trips_any_length(hrp: str, data: bytes) -> None:
    text = bech32.encode(hrp, data)
    assert bech32.decode(text) == (hrp.lower(), data)
    assert bech32.decode(text.upper()) == (hrp.upper(), data)
