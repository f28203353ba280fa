"""docs/formats/vault.md, re-implemented independently from the primitives and checked against
the code in both directions: bytes built from the spec open with the code, and bytes the code
writes decode with the spec."""

from __future__ import annotations

import json
import struct
import unicodedata
import zlib
from pathlib import Path

from core.crypto import aead
from core.crypto.kdf import hkdf_sha256, scrypt_derive
from core.records import Record
from storage import Vault
from storage import journal as jr
from storage import keyfile as kf
from storage.attempts import Attempts
from tests.storage.conftest import PASSPHRASE

SALT = bytes(range(16))
MASTER = bytes(range(100, 132))


def spec_key_file(passphrase: str, slot_index: int) -> bytes:
    header = b"FVKEY\x00\x00\x01" + bytes([15, 8, 1, 4]) + SALT
    kek = scrypt_derive(unicodedata.normalize("NFC", passphrase).encode(), SALT, log_n=15, r=8, p=1)
    slots = []
    for index in range(4):
        if index == slot_index:
            aad = b"fieldvault/key-slot/v1\n" + header + bytes([index])
            slots.append(aead.seal(kek, b"\x01" + MASTER, aad))
        else:
            slots.append(bytes(61))
    return header + struct.pack(">I", zlib.crc32(header)) + b"".join(slots)


def test_a_key_file_built_from_the_spec_opens_with_the_code() -> None:
    data = spec_key_file(PASSPHRASE, slot_index=2)
    assert len(data) == 276
    parsed = kf.KeyFile.parse(data)
    assert parsed.params == kf.KdfParams(15, 8, 1)
    found = parsed.unwrap(kf.derive_kek(PASSPHRASE, parsed.salt, parsed.params))
    assert found is not None
    assert (found.index, found.role, found.key) == (2, kf.ROLE_MASTER, MASTER)


def test_the_attempts_file_matches_the_spec() -> None:
    body = b"FVA\x01" + struct.pack(">II", 3, 7) + b"\x01" + bytes(3)
    data = body + struct.pack(">I", zlib.crc32(body))
    assert Attempts.parse(data) == Attempts(3, 7, True)
    assert Attempts(3, 7, True).to_bytes() == data


def test_a_journal_built_from_the_spec_replays_with_the_code(tmp_path: Path) -> None:
    journal_key = bytes(32)
    journal_id = bytes(range(16))
    record_id = "r1"
    frames = (
        b"\x01"
        + struct.pack(">H", 2)
        + b"r1"
        + struct.pack(">I", 5)
        + b"12345"
        + b"\x02"
        + struct.pack(">H", 2)
        + b"r0"
    )
    entries = b""
    for seq in range(2):
        body = aead.seal(
            journal_key,
            struct.pack(">Q", seq) + frames,
            b"fieldvault/journal-entry/v1\n" + journal_id,
        )
        check = zlib.crc32(journal_id + struct.pack(">I", len(body)))
        entries += struct.pack(">II", len(body), check) + body
    path = tmp_path / "journal"
    path.write_bytes(b"FVJRNL\x00\x01" + journal_id + entries)
    state = jr.read_journal(path, journal_key)
    assert state.next_seq == 2
    assert [(op.kind, op.record_id, op.sealed) for op in state.ops] == [
        (1, record_id, b"12345"),
        (2, "r0", b""),
    ] * 2


def _journal_entries(data: bytes, key: bytes) -> list[bytes]:
    journal_id = data[8:24]
    pos, plains = 24, []
    while pos < len(data):
        length, check = struct.unpack_from(">II", data, pos)
        assert check == zlib.crc32(journal_id + struct.pack(">I", length))
        body = data[pos + 8 : pos + 8 + length]
        plains.append(aead.open_(key, body, b"fieldvault/journal-entry/v1\n" + journal_id))
        pos += 8 + length
    return plains


