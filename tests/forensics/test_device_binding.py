"""Attack: an examiner copies the app's data directory off a seized phone and guesses the
passphrase offline, or even learns it. Where the phone has a keystore, the vault's keys also
need a secret that never leaves it: the copy alone opens nothing, not even with the right
passphrase; on the phone, the passphrase alone still opens it; a wipe deletes the secret
first. (The keystore here is a fake with the interface the phone's adapter implements.)"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from app.services.field import VaultFieldService
from app.services.field_keystore import SECRET_NAME, MemoryKeystore, bound
from app.services.field_types import UnlockFailed
from storage import vault as vault_mod
from tests.forensics import examiner
from tests.forensics.conftest import FAST_LOG_N, MARKER, decoded_hits

PASS = "walnut orchard lantern 1987 Naryn"
DURESS = "sunny morning in Karakol"


def bound_phone(tmp_path: Path) -> tuple[VaultFieldService, MemoryKeystore]:
    keystore = MemoryKeystore()
    service = VaultFieldService(tmp_path / "phone", kdf_log_n=FAST_LOG_N, keystore=keystore)
    service.create(PASS, duress=DURESS, language="ru")
    service.save_note(None, f"{MARKER} the witness's address", shared=False)
    service.lock()
    return service, keystore


def test_a_copy_of_the_files_with_the_right_passphrase_decodes_nothing(tmp_path: Path) -> None:
    bound_phone(tmp_path)
    image = tmp_path / "image"
    shutil.copytree(tmp_path / "phone", image)
    key_file = (image / "key").read_bytes()
    assert examiner.master_key(key_file, PASS) is None  # the passphrase alone opens no slot
    assert decoded_hits(image, PASS) == 0
    elsewhere = VaultFieldService(image, kdf_log_n=FAST_LOG_N)  # another machine: no secret
    with pytest.raises(UnlockFailed):
        elsewhere.unlock(PASS)


def test_on_the_phone_the_passphrase_alone_opens_it(tmp_path: Path) -> None:
    service, keystore = bound_phone(tmp_path)
    service.unlock(PASS)
    [note] = service.list_notes()
    assert note.text.startswith(MARKER)
    service.lock()
    secret = keystore.get(SECRET_NAME)
    assert secret is not None and len(secret) == 32
    key_file = (tmp_path / "phone" / "key").read_bytes()
    assert examiner.master_key(key_file, bound(PASS, secret)) is not None


def test_the_duress_passphrase_still_works_on_a_bound_vault(tmp_path: Path) -> None:
    service, _ = bound_phone(tmp_path)
    service.unlock(DURESS)
    assert all(MARKER not in n.text for n in service.list_notes())
    service.lock()
    service.unlock(DURESS)  # the duress vault is bound to the phone too
    assert service.unlocked


def test_a_wipe_deletes_the_device_secret_before_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, keystore = bound_phone(tmp_path)
    order: list[str] = []
    delete, real_wipe = keystore.delete, vault_mod.wipe_directory

    def forget(name: str) -> None:
        order.append("secret")
        delete(name)

    def wipe(*args: Any, **kwargs: Any) -> Any:
        order.append("files")
        return real_wipe(*args, **kwargs)

    monkeypatch.setattr(keystore, "delete", forget)
    monkeypatch.setattr(vault_mod, "wipe_directory", wipe)
    service.unlock(PASS)
    service.wipe()
    assert order[0] == "secret" and "files" in order
    assert keystore.get(SECRET_NAME) is None


def test_too_many_wrong_passphrases_delete_the_device_secret_too(tmp_path: Path) -> None:
    service, keystore = bound_phone(tmp_path)
    service.unlock(PASS)
    service.update_settings(wipe_threshold=3)
    service.lock()
    for _ in range(3):
        with pytest.raises(UnlockFailed):
            service.unlock("not the passphrase at all")
    assert keystore.get(SECRET_NAME) is None and not service.has_vault()


def test_changing_the_duress_passphrase_keeps_both_bound(tmp_path: Path) -> None:
    service, keystore = bound_phone(tmp_path)
    service.unlock(PASS)
    service.set_duress(PASS, "another calm evening walk")
    service.lock()
    secret = keystore.get(SECRET_NAME)
    key_file = (tmp_path / "phone" / "key").read_bytes()
    assert examiner.master_key(key_file, PASS) is None
    assert examiner.master_key(key_file, bound(PASS, secret)) is not None
    service.unlock(PASS)
    assert service.unlocked
