"""Attacks on the features of December 2026: drafts and send and forget, the organisation's
timestamping authorities, wipe before unlock, short join codes and key update codes.

Each test is one attacker's move: a forensic examiner holding an image of the phone's data
directory and the passphrase obtained under coercion; someone on the laptop's network path; a
hostile server operator editing its own database (tests/adversarial/operator.py); someone who
intercepted a short code or a key update code in transit. Where the real server matters, it is
the integration suite's live server on SQLite.
"""

from __future__ import annotations

import contextlib
import http.server
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.field.entry import make_service
from app.services import timestamps
from app.services.field import VaultFieldService
from app.services.field_alarm import AlarmService
from app.services.field_keystore import CHECK_FILE_KEY_NAME, MemoryKeystore
from core.records import Kind
from server.config import SQLITE_FILE
from storage.checkfile import read_check_file
from sync import alerts, coordinator, envelope, invite_drop, referrals
from sync.alerts import Location
from sync.coordinator import alerts as raised_alerts
from sync.coordinator.identity import load_identity
from sync.coordinator.org import OrgNotSealed
from sync.device import identity_from_invite
from sync.shortcode import ShortCodeError
from tests.adversarial.operator import RedTeamOperator
from tests.app.coordinator.local_tsa import make_authority, openssl_available
from tests.app.coordinator.test_service_contract import ANSWERS
from tests.app.coordinator.worlds import RealWorld
from tests.conftest import require
from tests.integration.conftest import Org, engine, make_vault

PASS = "walnut orchard lantern 1987 Naryn"
FAST_LOG_N = 15
HOUR = 3600
DURESS = "quiet evening river 7"
MARKER = "Жалал-Абад-7731"  # searched for in every record the examiner decodes

pytestmark = pytest.mark.slow


def enrolled_phone(org: Org, tmp_path: Path, name: str = "phone") -> VaultFieldService:
    service = make_service(tmp_path / name, keystore=MemoryKeystore())
    assert isinstance(service, VaultFieldService)
    service.kdf_log_n, service.unlock_floor = FAST_LOG_N, 0.0
    service.create(PASS, language="ru")
    invite = coordinator.create_invite(org.coordinator, expires_in=3600, label=name)
    service.join(invite.encode())
    service.sync_round()
    return service


def decoded_under_coercion(service: VaultFieldService) -> str:
    """Everything in the vault once the owner is made to unlock the phone itself (keystore and
    all), every record kind included, not only what the screens show."""
    service.unlock(PASS)
    try:
        return repr([record.data for record in service.open_vault().list()])
    finally:
        service.lock()


@pytest.fixture
def phone(org: Org, tmp_path: Path) -> Iterator[VaultFieldService]:
    service = enrolled_phone(org, tmp_path)
    yield service
    if service.unlocked:
        service.lock()


# ---------------------------------------------------------------- the forensic examiner


def test_send_and_forget_of_a_shared_note_forgets_its_unsaved_edit_too(
    org: Org, phone: VaultFieldService
) -> None:
    coordinator.publish_org_document(org.coordinator, settings={"forget_sent_notes": True})
    phone.update_settings(send_and_forget=True)
    phone.sync_round()  # the phone accepts the document that forgets sent notes
    note = phone.save_note(None, "met at the station", shared=True)
    phone.save_draft(None, "note", note, {"text": MARKER})  # an edit left half-way
    phone.sync_round()
    records = {r.id: r.kind for r in phone.open_vault().list()}
    assert records[note] == Kind.STUB  # the note itself was sent and forgotten
    phone.lock()
    assert MARKER not in decoded_under_coercion(phone)


def test_a_sent_alarm_keeps_neither_the_owners_location_nor_message_under_send_and_forget(
    org: Org, phone: VaultFieldService
) -> None:
    alarm = AlarmService(phone)
    alarm.save_settings(message="detained", location=True, wipe=False)
    phone.update_settings(send_and_forget=True)
    alarm.trigger(Location.of(40.93317, 73.00147, 12))  # a street corner in Jalal-Abad
    phone.sync_round()
    coordinator.pull(org.coordinator)  # the coordinators have it, with its location
    phone.sync_round()  # and the phone their receipt
    view = alarm.last_alarm()
    assert view is not None and view.state == "confirmed"  # the owner still sees it arrived
    phone.lock()
    decoded = decoded_under_coercion(phone)
    assert "40.93317" not in decoded and "73.00147" not in decoded
    phone.unlock(PASS)
    sent = phone.open_vault().list(kind=Kind.ALERT)
    assert len(sent) == 1 and "message" not in sent[0].data  # the preset stays in settings only


