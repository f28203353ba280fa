"""Attack: the police keep a seized phone locked (or open it only as far as the calculator), so
it never syncs and a remote wipe would never arrive. With a keystore, the phone asks the server
at start, before any screen is usable, and carries out a wipe a coordinator ordered.

End to end: the real server on loopback, a phone enrolled through the field service, the
coordinator's signed wipe, the phone "restarted" (a new service on the same data directory
and the same keystore, as a phone keeps its keystore) and never unlocked. Afterwards an
examiner's image of the data directory holds nothing. The keystore is the in-memory fake with
the interface the phone's adapter implements (tests/app/field/test_keystore_contract.py).

What the sealed wipe-check file shows in an image of the data directory alone is an attack test
(tests/adversarial/test_wipe_check.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.field.entry import make_service, start_checked
from app.services.field import VaultFieldService
from app.services.field_keystore import CHECK_FILE_KEY_NAME, SECRET_NAME, MemoryKeystore, bound
from storage.checkfile import SIZE
from sync import coordinator
from tests.forensics import examiner
from tests.forensics.conftest import FAST_LOG_N, MARKER, decoded_hits, disk_hits
from tests.integration.conftest import Org, running_org

PASS = "walnut orchard lantern 1987 Naryn"

pytestmark = pytest.mark.slow


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path) as value:
        yield value


def enrolled_phone(org: Org, tmp_path: Path) -> tuple[VaultFieldService, MemoryKeystore]:
    keystore = MemoryKeystore()
    service = make_service(tmp_path / "phone", keystore=keystore)
    assert isinstance(service, VaultFieldService)
    service.kdf_log_n = FAST_LOG_N
    service.unlock_floor = 0.0
    service.create(PASS, language="ky")
    invite = coordinator.create_invite(org.coordinator, expires_in=3600, label="phone")
    service.join(invite.encode())
    service.save_note(None, f"{MARKER} the witness lives behind the bazaar", shared=False)
    service.sync_round()  # enrols, and writes the wipe-check file
    return service, keystore


def restarted(data_dir: Path, keystore: MemoryKeystore) -> VaultFieldService:
    service = make_service(data_dir, keystore=keystore)
    assert isinstance(service, VaultFieldService)
    return service


def test_a_locked_phone_carries_out_a_wipe_ordered_while_it_was_seized(
    org: Org, tmp_path: Path
) -> None:
    service, keystore = enrolled_phone(org, tmp_path)
    data_dir = service.data_dir
    info = service.org_info()
    assert info is not None and (data_dir / "state").stat().st_size == SIZE
    service.lock()  # seized, switched off
    image_before = tmp_path / "image-before"
    shutil.copytree(data_dir, image_before)
    secret = keystore.get(SECRET_NAME)
    assert decoded_hits(image_before, bound(PASS, secret)) > 0  # the marker is there to find

    coordinator.order_wipe(org.coordinator, info.device_id)

    phone = restarted(data_dir, keystore)  # switched on again; nobody types anything
    assert phone.has_vault() and not phone.unlocked
    assert start_checked(phone) is True

    assert not phone.has_vault()
    assert keystore.get(SECRET_NAME) is None and keystore.get(CHECK_FILE_KEY_NAME) is None
    assert not data_dir.exists() or examiner.files_under(data_dir) == {}
    assert disk_hits(tmp_path, MARKER) == disk_hits(image_before.parent, MARKER)
    assert not (tmp_path / "phone.launch.json").exists()
    # An image taken before the wipe, with the passphrase, opens nothing without the secret,
    # and the phone's keystore no longer has it.
    assert decoded_hits(image_before, PASS) == 0


def test_a_phone_with_no_wipe_waiting_starts_untouched_and_asks_only_for_its_commands(
    org: Org, tmp_path: Path
) -> None:
    service, keystore = enrolled_phone(org, tmp_path)
    service.lock()
    phone = restarted(service.data_dir, keystore)
    assert start_checked(phone) is False
    phone.unlock(PASS)
    [note] = phone.list_notes()
    assert note.text.startswith(MARKER)


def test_with_the_server_unreachable_the_phone_starts_as_usual(org: Org, tmp_path: Path) -> None:
    service, keystore = enrolled_phone(org, tmp_path)
    info = service.org_info()
    assert info is not None
    service.lock()
    coordinator.order_wipe(org.coordinator, info.device_id)
    org.server.stop()  # seized phone kept offline, or the server down
    phone = restarted(service.data_dir, keystore)
    assert start_checked(phone) is False
    assert phone.has_vault()


def test_without_a_keystore_there_is_no_check_and_no_file(org: Org, tmp_path: Path) -> None:
    service = VaultFieldService(tmp_path / "desk", kdf_log_n=FAST_LOG_N)
    service.create(PASS, language="en")
    invite = coordinator.create_invite(org.coordinator, expires_in=3600, label="desk")
    service.join(invite.encode())
    service.sync_round()
    assert not (tmp_path / "desk" / "state").exists()
    assert start_checked(service) is False
