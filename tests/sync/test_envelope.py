"""Sealing, verifying, opening and the strict wire form of envelopes."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.crypto.signing import SigningKey
from sync import age
from sync import envelope as env
from sync.age.keys import parse_identity
from sync.keys import key_id

AUTHOR = SigningKey.from_bytes(bytes([7]) * 32)
PUBLIC = AUTHOR.public_bytes()
IDENTITY, RECIPIENT = age.generate_identity()
SECOND_IDENTITY, SECOND_RECIPIENT = age.generate_identity()
STRANGER_IDENTITY, _ = age.generate_identity()
NOW = 1_763_700_000
MARKER = b"plaintext-marker-7f3a"


def signed(payload: bytes = b"ciphertext", **changes: object) -> env.Envelope:
    args: dict = {"signer": AUTHOR, "seq": 1, "prev": env.ZERO_HASH, "kind": "report", "now": NOW}
    args.update(changes)
    return env.sign_ciphertext(payload, **args)


SMALL = signed(b"x" * 40, envelope_id="ab" * 16)
SMALL_BYTES = env.to_bytes(SMALL)


def test_sealed_envelope_verifies_and_opens_for_every_recipient() -> None:
    sealed = env.seal(
        MARKER,
        signer=AUTHOR,
        recipients=[RECIPIENT, SECOND_RECIPIENT],
        seq=1,
        prev=env.ZERO_HASH,
        kind="report",
        now=NOW,
    )
    env.verify(sealed, PUBLIC)
    assert env.open_(sealed, [IDENTITY]) == MARKER
    assert env.open_(sealed, [SECOND_IDENTITY]) == MARKER
    assert MARKER not in sealed.payload
    assert MARKER not in env.to_bytes(sealed)
    assert sealed.header.author == key_id(PUBLIC)
    assert sealed.header.size == len(sealed.payload)


@dataclasses.dataclass
class _Head:
    seq: int = 0
    last_hash: str = env.ZERO_HASH


def test_seal_next_links_each_envelope_to_the_last_and_moves_the_head() -> None:
    head = _Head()
    first = env.seal_next(
        head, MARKER, signer=AUTHOR, recipients=[RECIPIENT], kind="report", now=NOW
    )
    assert (first.header.seq, first.header.prev) == (1, env.ZERO_HASH)
    assert (head.seq, head.last_hash) == (1, env.envelope_hash(first))
    second = env.seal_next(
        head, MARKER, signer=AUTHOR, recipients=[RECIPIENT], kind="report", now=NOW
    )
    assert (second.header.seq, second.header.prev) == (2, env.envelope_hash(first))
    assert (head.seq, head.last_hash) == (2, env.envelope_hash(second))
    env.verify(second, PUBLIC)
    assert env.open_(second, [IDENTITY]) == MARKER


def test_seal_next_leaves_the_head_alone_when_sealing_fails() -> None:
    head = _Head(seq=4, last_hash="ab" * 32)
    with pytest.raises(ValueError, match="at least one recipient"):
        env.seal_next(head, MARKER, signer=AUTHOR, recipients=[], kind="report", now=NOW)
    assert (head.seq, head.last_hash) == (4, "ab" * 32)


def test_open_with_a_stranger_identity_is_not_for_me() -> None:
    sealed = env.seal(
        MARKER,
        signer=AUTHOR,
        recipients=[RECIPIENT],
        seq=1,
        prev=env.ZERO_HASH,
        kind="report",
        now=NOW,
        envelope_id="cd" * 16,
    )
    with pytest.raises(env.NotForMe) as caught:
        env.open_(sealed, [STRANGER_IDENTITY])
    assert caught.value.reason == "not_for_me"
    assert caught.value.envelope_id == "cd" * 16
    assert MARKER.decode() not in str(caught.value)


def test_open_refuses_a_payload_that_is_not_the_signed_one() -> None:
    sealed = env.seal(
        b"x",
        signer=AUTHOR,
        recipients=[RECIPIENT],
        seq=1,
        prev=env.ZERO_HASH,
        kind="report",
        now=NOW,
    )
    swapped = env.Envelope(sealed.header, sealed.sig, age.encrypt(b"y", [RECIPIENT]))
    with pytest.raises(env.ForgedEnvelope) as caught:
        env.open_(swapped, [IDENTITY])
    assert caught.value.reason == "payload_mismatch"


def test_seal_refuses_payloads_over_the_limit() -> None:
    with pytest.raises(env.EnvelopeFormatError) as caught:
        env.seal(
            bytes(env.MAX_PAYLOAD_BYTES),
            signer=AUTHOR,
            recipients=[RECIPIENT],
            seq=1,
            prev=env.ZERO_HASH,
            kind="report",
            now=NOW,
        )
    assert caught.value.reason == "payload_too_large"


def test_seal_needs_a_recipient() -> None:
    with pytest.raises(ValueError):
        env.seal(
            b"x", signer=AUTHOR, recipients=[], seq=1, prev=env.ZERO_HASH, kind="report", now=NOW
        )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kind": "photo"}, "unknown_kind"),
        ({"seq": 0}, "bad_value"),
        ({"seq": 2, "prev": "A" * 64}, "bad_value"),
        ({"prev": "1" * 64}, "first_prev_not_zero"),
        ({"kind": "message"}, "bad_value"),
        ({"to": "ab" * 16}, "unexpected_to"),
        ({"now": -1}, "bad_value"),
        ({"envelope_id": "not-hex"}, "bad_value"),
    ],
)
def test_signing_refuses_headers_that_would_not_parse(changes: dict, reason: str) -> None:
    with pytest.raises(env.EnvelopeFormatError) as caught:
        signed(**changes)
    assert caught.value.reason == reason


def test_message_envelopes_name_their_device_and_round_trip() -> None:
    message = signed(kind="message", to="ef" * 16)
    assert env.from_bytes(env.to_bytes(message)) == message
    assert env.to_wire(message)["header"]["to"] == "ef" * 16
    assert "to" not in env.to_wire(SMALL)["header"]


def test_verify_refuses_another_authors_key() -> None:
    other = SigningKey.from_bytes(bytes([8]) * 32).public_bytes()
    with pytest.raises(env.ForgedEnvelope) as caught:
        env.verify(SMALL, other)
    assert caught.value.reason == "wrong_author"


def test_verify_refuses_a_header_changed_after_signing() -> None:
    header = SMALL.header
    moved = dataclasses.replace(SMALL, header=dataclasses.replace(header, created=NOW + 1))
    with pytest.raises(env.ForgedEnvelope) as caught:
        env.verify(moved, PUBLIC)
    assert caught.value.reason == "bad_signature"


def test_envelope_hash_covers_header_and_signature() -> None:
    again = signed(b"x" * 40, envelope_id="ab" * 16)
    assert env.envelope_hash(again) == env.envelope_hash(SMALL)  # Ed25519 is deterministic
    other_sig = env.Envelope(SMALL.header, bytes(64), SMALL.payload)
    assert env.envelope_hash(other_sig) != env.envelope_hash(SMALL)
    assert len(env.envelope_hash(SMALL)) == 64


def test_from_bytes_refuses_oversize_input_before_parsing() -> None:
    with pytest.raises(env.EnvelopeFormatError) as caught:
        env.from_bytes(b" " * (env.MAX_ENVELOPE_BYTES + 1))
    assert caught.value.reason == "too_large"


def test_from_wire_refuses_an_oversize_payload_string() -> None:
    wire = env.to_wire(SMALL)
    wire["payload"] = "A" * (env.MAX_PAYLOAD_BYTES * 2)
    with pytest.raises(env.EnvelopeFormatError) as caught:
        env.from_wire(wire)
    assert caught.value.reason == "too_large"


@pytest.mark.parametrize(
    "obj",
    [
        None,
        [],
        "x",
        {"header": [], "sig": "", "payload": ""},
        {"header": {}, "sig": "", "payload": ""},
    ],
)
def test_from_wire_refuses_wrong_shapes(obj: object) -> None:
    with pytest.raises(env.EnvelopeFormatError):
        env.from_wire(obj)


def test_a_bool_is_not_a_version_or_a_number() -> None:
    for field in ("v", "seq"):
        wire = env.to_wire(SMALL)
        wire["header"][field] = True
        with pytest.raises(env.EnvelopeFormatError) as caught:
            env.from_wire(wire)
        assert caught.value.reason == "wrong_type"


def test_error_tree_has_reasons_everywhere() -> None:
    for cls in (
        env.EnvelopeFormatError,
        env.ForgedEnvelope,
        env.NotForMe,
    ):
        assert issubclass(cls, env.EnvelopeError)
        assert cls().reason and cls().reason != env.EnvelopeError.reason


headers: st.SearchStrategy[dict] = st.builds(
    dict,
    payload=st.binary(max_size=300),
    seq=st.integers(min_value=1, max_value=env.MAX_SEQ),
    now=st.integers(min_value=0, max_value=env.MAX_TIME),
    kind=st.sampled_from(["report", "event", "reply"]),
)


@given(headers)
@settings(max_examples=60)
def test_wire_round_trip_reserialises_to_the_same_bytes(h: dict) -> None:
    prev = env.ZERO_HASH if h["seq"] == 1 else "5" * 64
    envelope = signed(h["payload"], seq=h["seq"], now=h["now"], kind=h["kind"], prev=prev)
    data = env.to_bytes(envelope)
    parsed = env.from_bytes(data)
    assert parsed == envelope
    assert env.to_bytes(parsed) == data
    assert env.from_wire(env.to_wire(envelope)) == envelope
    env.verify(parsed, PUBLIC)


@given(st.integers(min_value=0, max_value=len(SMALL_BYTES) * 8 - 1))
@settings(max_examples=300)
def test_any_single_flipped_bit_is_a_typed_error(bit: int) -> None:
    data = bytearray(SMALL_BYTES)
    data[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(env.EnvelopeError):
        env.verify(env.from_bytes(bytes(data)), PUBLIC)


@given(st.integers(min_value=0, max_value=len(SMALL_BYTES) - 1))
@settings(max_examples=200)
def test_any_truncation_is_a_format_error(length: int) -> None:
    with pytest.raises(env.EnvelopeFormatError):
        env.from_bytes(SMALL_BYTES[:length])


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["header", "sig", "payload", "v", "id", "seq", "kind", "x"]),
                inner,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_arbitrary_json_never_crashes_the_parser(obj: object) -> None:
    with pytest.raises(env.EnvelopeFormatError):
        env.from_wire(obj)


def test_the_largest_valid_header_is_within_the_header_limit() -> None:
    largest = env.EnvelopeHeader(
        v=1,
        id="f" * 32,
        author="f" * 32,
        seq=env.MAX_SEQ,
        prev="f" * 64,
        created=env.MAX_TIME,
        kind="message",
        to="f" * 32,
        size=env.MAX_PAYLOAD_BYTES,
        payload="f" * 64,
    )
    assert len(largest.canonical()) <= env.MAX_HEADER_BYTES


def test_open_accepts_identities_parsed_once() -> None:
    sealed = env.seal(
        MARKER,
        signer=AUTHOR,
        recipients=[RECIPIENT],
        seq=1,
        prev=env.ZERO_HASH,
        kind="report",
        now=NOW,
    )
    assert (
        env.open_(sealed, [parse_identity(STRANGER_IDENTITY), parse_identity(IDENTITY)]) == MARKER
    )
