"""RFC 3161 tokens (`core.crypto.rfc3161`, `core.crypto.der`) against authorities made with
`openssl ts`; `openssl ts -verify` is the cross-check, never part of the product."""

from __future__ import annotations

import datetime
import hashlib
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from core.crypto import der, rfc3161
from tests.app.coordinator.local_tsa import Authority, make_authority, openssl_available
from tests.conftest import require

DIGEST = hashlib.sha256(b"an envelope").digest()
NONCE = 0x1234_5678_9ABC


@pytest.fixture(scope="module")
def authority(tmp_path_factory) -> Authority:
    require(openssl_available(), "openssl is not installed")
    return make_authority(tmp_path_factory.mktemp("tsa-ec"), name="Test TSA")


@pytest.fixture(scope="module")
def other_authority(tmp_path_factory) -> Authority:
    require(openssl_available(), "openssl is not installed")
    return make_authority(tmp_path_factory.mktemp("tsa-other"), name="Other TSA")


def ca(a: Authority) -> list[bytes]:
    return rfc3161.load_certificates(a.ca_pem)


def stamp(a: Authority, digest: bytes = DIGEST, nonce: int = NONCE) -> bytes:
    token, _ = rfc3161.token_from_response(
        a.reply(rfc3161.request(digest, nonce=nonce)), digest, nonce=nonce
    )
    return token


