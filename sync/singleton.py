"""Records a vault holds once each, under a fixed id: identities, chain and sync state, settings.

Use:
- `fixed_id(name)` for the record's id and `get_or_none(vault, id)` to read it.
- `Singleton` as the base of such a dataclass: it names its `record_id` (and `record_kind`)
  and gets `cls.load(vault)`, `obj.to_record()` and `obj.save(vault)`.
- `to_record(obj, record_id)` / `load(cls, vault, record_id)` to keep a dataclass as one record:
  every field under its own name as a plain JSON value (a tuple as a list). A field whose
  metadata is `seed("signing_seed")` holds a `SigningKey` (or None) and is kept as its 32-byte
  seed in base64url under that name. On loading, a key the record lacks takes the field's
  default (a record from an older version), a key the class does not know is ignored (one from a
  newer version), and a tuple field gets its list back as a tuple.

Danger: seeds are private keys. Records holding them belong only inside the encrypted vault.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from core.crypto.hashing import sha256_hex
from core.crypto.signing import SigningKey
from core.records import Kind, Record, Status
from core.vault_port import RecordReader, VaultPort
from sync.encoding import b64u_decode, b64u_encode

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")

_SEED = "fieldvault.seed"


def fixed_id(name: str) -> str:
    """A stable record id (32 hex digits) for a singleton record such as device state."""
    return sha256_hex(f"fieldvault/singleton/{name}".encode())[:32]


def get_or_none(vault: RecordReader, record_id: str) -> Record | None:
    """`vault.get` that returns None when the record does not exist."""
    try:
        return vault.get(record_id)
    except Exception as exc:  # storage's RecordNotFound; sync does not import storage
        if type(exc).__name__ in ("RecordNotFound", "KeyError"):
            return None
        raise


def seed(stored_as: str) -> dict[str, str]:
    """Field metadata: this `SigningKey` field is kept as its seed under `stored_as`."""
    return {_SEED: stored_as}


def to_data(obj: DataclassInstance) -> dict[str, Any]:
    """A dataclass instance as the plain data of its record (deep copies, never shared)."""
    data: dict[str, Any] = {}
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        stored_as = field.metadata.get(_SEED)
        if stored_as is not None:
            data[stored_as] = None if value is None else b64u_encode(value.private_bytes())
        elif isinstance(value, tuple):
            data[field.name] = list(value)
        else:
            data[field.name] = copy.deepcopy(value)
    return data


def from_data(cls: type[T], data: dict[str, Any]) -> T:
    """The dataclass `to_data` was given; see the module docstring for missing and extra keys."""
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        stored_as = field.metadata.get(_SEED)
        if stored_as is not None:
            if stored_as in data:
                raw = data[stored_as]
                kwargs[field.name] = (
                    None if raw is None else SigningKey.from_bytes(b64u_decode(raw, length=32))
                )
        elif field.name in data:
            value = data[field.name]
            if typing.get_origin(hints[field.name]) is tuple:
                value = tuple(value or ())
            kwargs[field.name] = value
    return cls(**kwargs)


def to_record(obj: DataclassInstance, record_id: str, *, kind: str = Kind.SETTING) -> Record:
    """`obj` as its local (never synced) record."""
    return Record(kind=kind, id=record_id, status=Status.LOCAL, data=to_data(obj))


def load(cls: type[T], vault: RecordReader, record_id: str) -> T | None:
    """The dataclass kept at `record_id`, or None if the vault holds no such record."""
    record = get_or_none(vault, record_id)
    return None if record is None else from_data(cls, record.data)


@dataclasses.dataclass(slots=True)
class Singleton:
    """Base of a dataclass kept as the one record at `record_id`, of kind `record_kind`.

    `load(vault)` reads it back (None if the vault holds none); `to_record()` is the record to
    put, in the unit of work of a read-modify-write; `save(vault)` puts it on its own.
    """

    record_id: ClassVar[str]
    record_kind: ClassVar[str] = Kind.SETTING

    def to_record(self) -> Record:
        return to_record(self, self.record_id, kind=self.record_kind)

    @classmethod
    def load(cls, vault: RecordReader) -> Self | None:
        return load(cls, vault, cls.record_id)

    def save(self, vault: VaultPort) -> None:
        vault.put(self.to_record())


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints
