"""Sub-keys of the master key and the encryption of one record.

Use `SubKeys.derive(master_key)` once per unlock, and `seal_record` / `open_record`. A record is
serialised as UTF-8 JSON of `Record.to_shallow_dict()` (the same bytes as `to_dict()`) and
sealed with the record key, its id as the associated data (with a label): a sealed record copied
under another id fails to open.

Danger: the sub-keys are as sensitive as the master key; keep them only in memory.
"""

from __future__ import annotations

import dataclasses
import json

from core.crypto.kdf import hkdf_sha256
from core.crypto.sealer import Sealer
from core.records import Record

RECORD_LABEL = b"fieldvault/record/v1\n"
_INFO_JOURNAL = b"fieldvault/vault/journal/v1"
_INFO_RECORD = b"fieldvault/vault/record/v1"
_INFO_ATTACHMENT = b"fieldvault/vault/attachment/v1"


@dataclasses.dataclass(frozen=True, repr=False)
class SubKeys:
    journal: bytes
    record: bytes
    attachment: bytes

    @classmethod
    def derive(cls, master_key: bytes) -> SubKeys:
        def sub(info: bytes) -> bytes:
            return hkdf_sha256(master_key, salt=b"", info=info)

        return cls(sub(_INFO_JOURNAL), sub(_INFO_RECORD), sub(_INFO_ATTACHMENT))

    def __repr__(self) -> str:
        return "SubKeys(<secret>)"


def record_aad(record_id: str) -> bytes:
    return RECORD_LABEL + record_id.encode("utf-8", "surrogatepass")


def encode_record(record: Record) -> bytes:
    # Shallow: the JSON encoder walks `data` itself, so a deep copy first would only cost time.
    return json.dumps(
        record.to_shallow_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=True
    ).encode("utf-8", "surrogatepass")


def seal_record(sealer: Sealer, record: Record) -> tuple[bytes, bytes]:
    """(JSON bytes, sealed bytes) of `record`, sealed with the record key's `Sealer`."""
    plain = encode_record(record)
    return plain, sealer.seal(plain, record_aad(record.id))


def open_record(sealer: Sealer, record_id: str, sealed: bytes) -> bytes:
    """The record's JSON bytes; raises `InvalidCiphertext` if damaged or stored under another
    id."""
    return sealer.open(sealed, record_aad(record_id))
