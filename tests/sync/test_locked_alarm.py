"""The locked phone's alarm without a server: the format (sealed to the coordinators, padded to
one size, signed under its own label) and every refusal named, the check file that carries what
it needs, and the coordinators' record of the keys devices announced."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.crypto import aead
from core.crypto.errors import BadSignature
from core.crypto.signing import SigningKey, verify
from core.records import Kind
from storage.checkfile import SIZE
from storage.memory import MemoryVault
from sync import age, locked_alarm, wipecheck
from sync.coordinator import locked_alarms
from sync.encoding import b64u_encode, canonical_json
from sync.labels import CHECK_FILE, LOCKED_ALARM, REQUEST_SIGNATURE
from sync.payload import Payload

NOW = 1_763_700_000
DEVICE = "d" * 32
NONCE = b64u_encode(bytes(range(16)))
SEED = bytes(range(32))
IDENTITY, RECIPIENT = age.generate_identity()


def sealed(**changes: Any) -> bytes:
    values: dict[str, Any] = {
        "device": DEVICE,
        "nonce": NONCE,
        "at": NOW,
        "message": "detained",
        "alarm_key": SigningKey.from_bytes(SEED),
        "recipients": [RECIPIENT],
    }
    values.update(changes)
    return locked_alarm.seal(**values)


def check(raw: bytes, **changes: Any) -> locked_alarm.LockedAlarm:
    values: dict[str, Any] = {
        "device": DEVICE,
        "keys": [SigningKey.from_bytes(SEED).public_bytes()],
        "now": NOW + 60,
    }
    values.update(changes)
    return locked_alarm.verify(raw, [IDENTITY], **values)


def test_an_alarm_opens_and_verifies_against_the_key_its_device_announced() -> None:
    assert check(sealed()) == locked_alarm.LockedAlarm(DEVICE, NONCE, NOW, "detained")
    other = SigningKey.generate().public_bytes()
    assert check(sealed(), keys=[other, SigningKey.from_bytes(SEED).public_bytes()]).at == NOW


def test_the_signature_is_a_known_answer_over_the_label_and_the_canonical_object() -> None:
    signed = {"at": NOW, "device": DEVICE, "message": "detained", "nonce": NONCE, "v": 1}
    message = LOCKED_ALARM + canonical_json(signed)
    signature = SigningKey.from_bytes(SEED).sign(message)
    assert signature.hex() == KNOWN_SIGNATURE
    with pytest.raises(BadSignature):  # never valid as a request signature, or without label
        verify(SigningKey.from_bytes(SEED).public_bytes(), signature, REQUEST_SIGNATURE + message)


@pytest.mark.parametrize("message", locked_alarm.MESSAGES)
def test_every_alarm_of_an_organisation_has_one_size(message: str) -> None:
    assert len(sealed(message=message)) == len(sealed(message="call_me", nonce="A" * 22))


def test_an_alarm_for_other_coordinators_is_not_for_me() -> None:
    with pytest.raises(locked_alarm.NotForMe):
        check(sealed(recipients=[age.generate_identity()[1]]))


def test_an_alarm_signed_by_a_key_the_device_never_announced_waits_unraised() -> None:
    with pytest.raises(locked_alarm.UnknownAlarmKey):
        check(sealed(alarm_key=SigningKey.generate()))
    with pytest.raises(locked_alarm.UnknownAlarmKey):
        check(sealed(), keys=[])


def test_an_alarm_moved_to_another_device_is_bad() -> None:
    with pytest.raises(locked_alarm.BadLockedAlarm):
        check(sealed(), device="e" * 32)


@pytest.mark.parametrize(
    "at", [NOW + 60 - locked_alarm.STALE_SECONDS - 1, NOW + 60 + locked_alarm.FUTURE_SECONDS + 1]
)
def test_an_alarm_older_than_a_week_or_from_the_future_is_stale(at: int) -> None:
    with pytest.raises(locked_alarm.StaleAlarm):
        check(sealed(at=at))


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-1],
        lambda b: b[:-20] + bytes([b[-20] ^ 1]) + b[-19:],
        lambda b: b"",
        lambda b: b + b"\0",
    ],
)
def test_any_damage_is_one_opaque_error(damage: Any) -> None:
    with pytest.raises(locked_alarm.BadLockedAlarm):
        check(damage(sealed()))


def _plain(body: bytes, size: int = locked_alarm.PLAIN_SIZE) -> bytes:
    return age.encrypt(
        len(body).to_bytes(2, "big") + body + bytes(size - 2 - len(body)), [RECIPIENT]
    )


def test_a_well_signed_but_malformed_or_unpadded_plaintext_is_bad() -> None:
    key = SigningKey.from_bytes(SEED)
    signed = {"v": 1, "device": DEVICE, "nonce": NONCE, "at": NOW, "message": "detained"}
    sig = b64u_encode(key.sign(LOCKED_ALARM + canonical_json(signed)))
    good = canonical_json({"alarm": signed, "sig": sig})
    assert check(_plain(good)).nonce == NONCE  # the construction itself is right
    for raw in (
        _plain(good, locked_alarm.PLAIN_SIZE + 1),  # another size
        _plain(canonical_json({"alarm": signed, "sig": sig, "x": 1})),  # unknown field
        _plain(json.dumps({"sig": sig, "alarm": signed}).encode()),  # not canonical
        _plain(canonical_json({"alarm": {**signed, "message": "bye"}, "sig": sig})),
    ):
        with pytest.raises(locked_alarm.BadLockedAlarm):
            check(raw)


def test_seal_refuses_an_unknown_message_a_bad_time_or_no_recipients() -> None:
    changes: dict[str, Any]
    for changes in ({"message": "hello"}, {"at": -1}, {"recipients": []}):
        with pytest.raises(ValueError):
            sealed(**changes)


# -- the check file carries what a locked alarm needs ------------------------------------------


def facts(**changes: Any) -> wipecheck.CheckFacts:
    base = wipecheck.CheckFacts(
        server="https://fv.example.org",
        pin=None,
        proxy=None,
        device=DEVICE,
        check_seed=SEED,
        root="e" * 32,
        floor=3,
        recipients=(RECIPIENT, age.generate_identity()[1]),
        message="medical",
    )
    return dataclasses.replace(base, **changes)


def test_the_check_file_keeps_the_recipients_and_message_at_its_one_size() -> None:
    value = facts()
    raw = wipecheck.seal(value, bytes(32))
    assert len(raw) == SIZE and wipecheck.open_(raw, bytes(32)) == value


def test_a_check_file_written_before_the_alarm_part_still_opens_without_it() -> None:
    old = {
        "v": 1,
        "server": "https://fv.example.org",
        "pin": None,
        "proxy": None,
        "device": DEVICE,
        "check": b64u_encode(SEED),
        "root": "e" * 32,
        "floor": 3,
        "done": [],
    }
    body = canonical_json(old)
    plain = len(body).to_bytes(2, "big") + body
    raw = aead.seal(bytes(32), plain + bytes(SIZE - aead.OVERHEAD - len(plain)), CHECK_FILE)
    opened = wipecheck.open_(raw, bytes(32))
    assert opened.recipients == () and opened.message == "" and opened.device == DEVICE


def test_recipients_too_long_for_the_file_turn_the_locked_alarm_off_not_the_wipe_check() -> None:
    @dataclasses.dataclass
    class Identity:
        server_url: str = "https://fv.example.org"
        tls_pin: str | None = None
        proxy: str | None = None
        device_id: str = DEVICE
        root_fingerprint: str = "e" * 32

    post_quantum = [age.generate_identity(pq=True)[1] for _ in range(3)]
    value = wipecheck.facts_from(Identity(), 3, [], SEED, recipients=post_quantum, message="danger")
    assert value.recipients == () and value.message == ""
    assert len(wipecheck.seal(value, bytes(32))) == SIZE
    fits = wipecheck.facts_from(Identity(), 3, [], SEED, recipients=[RECIPIENT], message="danger")
    assert fits.recipients == (RECIPIENT,) and fits.message == "danger"


# -- the coordinators' record of announced keys ------------------------------------------------


@dataclasses.dataclass
class _Sealed:
    author: str
    seq: int
    id: str


def test_coordinators_keep_the_last_keys_a_device_announced_and_refuse_a_malformed_one() -> None:
    vault = MemoryVault()
    touched: dict[str, Any] = {}
    keys = [SigningKey.generate().public_bytes() for _ in range(6)]
    for seq, key in enumerate(keys, start=1):
        payload = Payload("alarm_key", {"key": b64u_encode(key), "at": NOW}, ())
        sealed_env: Any = _Sealed(DEVICE, seq, f"{seq:032x}")
        assert locked_alarms.store_announcement(vault, sealed_env, payload, touched) is True
        vault.put_many(list(touched.values()))
    again: Any = _Sealed(DEVICE, 9, "9" * 32)
    payload = Payload("alarm_key", {"key": b64u_encode(keys[-1])}, ())
    assert locked_alarms.store_announcement(vault, again, payload, touched) is False
    bad = Payload("alarm_key", {"key": "not a key"}, ())
    assert locked_alarms.store_announcement(vault, again, bad, touched) is None
    [record] = touched.values()
    assert record.kind == Kind.SETTING
    assert locked_alarms.announced_keys(vault, DEVICE) == keys[::-1][: locked_alarms.MAX_KEYS]
    assert locked_alarms.announced_keys(vault, "e" * 32) == []


KNOWN_SIGNATURE = (
    "5fb7d241e4bcf19292667cbc39153433c53eda4307f943501ffff63dd5707089"
    "ff1fdfd8b20cb6d940eee26808c2b7ba65e750f222e7c7145ed69949a9295e0f"
)


@settings(max_examples=40, deadline=None)
@given(
    at=st.integers(min_value=NOW + 61 - locked_alarm.STALE_SECONDS, max_value=NOW + 660),
    message=st.sampled_from(locked_alarm.MESSAGES),
    nonce=st.binary(min_size=16, max_size=16),
)
def test_every_alarm_round_trips_at_the_same_size(at: int, message: str, nonce: bytes) -> None:
    raw = sealed(at=at, message=message, nonce=b64u_encode(nonce))
    assert len(raw) == len(sealed())
    assert check(raw) == locked_alarm.LockedAlarm(DEVICE, b64u_encode(nonce), at, message)
