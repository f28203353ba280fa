"""Attack: under coercion the owner types the duress passphrase; the police look through the
app, then an examiner decodes the vault with that same passphrase and lists the data
directory. They find an app that was used (an organisation's name, notes written weeks ago, a
sync a few days back, settings), nothing of the real vault, and no word anywhere that says
decoy, duress, disguise or wipe (beyond the settings record every vault has)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.services.field import VaultFieldService
from app.services.field_decoy import NOTES, ORGS
from tests.forensics import examiner
from tests.forensics.conftest import FAST_LOG_N, MARKER, decoded_hits, disk_hits

PASS = "walnut orchard lantern 1987 Naryn"
DURESS = "sunny morning in Karakol"
TELLS = (b"decoy", b"duress", b"disguise", b"wipe", b"fake", b"dummy")
DAY = 86_400


def coerced(tmp_path: Path, lang: str = "ky", *, disguise: bool = False) -> VaultFieldService:
    """A phone in use, then unlocked with the duress passphrase."""
    root = tmp_path / "phone"
    service = VaultFieldService(root / "vault", kdf_log_n=FAST_LOG_N)
    passphrase, duress = ("739105628417", "582049137460") if disguise else (PASS, DURESS)
    service.create(passphrase, duress=duress, language=lang, disguise=disguise)
    service.save_note(None, f"{MARKER} meeting the victim", shared=False)
    service.save_incident(None, {"description": MARKER}, submit=False)
    service.attach_bytes(f"{MARKER} statement".encode(), name="statement.txt")
    service.lock()
    service.unlock(duress)
    return service


@pytest.mark.parametrize("lang", ["en", "ru", "ky", "kk"])
def test_after_the_duress_passphrase_the_app_looks_used_in_the_owners_language(
    tmp_path: Path, lang: str
) -> None:
    service = coerced(tmp_path, lang)
    now = time.time()
    notes = service.list_notes()
    assert 3 <= len(notes) <= 5
    assert all(n.text.split(" ")[0] in " ".join(NOTES[lang]) for n in notes)
    assert all(now - 41 * DAY < n.created_at < now - DAY for n in notes)
    assert all(n.updated_at == int(n.created_at) for n in notes)  # shown as written then
    status = service.sync_status()
    assert status.last_sync is not None and now - 7 * DAY < status.last_sync < now - 0.5 * DAY
    settings = service.settings()
    assert settings.language == lang and settings.auto_lock_seconds in (60, 120, 300)
    assert service.list_incidents() == []
    service.lock()
    files = examiner.files_under(tmp_path / "phone" / "vault")
    readable = examiner.everything_readable(
        files[tmp_path / "phone" / "vault" / "key"], DURESS, examiner.journal_shaped(files)
    )
    assert any(org.encode() in readable for org in ORGS[lang])  # the organisation's name


def test_nothing_of_the_real_vault_is_readable_with_the_duress_passphrase(
    tmp_path: Path,
) -> None:
    service = coerced(tmp_path)
    service.lock()
    root = tmp_path / "phone"
    assert disk_hits(root, MARKER) == []
    assert decoded_hits(root / "vault", DURESS) == 0


@pytest.mark.parametrize("disguise", [False, True])
def test_no_file_and_no_decoded_record_says_decoy_duress_disguise_or_wipe(
    tmp_path: Path, disguise: bool
) -> None:
    service = coerced(tmp_path, disguise=disguise)
    duress = "582049137460" if disguise else DURESS
    service.lock()
    root = tmp_path / "phone"
    files = examiner.files_under(root)
    for path, data in files.items():
        assert not any(tell in data.lower() for tell in TELLS), path
        assert not any(tell in path.name.lower().encode() for tell in TELLS), path
    readable = examiner.everything_readable(
        files[root / "vault" / "key"], duress, examiner.journal_shaped(files)
    ).lower()
    assert readable  # the examiner did decode the vault
    # The settings record names the duress setting in every vault, as "not set" in one whose
    # owner never set it; that is all the word says here.
    assert readable.count(b"duress") == readable.count(b'"has_duress":false') >= 1
    assert not any(tell in readable for tell in TELLS if tell != b"duress")


def test_two_phones_coerced_do_not_show_the_same_decoy(tmp_path: Path) -> None:
    first = coerced(tmp_path / "a")
    second = coerced(tmp_path / "b")
    shown = [
        ([(n.text, n.created_at) for n in s.list_notes()], s.sync_status().last_sync)
        for s in (first, second)
    ]
    assert shown[0] != shown[1]
