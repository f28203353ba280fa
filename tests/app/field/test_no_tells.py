"""What an examiner sees before unlocking: no launch file says "disguise", "wipe" or "duress",
and a vault rolled back behind the owner's back is said so on unlock, in their language."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from app.errors_text import error_text
from app.field.context import FieldContext, RecordingNavigator
from app.field.incidents import IncidentListScreen
from app.i18n import Translator
from app.services.field import VaultFieldService
from app.services.field_types import UnlockFailed
from storage.launch import launch_path

PASS = "walnut orchard lantern 1987"
CODE = "739105628417"
TELLS = (b"disguise", b"duress", b"wipe", b"calc", b"true")


def service_at(tmp_path: Path) -> VaultFieldService:
    return VaultFieldService(tmp_path / "phone", kdf_log_n=15)


def launch_bytes(tmp_path: Path) -> bytes | None:
    path = launch_path(tmp_path / "phone")
    return path.read_bytes() if path.exists() else None


def test_a_disguised_phone_has_no_launch_file_and_still_opens_as_a_calculator(
    tmp_path: Path,
) -> None:
    service = service_at(tmp_path)
    service.set_language("kk")
    service.create(CODE, language="kk", disguise=True)
    service.lock()
    assert launch_bytes(tmp_path) is None
    fresh = service_at(tmp_path)  # the app started again
    assert fresh.launch_prefs().disguise
    fresh.unlock(CODE)
    assert fresh.settings().language == "kk"  # from inside the vault
    assert launch_bytes(tmp_path) is None


def test_without_the_disguise_the_launch_file_holds_the_language_and_nothing_else(
    tmp_path: Path,
) -> None:
    service = service_at(tmp_path)
    service.create(PASS, language="ky")
    service.set_language("ru")
    data = launch_bytes(tmp_path)
    assert data == b'{"language": "ru"}'
    assert not any(tell in data for tell in TELLS)
    assert not service_at(tmp_path).launch_prefs().disguise


def test_choosing_a_language_before_a_vault_exists_writes_nothing(tmp_path: Path) -> None:
    service = service_at(tmp_path)
    service.set_language("ky")
    assert service.launch_prefs().language == "ky"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("disguise", [False, True])
def test_after_a_panic_wipe_nothing_beside_the_vault_remains(
    tmp_path: Path, disguise: bool
) -> None:
    service = service_at(tmp_path)
    service.create(CODE if disguise else PASS, language="ru", disguise=disguise)
    service.wipe()
    assert list(tmp_path.iterdir()) == []
    assert service_at(tmp_path).launch_prefs().disguise  # the calculator, as on a new phone


def test_a_wipe_removes_a_launch_file_written_by_release_0_1(tmp_path: Path) -> None:
    service = service_at(tmp_path)
    service.create(PASS, language="ru")
    launch_path(tmp_path / "phone").write_bytes(b'{"disguise": true, "language": "ru"}')
    service.wipe()
    assert list(tmp_path.iterdir()) == []


def test_wrong_codes_up_to_the_threshold_leave_no_launch_file(tmp_path: Path) -> None:
    service = service_at(tmp_path)
    service.create(PASS, language="ru")
    service.update_settings(wipe_threshold=3)
    service.lock()
    for _ in range(3):
        with pytest.raises(UnlockFailed):
            service.unlock("not the passphrase at all")
    assert list(tmp_path.iterdir()) == []


def entry_ends(journal: bytes) -> list[int]:
    pos, ends = 24, []
    while pos + 8 <= len(journal):
        (length,) = struct.unpack_from(">I", journal, pos)
        pos += 8 + length
        ends.append(pos)
    return ends


@pytest.mark.parametrize("lang", ["en", "ru", "ky", "kk"])
def test_a_journal_cut_short_is_reported_once_on_the_first_screen_after_unlock(
    tmp_path: Path, lang: str
) -> None:
    service = service_at(tmp_path)
    service.create(PASS, language=lang)
    for n in range(3):
        service.save_note(None, f"note {n}", shared=False)
    service.lock()
    journal = tmp_path / "phone" / "journal"
    data = journal.read_bytes()
    journal.write_bytes(data[: entry_ends(data)[-2]])
    service.unlock(PASS)
    ctx = FieldContext(service, Translator(lang, "field"), RecordingNavigator())
    screen = IncidentListScreen(ctx)
    screen.build()
    expected = Translator(lang, "field").t("unlock.rolled_back")
    assert expected != "unlock.rolled_back"
    assert screen.notice.message == expected
    assert IncidentListScreen(ctx).notice.message == ""  # said once
    service.lock()
    service.unlock(PASS)
    assert service.take_unlock_notice() == ""  # the next unlock finds nothing new


def test_an_older_journal_put_back_is_refused_with_its_own_message(tmp_path: Path) -> None:
    service = service_at(tmp_path)
    service.create(PASS, language="en")
    note = service.save_note(None, "to be deleted", shared=False)
    service.lock()
    old = tmp_path / "old-journal"
    shutil.copy(tmp_path / "phone" / "journal", old)
    service.unlock(PASS)
    service.delete_note(note)  # re-keys: the old journal's key is destroyed
    service.lock()
    shutil.copy(old, tmp_path / "phone" / "journal")
    with pytest.raises(UnlockFailed) as caught:
        service.unlock(PASS)
    assert caught.value.reason == "vault_rolled_back"
    text = error_text(caught.value, Translator("ru", "field"))
    assert text == Translator("ru", "field").t("error.vault_rolled_back")
    assert text != error_text(UnlockFailed("vault_corrupt"), Translator("ru", "field"))
