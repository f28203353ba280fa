"""Attack: the server (or whoever runs it) tries to raise, replay, move or date an alarm that a
locked phone never gave, or to read one it did.

The phones are real field services with a keystore (the in-memory one), enrolled on the real
server, their alarm key announced; the operator edits the server's database behind its back
(tests/adversarial/operator.py) and posts through the real routes. Coordinators pull as usual:
only what the phone signed with the key it announced in its own envelope is raised, once. A
server that withholds an alarm only delays it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.services.field import VaultFieldService
from app.services.field_alarm import AlarmService
from app.services.field_keystore import CHECK_FILE_KEY_NAME, MemoryKeystore
from core.crypto.signing import SigningKey
from storage.checkfile import read_check_file
from sync import coordinator, locked_alarm, wipecheck
from sync.client import Client
from sync.coordinator import alerts as raised_alerts
from sync.encoding import b64u_encode
from tests.adversarial.operator import HostileOperator
from tests.integration.conftest import Org

PASS = "walnut orchard lantern 1987 Naryn"
FAST_LOG_N = 15

pytestmark = pytest.mark.slow


def locked_phone(org: Org, tmp_path: Path, name: str = "phone") -> VaultFieldService:
    service = VaultFieldService(tmp_path / name, kdf_log_n=FAST_LOG_N, keystore=MemoryKeystore())
    service.unlock_floor = 0.0
    service.create(PASS, language="ru")
    service.join(coordinator.create_invite(org.coordinator, expires_in=3600, label=name).encode())
    service.sync_round()  # enrolled; the check file armed; the alarm key announced
    service.sync_round()  # the announcement delivered
    coordinator.pull(org.coordinator)  # the coordinators know the key
    service.lock()
    return service


def facts(service: VaultFieldService) -> wipecheck.CheckFacts:
    """What an attacker holding the unlocked phone's keystore could read from its check file."""
    assert service.keystore is not None
    key = service.keystore.get(CHECK_FILE_KEY_NAME)
    sealed = read_check_file(service.data_dir)
    assert key is not None and sealed is not None
    return wipecheck.open_(sealed, key)


def give_alarm(service: VaultFieldService) -> None:
    """The gesture on the locked phone, delivered to the server."""
    sender = AlarmService(service).trigger()
    assert sender is not None and sender.deliver_once()


def sealed_as(signer: SigningKey, of: wipecheck.CheckFacts, *, at: int | None = None) -> bytes:
    return locked_alarm.seal(
        device=of.device,
        nonce=locked_alarm.new_nonce(),
        at=int(time.time()) if at is None else at,
        message="detained",
        alarm_key=signer,
        recipients=of.recipients,  # public keys: the server can learn them
    )


def raised(org: Org) -> list[raised_alerts.RaisedAlert]:
    coordinator.pull(org.coordinator)
    return raised_alerts.active(org.coordinator, int(time.time()))


def test_an_alarm_the_server_signed_itself_is_never_raised(
    org: Org, operator: HostileOperator, tmp_path: Path
) -> None:
    phone = locked_phone(org, tmp_path)
    operator.insert_locked_alarm(
        facts(phone).device, sealed_as(SigningKey.generate(), facts(phone))
    )
    assert raised(org) == []


def test_a_check_key_the_server_swapped_in_cannot_sign_an_alarm_coordinators_raise(
    org: Org, operator: HostileOperator, tmp_path: Path
) -> None:
    phone = locked_phone(org, tmp_path)
    own = SigningKey.generate()
    operator.set_check_key(facts(phone).device, own.public_bytes())
    forged = b64u_encode(sealed_as(own, facts(phone)))
    with Client(facts(phone).server, signing_key=own) as client:  # accepted by the server
        client.call("POST", locked_alarm.PATH, json_body={"sealed": forged})
    assert len(operator.locked_alarms()) == 1 and raised(org) == []


def test_a_replayed_alarm_is_raised_once_and_never_again_after_it_was_handled(
    org: Org, operator: HostileOperator, tmp_path: Path
) -> None:
    phone = locked_phone(org, tmp_path)
    give_alarm(phone)
    [alarm] = raised(org)
    raised_alerts.handle(org.coordinator, alarm.id, by="Aida", now=int(time.time()))
    [(_, device, sealed, _)] = operator.locked_alarms()
    operator.insert_locked_alarm(device, sealed, int(time.time()) + 5)  # as if sent again
    operator.insert_locked_alarm(device, sealed)
    assert raised(org) == []
    assert len(raised_alerts.raised(org.coordinator, int(time.time()))) == 1


def test_an_alarm_moved_to_another_phone_is_raised_for_neither(
    org: Org, operator: HostileOperator, tmp_path: Path
) -> None:
    phone, other = locked_phone(org, tmp_path), locked_phone(org, tmp_path, "other")
    give_alarm(phone)
    [(alarm_id, _, _, _)] = operator.locked_alarms()
    operator.move_locked_alarm(alarm_id, facts(other).device)
    assert raised(org) == []


def test_an_alarm_signed_with_another_phones_key_is_not_raised_for_this_phone(
    org: Org, operator: HostileOperator, tmp_path: Path
) -> None:
    phone, other = locked_phone(org, tmp_path), locked_phone(org, tmp_path, "other")
    forged = sealed_as(facts(other).check_key, facts(phone))  # a member's key, this phone's name
    operator.insert_locked_alarm(facts(phone).device, forged)
    assert raised(org) == []


def test_an_alarm_signed_more_than_a_week_ago_is_not_raised(
    org: Org, operator: HostileOperator, tmp_path: Path
) -> None:
    phone = locked_phone(org, tmp_path)
    seized = facts(phone)
    old = sealed_as(seized.check_key, seized, at=int(time.time()) - locked_alarm.STALE_SECONDS - 60)
    operator.insert_locked_alarm(seized.device, old)
    assert raised(org) == []


def test_a_withheld_alarm_is_only_delayed(
    org: Org, operator: HostileOperator, tmp_path: Path
) -> None:
    phone = locked_phone(org, tmp_path)
    give_alarm(phone)
    kept = operator.locked_alarms()
    operator.forget_locked_alarms()
    assert raised(org) == []
    for _, device, sealed, received_at in kept:
        operator.insert_locked_alarm(device, sealed, received_at)
    [alarm] = raised(org)
    assert alarm.device == facts(phone).device and alarm.message == "detained"


def test_the_server_holds_only_ciphertext_of_one_size_whatever_the_message(
    org: Org, operator: HostileOperator, tmp_path: Path
) -> None:
    phone = locked_phone(org, tmp_path)
    seized = facts(phone)
    for message in locked_alarm.MESSAGES:
        operator.insert_locked_alarm(
            seized.device,
            locked_alarm.seal(
                device=seized.device,
                nonce=locked_alarm.new_nonce(),
                at=int(time.time()),
                message=message,
                alarm_key=seized.check_key,
                recipients=seized.recipients,
            ),
        )
    give_alarm(phone)
    stored = [sealed for _, _, sealed, _ in operator.locked_alarms()]
    assert len({len(s) for s in stored}) == 1
    for sealed in stored:
        assert seized.device.encode() not in sealed
        assert not any(m.encode() in sealed for m in locked_alarm.MESSAGES)
    assert len(raised(org)) == len(locked_alarm.MESSAGES) + 1