def test_a_checkin_checked_in_and_sent_keeps_no_time_of_the_meeting_it_covered(
    org: Org, phone: VaultFieldService
) -> None:
    alarm = AlarmService(phone)
    phone.update_settings(send_and_forget=True)
    deadline = alarm.arm(90).deadline  # the risky meeting: an hour and a half from now
    phone.sync_round()
    alarm.check_in()
    phone.sync_round()
    coordinator.pull(org.coordinator)
    phone.sync_round()
    assert alarm.checkin() is None  # nothing open: the owner sees no check-in
    phone.lock()
    assert str(deadline) not in decoded_under_coercion(phone)


def test_after_the_duress_passphrase_nothing_in_the_keystore_says_the_phone_was_enrolled(
    org: Org, phone: VaultFieldService
) -> None:
    keystore = phone.keystore
    assert isinstance(keystore, MemoryKeystore)
    assert CHECK_FILE_KEY_NAME in keystore.values  # armed by the sync: wipe before unlock
    phone.set_duress(PASS, DURESS)
    phone.lock()
    phone.unlock(DURESS)  # under coercion: the real vault is destroyed, a used-looking one opens
    # the duress vault "never reached a server": neither the check file nor its key may say so
    assert read_check_file(phone.data_dir) is None
    assert CHECK_FILE_KEY_NAME not in keystore.values


