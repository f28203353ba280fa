"""The pure-Python ML-KEM-768 and X-Wing HPKE: known answers, FIPS 203 edge cases, and agreement
with `cryptography`'s ML-KEM and HPKE where this platform has them."""

from __future__ import annotations

import hashlib
import os

import pytest

from core.crypto import InvalidCiphertext, mlkem, pq, xwing

NATIVE = pytest.mark.skipif(
    not pq.native_available(), reason="cross-check needs cryptography with ML-KEM"
)
Q = 3329
INFO = b"age-encryption.org/mlkem768x25519"


def _with_coefficient(ek: bytes, index: int, value: int) -> bytes:
    """`ek` with coefficient `index` of t̂ (ByteEncode_12, little-endian) set to `value`."""
    polys = int.from_bytes(ek[:1152], "little")
    polys &= ~(0xFFF << (12 * index))
    polys |= value << (12 * index)
    return polys.to_bytes(1152, "little") + ek[1152:]


def test_100_accumulated_vectors_hash_to_the_published_value() -> None:
    # C2SP CCTV accumulated vectors (the form FiloSottile/mlkem768 checks for 100 iterations):
    # inputs from one SHAKE-128 stream of the empty string, outputs into another.
    count = 100
    stream = hashlib.shake_128(b"").digest(count * (64 + 32 + 1088))
    offset = 0

    def read(n: int) -> bytes:
        nonlocal offset
        offset += n
        return stream[offset - n : offset]

    out = hashlib.shake_128()
    for _ in range(count):
        ek, dk = mlkem.keygen(read(64))
        out.update(ek)
        key, ciphertext = mlkem.encaps(ek, read(32))
        out.update(ciphertext + key)
        assert mlkem.decaps(dk, ciphertext) == key
        out.update(mlkem.decaps(dk, read(1088)))
    assert out.hexdigest(32) == "1114b1b6699ed191734fa339376afa7e285c9e6acf6ff0177d346696ce564415"


def test_encapsulation_key_with_a_coefficient_of_q_or_more_is_refused() -> None:
    ek, _ = mlkem.keygen(bytes(range(64)))
    for index in range(768):  # each coefficient of t̂ in turn set to q
        with pytest.raises(ValueError, match="modulus check"):
            mlkem.check_encapsulation_key(_with_coefficient(ek, index, Q))
    for index in (0, 1, 255, 256, 511, 767):
        for value in (Q, Q + 1, 4095):
            with pytest.raises(ValueError, match="modulus check"):
                mlkem.encaps(_with_coefficient(ek, index, value))
        mlkem.encaps(_with_coefficient(ek, index, Q - 1))  # the largest reduced value is fine


@pytest.mark.parametrize("backend", ["native", "python"])
def test_hybrid_public_key_failing_the_modulus_check_cannot_be_sealed_to(backend: str) -> None:
    if backend == "native" and not pq.native_available():
        pytest.skip("cryptography without ML-KEM")
    seal = pq.seal if backend == "native" else xwing.seal
    public = pq.public_from_seed(bytes(32))
    bad = _with_coefficient(public[:1184], 300, Q) + public[1184:]
    with pytest.raises(ValueError, match="invalid hybrid public key"):
        seal(bad, INFO, b"file key")


def test_tampered_ciphertext_decapsulates_to_the_implicit_rejection_key() -> None:
    ek, dk = mlkem.keygen(bytes(range(64)))
    key, ciphertext = mlkem.encaps(ek, bytes(32))
    for position in (0, 500, 959, 960, 1087):  # in c1 and in c2
        tampered = bytearray(ciphertext)
        tampered[position] ^= 0x01
        rejected = mlkem.decaps(dk, bytes(tampered))
        z = dk[-32:]
        assert rejected == hashlib.shake_256(z + bytes(tampered)).digest(32)
        assert rejected != key