def openssl_verifies(token: bytes, digest: bytes, ca_pem: bytes, tmp: Path) -> bool:
    (tmp / "t.der").write_bytes(token)
    (tmp / "ca.pem").write_bytes(ca_pem)
    command = ["openssl", "ts", "-verify", "-token_in", "-in", str(tmp / "t.der")]
    done = subprocess.run(
        [*command, "-digest", digest.hex(), "-CAfile", str(tmp / "ca.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and "Verification: OK" in done.stdout


def test_a_token_from_an_openssl_authority_verifies_for_its_digest(authority, tmp_path) -> None:
    token = stamp(authority)
    found = rfc3161.verify_token(token, DIGEST, trusted=ca(authority))
    assert found.digest == DIGEST and found.nonce == NONCE and found.trusted
    assert found.tsa == "CN=Test TSA" and found.policy == "1.3.6.1.4.1.55555.1"
    tsa_der = rfc3161.load_certificates(authority.tsa_pem)[0]
    assert found.tsa_fingerprint == hashlib.sha256(tsa_der).hexdigest()
    assert not rfc3161.verify_token(token, DIGEST).trusted  # no CA given: not claimed
    assert openssl_verifies(token, DIGEST, authority.ca_pem, tmp_path)


@pytest.mark.parametrize(("key", "ess"), [("rsa", "sha1"), ("rsa", "sha256"), ("ec", "sha1")])
def test_rsa_and_ecdsa_authorities_with_either_signing_certificate_form_verify(
    tmp_path, key, ess
) -> None:
    require(openssl_available(), "openssl is not installed")
    a = make_authority(tmp_path / "tsa", key=key, ess=ess)
    token = stamp(a)
    assert rfc3161.verify_token(token, DIGEST, trusted=ca(a)).trusted
    assert openssl_verifies(token, DIGEST, a.ca_pem, tmp_path)


def test_a_token_for_another_digest_is_refused(authority) -> None:
    token = stamp(authority)
    with pytest.raises(rfc3161.BadTimestamp) as err:
        rfc3161.verify_token(token, hashlib.sha256(b"another envelope").digest())
    assert err.value.reason == "wrong_digest"


def test_a_token_checked_against_another_authoritys_ca_is_untrusted(
    authority, other_authority
) -> None:
    with pytest.raises(rfc3161.BadTimestamp) as err:
        rfc3161.verify_token(stamp(authority), DIGEST, trusted=ca(other_authority))
    assert err.value.reason == "untrusted"


def _regions(token: bytes, tsa_der: bytes) -> dict[str, tuple[int, int]]:
    """Where the signed content, signed attributes, signature and TSA certificate lie."""
    content_info = der.parse(token).children()
    signed_data = content_info[1].children()[0].children()
    tst = signed_data[2].children()[1].children()[0]
    signer_info = signed_data[-1].children()[0].children()
    attrs, signature = signer_info[3], signer_info[5]
    out = {}
    for name, raw in (
        ("tst_info", tst.raw),
        ("signed_attributes", attrs.raw),
        ("signature", signature.raw),
        ("tsa_certificate", tsa_der),
    ):
        start = token.find(raw)
        assert start > 0, name
        out[name] = (start, start + len(raw))
    return out


def test_every_flipped_byte_in_what_the_tsa_signed_is_refused(authority, tmp_path) -> None:
    token = stamp(authority)
    regions = _regions(token, rfc3161.load_certificates(authority.tsa_pem)[0])
    assert set(regions) == {"tst_info", "signed_attributes", "signature", "tsa_certificate"}
    reasons = set()
    for start, end in regions.values():
        for at in range(start, end):
            tampered = bytearray(token)
            tampered[at] ^= 0x01
            with pytest.raises(rfc3161.BadTimestamp) as err:
                rfc3161.verify_token(bytes(tampered), DIGEST)
            reasons.add(err.value.reason)
    assert "bad_signature" in reasons and reasons <= {
        "malformed",
        "bad_signature",
        "wrong_digest",
        "signer_mismatch",
        "no_signer_certificate",
        "not_a_tsa_certificate",
        "certificate_not_valid",
        "unsupported_algorithm",
    }
    start, _ = regions["tst_info"]
    tampered = bytearray(token)
    tampered[start + 40] ^= 0x01
    assert not openssl_verifies(bytes(tampered), DIGEST, authority.ca_pem, tmp_path)


@pytest.mark.parametrize("cut", [0, 1, 10, 100, -1])
def test_a_truncated_or_extended_token_is_malformed(authority, cut) -> None:
    token = stamp(authority)
    bad = token + b"\x00" if cut == -1 else token[: len(token) - 1 - cut]
    with pytest.raises(rfc3161.BadTimestamp) as err:
        rfc3161.verify_token(bad, DIGEST)
    assert err.value.reason == "malformed"


def test_a_response_that_is_not_granted_or_for_another_nonce_gives_no_token(authority) -> None:
    rejection = der.sequence(der.sequence(der.integer(2)))
    with pytest.raises(rfc3161.BadTimestamp) as refused:
        rfc3161.token_from_response(rejection, DIGEST, nonce=NONCE)
    assert refused.value.reason == "not_granted"
    reply = authority.reply(rfc3161.request(DIGEST, nonce=NONCE))
    with pytest.raises(rfc3161.BadTimestamp) as replayed:
        rfc3161.token_from_response(reply, DIGEST, nonce=NONCE + 1)
    assert replayed.value.reason == "wrong_nonce"
    for junk in (b"", b"not a timestamp", b"\x30\x03\x02\x01"):
        with pytest.raises(rfc3161.BadTimestamp) as err:
            rfc3161.token_from_response(junk, DIGEST, nonce=NONCE)
        assert err.value.reason == "malformed"


def test_the_request_holds_only_the_digest_a_nonce_and_a_certificate_request(tmp_path) -> None:
    require(openssl_available(), "openssl is not installed")
    query = rfc3161.request(DIGEST, nonce=NONCE)
    (tmp_path / "q.tsq").write_bytes(query)
    shown = subprocess.run(
        ["openssl", "ts", "-query", "-in", str(tmp_path / "q.tsq"), "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Hash Algorithm: sha256" in shown and "Certificate required: yes" in shown
    assert f"Nonce: 0x{NONCE:X}" in shown.replace("0x0", "0x")
    assert len(query) == 2 + 3 + 2 + 15 + 34 + 8 + 3
    with pytest.raises(ValueError):
        rfc3161.request(b"short", nonce=1)


def test_a_certificate_without_critical_timestamping_usage_is_no_tsa_certificate(
    tmp_path, authority
) -> None:
    # `openssl ts -reply` itself refuses to sign with such a certificate, so the check is
    # exercised on the certificate directly
    require(openssl_available(), "openssl is not installed")
    loose = make_authority(tmp_path / "tsa", critical_eku=False)
    now = datetime.datetime.now(datetime.UTC)
    with pytest.raises(rfc3161.BadTimestamp) as err:
        rfc3161._check_tsa_certificate(x509.load_pem_x509_certificate(loose.tsa_pem), now)
    assert err.value.reason == "not_a_tsa_certificate"
    with pytest.raises(rfc3161.BadTimestamp) as ca_cert:
        rfc3161._check_tsa_certificate(x509.load_pem_x509_certificate(authority.ca_pem), now)
    assert ca_cert.value.reason == "not_a_tsa_certificate"
    good = x509.load_pem_x509_certificate(authority.tsa_pem)
    rfc3161._check_tsa_certificate(good, now)
    with pytest.raises(rfc3161.BadTimestamp) as late:
        rfc3161._check_tsa_certificate(good, now + datetime.timedelta(days=400))
    assert late.value.reason == "certificate_not_valid"


# ---- DER -----------------------------------------------------------------------------------


@given(st.integers(min_value=-(2**200), max_value=2**200))
def test_integers_round_trip_through_der(value: int) -> None:
    encoded = der.integer(value)
    assert der.as_int(der.parse(encoded)) == value


@given(st.binary(max_size=70_000))
def test_any_octet_string_round_trips_with_short_and_long_lengths(value: bytes) -> None:
    encoded = der.octets(value)
    assert der.as_octets(der.parse(encoded)) == value and der.parse(encoded).raw == encoded


@pytest.mark.parametrize(
    "dotted", ["1.2.840.113549.1.9.16.1.4", "2.16.840.1.101.3.4.2.1", "1.3.101.112", "2.999.3"]
)
def test_object_identifiers_round_trip(dotted: str) -> None:
    assert der.as_oid(der.parse(der.oid(dotted))) == dotted


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x04\x81\x05hello", "long form for a short length"),
        (b"\x04\x82\x00\x05hello", "leading zero in a long length"),
        (b"\x30\x80\x00\x00", "indefinite length"),
        (b"\x04\x05hell", "truncated"),
        (b"\x04\x01ab", "trailing byte"),
        (b"\x02\x02\x00\x01", "non-minimal integer"),
        (b"\x01\x01\x01", "boolean that is not 00 or FF"),
        (b"\x1f\x01\x00", "high tag number"),
        (b"", "empty"),
    ],
)
def test_what_is_not_der_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(der.DerError):
        element = der.parse(data)
        if element.tag == der.INTEGER:
            der.as_int(element)
        if element.tag == der.BOOLEAN:
            der.as_bool(element)


@given(st.binary(max_size=300))
def test_whatever_the_der_reader_accepts_re_encodes_to_the_same_bytes(data: bytes) -> None:
    try:
        element = der.parse(data)
    except der.DerError:
        return
    assert der.encode(element.tag, element.value) == data


@given(st.binary(max_size=600))
def test_random_bytes_are_never_a_token_and_never_crash_the_check(data: bytes) -> None:
    with pytest.raises(rfc3161.BadTimestamp):
        rfc3161.verify_token(data, DIGEST)
    with pytest.raises(rfc3161.BadTimestamp):
        rfc3161.token_from_response(data, DIGEST, nonce=NONCE)


def test_random_changes_anywhere_in_a_token_either_fail_cleanly_or_change_nothing_signed(
    authority,
) -> None:
    import random

    token = stamp(authority)
    reference = rfc3161.verify_token(token, DIGEST)
    rng = random.Random(3161)
    for _ in range(400):
        tampered = bytearray(token)
        for _ in range(rng.randint(1, 4)):
            tampered[rng.randrange(len(token))] = rng.randrange(256)
        try:
            found = rfc3161.verify_token(bytes(tampered), DIGEST)
        except rfc3161.BadTimestamp:
            continue
        # accepted only when the change fell outside what the TSA signed (e.g. the CA copy)
        assert (found.gen_time, found.serial, found.tsa_fingerprint) == (
            reference.gen_time,
            reference.serial,
            reference.tsa_fingerprint,
        )
