"""The one codec for records a vault holds once each: field names pinned, keys kept as seeds."""

from __future__ import annotations

import dataclasses

from core.crypto.signing import SigningKey
from core.records import Kind, Status
from storage.memory import MemoryVault
from sync import singleton
from sync.encoding import b64u_encode


@dataclasses.dataclass(slots=True)
class _Keys:
    signing_key: SigningKey = dataclasses.field(metadata=singleton.seed("signing_seed"))
    name: str = ""
    spare_key: SigningKey | None = dataclasses.field(
        default=None, metadata=singleton.seed("spare_seed")
    )
    older: tuple[str, ...] = ()
    seen: list[str] = dataclasses.field(default_factory=list)


def test_keys_are_stored_as_seeds_under_their_own_names_and_tuples_as_lists() -> None:
    key = SigningKey.generate()
    record = singleton.to_record(_Keys(key, "a", older=("x", "y")), "f" * 32, kind=Kind.DEVICE_KEY)
    assert (record.kind, record.id, record.status) == (Kind.DEVICE_KEY, "f" * 32, Status.LOCAL)
    assert record.data == {
        "signing_seed": b64u_encode(key.private_bytes()),
        "name": "a",
        "spare_seed": None,
        "older": ["x", "y"],
        "seen": [],
    }


def test_a_record_round_trips_through_the_vault() -> None:
    vault = MemoryVault()
    kept = _Keys(SigningKey.generate(), "b", SigningKey.generate(), ("old",), ["c"])
    vault.put(singleton.to_record(kept, "e" * 32))
    loaded = singleton.load(_Keys, vault, "e" * 32)
    assert loaded is not None and loaded.spare_key is not None and kept.spare_key is not None
    assert loaded.signing_key.public_bytes() == kept.signing_key.public_bytes()
    assert loaded.spare_key.public_bytes() == kept.spare_key.public_bytes()
    assert (loaded.name, loaded.older, loaded.seen) == ("b", ("old",), ["c"])


def test_missing_keys_take_defaults_and_unknown_keys_are_ignored() -> None:
    key = SigningKey.generate()
    data = {"signing_seed": b64u_encode(key.private_bytes()), "from_a_newer_version": 1}
    loaded = singleton.from_data(_Keys, data)
    assert (loaded.name, loaded.spare_key, loaded.older, loaded.seen) == ("", None, (), [])


def test_the_stored_data_is_a_copy_the_object_does_not_share() -> None:
    keys = _Keys(SigningKey.generate(), seen=["a"])
    data = singleton.to_data(keys)
    data["seen"].append("b")
    assert keys.seen == ["a"]


def test_a_record_the_vault_does_not_hold_loads_as_none() -> None:
    assert singleton.load(_Keys, MemoryVault(), "d" * 32) is None
    assert singleton.get_or_none(MemoryVault(), "d" * 32) is None


@dataclasses.dataclass(slots=True)
class _Counter(singleton.Singleton):
    record_id = "c" * 32
    record_kind = Kind.DEVICE_KEY

    count: int = 0


def test_a_singleton_class_saves_and_loads_itself_at_its_own_record_id() -> None:
    vault = MemoryVault()
    assert _Counter.load(vault) is None
    _Counter(count=3).save(vault)
    record = vault.get("c" * 32)
    assert (record.kind, record.status, record.data) == (
        Kind.DEVICE_KEY,
        Status.LOCAL,
        {"count": 3},
    )
    assert _Counter.load(vault) == _Counter(count=3)
