"""Invite codes: compact, checksummed, strict, and QR-friendly."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st

from sync.invite import ALPHABET, Invite, InviteError

VECTORS = sorted((Path(__file__).parents[1] / "vectors" / "invite").glob("*.json"))
FINGERPRINT = "0123456789abcdef0123456789abcdef"
PIN = "ab" * 32
TOKEN = "x" * 43


def invite(**changes: object) -> Invite:
    fields: dict = {
        "server_url": "https://vault.example.org",
        "token": TOKEN,
        "root_fingerprint": FINGERPRINT,
        "tls_pin": PIN,
    }
    fields.update(changes)
    return Invite(**fields)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_invite_vector(path: Path) -> None:
    vector = json.loads(path.read_text())
    if "invite" in vector:
        parsed = Invite.parse(vector["text"])
        assert parsed == Invite(**vector["invite"])
        assert parsed.encode() == vector["canonical"]
        return
    with pytest.raises(InviteError) as caught:
        Invite.parse(vector["text"])
    assert caught.value.reason == vector["reason"]


def test_the_vector_set_has_valid_codes_and_named_failures() -> None:
    names = {p.stem for p in VECTORS}
    assert {"bad_checksum", "unknown_version", "insecure_http", "truncated"} <= names
    assert sum(1 for n in names if n.startswith("valid_")) >= 4


def test_the_text_is_uppercase_alphanumeric_in_groups_of_five() -> None:
    text = invite().encode()
    assert text.startswith("FV1-")
    groups = text[4:].split("-")
    assert all(len(g) == 5 for g in groups[:-1]) and 1 <= len(groups[-1]) <= 5
    assert set("".join(groups)) <= set(ALPHABET)
    assert not set("ILOU") & set("".join(groups))


urls = st.sampled_from(
    [
        "https://vault.example.org",
        "https://10.0.0.5:8443/fv",
        "http://localhost:8000",
        "http://127.0.0.1",
        "http://[::1]:9000",
        "https://xn--80ak6aa92e.example",
        "http://abcdefghijklmnop.onion",
    ]
)


@given(
    url=urls,
    token=st.text(alphabet="ABCxyz019_-", min_size=1, max_size=128),
    fingerprint=st.binary(min_size=16, max_size=16).map(bytes.hex),
    pin=st.none() | st.binary(min_size=32, max_size=32).map(bytes.hex),
)
def test_parse_of_encode_gives_back_the_same_invite(url, token, fingerprint, pin) -> None:
    original = Invite(url, token, fingerprint, pin)
    assert Invite.parse(original.encode()) == original
    assert Invite.from_binary(original.to_binary()) == original


def test_people_typing_a_code_are_forgiven_case_spacing_and_look_alikes() -> None:
    text = invite().encode()
    loose = "  " + text.lower().replace("-", " ").replace("0", "o").replace("1", "l") + "\n"
    loose = "fv1" + loose.strip()[3:]
    assert Invite.parse(loose) == invite()


@given(st.data())
def test_any_single_mistyped_character_is_caught(data: st.DataObject) -> None:
    text = invite().encode()
    positions = [i for i, c in enumerate(text) if i >= 4 and c != "-"]
    index = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.sampled_from([c for c in ALPHABET if c != text[index]]))
    with pytest.raises(InviteError):
        Invite.parse(text[:index] + replacement + text[index + 1 :])


@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_invite_error(text: str) -> None:
    with contextlib.suppress(InviteError):
        Invite.parse(text)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"server_url": "http://vault.example.org"}, "insecure_url"),
        ({"server_url": "http://10.0.0.1"}, "insecure_url"),
        ({"server_url": "ftp://vault.example.org"}, "bad_url"),
        ({"server_url": "https://vault.example.org/?a=1"}, "bad_url"),
        ({"server_url": "https://vault.example.org/#x"}, "bad_url"),
        ({"server_url": "https://vault.example.org:99999"}, "bad_url"),
        ({"server_url": "https://vault .example.org"}, "bad_url"),
        ({"server_url": "https://ваулт.example"}, "bad_url"),
        ({"server_url": "https://" + "a" * 250 + ".org"}, "bad_url"),
        ({"server_url": "https://"}, "bad_url"),
        ({"token": ""}, "bad_token"),
        ({"token": "a" * 129}, "bad_token"),
        ({"token": "tok en"}, "bad_token"),
        ({"root_fingerprint": FINGERPRINT.upper()}, "bad_fingerprint"),
        ({"root_fingerprint": FINGERPRINT[:-2]}, "bad_fingerprint"),
        ({"tls_pin": PIN.upper()}, "bad_tls_pin"),
        ({"tls_pin": "ab" * 20}, "bad_tls_pin"),
    ],
)
def test_invalid_fields_are_refused_with_a_reason(changes: dict, reason: str) -> None:
    with pytest.raises(InviteError) as caught:
        invite(**changes)
    assert caught.value.reason == reason


def test_the_token_is_not_shown_in_the_repr() -> None:
    assert TOKEN not in repr(invite())


def test_the_qr_code_uses_alphanumeric_mode_and_decodes_to_the_text() -> None:
    qr = invite()._qr()
    assert qr.mode == "alphanumeric"
    png = io.BytesIO()
    invite().to_qr_png(png, scale=2)
    assert png.getvalue().startswith(b"\x89PNG\r\n\x1a\n")
    svg = invite().to_qr_svg()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    # the symbol segno would draw for the text itself is the one we draw
    assert segno.make_qr(invite().encode(), error="m").matrix == qr.matrix


def test_the_qr_png_can_be_written_to_a_path(tmp_path: Path) -> None:
    target = tmp_path / "invite.png"
    invite(tls_pin=None).to_qr_png(str(target))
    assert target.read_bytes()[:4] == b"\x89PNG"
