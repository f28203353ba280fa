"""ML-KEM-768 (FIPS 203) in pure Python, for platforms whose `cryptography` lacks it.

Use `pq` (the hybrid KEM), not this module: it picks `cryptography`'s ML-KEM where it exists and
this one elsewhere (cryptography 43.0.1 on Android and iOS). The verbs, all on bytes:

- `keygen(seed)` -> (encapsulation key, 1184 bytes; decapsulation key, 2400 bytes), from the
  64-byte seed d || z (FIPS 203 ML-KEM.KeyGen_internal; the seed form age and X-Wing store).
- `encaps(ek, message=None)` -> (shared key, 32 bytes; ciphertext, 1088 bytes). `ek` must pass
  the FIPS 203 input checks (length, every coefficient below q), else `ValueError`. `message` is
  the 32 random bytes m, a parameter only for known-answer tests.
- `decaps(dk, ciphertext)` -> shared key. A ciphertext of the right length never fails: a
  tampered one yields the implicit-rejection key J(z || c), pseudo-random and useless to the
  sender (FIPS 203 section 6.3). Wrong lengths or an inconsistent `dk` are `ValueError`.

Danger: this code is NOT constant-time. Python integers, list indexing and the `!=` that picks
between the real and the rejection key all take data-dependent time, so an attacker who can
submit many chosen ciphertexts to `decaps` and time each call precisely could learn about the
secret key. Encapsulation uses only the public key and randomness fresh for each call, so its
timing can leak at most about that one call's secret, from a single measurement; decapsulation
is the exposed path. Used inside the X25519 hybrid (`xwing`), a leak costs the post-quantum
protection, not the classic one. See docs/formats/age.md.
"""

from __future__ import annotations

import hashlib

from core.crypto.random import random_bytes

SEED_SIZE = 64
MESSAGE_SIZE = 32
SHARED_KEY_SIZE = 32
ENCAPSULATION_KEY_SIZE = 1184
DECAPSULATION_KEY_SIZE = 2400
CIPHERTEXT_SIZE = 1088

_N = 256
_Q = 3329
_K = 3
_ETA1 = 2
_ETA2 = 2
_DU = 10
_DV = 4
_ZETA = 17
_INV_128 = 3303  # 128^-1 mod q, the scaling at the end of the inverse NTT
_POLY_BYTES = 384  # ByteEncode_12 of one polynomial
_PKE_KEY_SIZE = _K * _POLY_BYTES  # 1152
_C1_SIZE = _K * _N * _DU // 8  # 960
_XOF_BLOCK = 168  # SHAKE-128 rate


def _bitrev7(i: int) -> int:
    return int(f"{i:07b}"[::-1], 2)


_ZETAS = [pow(_ZETA, _bitrev7(i), _Q) for i in range(128)]
_GAMMAS = [pow(_ZETA, 2 * _bitrev7(i) + 1, _Q) for i in range(128)]

Poly = list[int]


# --- hash functions (FIPS 203 section 4.1) ---------------------------------------------------


def _g(data: bytes) -> tuple[bytes, bytes]:
    digest = hashlib.sha3_512(data).digest()
    return digest[:32], digest[32:]


def _h(data: bytes) -> bytes:
    return hashlib.sha3_256(data).digest()


def _j(data: bytes) -> bytes:
    return hashlib.shake_256(data).digest(SHARED_KEY_SIZE)


def _prf(eta: int, seed: bytes, nonce: int) -> bytes:
    return hashlib.shake_256(seed + bytes((nonce,))).digest(64 * eta)


# --- encoding (Algorithms 5 and 6) and compression (section 4.2.1) ---------------------------


def _encode(poly: Poly, d: int) -> bytes:
    acc = 0
    for i, c in enumerate(poly):
        acc |= c << (i * d)
    return acc.to_bytes(32 * d, "little")


def _decode(data: bytes, d: int) -> Poly:
    acc = int.from_bytes(data, "little")
    mask = (1 << d) - 1
    return [(acc >> (i * d)) & mask for i in range(_N)]


