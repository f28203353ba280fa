"""Encrypt and decrypt age v1 files: the functions `sync.age` exports.

Encryption draws a random 16-byte file key, wraps it for every recipient, writes the header
with its MAC, then the STREAM payload. Decryption parses the header strictly, unwraps the file
key with the first identity that matches, checks the MAC, and decrypts chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

from sync.age import format as fmt
from sync.age import keys
from sync.age.armor import MAX_WHITESPACE, ArmorReader, ArmorWriter
from sync.age.errors import HeaderError, HmacError, NoIdentityMatch
from sync.age.pq import HybridRecipient
from sync.age.primitives import header_mac, mac_matches, new_file_key
from sync.age.reader import BufferedSource, Readable
from sync.age.scrypt import STANZA_TYPE as SCRYPT_TYPE
from sync.age.scrypt import Passphrase
from sync.age.stream import Writable, decrypt_payload, encrypt_payload

_PEM_START = b"-----"


class _Collector:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(data)
        return len(data)


class _BytesSource:
    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        chunk = bytes(self._data[self._pos : end])
        self._pos += len(chunk)
        return chunk


def _header(recipients: Sequence[keys.RecipientLike], file_key: bytes) -> bytes:
    if isinstance(recipients, str | bytes):
        raise TypeError("recipients must be a sequence of recipients, not a single string")
    if not recipients:
        raise ValueError("at least one recipient is required")
    parsed = [keys.parse_recipient(r) for r in recipients]
    if any(isinstance(p, Passphrase) for p in parsed) and len(parsed) != 1:
        raise ValueError("a passphrase must be the only recipient")
    post_quantum = [isinstance(p, HybridRecipient) for p in parsed]
    if any(post_quantum) and not all(post_quantum):
        raise ValueError(
            "post-quantum and classic recipients cannot be mixed: the classic ones would "
            "remove the post-quantum protection"
        )
    stanzas = [stanza for recipient in parsed for stanza in recipient.wrap(file_key)]
    mac_input = fmt.encode_without_mac(stanzas)
    return fmt.encode_with_mac(mac_input, header_mac(file_key, mac_input))


def encrypt_stream(
    src: Readable,
    dst: Writable,
    recipients: Sequence[keys.RecipientLike],
    *,
    armor: bool = False,
) -> None:
    """Encrypt everything read from `src` to `recipients`, writing the age file to `dst`."""
    file_key = new_file_key()
    header = _header(recipients, file_key)
    out: Writable = ArmorWriter(dst) if armor else dst
    out.write(header)
    encrypt_payload(file_key, src, out)
    if isinstance(out, ArmorWriter):
        out.close()


def encrypt(
    plaintext: bytes, recipients: Sequence[keys.RecipientLike], *, armor: bool = False
) -> bytes:
    """The age file encrypting `plaintext` to every recipient (`age1…`, `age1pq1…`)."""
    sink = _Collector()
    encrypt_stream(_BytesSource(plaintext), sink, recipients, armor=armor)
    return b"".join(sink.parts)


def _open_source(src: Readable, armor: bool | None) -> BufferedSource:
    """The binary age file in `src`, decoding ASCII armor if asked or (None) if detected."""
    source = BufferedSource(src)
    if armor is None:
        armor = source.starts_with_after_whitespace(_PEM_START, MAX_WHITESPACE)
    if armor:
        return BufferedSource(ArmorReader(source))
    return source


def _parse_identities(identities: Sequence[keys.IdentityLike]) -> list[keys.Identity]:
    if isinstance(identities, str | bytes):
        raise TypeError("identities must be a sequence of identities, not a single string")
    if not identities:
        raise ValueError("at least one identity is required")
    return [keys.parse_identity(i) for i in identities]


def _unwrap(header: fmt.Header, parsed: list[keys.Identity]) -> bytes:
    if any(s.type == SCRYPT_TYPE for s in header.stanzas) and len(header.stanzas) != 1:
        raise HeaderError("an scrypt stanza must be the only stanza")
    for identity in parsed:
        for stanza in header.stanzas:
            file_key = identity.unwrap(stanza)
            if file_key is not None:
                return file_key
    raise NoIdentityMatch("no identity matched any of the file's recipients")


def decrypt_stream(
    src: Readable,
    dst: Writable,
    identities: Sequence[keys.IdentityLike],
    *,
    armor: bool | None = None,
) -> None:
    """Decrypt the age file read from `src` into `dst`, chunk by chunk.

    Armor is detected when `armor` is None (input starting with `-----` after whitespace);
    True or False forces it. On a `PayloadError`, `dst` holds the authenticated prefix of
    the plaintext.
    """
    parsed = _parse_identities(identities)
    source = _open_source(src, armor)
    header = fmt.read_header(source)
    file_key = _unwrap(header, parsed)
    if not mac_matches(file_key, header.mac_input, header.mac):
        raise HmacError("header MAC does not verify")
    decrypt_payload(file_key, source, dst)


def decrypt(
    ciphertext: bytes, identities: Sequence[keys.IdentityLike], *, armor: bool | None = None
) -> bytes:
    """The plaintext of an age file (binary or armored) for one of `identities`."""
    sink = _Collector()
    decrypt_stream(_BytesSource(ciphertext), sink, identities, armor=armor)
    return b"".join(sink.parts)


def encrypt_with_passphrase(
    plaintext: bytes, passphrase: str | bytes, *, log_n: int = 18, armor: bool = False
) -> bytes:
    """Encrypt to a passphrase (scrypt, work factor 2^log_n, at least 2^15)."""
    return encrypt(plaintext, [Passphrase(passphrase, log_n=log_n)], armor=armor)


def decrypt_with_passphrase(
    ciphertext: bytes, passphrase: str | bytes, *, max_log_n: int = 22
) -> bytes:
    """Decrypt a passphrase-encrypted file; work factors above 2^max_log_n are refused."""
    return decrypt(ciphertext, [Passphrase(passphrase, max_log_n=max_log_n)])
