"""A forensic examiner's decoder, written from docs/formats/vault.md and the primitives alone.

It imports nothing from `storage`: it is what someone with the published format, an image of a
data directory and the passphrase (obtained under coercion) can do. `everything_readable(...)`
tries every key the passphrase yields (both state records of the key file, and the key format 1
derived from the master key) on every journal-shaped byte string it is given, and returns all
the plaintext that comes out: entry frames and the records sealed inside them.
"""

from __future__ import annotations

import struct
import unicodedata
import zlib
from collections.abc import Iterable
from pathlib import Path

from core.crypto import aead
from core.crypto.kdf import hkdf_sha256, scrypt_derive

KEY_MAGIC_V1 = b"FVKEY\x00\x00\x01"
JOURNAL_MAGIC = b"FVJRNL\x00\x01"
SLOT_LABEL = b"fieldvault/key-slot/v1\n"
STATE_LABEL = b"fieldvault/key-state/v1\n"
ENTRY_LABEL = b"fieldvault/journal-entry/v1\n"
RECORD_LABEL = b"fieldvault/record/v1\n"
STATE_OFFSETS = (4096, 8192)
STATE_SIZE = 100
FILE_KEY_PREFIX = b"\x00attachment-key/"


def subkey(master: bytes, info: str) -> bytes:
    return hkdf_sha256(master, salt=b"", info=info.encode())


def master_key(key_file: bytes, passphrase: str) -> bytes | None:
    """The master key the passphrase unwraps from `key_file` (format 1 or 2), or None."""
    if len(key_file) < 276:
        return None
    log_n, r, p = key_file[8], key_file[9], key_file[10]
    salt = key_file[12:28]
    secret = unicodedata.normalize("NFC", passphrase).encode()
    kek = scrypt_derive(secret, salt, log_n=log_n, r=r, p=p)
    slot_header = KEY_MAGIC_V1 + key_file[8:28]  # slots name format 1 in either version
    for index in range(4):
        slot = key_file[32 + 61 * index : 32 + 61 * (index + 1)]
        try:
            plain = aead.open_(kek, slot, SLOT_LABEL + slot_header + bytes([index]))
        except Exception:  # noqa: S112 - most slots do not open
            continue
        if plain[0] == 1:
            return plain[1:]
    return None


def state_records(key_file: bytes, master: bytes) -> list[tuple[int, int, int, bytes, bytes]]:
    """(serial, generation, seq, journal id, journal key) of every state record that opens."""
    key = subkey(master, "fieldvault/vault/key-state/v1")
    found = []
    for index, offset in enumerate(STATE_OFFSETS):
        sealed = key_file[offset : offset + STATE_SIZE]
        try:
            plain = aead.open_(key, sealed, STATE_LABEL + key_file[:28] + bytes([index]))
        except Exception:  # noqa: S112 - a destroyed or random record
            continue
        found.append(struct.unpack(">QQQ16s32s", plain))
    return found


def journal_entries(journal: bytes, key: bytes) -> list[bytes]:
    """The plaintext (seq and frames) of every entry of `journal` that opens under `key`."""
    if journal[:8] != JOURNAL_MAGIC or len(journal) < 24:
        return []
    journal_id = journal[8:24]
    pos, plains = 24, []
    while pos + 8 <= len(journal):
        length, check = struct.unpack_from(">II", journal, pos)
        if check != zlib.crc32(journal_id + struct.pack(">I", length)):
            break
        body = journal[pos + 8 : pos + 8 + length]
        try:
            plains.append(aead.open_(key, body, ENTRY_LABEL + journal_id))
        except Exception:
            break
        pos += 8 + length
    return plains


def records_in(entry: bytes, record_key: bytes) -> list[bytes]:
    """The JSON of every put frame in one entry plaintext (the frames after the 8-byte seq)."""
    pos, found = 8, []
    while pos < len(entry):
        op, id_len = struct.unpack_from(">BH", entry, pos)
        record_id = entry[pos + 3 : pos + 3 + id_len]
        pos += 3 + id_len
        if op == 1:
            (size,) = struct.unpack_from(">I", entry, pos)
            sealed = entry[pos + 4 : pos + 4 + size]
            pos += 4 + size
            found.append(aead.open_(record_key, sealed, RECORD_LABEL + record_id))
    return found


def file_keys(key_file: bytes, passphrase: str, journals: Iterable[bytes]) -> dict[str, bytes]:
    """Attachment id -> file key, from every journal entry the passphrase decodes (an entry
    whose id is NUL "attachment-key/" and the attachment id; the key sealed like a record)."""
    master = master_key(key_file, passphrase)
    if master is None:
        return {}
    keys = [record[4] for record in state_records(key_file, master)]
    record_key = subkey(master, "fieldvault/vault/record/v1")
    found: dict[str, bytes] = {}
    for journal in journals:
        for key in keys:
            for entry in journal_entries(journal, key):
                pos = 8
                while pos < len(entry):
                    op, id_len = struct.unpack_from(">BH", entry, pos)
                    entry_id = entry[pos + 3 : pos + 3 + id_len]
                    pos += 3 + id_len
                    if op != 1:
                        continue
                    (size,) = struct.unpack_from(">I", entry, pos)
                    sealed = entry[pos + 4 : pos + 4 + size]
                    pos += 4 + size
                    if entry_id.startswith(FILE_KEY_PREFIX):
                        aad = RECORD_LABEL + entry_id
                        attachment_id = entry_id[len(FILE_KEY_PREFIX) :].decode()
                        found[attachment_id] = aead.open_(record_key, sealed, aad)
    return found


def attachment_plaintext(blob: bytes, attachment_id: str, file_key: bytes) -> bytes | None:
    """The decrypted payload of a format 2 attachment file, or None if `file_key` fails."""
    nonce, raw_id = blob[8:24], attachment_id.encode()
    stream_key = hkdf_sha256(
        file_key, salt=nonce, info=b"fieldvault/attachment-stream/v1\n" + raw_id
    )
    meta_len = int.from_bytes(blob[-4:], "big")
    stream = blob[24 : -4 - meta_len]
    out, counter = [], 0
    while stream:
        chunk, stream = stream[:65552], stream[65552:]
        nonce_c = counter.to_bytes(11, "big") + (b"\x01" if not stream else b"\x00")
        try:
            out.append(aead.decrypt_with_nonce(stream_key, nonce_c, chunk))
        except Exception:
            return None
        counter += 1
    return b"".join(out)


def everything_readable(key_file: bytes, passphrase: str, journals: Iterable[bytes]) -> bytes:
    """All plaintext the passphrase recovers from `journals` with this key file."""
    master = master_key(key_file, passphrase)
    if master is None:
        return b""
    keys = [record[4] for record in state_records(key_file, master)]
    keys.append(subkey(master, "fieldvault/vault/journal/v1"))  # format 1's derived key
    record_key = subkey(master, "fieldvault/vault/record/v1")
    out = []
    for journal in journals:
        for key in keys:
            for entry in journal_entries(journal, key):
                out.append(entry)
                out.extend(records_in(entry, record_key))
    return b"\n".join(out)


def files_under(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def journal_shaped(files: dict[Path, bytes]) -> list[bytes]:
    """Every file that starts like a journal (the journal itself, snapshots left in tmp/)."""
    return [data for data in files.values() if data.startswith(JOURNAL_MAGIC)]
