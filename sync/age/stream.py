"""The age payload: a 16-byte nonce, then STREAM (ChaCha20-Poly1305 over 64 KiB chunks).

    nonce(16) || chunk_0 || chunk_1 || ... || chunk_last
    chunk_i = ChaCha20-Poly1305(payload key, nonce_i, plaintext_i)
    nonce_i = counter i (11 bytes, big endian) || last flag (1 byte)

Every chunk holds 64 KiB of plaintext except the last, which holds 1..64 KiB, or 0 bytes only
when it is the only chunk (an empty file). The last flag stops truncation at a chunk boundary.

`encrypt_payload` and `decrypt_payload` work chunk by chunk in constant memory. Decryption
writes each chunk only after it authenticates, so on a `PayloadError` the destination holds a
verified prefix of the plaintext, never an unverified byte. Callers that must not act on a
partial result should write to a temporary place and discard it on error.
"""

from __future__ import annotations

from typing import Protocol

from core.crypto import aead
from core.crypto.errors import InvalidCiphertext
from core.crypto.random import random_bytes
from sync.age.errors import HeaderError, PayloadError
from sync.age.primitives import payload_key
from sync.age.reader import BufferedSource, Readable

CHUNK_SIZE = 64 * 1024
TAG_SIZE = aead.TAG_SIZE
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
NONCE_SIZE = 16
_LAST = b"\x01"
_NOT_LAST = b"\x00"


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (_LAST if last else _NOT_LAST)


def _read_full(src: Readable, n: int) -> bytes:
    data = src.read(n)
    if len(data) == n or not data:
        return data
    parts = [data]
    size = len(data)
    while size < n:
        more = src.read(n - size)
        if not more:
            break
        parts.append(more)
        size += len(more)
    return b"".join(parts)


def encrypt_payload(file_key: bytes, src: Readable, dst: Writable) -> None:
    """Write the nonce and the STREAM-encrypted contents of `src` to `dst`."""
    nonce = random_bytes(NONCE_SIZE)
    key = payload_key(file_key, nonce)
    dst.write(nonce)
    counter = 0
    chunk = _read_full(src, CHUNK_SIZE)
    while True:
        following = _read_full(src, CHUNK_SIZE) if len(chunk) == CHUNK_SIZE else b""
        last = not following
        dst.write(aead.encrypt_with_nonce(key, _nonce(counter, last), chunk))
        if last:
            return
        counter += 1
        chunk = following


def decrypt_payload(file_key: bytes, source: BufferedSource, dst: Writable) -> None:
    """Authenticate and decrypt the payload from `source`, writing plaintext chunk by chunk."""
    nonce = source.read_exact(NONCE_SIZE)
    if len(nonce) != NONCE_SIZE:
        # The nonce counts as part of the header in the specification's failure classes.
        raise HeaderError("payload nonce is missing or short")
    key = payload_key(file_key, nonce)
    counter = 0
    while True:
        block = source.read_exact(ENCRYPTED_CHUNK_SIZE)
        if not block:
            raise PayloadError("payload truncated (no final chunk)")
        last = len(block) < ENCRYPTED_CHUNK_SIZE
        if last and counter > 0 and len(block) == TAG_SIZE:
            raise PayloadError("payload ends with an empty chunk")
        try:
            plaintext = aead.decrypt_with_nonce(key, _nonce(counter, last), block)
        except InvalidCiphertext:
            if last:
                raise PayloadError("payload chunk failed to authenticate") from None
            try:
                plaintext = aead.decrypt_with_nonce(key, _nonce(counter, True), block)
            except InvalidCiphertext:
                raise PayloadError("payload chunk failed to authenticate") from None
            last = True
        dst.write(plaintext)
        if last:
            if not source.at_eof():
                raise PayloadError("trailing data after the end of the payload")
            return
        counter += 1
