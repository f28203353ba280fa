"""Attack: the server (or whoever runs it) tries to wipe a locked phone it has no right to wipe,
or to use the check key a phone keeps outside its vault for anything but asking for commands.

The phone is a real field service with a keystore (the in-memory fake with the phone adapter's
interface), enrolled on the real server; the operator edits the server's database behind its
back (tests/adversarial/operator.py). After each forgery the phone "restarts" locked and runs
its start-up check: it must not wipe, and it must still open with its passphrase. And an image
of the data directory alone shows nothing of the check file: 4096 random-looking bytes.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.field.entry import make_service, start_checked
from app.services.field import VaultFieldService
from app.services.field_keystore import CHECK_FILE_KEY_NAME, MemoryKeystore
from core.crypto.signing import SigningKey
from server.config import SQLITE_FILE
from storage.checkfile import SIZE, read_check_file, write_check_file
from sync import age, commands, coordinator, orgdoc, wipecheck
from sync.client import Client
from sync.coordinator.identity import load_identity
from sync.errors import ServerRefused
from tests.adversarial.operator import HostileOperator
from tests.integration.conftest import Org

PASS = "walnut orchard lantern 1987 Naryn"
FAST_LOG_N = 15

pytestmark = pytest.mark.slow


def enrolled_phone(org: Org, tmp_path: Path, name: str = "phone") -> VaultFieldService:
    service = make_service(tmp_path / name, keystore=MemoryKeystore())
    assert isinstance(service, VaultFieldService)
    service.kdf_log_n, service.unlock_floor = FAST_LOG_N, 0.0
    service.create(PASS, language="ru")
    invite = coordinator.create_invite(org.coordinator, expires_in=3600, label=name)
    service.join(invite.encode())
    service.sync_round()
    service.lock()
    return service


def device_id(service: VaultFieldService) -> str:
    return facts(service).device


def facts(service: VaultFieldService) -> wipecheck.CheckFacts:
    """What an attacker holding the unlocked phone's keystore could read from its check file."""
    assert service.keystore is not None
    key = service.keystore.get(CHECK_FILE_KEY_NAME)
    sealed = read_check_file(service.data_dir)
    assert key is not None and sealed is not None
    return wipecheck.open_(sealed, key)


def restarted_and_checked(service: VaultFieldService) -> VaultFieldService:
    phone = make_service(service.data_dir, keystore=service.keystore)
    assert isinstance(phone, VaultFieldService)
    phone.kdf_log_n, phone.unlock_floor = FAST_LOG_N, 0.0
    start_checked(phone)
    return phone


def assert_not_wiped(phone: VaultFieldService) -> None:
    assert phone.has_vault()
    phone.unlock(PASS)  # the passphrase still opens it: nothing was destroyed
    phone.lock()


def insert_command(operator: HostileOperator, device: str, wire: dict[str, Any]) -> None:
    """The operator puts a command in a device's queue, past every check the server makes."""
    with sqlite3.connect(Path(operator.data_dir) / SQLITE_FILE, timeout=10) as db:
        db.execute(
            "INSERT INTO commands (id, device_id, kind, document, created_at)"
            " VALUES (?, ?, 'wipe', ?, ?)",
            (uuid.uuid4().hex, device, json.dumps(wire), int(time.time())),
        )


def wipe_wire(device: str, key: SigningKey) -> dict[str, Any]:
    signed = commands.sign_command(device, commands.WIPE, coordinator_key=key, now=int(time.time()))
    return commands.to_wire(signed)


@pytest.fixture
def phone(org: Org, tmp_path: Path) -> Iterator[VaultFieldService]:
    yield enrolled_phone(org, tmp_path)


def test_an_unsigned_wipe_forged_by_the_server_does_not_wipe(
    org: Org, operator: HostileOperator, phone: VaultFieldService
) -> None:
    coordinator_key = load_identity(org.coordinator).signing_key
    wire = wipe_wire(device_id(phone), coordinator_key)
    wire["sig"] = "A" * 86  # the coordinator's name on it, no valid signature
    insert_command(operator, device_id(phone), wire)
    assert_not_wiped(restarted_and_checked(phone))


def test_a_wipe_signed_by_someone_who_is_not_a_coordinator_does_not_wipe(
    org: Org, operator: HostileOperator, phone: VaultFieldService
) -> None:
    insert_command(operator, device_id(phone), wipe_wire(device_id(phone), SigningKey.generate()))
    assert_not_wiped(restarted_and_checked(phone))


def test_a_wipe_for_another_device_moved_into_this_phones_queue_does_not_wipe(
    org: Org, operator: HostileOperator, phone: VaultFieldService, tmp_path: Path
) -> None:
    other = enrolled_phone(org, tmp_path, "other")
    genuine = wipe_wire(device_id(other), load_identity(org.coordinator).signing_key)
    insert_command(operator, device_id(phone), genuine)
    assert_not_wiped(restarted_and_checked(phone))