def test_what_the_vault_writes_decodes_with_the_spec(vault_path: Path) -> None:
    vault = Vault.create(vault_path, PASSPHRASE, kdf_log_n=15)
    saved = vault.put(Record(kind="note", data={"text": "spec"}))
    attachment = vault.attach(b"x" * 70_000, media_type="text/plain", name="n")
    vault.lock()

    key_file = (vault_path / "key").read_bytes()
    assert len(key_file) == 3 * 4096 and key_file[:8] == b"FVKEY\x00\x00\x02"
    header = key_file[:28]
    slot_header = b"FVKEY\x00\x00\x01" + header[8:]  # the slots' AAD names format 1
    log_n, r, p = key_file[8], key_file[9], key_file[10]
    kek = scrypt_derive(PASSPHRASE.encode(), key_file[12:28], log_n=log_n, r=r, p=p)
    master = None
    for index in range(4):
        slot = key_file[32 + 61 * index : 32 + 61 * (index + 1)]
        try:
            plain = aead.open_(
                kek, slot, b"fieldvault/key-slot/v1\n" + slot_header + bytes([index])
            )
        except Exception:  # noqa: S112 - the other slots are expected not to open
            continue
        assert plain[0] == 1
        master = plain[1:]
    assert master is not None

    def sub(info: str) -> bytes:
        return hkdf_sha256(master, salt=b"", info=info.encode())

    journal = (vault_path / "journal").read_bytes()
    states = []
    for index, offset in enumerate((4096, 8192)):
        sealed = key_file[offset : offset + 100]
        aad = b"fieldvault/key-state/v1\n" + header + bytes([index])
        states.append(
            struct.unpack(
                ">QQQ16s32s", aead.open_(sub("fieldvault/vault/key-state/v1"), sealed, aad)
            )
        )
    newest = max(states)  # by serial
    assert newest[2] == 2 and newest[3] == journal[8:24]  # two entries, this journal
    assert all(state[3:] == newest[3:] for state in states)  # both name the same journal key
    frames = []
    for plain in _journal_entries(journal, newest[4]):  # seq 0: the note; seq 1: a file key
        op, id_len = struct.unpack_from(">BH", plain, 8)
        (sealed_len,) = struct.unpack_from(">I", plain, 11 + id_len)
        frames.append(
            (
                plain[:8],
                op,
                plain[11 : 11 + id_len].decode(),
                plain[15 + id_len : 15 + id_len + sealed_len],
            )
        )
    (seq0, op, record_id, sealed), (seq1, key_op, key_id, sealed_key) = frames
    assert (seq0, seq1) == (bytes(8), (1).to_bytes(8, "big"))
    record_key = sub("fieldvault/vault/record/v1")
    record = json.loads(
        aead.open_(record_key, sealed, b"fieldvault/record/v1\n" + record_id.encode())
    )
    assert (op, record_id, record["data"]) == (1, saved.id, {"text": "spec"})
    assert (key_op, key_id) == (1, "\x00attachment-key/" + attachment.id)
    file_key = aead.open_(record_key, sealed_key, b"fieldvault/record/v1\n" + key_id.encode())

    blob = (vault_path / "blobs" / attachment.id).read_bytes()
    assert blob[:8] == b"FVBLOB\x00\x02"
    nonce = blob[8:24]
    raw_id = attachment.id.encode()
    stream_key = hkdf_sha256(
        file_key, salt=nonce, info=b"fieldvault/attachment-stream/v1\n" + raw_id
    )
    meta_key = hkdf_sha256(file_key, salt=nonce, info=b"fieldvault/attachment-meta/v1\n" + raw_id)
    meta_len = int.from_bytes(blob[-4:], "big")
    meta = json.loads(
        aead.open_(
            meta_key,
            blob[-4 - meta_len : -4],
            b"fieldvault/attachment-meta/v1\n" + raw_id,
        )
    )
    assert meta["size"] == 70_000 and meta["name"] == "n"
    stream = blob[24 : -4 - meta_len]
    first = aead.decrypt_with_nonce(stream_key, bytes(11) + b"\x00", stream[:65552])
    last = aead.decrypt_with_nonce(stream_key, (1).to_bytes(11, "big") + b"\x01", stream[65552:])
    assert first + last == b"x" * 70_000
