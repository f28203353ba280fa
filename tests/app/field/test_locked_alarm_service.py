"""The alarm service while locked, without a server: with a keystore and an armed check file
the gesture seals a locked alarm at once and a sender posts it until the server has it; one
gesture per lock; the alarm sealed at the next unlock carries the same nonce; without a
keystore or the alarm part of the file nothing is sealed before unlock."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from app.services.field_alarm import AlarmService, LockedAlarmSender
from app.services.field_keystore import CHECK_FILE_KEY_NAME, MemoryKeystore
from core.crypto.signing import SigningKey
from storage.checkfile import write_check_file
from sync import age, locked_alarm, wipecheck
from sync.errors import Offline, ServerRefused

IDENTITY, RECIPIENT = age.generate_identity()
SEED = bytes(range(32))
NOW = 1_763_700_000


class LockedField:
    """A locked field service with a vault: what `AlarmService` asks of it."""

    def __init__(self, data_dir: Path, keystore: MemoryKeystore | None) -> None:
        self.data_dir, self.keystore, self.unlocked = data_dir, keystore, False

    def has_vault(self) -> bool:
        return True


def armed(tmp_path: Path, **changes: Any) -> LockedField:
    keystore = MemoryKeystore()
    key = bytes(32)
    keystore.put(CHECK_FILE_KEY_NAME, key)
    facts = wipecheck.CheckFacts(
        server="http://127.0.0.1:9",
        pin=None,
        proxy=None,
        device="d" * 32,
        check_seed=SEED,
        root="e" * 32,
        floor=1,
        recipients=(RECIPIENT,),
        message="danger",
    )
    write_check_file(tmp_path, wipecheck.seal(dataclasses.replace(facts, **changes), key))
    return LockedField(tmp_path, keystore)


def _opened(sealed: bytes) -> locked_alarm.LockedAlarm:
    key = SigningKey.from_bytes(SEED).public_bytes()
    return locked_alarm.verify(sealed, [IDENTITY], device="d" * 32, keys=[key], now=NOW)


def test_the_locked_gesture_seals_an_alarm_from_the_check_file_and_only_once_per_lock(
    tmp_path: Path,
) -> None:
    service = AlarmService(armed(tmp_path), clock=lambda: NOW)
    sender = service.trigger()
    assert isinstance(sender, LockedAlarmSender) and service.pending
    assert service.trigger() is None  # the same alarm: held again, not sent twice
    posted: list[bytes] = []
    sender._post = lambda _facts, sealed: posted.append(sealed)
    assert sender.deliver_once() and sender.stored and sender.done
    alarm = _opened(posted[0])
    assert (alarm.at, alarm.message) == (NOW, "danger")
    assert alarm.nonce == service._pending_nonce  # what the unlock's alarm will carry


def test_the_sender_tries_again_after_a_network_failure_and_stops_at_a_refusal(
    tmp_path: Path,
) -> None:
    answers: list[Exception | None] = [Offline("down"), Offline("down"), None]

    def post(_facts: Any, _sealed: bytes) -> None:
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    sender = AlarmService(armed(tmp_path), clock=lambda: NOW).trigger()
    assert isinstance(sender, LockedAlarmSender)
    sender._post = post
    waits: list[float] = []
    sender.run(sleep=waits.append)
    assert sender.stored and waits == [20.0, 20.0]

    refused = AlarmService(armed(tmp_path / "b"), clock=lambda: NOW).trigger()
    assert isinstance(refused, LockedAlarmSender)

    def refuse(_facts: Any, _sealed: bytes) -> None:
        raise ServerRefused("alarm_quota", status=429, detail="too many")

    refused._post = refuse
    assert refused.deliver_once() and not refused.stored


def test_without_a_keystore_or_the_alarm_part_of_the_file_nothing_is_sealed_before_unlock(
    tmp_path: Path,
) -> None:
    no_keystore = AlarmService(LockedField(tmp_path / "a", None), clock=lambda: NOW)
    assert no_keystore.trigger() is None and no_keystore.pending
    no_part = AlarmService(armed(tmp_path / "b", recipients=(), message=""), clock=lambda: NOW)
    assert no_part.trigger() is None and no_part.pending
