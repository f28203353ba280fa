"""The key file: one random master key wrapped in a fixed number of passphrase slots, followed
by two sealed journal-state records (`storage.keystate`).

Use `KeyFile.new(...)` at creation, `KeyFile.parse(bytes)` / `to_bytes()` for storage,
`derive_kek(passphrase, params)` once per unlock attempt and `keyfile.unwrap(kek)` to find the
slot it opens. Byte layout in docs/formats/vault.md.

The file has a fixed size (`FILE_SIZE`, three 4 KiB pages: slots, state record A, state record
B) and is rewritten in place, never by rename, so no older copy is left behind as a freed
file. Format 1 files (276 bytes, slots only, from release 0.1) still parse; the vault upgrades
them on unlock. The slots' associated data names format 1 in both versions, so upgrading never
needs to re-seal the duress slot (whose passphrase is unknown).

The file always has `SLOT_COUNT` slots of identical size. One holds the master key (role
`MASTER`), one may hold the duress marker (role `DURESS`), the rest are random bytes. Which is
which can only be learnt by opening a slot: the role byte is inside the ciphertext. One scrypt
salt serves every slot, so one derivation per attempt tries them all.

Danger: the salt never changes after creation (a new salt would orphan the duress slot, whose
passphrase we do not know). Passphrases are normalised to NFC before derivation so the same
words typed on different keyboards unlock.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import struct
import time
import unicodedata
import zlib

from core.crypto import aead
from core.crypto.errors import InvalidCiphertext
from core.crypto.kdf import MIN_SCRYPT_LOG_N, MIN_SCRYPT_R, scrypt_derive
from core.crypto.random import random_bytes
from storage.errors import VaultCorrupt, VaultFormatTooNew
from storage.keystate import SEALED_SIZE as STATE_SEALED_SIZE

MAGIC = b"FVKEY\x00\x00\x02"  # the last byte is the format version
MAGIC_V1 = b"FVKEY\x00\x00\x01"  # format 1: slots only; also named in every slot's AAD
SLOT_COUNT = 4
SALT_SIZE = 16
MASTER_KEY_SIZE = 32
ROLE_MASTER = 0x01
ROLE_DURESS = 0x02
SLOT_LABEL = b"fieldvault/key-slot/v1\n"
SLOT_PLAINTEXT_SIZE = 1 + MASTER_KEY_SIZE
SLOT_SIZE = aead.OVERHEAD + SLOT_PLAINTEXT_SIZE
_HEADER = struct.Struct(">8sBBBB16s")
HEADER_SIZE = _HEADER.size + 4  # + crc32
SLOTS_END = HEADER_SIZE + SLOT_COUNT * SLOT_SIZE  # 276: the whole of a format 1 file
V1_FILE_SIZE = SLOTS_END
PAGE_SIZE = 4096
# Each state record sits in its own 4 KiB page, so rewriting one (after every save) never
# touches the page holding the wrapped master key.
STATE_OFFSETS = (PAGE_SIZE, 2 * PAGE_SIZE)
STATE_COUNT = len(STATE_OFFSETS)
FILE_SIZE = 3 * PAGE_SIZE

DEFAULT_R = MIN_SCRYPT_R
DEFAULT_P = 1
CALIBRATION_TARGET_S = 0.5
# 2^18 * r=8 needs 256 MiB, the most we ask of a cheap phone.
MAX_CALIBRATED_LOG_N = 18


@dataclasses.dataclass(frozen=True)
class KdfParams:
    log_n: int
    r: int = DEFAULT_R
    p: int = DEFAULT_P

    def __post_init__(self) -> None:
        if self.log_n < MIN_SCRYPT_LOG_N or self.r < MIN_SCRYPT_R or self.p < 1:
            raise ValueError("scrypt parameters below the minimum (N=2^15, r=8, p=1)")
        if self.log_n > 22 or self.r > 255 or self.p > 255:
            raise ValueError("scrypt parameters out of range")


def calibrate(target_s: float = CALIBRATION_TARGET_S) -> int:
    """The `log_n` (r=8, p=1) whose derivation takes about `target_s` here, never below 15."""
    started = time.perf_counter()
    scrypt_derive(b"calibration", bytes(SALT_SIZE), log_n=MIN_SCRYPT_LOG_N)
    elapsed = max(time.perf_counter() - started, 1e-6)
    steps = round(math.log2(target_s / elapsed)) if target_s > elapsed else 0
    return max(MIN_SCRYPT_LOG_N, min(MAX_CALIBRATED_LOG_N, MIN_SCRYPT_LOG_N + steps))


def normalize_passphrase(passphrase: str) -> bytes:
    if not isinstance(passphrase, str):
        raise TypeError("passphrase must be a str")
    if not passphrase:
        raise ValueError("passphrase must not be empty")
    return unicodedata.normalize("NFC", passphrase).encode("utf-8", "surrogatepass")


def derive_kek(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """The slot-wrapping key for `passphrase`: one scrypt run."""
    return scrypt_derive(
        normalize_passphrase(passphrase), salt, log_n=params.log_n, r=params.r, p=params.p
    )


@dataclasses.dataclass(frozen=True)
class Unwrapped:
    index: int
    role: int
    key: bytes


@dataclasses.dataclass(frozen=True)
class KeyFile:
    params: KdfParams
    salt: bytes
    slots: tuple[bytes, ...]
    # sealed state records as read (format 2), or () for a format 1 file
    states: tuple[bytes, ...] = ()

    @classmethod
    def new(
        cls,
        params: KdfParams,
        salt: bytes,
        master_kek: bytes,
        master_key: bytes,
        duress_kek: bytes | None = None,
    ) -> KeyFile:
        """A key file with the master key in a random slot and, optionally, a duress slot."""
        empty = cls(params, salt, tuple(random_bytes(SLOT_SIZE) for _ in range(SLOT_COUNT)))
        index = _random_index(range(SLOT_COUNT))
        keyfile = empty.with_slot(index, master_kek, ROLE_MASTER, master_key)
        if duress_kek is not None:
            keyfile = keyfile.with_duress(index, duress_kek)
        return keyfile

    def header(self, magic: bytes = MAGIC) -> bytes:
        """Bytes 0–27 (everything the header checksum covers)."""
        return _HEADER.pack(
            magic, self.params.log_n, self.params.r, self.params.p, SLOT_COUNT, self.salt
        )

    def slot_page(self) -> bytes:
        """Bytes 0–275: header, checksum and slots (the part a passphrase change rewrites)."""
        head = self.header()
        return head + struct.pack(">I", zlib.crc32(head)) + b"".join(self.slots)

    def to_bytes(self, states: tuple[bytes, ...] | None = None) -> bytes:
        """The whole format 2 file: slot page, then `states` (default: those read, or random
        bytes) each at the start of its own page, zero padding elsewhere."""
        records = self.states if states is None else states
        if len(records) != STATE_COUNT:
            records = tuple(random_bytes(STATE_SEALED_SIZE) for _ in range(STATE_COUNT))
        out = bytearray(FILE_SIZE)
        page = self.slot_page()
        out[: len(page)] = page
        for offset, record in zip(STATE_OFFSETS, records, strict=True):
            if len(record) != STATE_SEALED_SIZE:
                raise ValueError("state record has the wrong size")
            out[offset : offset + len(record)] = record
        return bytes(out)

    @property
    def version(self) -> int:
        return MAGIC[-1] if self.states else MAGIC_V1[-1]

    @classmethod
    def parse(cls, data: bytes) -> KeyFile:
        """Raises `VaultFormatTooNew` for a newer format version (checked first: a newer layout
        may differ in size), `VaultCorrupt` for anything else that is not this format."""
        VaultFormatTooNew.check("key file", data, MAGIC)
        v1 = data[: len(MAGIC_V1)] == MAGIC_V1
        expected = V1_FILE_SIZE if v1 else FILE_SIZE
        if len(data) != expected:
            raise VaultCorrupt(f"key file: {len(data)} bytes, expected {expected}")
        head = data[: _HEADER.size]
        (crc,) = struct.unpack(">I", data[_HEADER.size : HEADER_SIZE])
        if zlib.crc32(head) != crc:
            raise VaultCorrupt("key file: header checksum mismatch")
        magic, log_n, r, p, count, salt = _HEADER.unpack(head)
        if magic not in (MAGIC, MAGIC_V1) or count != SLOT_COUNT:
            raise VaultCorrupt("key file: unknown format")
        try:
            params = KdfParams(log_n, r, p)
        except ValueError:
            raise VaultCorrupt("key file: scrypt parameters out of range") from None
        body = data[HEADER_SIZE:SLOTS_END]
        slots = tuple(body[i * SLOT_SIZE : (i + 1) * SLOT_SIZE] for i in range(SLOT_COUNT))
        states = () if v1 else tuple(data[o : o + STATE_SEALED_SIZE] for o in STATE_OFFSETS)
        return cls(params, salt, slots, states)

    def _aad(self, index: int) -> bytes:
        # Format 1's header, whatever the file's version: see the module docstring.
        return SLOT_LABEL + self.header(MAGIC_V1) + bytes([index])

    def unwrap(self, kek: bytes) -> Unwrapped | None:
        """The slot `kek` opens, or None. Tries every slot, so timing does not reveal which."""
        found: Unwrapped | None = None
        for index, slot in enumerate(self.slots):
            try:
                plain = aead.open_(kek, slot, self._aad(index))
            except InvalidCiphertext:
                continue
            if found is None and len(plain) == SLOT_PLAINTEXT_SIZE:
                found = Unwrapped(index, plain[0], plain[1:])
        return found

    def with_slot(self, index: int, kek: bytes, role: int, key: bytes) -> KeyFile:
        if len(key) != MASTER_KEY_SIZE:
            raise ValueError("slot key must be 32 bytes")
        sealed = aead.seal(kek, bytes([role]) + key, self._aad(index))
        slots = list(self.slots)
        slots[index] = sealed
        return dataclasses.replace(self, slots=tuple(slots))

    def with_duress(self, master_index: int, duress_kek: bytes | None) -> KeyFile:
        """Re-randomise every slot but the master's, then put the duress marker in one of them.

        Every non-master slot is replaced because an old duress slot cannot be recognised
        without its passphrase.
        """
        slots = [
            slot if i == master_index else random_bytes(SLOT_SIZE)
            for i, slot in enumerate(self.slots)
        ]
        keyfile = dataclasses.replace(self, slots=tuple(slots))
        if duress_kek is None:
            return keyfile
        index = _random_index([i for i in range(SLOT_COUNT) if i != master_index])
        return keyfile.with_slot(index, duress_kek, ROLE_DURESS, random_bytes(MASTER_KEY_SIZE))


def _random_index(choices: range | list[int]) -> int:
    options = list(choices)
    return options[secrets.randbelow(len(options))]
