"""Round trips at every size around the 64 KiB chunk boundary, and tamper detection."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sync.age as age
from sync.age.stream import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, NONCE_SIZE

IDENTITY, RECIPIENT = age.generate_identity()
OTHER_IDENTITY, OTHER_RECIPIENT = age.generate_identity()
BOUNDARY_SIZES = [
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    2 * CHUNK_SIZE - 1,
    2 * CHUNK_SIZE,
    2 * CHUNK_SIZE + 1,
    3 * CHUNK_SIZE,
]


def _plaintext(size: int) -> bytes:
    return bytes((i * 7 + 3) % 251 for i in range(size))


def _payload_length(size: int) -> int:
    chunks = max(1, -(-size // CHUNK_SIZE))
    return NONCE_SIZE + size + chunks * (ENCRYPTED_CHUNK_SIZE - CHUNK_SIZE)


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_round_trip_at_chunk_boundaries(size: int, armor: bool) -> None:
    plaintext = _plaintext(size)
    ciphertext = age.encrypt(plaintext, [RECIPIENT], armor=armor)
    assert age.decrypt(ciphertext, [IDENTITY]) == plaintext


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_payload_has_one_final_chunk_and_no_empty_trailing_chunk(size: int) -> None:
    ciphertext = age.encrypt(_plaintext(size), [RECIPIENT])
    header_end = ciphertext.index(b"\n---") + 1
    header_end = ciphertext.index(b"\n", header_end) + 1
    assert len(ciphertext) - header_end == _payload_length(size)


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_stream_round_trip_matches_bytes_api(size: int) -> None:
    plaintext = _plaintext(size)
    encrypted = io.BytesIO()
    age.encrypt_stream(io.BytesIO(plaintext), encrypted, [RECIPIENT])
    decrypted = io.BytesIO()
    age.decrypt_stream(io.BytesIO(encrypted.getvalue()), decrypted, [IDENTITY])
    assert decrypted.getvalue() == plaintext


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=300),
    pad=st.sampled_from([0, CHUNK_SIZE - 150, CHUNK_SIZE, 2 * CHUNK_SIZE - 150]),
)
def test_any_plaintext_round_trips_to_every_recipient(data: bytes, pad: int) -> None:
    plaintext = bytes(pad) + data
    ciphertext = age.encrypt(plaintext, [OTHER_RECIPIENT, RECIPIENT])
    assert age.decrypt(ciphertext, [IDENTITY]) == plaintext
    assert age.decrypt(ciphertext, [OTHER_IDENTITY]) == plaintext


_SHORT = age.encrypt(_plaintext(CHUNK_SIZE + 10), [RECIPIENT])
_ARMORED = age.encrypt(_plaintext(100), [RECIPIENT], armor=True)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(_SHORT) * 8 - 1))
def test_any_flipped_bit_is_detected_with_a_typed_error(position: int) -> None:
    tampered = bytearray(_SHORT)
    tampered[position // 8] ^= 1 << (position % 8)
    with pytest.raises(age.AgeError):
        age.decrypt(bytes(tampered), [IDENTITY], armor=False)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(_ARMORED) * 8 - 1))
def test_any_flipped_bit_in_armor_is_detected_or_harmless(position: int) -> None:
    tampered = bytearray(_ARMORED)
    tampered[position // 8] ^= 1 << (position % 8)
    try:
        result = age.decrypt(bytes(tampered), [IDENTITY])
    except age.AgeError:
        return
    # Only whitespace outside the armor may change without error, and the plaintext is intact.
    assert result == _plaintext(100)
    assert bytes(tampered).strip() == _ARMORED.strip()


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(_SHORT) - 1))
def test_any_truncation_is_detected_with_a_typed_error(cut: int) -> None:
    with pytest.raises(age.AgeError):
        age.decrypt(_SHORT[:cut], [IDENTITY])


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(max_size=2000))
def test_arbitrary_input_raises_only_typed_errors(garbage: bytes) -> None:
    for candidate in (garbage, b"age-encryption.org/v1\n" + garbage):
        with pytest.raises(age.AgeError):
            age.decrypt(candidate, [IDENTITY])


def test_large_armored_file_with_crlf_line_endings_decrypts() -> None:
    plaintext = _plaintext(3 * CHUNK_SIZE + 5)
    armored = age.encrypt(plaintext, [RECIPIENT], armor=True)
    assert age.decrypt(armored.replace(b"\n", b"\r\n"), [IDENTITY]) == plaintext


def test_armor_with_a_short_line_in_the_middle_is_rejected() -> None:
    armored = age.encrypt(_plaintext(CHUNK_SIZE), [RECIPIENT], armor=True)
    lines = armored.split(b"\n")
    lines[500] = lines[500][:-4]
    with pytest.raises(age.ArmorError):
        age.decrypt(b"\n".join(lines), [IDENTITY])
