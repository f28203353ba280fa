"""One contract for the field service, run against the in-memory fake and the real vault."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.services.fake_field import FakeFieldService, fake_invite
from app.services.field import VaultFieldService
from app.services.field_api import FieldService
from app.services.field_types import (
    ConsentWithheld,
    FormInvalid,
    InviteRefused,
    Locked,
    NotFound,
    PassphraseRefused,
    UnlockFailed,
)
from sync.errors import NotEnrolled, SyncError
from sync.invite import Invite

PASS = "correct horse 42"
CODE = "739105628417"
ROOT = "0123456789abcdef0123456789abcdef"


def real_invite() -> str:
    return Invite("https://org.example", "tok-" + "a" * 20, ROOT).encode()


@pytest.fixture(params=["fake", "vault"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def service(kind: str, tmp_path: Path) -> Iterator[FieldService]:
    svc: FieldService
    if kind == "fake":
        svc = FakeFieldService()
    else:
        svc = VaultFieldService(tmp_path / "data", kdf_log_n=15)
    yield svc
    svc.lock()


@pytest.fixture
def invite(kind: str) -> str:
    return fake_invite(root=ROOT) if kind == "fake" else real_invite()


def complete_answers(**extra: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "occurred_at": "2026-11-01T21:30",
        "region": "kg.bishkek",
        "violation_types": ["detention", "extortion"],
        "description": "Held at the station for six hours.",
        "perpetrator_types": ["police"],
        "victims": "A1",
        "extortion_amount": 50000,
        "extortion_currency": "KGS",
        "consent": {"share_org": True, "statistics": True, "advocacy": False},
    }
    answers.update(extra)
    return answers


def test_a_new_install_has_no_vault_is_locked_and_shows_the_calculator(
    service: FieldService,
) -> None:
    assert not service.has_vault()
    assert not service.unlocked
    assert service.launch_prefs().language == ""
    assert service.launch_prefs().disguise
    with pytest.raises(Locked):
        service.list_incidents()


def test_create_opens_the_vault_and_remembers_language_and_disguise(
    service: FieldService,
) -> None:
    service.create(CODE, language="ky", disguise=True)
    assert service.unlocked and service.has_vault()
    assert service.launch_prefs().language == "ky"
    assert service.launch_prefs().disguise
    assert service.settings().disguise
    service.lock()
    assert not service.unlocked
    assert service.launch_prefs().disguise


@pytest.mark.parametrize(
    ("passphrase", "duress", "disguise", "reason"),
    [
        ("12345", None, False, "passphrase_code_too_short"),
        ("20261121", None, True, "passphrase_code_too_short"),
        ("Password1234", None, False, "passphrase_common"),
        ("199001011990", None, True, "passphrase_pattern"),
        ("long enough", "short", False, "weak_passphrase"),
        ("long enough", "qwerty123", False, "passphrase_common"),
        ("letters here", None, True, "passphrase_not_digits"),
        ("same thing", "same thing", False, "duress_same_as_passphrase"),
    ],
)
def test_unacceptable_passphrases_are_refused_before_anything_is_stored(
    service: FieldService, passphrase: str, duress: str | None, disguise: bool, reason: str
) -> None:
    with pytest.raises(PassphraseRefused) as caught:
        service.create(passphrase, duress=duress, language="ru", disguise=disguise)
    assert caught.value.reason == reason
    assert not service.has_vault()


def test_wrong_passphrases_count_down_and_wipe_at_the_threshold(service: FieldService) -> None:
    service.create(PASS, language="ru")
    service.update_settings(wipe_threshold=3)
    service.save_incident(None, {"description": "marker"}, submit=False)
    service.lock()
    lefts = []
    for _ in range(2):
        with pytest.raises(UnlockFailed) as caught:
            service.unlock("wrong passphrase")
        lefts.append(caught.value.attempts_left)
    assert lefts == [2, 1]
    with pytest.raises(UnlockFailed) as caught:
        service.unlock("wrong passphrase")
    assert caught.value.reason == "wiped"
    assert not service.has_vault()
    with pytest.raises(UnlockFailed):
        service.unlock(PASS)


def test_the_right_passphrase_resets_the_count(service: FieldService) -> None:
    service.create(PASS, language="ru")
    service.update_settings(wipe_threshold=3)
    service.lock()
    for _ in range(2):
        with pytest.raises(UnlockFailed):
            service.unlock("nope nope")
    service.unlock(PASS)
    service.lock()
    with pytest.raises(UnlockFailed) as caught:
        service.unlock("nope nope")
    assert caught.value.attempts_left == 2


def test_duress_passphrase_opens_an_app_that_looks_used_and_the_real_one_no_longer_works(
    service: FieldService,
) -> None:
    service.create(PASS, duress="under pressure", language="kk")
    service.save_incident(None, {"description": "real case"}, submit=False)
    service.save_note(None, "real note", shared=False)
    service.lock()
    service.unlock("under pressure")
    assert service.unlocked
    assert service.list_incidents() == []
    notes = service.list_notes()
    assert 3 <= len(notes) <= 5 and "real note" not in [n.text for n in notes]
    assert all(n.created_at < time.time() - 86_400 for n in notes)  # written weeks ago
    status = service.sync_status()
    assert status.last_sync is not None and status.last_sync < time.time() - 86_400
    assert not service.settings().has_duress
    with pytest.raises(SyncError) as caught:  # no server to reach: "offline", never "empty"
        service.sync_round()
    assert caught.value.reason == "offline"
    assert service.launch_prefs().language == "kk"
    service.lock()
    with pytest.raises(UnlockFailed):
        service.unlock(PASS)


def test_a_draft_saves_without_validation_and_sending_validates(service: FieldService) -> None:
    service.create(PASS, language="en")
    draft = service.save_incident(None, {"description": "half written"}, submit=False)
    assert service.get_incident(draft).status == "draft"
    with pytest.raises(FormInvalid) as caught:
        service.save_incident(draft, {"description": "half written"}, submit=True)
    assert caught.value.errors["occurred_at"] == "form.error.required"
    assert service.get_incident(draft).status == "draft"
    service.save_incident(draft, complete_answers(), submit=True)
    incident = service.get_incident(draft)
    assert incident.status == "queued"
    assert incident.answers["extortion_amount"] == 50000


def test_a_report_the_victim_did_not_allow_to_share_stays_on_the_phone_as_a_draft(
    service: FieldService,
) -> None:
    service.create(PASS, language="en")
    withheld = {"share_org": False, "statistics": True, "advocacy": False}
    with pytest.raises(ConsentWithheld):
        service.save_incident(None, complete_answers(consent=withheld), submit=True)
    (kept,) = service.list_incidents()
    assert kept.status == "draft" and kept.status_reason == "no_consent_to_share"
    assert service.get_incident(kept.id).answers["description"].startswith("Held")


def _mark_sent(service: FieldService, incident_id: str) -> None:
    """What a sync round that delivered the report leaves (no server needed here)."""
    if isinstance(service, FakeFieldService):
        service._incidents[incident_id].status = "sent"
    else:
        assert isinstance(service, VaultFieldService)
        vault = service.open_vault()
        record = vault.get(incident_id)
        record.status = "sent"
        vault.put(record)


def test_a_sent_report_never_becomes_a_draft_again_when_edited_or_consent_is_withheld(
    service: FieldService,
) -> None:
    service.create(PASS, language="en")
    incident_id = service.save_incident(None, complete_answers(), submit=True)
    _mark_sent(service, incident_id)
    service.save_incident(incident_id, complete_answers(description="Edited."), submit=False)
    assert service.get_incident(incident_id).status == "sent"
    withheld = {"share_org": False, "statistics": True, "advocacy": False}
    with pytest.raises(ConsentWithheld):
        service.save_incident(incident_id, complete_answers(consent=withheld), submit=True)
    assert service.get_incident(incident_id).status == "sent"


def test_hidden_answers_are_not_kept_when_sending(service: FieldService) -> None:
    service.create(PASS, language="en")
    answers = complete_answers(violation_types=["beating"])
    incident_id = service.save_incident(None, answers, submit=True)
    assert "extortion_amount" not in service.get_incident(incident_id).answers


def test_incidents_are_listed_newest_first_with_a_title_from_the_form(
    service: FieldService,
) -> None:
    service.create(PASS, language="ru")
    first = service.save_incident(None, {"violation_types": ["raid"]}, submit=False)
    time.sleep(0.01)
    second = service.save_incident(None, {"violation_types": ["beating"]}, submit=False)
    listed = service.list_incidents()
    assert [i.id for i in listed] == [second, first]
    assert listed[0].title == "Избиение или пытки"


def test_deleting_an_incident_removes_its_attachments(service: FieldService) -> None:
    service.create(PASS, language="en")
    info = service.attach_bytes(b"%PDF-1.4 statement", name="statement.pdf")
    incident_id = service.save_incident(None, {"evidence": [info.id]}, submit=False)
    assert service.list_incidents()[0].attachments == 1
    service.delete_incident(incident_id)
    assert service.list_incidents() == []
    with pytest.raises(NotFound):
        service.attachment_bytes(info.id)
    with pytest.raises(NotFound):
        service.get_incident(incident_id)


def test_attachments_round_trip_through_memory(service: FieldService) -> None:
    service.create(PASS, language="en")
    voice = b"#!AMR\n" + bytes(range(64))  # a voice recording: no metadata to remove
    info = service.attach_bytes(voice, name="voice.amr")
    assert info.media_type.startswith("audio/")
    assert info.size == len(voice)
    assert service.attachment_bytes(info.id) == voice
    service.remove_attachment(info.id)
    with pytest.raises(NotFound):
        service.attachment(info.id)


def test_a_pickers_plaintext_copy_is_deleted_once_encrypted(
    service: FieldService, tmp_path: Path
) -> None:
    service.create(PASS, language="en")
    cached = tmp_path / "picker-cache" / "scan.txt"
    cached.parent.mkdir()
    cached.write_bytes(b"scanned statement")
    info = service.attach_path(cached, name="scan.txt")
    assert not cached.exists()
    assert service.attachment_bytes(info.id) == b"scanned statement"


def test_private_notes_stay_local_and_shared_ones_wait_to_be_sent(service: FieldService) -> None:
    service.create(PASS, language="en")
    private = service.save_note(None, "meet A1 on Tuesday", shared=False)
    shared = service.save_note(None, "the venue changed", shared=True)
    statuses = {n.id: n.status for n in service.list_notes()}
    assert statuses == {private: "local", shared: "queued"}
    service.save_note(private, "meet A1 on Wednesday", shared=False)
    assert {n.text for n in service.list_notes()} == {"meet A1 on Wednesday", "the venue changed"}
    service.delete_note(private)
    assert [n.id for n in service.list_notes()] == [shared]


def test_an_invite_is_checked_strictly_and_shows_the_root_fingerprint(
    service: FieldService, invite: str
) -> None:
    service.create(PASS, language="en")
    with pytest.raises(InviteRefused):
        service.preview_invite("FV1-not-really")
    preview = service.preview_invite(invite)
    assert preview.root_fingerprint == ROOT
    assert preview.fingerprint_groups == "0123 4567 89ab cdef 0123 4567 89ab cdef"
    assert service.org_info() is None
    org = service.join(invite)
    assert org.root_fingerprint == ROOT and not org.enrolled
    assert service.org_info() == org
    with pytest.raises(InviteRefused) as caught:
        service.join(invite)
    assert caught.value.reason == "already_enrolled"


def test_sync_without_an_organisation_says_so(service: FieldService) -> None:
    service.create(PASS, language="en")
    with pytest.raises(NotEnrolled):
        service.sync_round()
    status = service.sync_status()
    assert not status.enrolled and status.last_sync is None


def test_waiting_count_includes_what_was_sent_before_joining(service: FieldService) -> None:
    service.create(PASS, language="en")
    service.save_incident(None, complete_answers(), submit=True)
    service.save_incident(None, {}, submit=False)
    service.save_note(None, "shared", shared=True)
    assert service.sync_status().waiting == 2


def test_settings_change_and_unknown_settings_are_refused(service: FieldService) -> None:
    service.create(PASS, language="en")
    changed = service.update_settings(auto_lock_seconds=60, wipe_threshold=5, send_and_forget=False)
    assert (changed.auto_lock_seconds, changed.wipe_threshold, changed.send_and_forget) == (
        60,
        5,
        False,
    )
    with pytest.raises(ValueError):
        service.update_settings(colour="red")
    with pytest.raises(PassphraseRefused):
        service.update_settings(disguise=True)  # the passphrase is not digits


def test_duress_can_be_set_later_with_the_current_passphrase(service: FieldService) -> None:
    service.create(PASS, language="en")
    with pytest.raises(UnlockFailed):
        service.set_duress("not my passphrase", "under pressure")
    service.set_duress(PASS, "under pressure")
    assert service.settings().has_duress
    service.save_incident(None, {}, submit=False)
    service.lock()
    service.unlock("under pressure")
    assert service.list_incidents() == []


def test_wipe_returns_to_first_run_but_keeps_the_calculator(service: FieldService) -> None:
    service.create(CODE, language="ky", disguise=True)
    service.save_incident(None, {"description": "x"}, submit=False)
    service.wipe()
    assert not service.has_vault() and not service.unlocked
    assert service.launch_prefs().disguise
    assert service.launch_prefs().language == ""
    with pytest.raises(UnlockFailed):
        service.unlock(CODE)


def test_wipe_without_disguise_leaves_a_phone_that_looks_never_set_up(
    service: FieldService,
) -> None:
    service.create(PASS, language="ru")
    assert not service.launch_prefs().disguise
    service.lock()
    service.wipe()
    assert not service.has_vault()
    assert service.launch_prefs().language == "" and service.launch_prefs().disguise


def test_messages_are_empty_until_a_coordinator_writes(service: FieldService) -> None:
    service.create(PASS, language="en")
    assert service.messages() == []


def test_about_names_the_cryptography_and_openssl_versions(service: FieldService) -> None:
    import cryptography

    about = service.about()
    assert about.cryptography_version == cryptography.__version__
    assert about.openssl_version and about.app_version