# ---------------------------------------------------------------- the laptop's network path


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every POST with a few bytes and remembers the request line it was sent."""

    seen: list[str]

    def do_POST(self) -> None:
        self.seen.append(self.requestline)
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def recording_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_timestamp_request_goes_through_the_coordinators_proxy_whatever_no_proxy_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_PROXY", "*")  # an environment the coordinator did not look at
    monkeypatch.setenv("no_proxy", "*")
    with recording_server() as (proxy, seen):
        reply = timestamps.http_post(proxy, timeout=5)("http://tsa.example.invalid/", b"query")
    assert reply == b"ok"
    assert seen == ["POST http://tsa.example.invalid/ HTTP/1.1"]  # never straight to the TSA


def test_a_timestamp_request_without_a_proxy_ignores_the_environments_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with recording_server() as (tsa, at_tsa), recording_server() as (planted, at_planted):
        monkeypatch.setenv("HTTP_PROXY", planted)
        monkeypatch.setenv("http_proxy", planted)
        assert timestamps.http_post(None, timeout=5)(f"{tsa}/stamp", b"query") == b"ok"
    assert at_planted == []
    assert at_tsa == ["POST /stamp HTTP/1.1"]


def test_an_organisation_list_without_a_ca_keeps_the_check_this_laptop_set_for_that_authority(
    tmp_path: Path,
) -> None:
    require(openssl_available(), "openssl is not installed")
    ca_pem = make_authority(tmp_path / "tsa").ca_pem.decode()
    own = timestamps.check_authority("http://tsa.example.org/", ca_pem)
    published = timestamps.check_authority("http://tsa.example.org/")  # no CA in the document
    # tokens from this authority must still chain to the CA this coordinator chose, or an
    # on-path attacker answering a plain-HTTP authority could slip in a token of its own
    assert timestamps.combined([own], [published]) == [own]


# ---------------------------------------------------------------- an intercepted short code


def test_a_short_code_read_after_its_phone_was_admitted_fetches_nothing(
    org: Org, tmp_path: Path
) -> None:
    _, code = coordinator.create_invite_with_code(org.coordinator, expires_in=3600)
    joined = make_vault(tmp_path / "joined")
    identity_from_invite(joined, invite_drop.fetch(org.server.url, code), label="")
    engine(joined).run_once()
    [device] = coordinator.list_devices(org.coordinator)  # the coordinator admits the phone
    assert device["roster"] == "verified"
    # Days later the code is read off a note, a chat or the joiner's seized phone: the sealed
    # invite (the organisation's identity in it) must be gone from the server by then.
    with pytest.raises(ShortCodeError) as gone:
        invite_drop.fetch(org.server.url, code)
    assert gone.value.reason == "code_unknown"


# ---------------------------------------------------------------- consent and merged cases


def test_a_report_whose_consent_was_withdrawn_adds_nothing_to_the_case_it_was_merged_into(
    tmp_path: Path,
) -> None:
    world = RealWorld(tmp_path)
    try:
        world.setup()
        service = world.service
        device = world.enrol_device("Ош")
        withdrawn = world.report(device, {**ANSWERS, "perpetrator_station": "ОВД Ленинский"})
        kept = world.report(device, {**ANSWERS, "perpetrator_station": "ОВД Октябрьский"})
        service.pull()
        service.merge_cases(withdrawn, kept)
        service.act(withdrawn, {"type": "withdraw", "purposes": "statistics"})
        service.pull()
        assert service.dashboard().by_station == ((("station", "ОВД Октябрьский"), 1),)
    finally:
        world.close()


# ---------------------------------------------------------------- check-ins and the server's clock


def test_a_server_backdating_a_late_checked_in_cannot_silence_the_missed_checkin(
    org: Org,
) -> None:
    operator = RedTeamOperator(org.server)
    phone = org.new_device("osh")
    start = int(time.time()) - 2 * HOUR  # the meeting began two hours ago
    alerts.arm_checkin(phone, start + HOUR, at=start, now=lambda: start)
    engine(phone).run_once()
    coordinator.pull(org.coordinator)
    alerts.check_in(phone, at=int(time.time()))  # signed now, an hour after the deadline
    engine(phone).run_once()
    done = envelope.from_wire(
        max(
            (e for e in phone.list(kind=Kind.OUTBOX) if e.data.get("type") == "envelope"),
            key=lambda e: int(e.data["seq"]),
        ).data["wire"]
    )
    operator.set_received_at(done.id, start + 10)  # "it arrived in time"
    coordinator.pull(org.coordinator)
    [alarm] = raised_alerts.active(org.coordinator, int(time.time()))
    assert alarm.reason == "checkin_missed" and alarm.deadline == start + HOUR
    assert alarm.late_checkin >= start + HOUR  # shown as checked in late, and still raised


def test_a_withdrawal_on_the_case_others_were_merged_into_leaves_their_reports_counted(
    tmp_path: Path,
) -> None:
    world = RealWorld(tmp_path)
    try:
        world.setup()
        service = world.service
        rogue, honest = world.enrol_device("Ош"), world.enrol_device("Бишкек")
        survivor = world.report(rogue, {**ANSWERS, "perpetrator_station": "ОВД Ленинский"})
        other = world.report(honest, {**ANSWERS, "perpetrator_station": "ОВД Октябрьский"})
        service.pull()
        service.merge_cases(other, survivor)
        # the survivor's author withdraws (here through a coordinator's hand, as it may)
        service.act(survivor, {"type": "withdraw", "purposes": "statistics"})
        service.pull()
        board = service.dashboard()
        assert board.total == 1  # the other phone's report, whose victim consented
        assert board.by_station == ((("station", "ОВД Октябрьский"), 1),)
    finally:
        world.close()


def test_a_phone_taken_after_the_deadline_cannot_check_in_with_its_clock_set_back(
    org: Org,
) -> None:
    phone = org.new_device("osh")
    start = int(time.time()) - 2 * HOUR
    alerts.arm_checkin(phone, start + HOUR, at=start, now=lambda: start)
    engine(phone).run_once()
    coordinator.pull(org.coordinator)
    # an hour past the deadline, the phone's clock set back to before it, then "checked in"
    alerts.check_in(phone, at=start + 60, now=lambda: start + 60)
    engine(phone).run_once()  # the honest server receives it now, after the deadline
    coordinator.pull(org.coordinator)
    [alarm] = raised_alerts.active(org.coordinator, int(time.time()))
    assert alarm.reason == "checkin_missed"


def test_an_organisation_without_a_sealed_document_never_publishes_its_directory_in_clear(
    org: Org,
) -> None:
    identity = load_identity(org.coordinator)
    identity.org_identity = None  # as for an organisation created before 0.2
    org.coordinator.put(identity.to_record())
    contact = {"id": "c1", "name": "Адвокат Асель", "service": "legal", "reach": "+996555123456"}
    with pytest.raises(OrgNotSealed):  # refused rather than published in clear
        coordinator.publish_org_document(org.coordinator, settings={referrals.SETTING: [contact]})
    with sqlite3.connect(Path(org.server.data_dir) / SQLITE_FILE) as db:
        stored = "".join(row[0] for row in db.execute("SELECT document FROM org_document"))
    assert "+996555123456" not in stored