def _compress(poly: Poly, d: int) -> Poly:
    half, mask = _Q // 2, (1 << d) - 1
    return [(((c << d) + half) // _Q) & mask for c in poly]


def _decompress(poly: Poly, d: int) -> Poly:
    half = 1 << (d - 1)
    return [(c * _Q + half) >> d for c in poly]


# --- sampling (Algorithms 7 and 8) -----------------------------------------------------------


def _sample_ntt(rho: bytes, j: int, i: int) -> Poly:
    seed = rho + bytes((j, i))
    length = 4 * _XOF_BLOCK
    while True:  # SHAKE output is a stream: a longer read extends the shorter one
        stream = hashlib.shake_128(seed).digest(length)
        out: Poly = []
        for pos in range(0, length - 2, 3):
            b0, b1, b2 = stream[pos], stream[pos + 1], stream[pos + 2]
            d1 = b0 | ((b1 & 0x0F) << 8)
            d2 = (b1 >> 4) | (b2 << 4)
            if d1 < _Q:
                out.append(d1)
                if len(out) == _N:
                    return out
            if d2 < _Q:
                out.append(d2)
                if len(out) == _N:
                    return out
        length += 2 * _XOF_BLOCK


def _sample_cbd2(data: bytes) -> Poly:
    # eta = 2: every byte holds two coefficients of 4 bits, (b0 + b1) - (b2 + b3).
    out: Poly = []
    for byte in data:
        for nibble in (byte & 0x0F, byte >> 4):
            x = (nibble & 1) + ((nibble >> 1) & 1)
            y = ((nibble >> 2) & 1) + ((nibble >> 3) & 1)
            out.append((x - y) % _Q)
    return out


# --- NTT arithmetic (Algorithms 9 to 12) -----------------------------------------------------


def _ntt(poly: Poly) -> Poly:
    f = list(poly)
    k = 1
    length = 128
    while length >= 2:
        for start in range(0, _N, 2 * length):
            zeta = _ZETAS[k]
            k += 1
            for j in range(start, start + length):
                t = zeta * f[j + length] % _Q
                f[j + length] = (f[j] - t) % _Q
                f[j] = (f[j] + t) % _Q
        length >>= 1
    return f


def _ntt_inverse(poly: Poly) -> Poly:
    f = list(poly)
    k = 127
    length = 2
    while length <= 128:
        for start in range(0, _N, 2 * length):
            zeta = _ZETAS[k]
            k -= 1
            for j in range(start, start + length):
                t = f[j]
                f[j] = (t + f[j + length]) % _Q
                f[j + length] = zeta * (f[j + length] - t) % _Q
        length <<= 1
    return [c * _INV_128 % _Q for c in f]


def _multiply_ntts(a: Poly, b: Poly) -> Poly:
    out = [0] * _N
    for i in range(128):
        a0, a1, b0, b1 = a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]
        out[2 * i] = (a0 * b0 + a1 * b1 * _GAMMAS[i]) % _Q
        out[2 * i + 1] = (a0 * b1 + a1 * b0) % _Q
    return out


def _add(a: Poly, b: Poly) -> Poly:
    return [(x + y) % _Q for x, y in zip(a, b, strict=True)]


def _sub(a: Poly, b: Poly) -> Poly:
    return [(x - y) % _Q for x, y in zip(a, b, strict=True)]


def _dot(row: list[Poly], vector: list[Poly]) -> Poly:
    """The NTT-domain inner product sum(row[i] * vector[i]), reduced once per coefficient."""
    acc = [0] * _N
    for a, b in zip(row, vector, strict=True):
        product = _multiply_ntts(a, b)
        acc = [x + y for x, y in zip(acc, product, strict=True)]
    return [x % _Q for x in acc]


def _matrix(rho: bytes, *, transposed: bool) -> list[list[Poly]]:
    # Â[i][j] = SampleNTT(rho || j || i); the transpose swaps the two index bytes.
    if transposed:
        return [[_sample_ntt(rho, i, j) for j in range(_K)] for i in range(_K)]
    return [[_sample_ntt(rho, j, i) for j in range(_K)] for i in range(_K)]


# --- K-PKE (Algorithms 13 to 15) -------------------------------------------------------------


def _pke_keygen(d: bytes) -> tuple[bytes, bytes]:
    rho, sigma = _g(d + bytes((_K,)))
    a_hat = _matrix(rho, transposed=False)
    s = [_sample_cbd2(_prf(_ETA1, sigma, n)) for n in range(_K)]
    e = [_sample_cbd2(_prf(_ETA1, sigma, n)) for n in range(_K, 2 * _K)]
    s_hat = [_ntt(p) for p in s]
    e_hat = [_ntt(p) for p in e]
    t_hat = [_add(_dot(a_hat[i], s_hat), e_hat[i]) for i in range(_K)]
    ek = b"".join(_encode(p, 12) for p in t_hat) + rho
    dk = b"".join(_encode(p, 12) for p in s_hat)
    return ek, dk


def _pke_encrypt(ek: bytes, message: bytes, r: bytes) -> bytes:
    t_hat = [_decode(ek[i * _POLY_BYTES : (i + 1) * _POLY_BYTES], 12) for i in range(_K)]
    rho = ek[_PKE_KEY_SIZE:]
    a_hat_t = _matrix(rho, transposed=True)
    y = [_sample_cbd2(_prf(_ETA1, r, n)) for n in range(_K)]
    e1 = [_sample_cbd2(_prf(_ETA2, r, n)) for n in range(_K, 2 * _K)]
    e2 = _sample_cbd2(_prf(_ETA2, r, 2 * _K))
    y_hat = [_ntt(p) for p in y]
    u = [_add(_ntt_inverse(_dot(a_hat_t[i], y_hat)), e1[i]) for i in range(_K)]
    mu = _decompress(_decode(message, 1), 1)
    v = _add(_add(_ntt_inverse(_dot(t_hat, y_hat)), e2), mu)
    c1 = b"".join(_encode(_compress(p, _DU), _DU) for p in u)
    return c1 + _encode(_compress(v, _DV), _DV)


def _pke_decrypt(dk: bytes, ciphertext: bytes) -> bytes:
    step = _N * _DU // 8
    u = [_decompress(_decode(ciphertext[i * step : (i + 1) * step], _DU), _DU) for i in range(_K)]
    v = _decompress(_decode(ciphertext[_C1_SIZE:], _DV), _DV)
    s_hat = [_decode(dk[i * _POLY_BYTES : (i + 1) * _POLY_BYTES], 12) for i in range(_K)]
    w = _sub(v, _ntt_inverse(_dot(s_hat, [_ntt(p) for p in u])))
    return _encode(_compress(w, 1), 1)


# --- ML-KEM (Algorithms 16 to 21) ------------------------------------------------------------


def keygen(seed: bytes) -> tuple[bytes, bytes]:
    """(encapsulation key, decapsulation key) from the 64-byte seed d || z."""
    if len(seed) != SEED_SIZE:
        raise ValueError("ML-KEM seed must be 64 bytes")
    d, z = bytes(seed[:32]), bytes(seed[32:])
    ek, dk_pke = _pke_keygen(d)
    return ek, dk_pke + ek + _h(ek) + z


def check_encapsulation_key(ek: bytes) -> None:
    """FIPS 203 section 7.2 input checks: the length, and every coefficient of t̂ below q."""
    if len(ek) != ENCAPSULATION_KEY_SIZE:
        raise ValueError("ML-KEM-768 encapsulation key must be 1184 bytes")
    for i in range(_K):
        if max(_decode(ek[i * _POLY_BYTES : (i + 1) * _POLY_BYTES], 12)) >= _Q:
            raise ValueError("ML-KEM-768 encapsulation key fails the modulus check")


def encaps(ek: bytes, message: bytes | None = None) -> tuple[bytes, bytes]:
    """(shared key, ciphertext) for `ek`; `message` only for known-answer tests."""
    check_encapsulation_key(ek)
    if message is None:
        message = random_bytes(MESSAGE_SIZE)
    elif len(message) != MESSAGE_SIZE:
        raise ValueError("ML-KEM message must be 32 bytes")
    key, r = _g(message + _h(ek))
    return key, _pke_encrypt(ek, message, r)


def decaps(dk: bytes, ciphertext: bytes) -> bytes:
    """The shared key for `ciphertext`, or the implicit-rejection key if it was tampered with."""
    if len(ciphertext) != CIPHERTEXT_SIZE:
        raise ValueError("ML-KEM-768 ciphertext must be 1088 bytes")
    if len(dk) != DECAPSULATION_KEY_SIZE:
        raise ValueError("ML-KEM-768 decapsulation key must be 2400 bytes")
    dk_pke = dk[:_PKE_KEY_SIZE]
    ek = dk[_PKE_KEY_SIZE : 2 * _PKE_KEY_SIZE + 32]
    h = dk[2 * _PKE_KEY_SIZE + 32 : 2 * _PKE_KEY_SIZE + 64]
    z = dk[2 * _PKE_KEY_SIZE + 64 :]
    if _h(ek) != h:  # FIPS 203 section 7.3 hash check
        raise ValueError("ML-KEM-768 decapsulation key is inconsistent")
    message = _pke_decrypt(dk_pke, ciphertext)
    key, r = _g(message + h)
    rejection_key = _j(z + ciphertext)
    if _pke_encrypt(ek, message, r) != ciphertext:
        return rejection_key
    return key
