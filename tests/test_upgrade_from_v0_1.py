"""Data written by release 0.1 (tests/fixtures/v0.1, made by `tests/fixtures/make_v0_1.py`)
opens in this release; data in a newer format is refused without being touched.

The fixtures are copied file by file (as a fresh clone holds them: no empty directories) into a
temporary directory before use, because opening a vault or starting a server writes to it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.records import Kind, Status
from server.db.schema import SCHEMA_VERSION
from storage import Vault
from storage.errors import VaultFormatTooNew, WrongPassphrase
from storage.journal import MAGIC as JOURNAL_MAGIC
from storage.keyfile import HEADER_SIZE as KEY_HEADER_SIZE
from storage.keyfile import MAGIC as KEY_MAGIC
from sync import coordinator
from tests.fixtures.make_v0_1 import (
    ATTACHMENT,
    COORDINATOR_PASSPHRASE,
    DURESS_PASSPHRASE,
    FIELD_PASSPHRASE,
    INCIDENT_TITLE,
    NOTES,
)
from tests.support.live_server import LiveServer, _cli, _project_env, _wait_healthy, free_port

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v0.1"


def _copy_files(source: Path, target: Path) -> Path:
    for path in source.rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    return target


@pytest.fixture
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture
def old(tmp_path: Path) -> Path:
    return _copy_files(FIXTURES, tmp_path / "v0.1")


@pytest.fixture
def old_server(old: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """`fieldvault server run` on a copy of the 0.1 database (no `init`: it already exists)."""
    data = old / "server"
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            _cli("run", "--data", str(data), "--port", str(port)),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_project_env(),
        )
    server = LiveServer(f"http://127.0.0.1:{port}", "", data, None, log_path, process)
    try:
        _wait_healthy(server)
        yield server
    finally:
        server.stop()


def test_the_fixtures_were_written_by_release_0_1(manifest: dict[str, Any]) -> None:
    assert manifest["release"] == "0.1.0"
    assert manifest["schema_version"] <= SCHEMA_VERSION
    assert manifest["envelopes_on_server"] == manifest["envelopes_sent"] == len(NOTES)


def test_a_field_vault_from_0_1_opens_with_its_records_and_attachment(
    old: Path, manifest: dict[str, Any]
) -> None:
    vault = Vault.open(old / "field", FIELD_PASSPHRASE)
    try:
        notes = {r.id: r for r in vault.list(kind=Kind.NOTE)}
        assert sorted(notes) == sorted(manifest["note_ids"])
        assert sorted(r.data["text"] for r in notes.values()) == sorted(NOTES)
        assert {r.status for r in notes.values()} == {Status.SENT}
        incident = vault.get(manifest["incident_id"])
        assert incident.data["title"] == INCIDENT_TITLE
        assert incident.data["attachments"][0]["id"] == manifest["attachment_id"]
        assert vault.read_attachment(manifest["attachment_id"]) == ATTACHMENT
    finally:
        vault.lock()


def test_the_duress_passphrase_of_a_0_1_vault_still_destroys_the_real_data(
    old: Path, manifest: dict[str, Any]
) -> None:
    attachment = old / "field" / "blobs" / manifest["attachment_id"]
    assert attachment.is_file()
    decoy = Vault.open(old / "field", DURESS_PASSPHRASE)
    try:
        assert decoy.list() == []
    finally:
        decoy.lock()
    assert not attachment.exists()
    with pytest.raises(WrongPassphrase):
        Vault.open(old / "field", FIELD_PASSPHRASE)


def test_a_0_1_server_database_migrates_and_its_devices_are_rebound_to_the_roster_by_hand(
    old_server: LiveServer, old: Path, manifest: dict[str, Any]
) -> None:
    with sqlite3.connect(old_server.data_dir / "server.sqlite3") as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION,)

    coord = Vault.open(old / "coordinator", COORDINATOR_PASSPHRASE)
    try:
        identity = coordinator.load_identity(coord)
        identity.server_url = old_server.url  # the 0.1 server ran on another port
        coord.put(identity.to_record())
        devices = {d["id"]: d for d in coordinator.list_devices(coord)}
        assert devices[manifest["device_id"]]["roster"] == "unverified"  # enrolled before 0.2
        report = coordinator.pull(coord)
        assert (report.fetched, report.held, report.stored) == (len(NOTES), len(NOTES), 0)
        assert coord.list(kind=Kind.CASE) == []  # kept aside, unread, until verified

        shown = devices[manifest["device_id"]]["fingerprint"]  # read out from the phone
        coordinator.confirm_device(coord, manifest["device_id"], fingerprint=shown)
        report = coordinator.pull(coord)
        assert (report.released, report.stored) == (len(NOTES), len(NOTES))
        assert coordinator.org_document(coord).expires > 0  # type: ignore[union-attr]
        cases = coord.list(kind=Kind.CASE)
        assert sorted(c.data["latest"]["text"] for c in cases) == sorted(NOTES)
        assert all(c.data["custody"]["chain"] == "ok" for c in cases)
    finally:
        coord.lock()


def test_a_server_database_from_a_newer_release_is_refused_and_left_unchanged(
    old: Path,
) -> None:
    database = old / "server" / "server.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    db.close()
    before = database.read_bytes()
    done = subprocess.run(
        _cli("run", "--data", str(old / "server"), "--port", str(free_port())),
        capture_output=True,
        env=_project_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert f"database schema {SCHEMA_VERSION + 1} is newer than this server" in output
    assert database.read_bytes() == before


def _bump_key_file_version(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[7] = KEY_MAGIC[-1] + 1  # the last byte of the magic is the format version
    header = bytes(data[: KEY_HEADER_SIZE - 4])
    data[KEY_HEADER_SIZE - 4 : KEY_HEADER_SIZE] = struct.pack(">I", zlib.crc32(header))
    path.write_bytes(bytes(data))


def test_a_vault_whose_key_file_is_a_newer_format_is_refused_and_not_wiped(old: Path) -> None:
    _bump_key_file_version(old / "field" / "key")
    files = {p: p.read_bytes() for p in (old / "field").rglob("*") if p.is_file()}
    for _ in range(3):
        with pytest.raises(VaultFormatTooNew) as refused:
            Vault.open(old / "field", FIELD_PASSPHRASE)
        assert (refused.value.what, refused.value.version) == ("key file", KEY_MAGIC[-1] + 1)
    for path, content in files.items():
        if path.name != "lock":
            assert path.read_bytes() == content, path.name


def test_a_vault_whose_journal_is_a_newer_format_is_refused_and_not_wiped(old: Path) -> None:
    journal = old / "field" / "journal"
    data = bytearray(journal.read_bytes())
    assert bytes(data[: len(JOURNAL_MAGIC)]) == JOURNAL_MAGIC
    data[len(JOURNAL_MAGIC) - 1] += 1
    journal.write_bytes(bytes(data))
    with pytest.raises(VaultFormatTooNew) as refused:
        Vault.open(old / "field", FIELD_PASSPHRASE)
    assert (refused.value.what, refused.value.version) == ("journal", 2)
    assert journal.read_bytes() == bytes(data)
    assert (old / "field" / "blobs").is_dir()


def test_a_0_1_report_opens_under_the_new_form_and_consent_keeps_it_to_casework(
    old: Path, manifest: dict[str, Any]
) -> None:
    from app.casebook.cases import CaseIndex
    from app.exports import consent as export_consent
    from app.services.field_api import default_form
    from core import forms

    vault = Vault.open(old / "field", FIELD_PASSPHRASE)
    try:
        record = vault.get(manifest["incident_id"])
    finally:
        vault.lock()
    form = default_form()
    answers = record.data.get("answers") or {}
    new = {"gender_identity", "injured", "disclosed_under_pressure", "source_link"}
    assert new <= {f.id for f in form.fields}
    assert "injury_regions" not in {f.id for f in forms.visible_fields(form, answers)}
    required = {f.id for f in form.fields if f.required}
    assert set(forms.validate(form, answers)) <= required  # no new field is ever demanded
    case = {
        "case_id": record.id,
        "type": "incident",
        "author": manifest["device_id"],
        "revisions": [
            {
                "envelope_id": "e" * 32,
                "seq": 1,
                "created": int(record.created_at),
                "received_at": int(record.created_at),
                "version": 1,
                "record": record.to_dict(),
                "blobs": [],
            }
        ],
        "latest": record.data,
        "custody": {"signature": "valid", "chain": "ok", "problems": []},
    }
    index = CaseIndex.build([case], [], [form])
    assert any(fv.value == INCIDENT_TITLE for fv in index.detail(record.id, "ky").fields)
    summaries = index.query()
    assert export_consent.permitted(index, summaries, "stats") == ([], [record.id])
    assert export_consent.permitted(index, summaries, "pdf") == (summaries, [])
