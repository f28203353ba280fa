"""One contract for both coordinator services: the in-memory fake and the real one
(a live server, an encrypted coordinator vault and a real field device)."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from app.casebook.cases import CaseFilter
from app.services.coordinator_types import CoordinatorError
from sync.invite import Invite as InviteCode
from tests.app.coordinator.worlds import PASSPHRASE, FakeWorld, RealWorld


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 16), (200, 30, 60)).save(out, format="PNG")
    return out.getvalue()


PHOTO = _photo()
ANSWERS = {
    "occurred_at": "2025-05-02T21:30",
    "region": "kg.osh",
    "violation_types": ["detention", "extortion"],
    "perpetrator_types": ["police"],
    "description": "Задержали у кафе. ҚОРҚЫТТЫ, требовали деньги.",
    "victims": "Б.",
    "consent": {"share_org": True, "statistics": True, "advocacy": True},
}


@pytest.fixture(params=["fake", "real"])
def world(request, tmp_path):
    w = FakeWorld(tmp_path) if request.param == "fake" else RealWorld(tmp_path)
    try:
        w.setup()
        yield w
    finally:
        w.close()


@pytest.fixture(params=["fake", "real"])
def fresh_world(request, tmp_path):
    w = FakeWorld(tmp_path) if request.param == "fake" else RealWorld(tmp_path)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture
def reported(world):
    device = world.enrol_device("Осh phone")
    case_id = world.report(device, ANSWERS, PHOTO)
    summary = world.service.pull()
    assert summary.cases >= 1
    return world, device, case_id


def test_setup_gives_an_unlocked_workspace_that_locks_and_unlocks(world) -> None:
    service = world.service
    assert service.is_set_up() and service.unlocked
    assert service.info().org == "Правозащитная сеть"
    service.lock()
    with pytest.raises(CoordinatorError) as wrong:
        service.unlock("not the passphrase at all")
    assert wrong.value.reason == "wrong_passphrase"
    with pytest.raises(CoordinatorError) as locked:
        service.cases()
    assert locked.value.reason == "locked"
    service.unlock(PASSPHRASE)
    assert service.unlocked and service.cases() == []


def test_invite_is_text_and_a_png_qr_and_the_device_is_listed(world) -> None:
    invite = world.service.create_invite(3600, "x")
    assert invite.code and invite.qr_png.startswith(b"\x89PNG")
    device = world.enrol_device()
    assert device in {d.id for d in world.service.devices()}


def test_a_report_arrives_with_labels_search_and_its_attachment(reported) -> None:
    world, device, case_id = reported
    service = world.service
    [summary] = service.cases()
    assert summary.id == case_id and summary.device == device and summary.custody_ok
    assert summary.region == "kg.osh" and summary.day == "2025-05-02"
    assert [s.id for s in service.cases(CaseFilter(text="қорқытты"))] == [case_id]
    assert service.cases(CaseFilter(region="kg.chuy")) == []
    detail = service.case(case_id, "ru")
    labels = {f.field_id: f.label for f in detail.fields}
    assert labels["description"] != "description"  # the form's own label, not the id
    [attachment] = detail.attachments
    shown = Image.open(io.BytesIO(service.attachment(case_id, attachment.id)))
    assert shown.size == (32, 16) and attachment.media_type == "image/png"
    with pytest.raises(CoordinatorError):
        service.case("0" * 32)


def test_workflow_events_change_the_state_and_bad_ones_are_refused(reported) -> None:
    world, _, case_id = reported
    service = world.service
    me = service.info().coordinator_id
    service.act(case_id, {"type": "status", "status": "in_review"})
    service.act(case_id, {"type": "assign", "assignee": me})
    service.act(case_id, {"type": "tag", "tag": "срочно"})
    service.act(case_id, {"type": "comment", "text": "Связаться с юристом"})
    service.act(case_id, {"type": "referral", "to": "lawyer", "note": "Ош"})
    state = service.case(case_id).state
    assert state.status == "in_review" and state.assignee == me
    assert state.tags == {"срочно"} and state.comments[0].text == "Связаться с юристом"
    assert state.referrals[0].to == "lawyer"
    assert [s.id for s in service.cases(CaseFilter(status="in_review"))] == [case_id]
    with pytest.raises(CoordinatorError) as bad:
        service.act(case_id, {"type": "status", "status": "done"})
    assert bad.value.reason == "invalid_event"


def test_a_message_reaches_the_device_and_its_reply_comes_back(reported) -> None:
    world, device, case_id = reported
    service = world.service
    service.send_message(case_id, "Можете уточнить номер жетона?")
    assert "Можете уточнить номер жетона?" in world.device_messages(device)
    world.reply(device, case_id, "Жетон 1234")
    service.pull()
    thread = service.messages(case_id)
    assert [(m.direction, m.text) for m in thread] == [
        ("out", "Можете уточнить номер жетона?"),
        ("in", "Жетон 1234"),
    ]
    with pytest.raises(CoordinatorError):
        service.send_message(case_id, "   ")


def test_revoke_and_wipe_show_in_the_device_list(reported) -> None:
    world, device, _ = reported
    world.service.wipe(device)
    assert world.device_state(device)["wipe"] == "pending"
    world.service.revoke(device)
    assert world.device_state(device)["revoked"] is True
    with pytest.raises(CoordinatorError):
        world.service.revoke("f" * 32)


def test_exports_protect_identifying_data_and_bundles_verify(reported) -> None:
    world, _, case_id = reported
    service = world.service
    clear = service.export("csv", identifying=False, protection="recipients")
    assert (
        not clear.protected and b"case_id" in clear.data and "Задержали".encode() not in clear.data
    )
    sealed = service.export("csv", identifying=True)
    assert sealed.protected and sealed.data.startswith(b"age-encryption.org/v1")
    assert "Задержали".encode() not in sealed.data
    opted_out = service.export("csv", identifying=True, protection="none")
    assert "Задержали".encode() in opted_out.data.decode("utf-8-sig").encode()
    with pytest.raises(CoordinatorError):
        service.export("pdf", protection="passphrase", passphrase="short")
    bundle = service.export("bundle", protection="none")
    verdict = service.verify_bundle(bundle.data)
    assert verdict.ok, verdict.report_text()
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as zf:
        assert any(n.startswith("envelopes/") for n in zf.namelist())
    pdf = service.export("pdf", protection="none", case_ids=[case_id])
    assert pdf.data.startswith(b"%PDF")


def test_unused_invites_are_listed_and_a_cancelled_one_is_gone(world) -> None:
    service = world.service
    service.create_invite(3600, "Osh phone")
    service.create_invite(3600, "Naryn phone")
    listed = service.open_invites()
    assert {i.label for i in listed} == {"Osh phone", "Naryn phone"}
    assert all(i.expires_at > i.created for i in listed)
    osh = next(i for i in listed if i.label == "Osh phone")
    service.cancel_invite(osh.id)
    assert [i.label for i in service.open_invites()] == ["Naryn phone"]
    with pytest.raises(CoordinatorError):
        service.cancel_invite(osh.id)


def test_forms_are_validated_and_publishing_raises_the_version(world) -> None:
    service = world.service
    forms = service.forms()
    assert forms, "the default forms are offered"
    with pytest.raises(CoordinatorError) as bad:
        service.validate_form('{"id": "x"}')
    assert bad.value.reason == "form_invalid"
    before = service.info().org_version
    changed = dict(forms[0], version=forms[0]["version"] + 1)
    assert service.publish_forms([changed]) == before + 1
    assert service.forms()[0]["version"] == forms[0]["version"] + 1


def test_root_backup_needs_a_long_passphrase(world) -> None:
    with pytest.raises(CoordinatorError):
        world.service.backup_root("short")
    assert world.service.backup_root("a long backup passphrase")


def test_language_is_remembered(world) -> None:
    world.service.set_language("kk")
    assert world.service.language() == "kk"
    with pytest.raises(CoordinatorError):
        world.service.set_language("de")


def test_a_second_coordinator_joins_with_the_root_backup_and_is_added(world, tmp_path) -> None:
    first = world.service
    backup = first.backup_root("a long backup passphrase")
    second = world.second_service(tmp_path)
    with pytest.raises(CoordinatorError) as wrong:
        second.setup_join(
            passphrase=PASSPHRASE,
            server_url=first.info().server_url,
            backup=backup,
            backup_passphrase="not it",
            coordinator_name="Бек",
        )
    assert wrong.value.reason == "wrong_passphrase" and not second.is_set_up()
    info = second.setup_join(
        passphrase=PASSPHRASE,
        server_url=first.info().server_url,
        backup=backup,
        backup_passphrase="a long backup passphrase",
        coordinator_name="Бек",
    )
    assert not info.listed
    version = first.add_coordinator(second.join_request())
    assert version == first.info().org_version and "Бек" in first.info().coordinators
    with pytest.raises(CoordinatorError) as bad:
        first.add_coordinator("FVC1-AAAA")
    assert bad.value.reason == "invalid_join_request"


def test_no_plaintext_reaches_the_coordinator_or_server_disk(tmp_path) -> None:
    marker = "MARKER-" + "Қ" + tmp_path.name
    world = RealWorld(tmp_path)
    try:
        world.setup()
        device = world.enrol_device("phone")
        case_id = world.report(device, {**ANSWERS, "description": marker}, PHOTO)
        service = world.service
        service.pull()
        service.act(case_id, {"type": "comment", "text": marker})
        service.send_message(case_id, marker)
        world.reply(device, case_id, marker)
        service.pull()
        assert any(marker in f.value for f in service.case(case_id).fields)
        service.attachment(case_id, service.case(case_id).attachments[0].id)
        service.export("csv", identifying=True)
        service.export("pdf")
    finally:
        world.close()
    needles = [marker.encode("utf-8"), marker.encode("utf-16-le"), marker.encode("unicode_escape")]
    scanned = 0
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned += 1
            assert not any(n in data for n in needles), f"plaintext found in {path.name}"
    assert scanned >= 3


PIN = "3f" * 32


def test_a_certificate_pin_given_at_setup_is_kept_and_carried_by_every_invite(fresh_world) -> None:
    with pytest.raises(CoordinatorError) as bad:
        fresh_world.setup(tls_pin="not a certificate pin")
    assert bad.value.reason == "invalid_tls_pin" and not fresh_world.service.is_set_up()
    fresh_world.setup(tls_pin=":".join(["3F"] * 32))  # as `openssl x509 -fingerprint` prints it
    assert fresh_world.service.info().tls_pin == PIN
    for _ in range(2):
        assert InviteCode.parse(fresh_world.service.create_invite(600).code).tls_pin == PIN


def test_without_a_pin_invites_carry_none(world) -> None:
    assert world.service.info().tls_pin == ""
    assert InviteCode.parse(world.service.create_invite(600).code).tls_pin is None


def test_devices_and_coordinators_are_named_without_the_server(reported) -> None:
    world, device, _ = reported
    names = world.service.names()
    assert names[device] == "Осh phone"
    assert names[world.service.info().coordinator_id] == "Айгүл"


def test_a_reply_is_unread_until_the_case_is_opened_and_that_is_remembered(reported) -> None:
    world, device, case_id = reported
    service = world.service
    world.reply(device, case_id, "Жетон 1234")
    service.pull()
    assert service.case(case_id).summary.unread == 1
    assert [s.unread for s in service.cases() if s.id == case_id] == [1]
    service.mark_read(case_id)
    service.lock()
    service.unlock(PASSPHRASE)
    assert service.case(case_id).summary.unread == 0
    world.reply(device, case_id, "И ещё")
    service.pull()
    assert service.case(case_id).summary.unread == 1


def test_a_bundle_carries_the_photo_and_the_pdf_prints_it(reported) -> None:
    world, _, case_id = reported
    service = world.service
    made = service.export("bundle", protection="none", case_ids=[case_id]).data
    verdict = service.verify_bundle(made)
    assert verdict.ok, verdict.report_text()
    with zipfile.ZipFile(io.BytesIO(made)) as zf:
        files = {n: zf.read(n) for n in zf.namelist() if n.startswith("attachments/")}
    assert PHOTO in files.values()
    originals = [data for name, data in files.items() if name.endswith(".age")]
    if isinstance(world, RealWorld):  # the bytes the device sent, checked against its hash
        assert len(originals) == 1 and originals[0].startswith(b"age-encryption.org/v1")
        assert not any("decrypted copy only" in n for n in verdict.notes)
    pdf = service.export("pdf", protection="none", case_ids=[case_id]).data
    assert b"/Subtype /Image" in pdf
