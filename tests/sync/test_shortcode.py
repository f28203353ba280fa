"""Short join codes: the format, the check character, the derivation and the sealing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync import shortcode
from sync.invite import ALPHABET, Invite
from sync.shortcode import ShortCodeError, derive, new_code, open_invite, parse_code, seal_invite

# A known answer: change the derivation and this fails (phones and coordinators must agree).
KNOWN_CODE = "0123-4567-89AS"
KNOWN_LOOKUP = "545b75aa1dc49f83d6a9791caa610d86"
KNOWN_KEY = "71e3baf80e0f61c2bf3f886c4bf54f40951479b10e530817daeda5f6b258e8ef"

INVITE = Invite(
    server_url="https://org.example",
    token="t0ken_-",
    root_fingerprint="ab" * 16,
    enrol_secret="cd" * 16,
    org_floor=3,
    org_key="ef" * 32,
)


def test_a_new_code_is_twelve_characters_in_three_groups_and_parses_to_itself() -> None:
    code = new_code()
    assert len(code) == 14 and code[4] == code[9] == "-"
    assert parse_code(code) == code


def test_the_known_code_derives_the_known_lookup_id_and_key() -> None:
    derived = derive(KNOWN_CODE)
    assert derived.lookup == KNOWN_LOOKUP and derived.key.hex() == KNOWN_KEY


def test_case_spaces_dashes_and_look_alikes_are_forgiven() -> None:
    assert parse_code(" 0i23 4567 89as ") == KNOWN_CODE
    assert parse_code("O123456789AS") == KNOWN_CODE
    assert derive("o123-4567-89as") == derive(KNOWN_CODE)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0123-4567-89A", "bad_length"),
        ("0123-4567-89AS0", "bad_length"),
        ("0123-4567-89AU", "bad_character"),
        ("0123-4567-89AЅ", "bad_character"),
        ("0123-4567-89AT", "bad_check"),
    ],
)
def test_a_wrong_code_names_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(ShortCodeError) as refused:
        parse_code(text)
    assert refused.value.reason == reason


@given(st.integers(0, 11), st.integers(1, 31))
def test_every_single_mistyped_character_is_caught(position: int, shift: int) -> None:
    digits = [ALPHABET.index(c) for c in KNOWN_CODE.replace("-", "")]
    digits[position] = (digits[position] + shift) % 32
    typed = "".join(ALPHABET[d] for d in digits)
    with pytest.raises(ShortCodeError):
        parse_code(typed)


def test_a_sealed_invite_opens_only_with_its_own_code() -> None:
    derived = derive(KNOWN_CODE)
    sealed = seal_invite(derived, INVITE)
    assert open_invite(derived, sealed) == INVITE
    other = derive(new_code())
    with pytest.raises(ShortCodeError) as refused:
        open_invite(other, sealed)
    assert refused.value.reason == "tampered"


@given(st.integers(0, 200))
def test_any_flipped_byte_of_a_sealed_invite_is_refused(index: int) -> None:
    derived = shortcode.Derived(lookup=KNOWN_LOOKUP, key=bytes.fromhex(KNOWN_KEY))
    sealed = bytearray(seal_invite(derived, INVITE))
    sealed[index % len(sealed)] ^= 0x40
    with pytest.raises(ShortCodeError):
        open_invite(derived, bytes(sealed))


def test_a_sealed_invite_moved_to_another_lookup_id_is_refused() -> None:
    derived = derive(KNOWN_CODE)
    sealed = seal_invite(derived, INVITE)
    moved = shortcode.Derived(lookup="00" * 16, key=derived.key)
    with pytest.raises(ShortCodeError):
        open_invite(moved, sealed)


def test_truncated_or_oversized_sealed_bytes_are_refused() -> None:
    derived = derive(KNOWN_CODE)
    for sealed in (b"", b"\x00" * 27, b"\x00" * (shortcode.MAX_SEALED + 1)):
        with pytest.raises(ShortCodeError):
            open_invite(derived, sealed)


VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "shortcode" / "shortcode.json").read_text("utf-8")
)


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_vector_codes_derive_and_open_to_their_invite(vector: dict) -> None:
    derived = derive(vector["typed"])
    assert derived.lookup == vector["lookup"] and derived.key.hex() == vector["key"]
    assert open_invite(derived, bytes.fromhex(vector["sealed"])) == Invite(**vector["invite"])


@pytest.mark.parametrize("vector", VECTORS["invalid_codes"], ids=lambda v: v["name"])
def test_vector_codes_that_are_refused_name_why(vector: dict) -> None:
    with pytest.raises(ShortCodeError) as refused:
        parse_code(vector["code"])
    assert refused.value.reason == vector["error"]


@pytest.mark.parametrize("vector", VECTORS["invalid_sealed"], ids=lambda v: v["name"])
def test_vector_sealed_invites_that_are_refused_name_why(vector: dict) -> None:
    derived = derive(VECTORS["valid"][0]["code"])
    with pytest.raises(ShortCodeError) as refused:
        open_invite(derived, bytes.fromhex(vector["sealed"]))
    assert refused.value.reason == vector["error"]
