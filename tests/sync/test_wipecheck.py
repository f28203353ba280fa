"""The wipe-check file and the check's decisions, without a server: the format (fixed size,
round trip, every tampering one error), arming (write only on change, register only new keys)
and what `ordered_wipe` obeys."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.field_keystore import MemoryKeystore
from core.crypto.signing import SigningKey
from storage.checkfile import SIZE, CheckFile, read_check_file
from sync import commands, orgdoc, orgseal, wipecheck
from sync.keys import key_id
from tests.server.helpers import Actor, Org

KEY = bytes(range(32))
NAME = "a2"


def facts(**changes: Any) -> wipecheck.CheckFacts:
    base = wipecheck.CheckFacts(
        server="https://fv.example.org",
        pin="ab" * 32,
        proxy="socks5h://127.0.0.1:9050",
        device="d" * 32,
        check_seed=bytes(32),
        root="e" * 32,
        floor=3,
        done=("c" * 32,),
    )
    return dataclasses.replace(base, **changes)


@given(
    server=st.text(min_size=1, max_size=1500),
    floor=st.integers(min_value=0, max_value=2**53 - 1),
    done=st.lists(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32), max_size=40),
)
def test_the_file_is_always_4096_bytes_and_round_trips(
    server: str, floor: int, done: list[str]
) -> None:
    value = facts(server=server, floor=floor, done=tuple(done))
    sealed = wipecheck.seal(value, KEY)
    assert len(sealed) == SIZE
    opened = wipecheck.open_(sealed, KEY)
    assert opened == dataclasses.replace(value, done=tuple(done[-wipecheck.MAX_DONE :]))


def test_two_seals_of_the_same_facts_share_no_bytes_a_reader_could_match() -> None:
    first, second = wipecheck.seal(facts(), KEY), wipecheck.seal(facts(), KEY)
    assert first != second and first[:12] != second[:12]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-1],
        lambda b: b[:100],
        lambda b: b"",
        lambda b: bytes([b[0] ^ 1]) + b[1:],
        lambda b: b[:2000] + bytes([b[2000] ^ 0x80]) + b[2001:],
        lambda b: b[:-1] + bytes([b[-1] ^ 1]),
    ],
    ids=["short by one", "truncated", "empty", "nonce bit", "body bit", "tag bit"],
)
def test_any_damage_or_the_wrong_key_is_one_error(damage: Any) -> None:
    sealed = wipecheck.seal(facts(), KEY)
    with pytest.raises(wipecheck.CheckFileError):
        wipecheck.open_(damage(sealed), KEY)
    with pytest.raises(wipecheck.CheckFileError):
        wipecheck.open_(sealed, bytes(32))


def test_an_address_too_long_for_the_file_is_refused_before_anything_is_written() -> None:
    with pytest.raises(ValueError):
        wipecheck.seal(facts(server="https://" + "x" * 5000), KEY)


def test_arming_registers_a_new_check_key_once_and_rewrites_only_on_change(
    tmp_path: Path,
) -> None:
    keystore, registered = MemoryKeystore(), []
    floor = [1]

    def wanted(seed: bytes | None) -> wipecheck.CheckFacts:
        return facts(check_seed=seed or SigningKey.generate().private_bytes(), floor=floor[0])

    def register(key: SigningKey) -> None:
        registered.append(key.public_bytes())

    assert wipecheck.arm(CheckFile(tmp_path), keystore, NAME, wanted, register) is True
    first = read_check_file(tmp_path)
    assert wipecheck.arm(CheckFile(tmp_path), keystore, NAME, wanted, register) is False
    assert read_check_file(tmp_path) == first
    floor[0] = 2  # a newer org document accepted
    assert wipecheck.arm(CheckFile(tmp_path), keystore, NAME, wanted, register) is True
    assert len(registered) == 1  # same check key: nothing to register again
    key = keystore.get(NAME)
    assert key is not None and len(key) == 32
    sealed = read_check_file(tmp_path)
    assert sealed is not None and wipecheck.open_(sealed, key).floor == 2


def test_a_failed_registration_writes_no_file(tmp_path: Path) -> None:
    def refuse(key: SigningKey) -> None:
        raise RuntimeError("offline")

    with pytest.raises(RuntimeError):
        wipecheck.arm(CheckFile(tmp_path), MemoryKeystore(), NAME, lambda s: facts(), refuse)
    assert read_check_file(tmp_path) is None


def test_without_a_keystore_or_a_file_the_check_does_nothing_and_asks_nobody(
    tmp_path: Path,
) -> None:
    asked: list[Any] = []
    wiped: list[bool] = []
    for keystore in (None, MemoryKeystore()):
        assert not wipecheck.check(
            CheckFile(tmp_path), keystore, NAME, lambda: wiped.append(True), fetcher=asked.append
        )
    assert asked == [] and wiped == []


# -------------------------------------------------------------------- ordered_wipe


def _sealed_org(org: Org, version: int, people: list[Actor]) -> dict[str, Any]:
    signed = orgdoc.from_wire(org.document(version=version, coordinators=people))
    return orgseal.seal(signed, org.root, orgseal.new_org_identity())


def _wipe(device: str, key: SigningKey, command_id: str | None = None) -> dict[str, Any]:
    signed = commands.sign_command(
        device, commands.WIPE, coordinator_key=key, now=1, command_id=command_id
    )
    return commands.to_wire(signed)


@pytest.fixture
def org() -> Org:
    return Org.new()


def _facts(org: Org, **changes: Any) -> wipecheck.CheckFacts:
    return facts(**{"root": key_id(org.root.public_bytes()), "floor": 1, "done": (), **changes})


def test_a_wipe_from_a_coordinator_of_the_pinned_root_for_this_device_is_obeyed(org: Org) -> None:
    f = _facts(org)
    answer = {
        "commands": [_wipe(f.device, org.coordinator.key, "1" * 32)],
        "org_document": _sealed_org(org, 1, [org.coordinator]),
    }
    assert wipecheck.ordered_wipe(f, answer) == "1" * 32
    plain = {**answer, "org_document": org.document(version=1)}  # an organisation from 0.1
    assert wipecheck.ordered_wipe(f, plain) == "1" * 32


def test_forged_moved_replayed_or_rolled_back_wipes_are_not_obeyed(org: Org) -> None:
    f = _facts(org, floor=2)
    removed = Actor.new()  # listed in version 1 only
    document_v1 = _sealed_org(org, 1, [org.coordinator, removed])
    document_v2 = _sealed_org(org, 2, [org.coordinator])
    forged = _wipe(f.device, org.coordinator.key)
    forged["sig"] = "A" * 86
    cases = [
        ([forged], document_v2),
        ([_wipe(f.device, SigningKey.generate())], document_v2),
        ([_wipe("0" * 32, org.coordinator.key)], document_v2),
        ([_wipe(f.device, removed.key)], document_v1),  # rollback below the floor
        ([_wipe(f.device, removed.key)], document_v2),
        ([{"cmd": "wipe"}, "nonsense", None], document_v2),
    ]
    for cmds, document in cases:
        assert wipecheck.ordered_wipe(f, {"commands": cmds, "org_document": document}) is None
    done = dataclasses.replace(f, done=("2" * 32,))
    replay = {
        "commands": [_wipe(f.device, org.coordinator.key, "2" * 32)],
        "org_document": document_v2,
    }
    assert wipecheck.ordered_wipe(done, replay) is None
    assert wipecheck.ordered_wipe(f, replay) == "2" * 32  # the same, not yet executed
    other_root = Org.new()
    foreign = _sealed_org(other_root, 9, [other_root.coordinator])
    assert (
        wipecheck.ordered_wipe(
            f, {"commands": [_wipe(f.device, other_root.coordinator.key)], "org_document": foreign}
        )
        is None
    )
    assert wipecheck.ordered_wipe(f, {"commands": [], "org_document": document_v2, "x": 1}) is None
