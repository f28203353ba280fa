"""Known answers and misuse cases for the crypto recipes in core/crypto."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.crypto import BadSignature, InvalidCiphertext, aead, kdf, signing, x25519
from core.crypto.hashing import equal, hmac_sha256, sha256_hex

KEY = bytes(range(32))


def test_sealed_value_opens_only_with_the_same_key_and_associated_data() -> None:
    sealed = aead.seal(KEY, b"secret", b"record-1")
    assert aead.open_(KEY, sealed, b"record-1") == b"secret"
    with pytest.raises(InvalidCiphertext):
        aead.open_(KEY, sealed, b"record-2")
    with pytest.raises(InvalidCiphertext):
        aead.open_(bytes(32), sealed, b"record-1")


@given(st.binary(max_size=512), st.binary(max_size=64), st.integers(min_value=0))
def test_any_flipped_bit_in_a_sealed_value_is_rejected(plain: bytes, aad: bytes, pos: int) -> None:
    sealed = bytearray(aead.seal(KEY, plain, aad))
    bit = pos % (len(sealed) * 8)
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(InvalidCiphertext):
        aead.open_(KEY, bytes(sealed), aad)


def test_truncated_sealed_value_is_rejected_without_a_library_error() -> None:
    with pytest.raises(InvalidCiphertext):
        aead.open_(KEY, b"short", b"")


def test_chacha20_poly1305_matches_rfc8439_test_vector() -> None:
    # RFC 8439 section 2.8.2.
    key = bytes.fromhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
    nonce = bytes.fromhex("070000004041424344454647")
    aad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
    plaintext = (
        b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
        b"the future, sunscreen would be it."
    )
    out = aead.encrypt_with_nonce(key, nonce, plaintext, aad)
    assert out[-16:].hex() == "1ae10b594f09e26a7e902ecbd0600691"
    assert out[:16].hex() == "d31a8d34648e60db7b86afbc53ef7ec2"
    assert aead.decrypt_with_nonce(key, nonce, out, aad) == plaintext


def test_wrong_key_length_is_a_caller_mistake_not_a_ciphertext_error() -> None:
    with pytest.raises(ValueError):
        aead.seal(b"short", b"x", b"")


def test_scrypt_refuses_parameters_below_the_floor() -> None:
    with pytest.raises(ValueError):
        kdf.scrypt_derive(b"pass", b"salt" * 4, log_n=14)
    with pytest.raises(ValueError):
        kdf.scrypt_derive(b"pass", b"salt" * 4, log_n=15, r=4)


def test_scrypt_matches_rfc7914_test_vector_when_weak_parameters_are_allowed() -> None:
    out = kdf.scrypt_derive(b"password", b"NaCl", log_n=10, r=8, p=16, length=64, allow_weak=True)
    assert out.hex().startswith("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162")


def test_ed25519_signature_verifies_and_any_change_is_rejected() -> None:
    key = signing.SigningKey.generate()
    signature = key.sign(b"message")
    signing.verify(key.public_bytes(), signature, b"message")
    with pytest.raises(BadSignature):
        signing.verify(key.public_bytes(), signature, b"messagE")
    with pytest.raises(BadSignature):
        signing.verify(key.public_bytes(), signature[:-1], b"message")
    restored = signing.SigningKey.from_bytes(key.private_bytes())
    assert restored.public_bytes() == key.public_bytes()
    assert "secret" in repr(key) and key.private_bytes().hex() not in repr(key)


def test_x25519_parties_agree_and_low_order_points_are_refused() -> None:
    a_priv, a_pub = x25519.generate()
    b_priv, b_pub = x25519.generate()
    assert x25519.shared_secret(a_priv, b_pub) == x25519.shared_secret(b_priv, a_pub)
    assert x25519.public_from_private(a_priv) == a_pub
    with pytest.raises(ValueError):
        x25519.shared_secret(a_priv, bytes(32))


def test_hmac_and_hash_helpers_match_known_answers() -> None:
    assert sha256_hex(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    # RFC 4231 test case 2.
    assert hmac_sha256(b"Jefe", b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert equal(b"a", b"a") and not equal(b"a", b"b")