def test_a_wipe_already_carried_out_and_replayed_does_not_wipe_again(
    org: Org, operator: HostileOperator, phone: VaultFieldService
) -> None:
    # The phone has recorded this command as executed (the file keeps executed ids).
    wire = wipe_wire(device_id(phone), load_identity(org.coordinator).signing_key)
    assert phone.keystore is not None
    key = phone.keystore.get(CHECK_FILE_KEY_NAME)
    assert key is not None
    done = wipecheck.CheckFacts(**{**_fields(facts(phone)), "done": (wire["cmd"]["id"],)})
    write_check_file(phone.data_dir, wipecheck.seal(done, key))
    insert_command(operator, device_id(phone), wire)
    assert_not_wiped(restarted_and_checked(phone))


def test_a_wipe_checked_against_an_org_document_older_than_the_phone_has_seen_does_not_wipe(
    org: Org, operator: HostileOperator, phone: VaultFieldService
) -> None:
    # A rolled-back document could list a coordinator since removed (a stolen key): the phone
    # keeps the version it last accepted as a floor. Here the served document is below it.
    assert phone.keystore is not None
    key = phone.keystore.get(CHECK_FILE_KEY_NAME)
    assert key is not None
    current = facts(phone)
    raised = wipecheck.CheckFacts(**{**_fields(current), "floor": current.floor + 1})
    write_check_file(phone.data_dir, wipecheck.seal(raised, key))
    coordinator.order_wipe(org.coordinator, current.device)  # genuine, but judged by old list
    assert_not_wiped(restarted_and_checked(phone))


def test_a_wipe_signed_under_an_org_document_of_another_root_does_not_wipe(
    org: Org, operator: HostileOperator, phone: VaultFieldService
) -> None:
    root, impostor = SigningKey.generate(), SigningKey.generate()
    recipient = age.generate_identity()[1]
    someone = orgdoc.Coordinator(_key_id(impostor), "Aida", impostor.public_bytes(), recipient)
    fake = orgdoc.OrgDocument(
        v=1,
        org="Test Org",
        version=99,
        issued=int(time.time()),
        root=root.public_bytes(),
        coordinators=(someone,),
        recipients=(recipient,),
        forms=(),
        settings={},
    )
    operator.restore_org_document(orgdoc.to_wire(orgdoc.sign_org_document(fake, root)))
    insert_command(operator, device_id(phone), wipe_wire(device_id(phone), impostor))
    assert_not_wiped(restarted_and_checked(phone))


def test_a_genuine_wipe_among_forgeries_is_still_carried_out(
    org: Org, operator: HostileOperator, phone: VaultFieldService
) -> None:
    # The refusals above are not the check failing for every input: this one must wipe.
    insert_command(operator, device_id(phone), wipe_wire(device_id(phone), SigningKey.generate()))
    coordinator.order_wipe(org.coordinator, device_id(phone))
    assert not restarted_and_checked(phone).has_vault()


def test_the_check_key_read_off_an_unlocked_phone_is_refused_for_everything_else(
    org: Org, phone: VaultFieldService
) -> None:
    seized = facts(phone)
    command_id = coordinator.order_wipe(org.coordinator, seized.device)
    with Client(seized.server, signing_key=seized.check_key) as client:
        assert client.call("GET", "/v1/commands/pending")["commands"]  # what it is for
        attempts = [
            lambda: client.ack_command(command_id),  # hiding the wipe from coordinators
            lambda: client.commands(),
            lambda: client.org_document(),
            lambda: client.push_envelopes([{"header": {}, "sig": "", "payload": ""}]),
            lambda: client.messages(0, 10),
            lambda: client.envelopes(0, 10),
            lambda: client.devices(),
            lambda: client.create_invite(expires_in=60),
            lambda: client.blob_begin("0" * 32, 1, "0" * 64),
            lambda: client.revoke_device(seized.device),
        ]
        for attempt in attempts:
            with pytest.raises(ServerRefused) as refused:
                attempt()
            assert refused.value.status in (401, 403), refused.value.reason
    # The wipe is still pending for the coordinators to see, and still reaches the phone.
    listing = {d["id"]: d for d in coordinator.list_devices(org.coordinator)}
    assert listing[seized.device]["wipe"] == "pending"


def _entropy(data: bytes) -> float:
    counts = Counter(data)
    return -sum(c / len(data) * math.log2(c / len(data)) for c in counts.values())


def test_an_image_of_the_data_directory_reveals_nothing_from_the_wipe_check_file(
    org: Org, tmp_path: Path
) -> None:
    service = enrolled_phone(org, tmp_path)
    sealed = (service.data_dir / "state").read_bytes()
    assert len(sealed) == SIZE
    host = org.server.url.split("//", 1)[1]
    for needle in (host, host.split(":")[0], "127.0.0.1", "http", "wipe", "check", '{"v"'):
        assert needle.encode() not in sealed, needle
    assert _entropy(sealed) > 7.9  # bits per byte: indistinguishable from random at a glance
    # The file keeps its size whatever it holds: a longer address or a proxy changes nothing.
    service.unlock(PASS)
    service.update_settings(proxy="socks5h://127.0.0.1:9")
    service.update_settings(proxy="")
    service.sync_round()
    assert (service.data_dir / "state").stat().st_size == SIZE


def _fields(value: wipecheck.CheckFacts) -> dict[str, Any]:
    return {f: getattr(value, f) for f in value.__dataclass_fields__}


def _key_id(key: SigningKey) -> str:
    from sync.keys import key_id

    return key_id(key.public_bytes())