def test_wrong_lengths_and_an_inconsistent_decapsulation_key_are_caller_mistakes() -> None:
    ek, dk = mlkem.keygen(bytes(64))
    _, ciphertext = mlkem.encaps(ek)
    with pytest.raises(ValueError):
        mlkem.keygen(bytes(63))
    with pytest.raises(ValueError):
        mlkem.encaps(ek + b"\x00")
    with pytest.raises(ValueError):
        mlkem.encaps(ek, bytes(31))
    with pytest.raises(ValueError):
        mlkem.decaps(dk, ciphertext[:-1])
    with pytest.raises(ValueError):
        mlkem.decaps(dk[:-1], ciphertext)
    broken = bytearray(dk)
    broken[1152] ^= 1  # the copy of ek no longer matches H(ek)
    with pytest.raises(ValueError, match="inconsistent"):
        mlkem.decaps(bytes(broken), ciphertext)


@NATIVE
def test_equal_seeds_give_the_encapsulation_key_cryptography_gives() -> None:
    from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey

    for _ in range(8):
        seed = os.urandom(64)
        native = MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()
        assert mlkem.keygen(seed)[0] == native


@NATIVE
def test_keys_agree_with_cryptography_in_both_directions_and_on_tampering() -> None:
    from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey

    for _ in range(8):
        seed = os.urandom(64)
        native = MLKEM768PrivateKey.from_seed_bytes(seed)
        ek, dk = mlkem.keygen(seed)
        key, ciphertext = mlkem.encaps(ek)
        assert native.decapsulate(ciphertext) == key
        native_key, native_ciphertext = native.public_key().encapsulate()
        assert mlkem.decaps(dk, native_ciphertext) == native_key
        tampered = native_ciphertext[:-1] + bytes((native_ciphertext[-1] ^ 0x80,))
        assert mlkem.decaps(dk, tampered) == native.decapsulate(tampered) != native_key


@NATIVE
def test_hybrid_envelopes_open_across_the_python_and_cryptography_backends() -> None:
    for _ in range(4):
        seed = os.urandom(32)
        public = xwing.public_from_seed(seed)
        assert pq.public_from_seed(seed) == public
        file_key = os.urandom(16)
        assert xwing.open_(seed, *pq.seal(public, INFO, file_key), INFO) == file_key
        assert pq.open_(seed, *xwing.seal(public, INFO, file_key), INFO) == file_key


def test_python_hybrid_open_rejects_a_tampered_envelope_with_the_opaque_error() -> None:
    seed = bytes(range(32))
    enc, ciphertext = xwing.seal(xwing.public_from_seed(seed), INFO, b"sixteen byte key")
    assert xwing.open_(seed, enc, ciphertext, INFO) == b"sixteen byte key"
    for bad_enc, bad_ciphertext, info in (
        (bytes((enc[0] ^ 1,)) + enc[1:], ciphertext, INFO),  # ML-KEM part: implicit rejection
        (enc[:-1] + bytes((enc[-1] ^ 1,)), ciphertext, INFO),  # X25519 part
        (enc, ciphertext[:-1] + bytes((ciphertext[-1] ^ 1,)), INFO),  # tag
        (enc, ciphertext, b"another label"),
    ):
        with pytest.raises(InvalidCiphertext):
            xwing.open_(seed, bad_enc, bad_ciphertext, info)


def test_python_hybrid_seal_with_fixed_randomness_gives_the_known_envelope() -> None:
    # Computed by this implementation and checked to open with cryptography 50's HPKE.
    seed = bytes(32)
    ephemeral = (bytes(range(1, 33)), bytes(range(32, 64)))
    enc, ciphertext = xwing.seal(xwing.public_from_seed(seed), INFO, b"k" * 16, ephemeral=ephemeral)
    digest = hashlib.sha256(enc + ciphertext).hexdigest()
    assert digest == "0a841c214709f9e83f9d05dc7f1d1ccd5cca44719abddc65d1d6292a26942732"
    assert pq.open_(seed, enc, ciphertext, INFO) == b"k" * 16
