"""The `sync.age` API: keys, recipients, passphrases, strict parsing and error hygiene."""

from __future__ import annotations

import io
import re
import tracemalloc

import pytest

import sync.age as age
from sync.age import bech32, format, keys, pq
from sync.age.format import Stanza
from sync.age.scrypt import MAX_LOG_N

IDENTITY, RECIPIENT = age.generate_identity()


def test_generated_identity_and_recipient_use_age_encodings() -> None:
    assert re.fullmatch(r"AGE-SECRET-KEY-1[0-9A-Z]{58}", IDENTITY)
    assert re.fullmatch(r"age1[0-9a-z]{58}", RECIPIENT)
    assert age.recipient_of(IDENTITY) == RECIPIENT


def test_spec_example_identity_maps_to_its_spec_recipient() -> None:
    identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    expected = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    assert age.recipient_of(identity) == expected


def test_bech32_round_trips_beyond_the_90_character_limit() -> None:
    data = bytes(range(256)) * 5
    text = bech32.encode("age1pq", data)
    assert len(text) > 2000
    assert bech32.decode(text) == ("age1pq", data)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s[:-1] + ("q" if s[-1] != "q" else "p"),  # checksum
        lambda s: s[:10] + s[10:].upper(),  # mixed case
        lambda s: s.replace("1", "b", 1),  # separator
        lambda s: s + "\u00e9",  # non-ASCII
    ],
    ids=["checksum", "mixed-case", "separator", "non-ascii"],
)
def test_malformed_recipients_are_rejected_as_caller_mistakes(mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        age.encrypt(b"x", [mutate(RECIPIENT)])


def test_unknown_recipient_and_identity_types_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown recipient type"):
        age.encrypt(b"x", ["ssh-ed25519 AAAA"])
    with pytest.raises(ValueError, match="unknown identity type"):
        age.decrypt(age.encrypt(b"x", [RECIPIENT]), ["not-a-key"])


def test_a_single_string_instead_of_a_list_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        age.encrypt(b"x", RECIPIENT)
    with pytest.raises(TypeError):
        age.decrypt(b"x", IDENTITY)


def test_empty_recipient_list_is_refused() -> None:
    with pytest.raises(ValueError):
        age.encrypt(b"x", [])


def test_wrong_identity_raises_no_identity_match() -> None:
    other, _ = age.generate_identity()
    with pytest.raises(age.NoIdentityMatch):
        age.decrypt(age.encrypt(b"secret", [RECIPIENT]), [other])


def test_any_of_several_identities_may_match() -> None:
    other, _ = age.generate_identity()
    assert age.decrypt(age.encrypt(b"secret", [RECIPIENT]), [other, IDENTITY]) == b"secret"


def test_passphrase_round_trip_and_wrong_passphrase() -> None:
    ciphertext = age.encrypt_with_passphrase(b"notes", "correct horse", log_n=15)
    assert b"-> scrypt " in ciphertext
    assert age.decrypt_with_passphrase(ciphertext, "correct horse") == b"notes"
    with pytest.raises(age.NoIdentityMatch):
        age.decrypt_with_passphrase(ciphertext, "wrong horse")


def test_passphrase_encryption_refuses_work_factors_below_the_floor() -> None:
    with pytest.raises(ValueError):
        age.encrypt_with_passphrase(b"x", "pw", log_n=10)


def test_passphrase_work_factor_above_the_cap_is_a_header_error() -> None:
    ciphertext = age.encrypt_with_passphrase(b"x", "pw", log_n=15)
    raised = ciphertext.replace(b" 15\n", f" {MAX_LOG_N + 1}\n".encode(), 1)
    with pytest.raises(age.HeaderError, match="work factor"):
        age.decrypt_with_passphrase(raised, "pw")
    with pytest.raises(age.HeaderError, match="work factor"):
        age.decrypt_with_passphrase(ciphertext, "pw", max_log_n=14)


def test_passphrase_cannot_be_mixed_with_other_recipients() -> None:
    with pytest.raises(ValueError):
        age.encrypt(b"x", [age.Passphrase("pw", log_n=15), RECIPIENT])


def test_passphrase_repr_hides_the_secret() -> None:
    assert "hunter2" not in repr(age.Passphrase("hunter2"))


def test_unknown_stanzas_are_ignored() -> None:
    from sync.age.primitives import header_mac, new_file_key
    from sync.age.stream import encrypt_payload

    file_key = new_file_key()
    stanzas = [
        Stanza("grease-x", ("a", "b+c"), b"\x00" * 100),
        *keys.parse_recipient(RECIPIENT).wrap(file_key),
    ]
    mac_input = format.encode_without_mac(stanzas)
    out = io.BytesIO()
    out.write(format.encode_with_mac(mac_input, header_mac(file_key, mac_input)))
    encrypt_payload(file_key, io.BytesIO(b"hello"), out)
    assert age.decrypt(out.getvalue(), [IDENTITY]) == b"hello"


def test_stanza_arguments_must_be_printable_ascii() -> None:
    for bad in ("", "a b", "caf\u00e9", "tab\t"):
        with pytest.raises(ValueError):
            Stanza("x", (bad,), b"")


def test_header_serialisation_round_trips_through_the_parser() -> None:
    from sync.age.reader import BufferedSource

    stanzas = [
        Stanza("X25519", ("abc",), bytes(range(48))),  # a full line then an empty line
        Stanza("t", (), b""),
        Stanza("long", ("1", "2"), bytes(200)),
    ]
    mac_input = format.encode_without_mac(stanzas)
    encoded = format.encode_with_mac(mac_input, bytes(32))
    parsed = format.read_header(BufferedSource(io.BytesIO(encoded + b"payload")))
    assert parsed.stanzas == tuple(stanzas)
    assert parsed.mac_input == mac_input
    assert format.encode_with_mac(parsed.mac_input, parsed.mac) == encoded


@pytest.mark.parametrize(
    "header",
    [
        b"age-encryption.org/v2\n--- " + b"A" * 43 + b"\n",
        b"age-encryption.org/v1\r\n",
        b"age-encryption.org/v1\n-> X25519 " + b"A" * (format.MAX_LINE + 1) + b"\n",
        b"age-encryption.org/v1\n-> X25519 AAAA\n" + b"A" * 65 + b"\n",
        b"age-encryption.org/v1\n-> X25519 AAAA\nAA==\n--- " + b"A" * 43 + b"\n",
        b"age-encryption.org/v1\n-> \n\n--- " + b"A" * 43 + b"\n",
        b"age-encryption.org/v1\n--- " + b"A" * 42 + b"\n",
    ],
    ids=["version", "crlf", "long-line", "long-body-line", "padding", "no-type", "short-mac"],
)
def test_malformed_headers_raise_header_error(header: bytes) -> None:
    with pytest.raises(age.HeaderError):
        age.decrypt(header + bytes(64), [IDENTITY], armor=False)


def test_errors_never_contain_key_material_or_plaintext() -> None:
    marker = b"PLAINTEXT-MARKER-7f3a"
    ciphertext = age.encrypt(marker, [RECIPIENT])
    failures: list[Exception] = []
    for tampered in (ciphertext[:-1], ciphertext.replace(b"---", b"--!"), ciphertext + b"x"):
        try:
            age.decrypt(tampered, [IDENTITY])
        except age.AgeError as exc:
            failures.append(exc)
    try:
        age.decrypt(ciphertext, [age.generate_identity()[0]])
    except age.AgeError as exc:
        failures.append(exc)
    assert len(failures) == 4
    secret_bits = [IDENTITY, IDENTITY.lower(), marker.decode(), IDENTITY[16:40]]
    for exc in failures:
        text = str(exc) + repr(exc)
        assert not any(bit in text for bit in secret_bits)


def test_pq_recipient_raises_unsupported_where_ml_kem_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pq_recipient = pq.HybridRecipient(bytes(1216)).encode()  # syntactically valid
    monkeypatch.setattr("core.crypto.pq.available", lambda: False)
    assert not age.pq_supported()
    with pytest.raises(age.UnsupportedRecipient):
        age.encrypt(b"x", [pq_recipient])
    with pytest.raises(age.UnsupportedRecipient):
        age.generate_identity(pq=True)


@pytest.mark.skipif(not age.pq_supported(), reason="ML-KEM is not available here")
def test_pq_identity_round_trip_and_recipient_string() -> None:
    identity, recipient = age.generate_identity(pq=True)
    assert identity.startswith("AGE-SECRET-KEY-PQ-1")
    assert recipient.startswith("age1pq1")
    assert age.recipient_of(identity) == recipient
    _, second = age.generate_identity(pq=True)
    ciphertext = age.encrypt(b"pq secret", [second, recipient])
    assert ciphertext.count(b"-> mlkem768x25519 ") == 2
    assert age.decrypt(ciphertext, [IDENTITY, identity]) == b"pq secret"


@pytest.mark.skipif(not age.pq_supported(), reason="ML-KEM is not available here")
def test_pq_and_classic_recipients_cannot_be_mixed() -> None:
    _, recipient = age.generate_identity(pq=True)
    with pytest.raises(ValueError, match="cannot be mixed"):
        age.encrypt(b"x", [recipient, RECIPIENT])


def test_identity_file_parsing_skips_comments_and_blank_lines() -> None:
    text = f"# created: now\n# public key: {RECIPIENT}\n\n{IDENTITY}\n"
    assert age.parse_identity_file(text) == [IDENTITY]
    with pytest.raises(ValueError):
        age.parse_identity_file("# nothing here\n")


class _CountingSource:
    """A plaintext source that produces `size` bytes without holding them."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        take = self.left if n < 0 else min(n, self.left)
        self.left -= take
        return b"\xab" * take


class _DiscardSink:
    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def test_streaming_encryption_uses_constant_memory() -> None:
    sizes = {}
    for size in (1 << 20, 16 << 20):
        tracemalloc.start()
        sink = _DiscardSink()
        age.encrypt_stream(_CountingSource(size), sink, [RECIPIENT])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        sizes[size] = peak
        assert sink.size > size
    assert sizes[16 << 20] < 1 << 20
    assert sizes[16 << 20] < sizes[1 << 20] * 2


def test_streaming_decryption_uses_constant_memory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.age"
    with path.open("wb") as out:
        age.encrypt_stream(_CountingSource(16 << 20), out, [RECIPIENT])
    sink = _DiscardSink()
    with path.open("rb") as src:
        tracemalloc.start()
        age.decrypt_stream(src, sink, [IDENTITY])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert sink.size == 16 << 20
    assert peak < 1 << 20
