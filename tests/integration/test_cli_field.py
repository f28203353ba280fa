"""`fieldvault field` headless verbs, run as real processes against the real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sync import coordinator
from tests.integration.conftest import PASSPHRASE, Org

MARKER = "OKAPI-91d2-cli-plaintext-marker"
ANSWERS = {
    "occurred_at": "2026-11-01T21:30",
    "region": "kg.bishkek",
    "violation_types": ["detention"],
    "description": MARKER,
    "perpetrator_types": ["police"],
    "victims": "A1",
    "consent": {"share_org": True, "statistics": True, "advocacy": False},
}


def _field(data: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> Any:
    run_env = dict(os.environ)
    run_env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    run_env.update(env if env is not None else {"FIELDVAULT_PASSPHRASE": PASSPHRASE})
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "field", *args, "--data", str(data), "--json"],
        input=stdin.encode(),
        capture_output=True,
        env=run_env,
        timeout=120,
        check=False,
    )


def _json(result: Any) -> dict[str, Any]:
    assert result.stdout, result.stderr.decode()
    return json.loads(result.stdout.decode().strip().splitlines()[-1])


def test_init_add_list_sync_and_wipe_from_the_command_line(org: Org, tmp_path: Path) -> None:
    data = tmp_path / "phone"
    invite = coordinator.create_invite(org.coordinator, expires_in=600).encode()
    init = _field(data, "init", "--invite", invite, "--label", "cli", "--language", "en")
    assert init.returncode == 0 and _json(init)["enrolled"] is True

    photo = tmp_path / "p.jpg"
    photo.write_bytes(MARKER.encode() * 100)
    add = _field(
        data,
        "add",
        "--kind",
        "incident",
        "--attach",
        str(photo),
        stdin=json.dumps({"form": "default-incident", "answers": ANSWERS}),
    )
    assert add.returncode == 0, add.stderr.decode()
    record_id = _json(add)["id"]
    assert _json(add)["status"] == "queued"

    listed = _json(_field(data, "list"))["records"]
    assert [(r["id"], r["status"], r["title"]) for r in listed] == [
        (record_id, "queued", "Detention or arrest")
    ]

    synced = _field(data, "sync")
    assert synced.returncode == 0
    assert (_json(synced)["envelopes_sent"], _json(synced)["blobs_sent"]) == (1, 1)
    listed = _json(_field(data, "list"))["records"]
    assert [(r["id"], r["kind"], r["title"]) for r in listed] == [(record_id, "stub", "")]

    coordinator.pull(org.coordinator)
    latest = org.coordinator.get(record_id).data["latest"]
    assert latest["answers"]["description"] == MARKER
    assert len(latest["answers"]["evidence"]) == 1 == len(latest["attachments"])

    wiped = _field(data, "wipe", env={})
    assert wiped.returncode == 0
    assert not data.exists()


def test_passphrase_never_comes_from_arguments_and_is_required(tmp_path: Path) -> None:
    result = _field(tmp_path / "nothing", "list", env={"FIELDVAULT_PASSPHRASE": ""})
    assert result.returncode != 0
    assert b"FIELDVAULT_PASSPHRASE" in result.stderr


def test_sync_while_the_server_is_down_exits_with_the_retry_code(org: Org, tmp_path: Path) -> None:
    data = tmp_path / "phone"
    invite = coordinator.create_invite(org.coordinator, expires_in=600).encode()
    assert _field(data, "init", "--invite", invite).returncode == 0
    assert _field(data, "add", "--kind", "note", stdin='{"text": "hi"}').returncode == 0
    org.server.stop()
    synced = _field(data, "sync")
    assert synced.returncode == 2
    assert _json(synced) == {"ok": False, "reason": "offline", "detail": _json(synced)["detail"]}


def test_a_bad_invite_code_is_refused_without_creating_a_vault(tmp_path: Path) -> None:
    data = tmp_path / "phone"
    result = _field(data, "init", "--invite", "FV1-NOT-AN-INVITE")
    assert result.returncode == 1
    assert not (data.exists() and any(data.iterdir()))


def test_a_wrong_passphrase_is_reported_without_a_traceback(org: Org, tmp_path: Path) -> None:
    data = tmp_path / "phone"
    invite = coordinator.create_invite(org.coordinator, expires_in=600).encode()
    assert _field(data, "init", "--invite", invite).returncode == 0
    result = _field(data, "list", env={"FIELDVAULT_PASSPHRASE": "not the passphrase"})
    assert result.returncode == 1
    assert _json(result)["reason"] == "wrong_passphrase"
    assert b"Traceback" not in result.stderr


def test_an_incomplete_incident_is_refused_with_the_fields_to_answer(
    org: Org, tmp_path: Path
) -> None:
    data = tmp_path / "phone"
    invite = coordinator.create_invite(org.coordinator, expires_in=600).encode()
    assert _field(data, "init", "--invite", invite).returncode == 0
    result = _field(data, "add", stdin=json.dumps({"title": MARKER, "values": {}}))
    assert result.returncode == 1
    answer = _json(result)
    assert answer["reason"] == "form_invalid" and "description" in answer["errors"]
    assert _json(_field(data, "list"))["records"] == []


def test_init_refuses_a_passphrase_under_the_floor_and_creates_nothing(
    org: Org, tmp_path: Path
) -> None:
    data = tmp_path / "phone"
    invite = coordinator.create_invite(org.coordinator, expires_in=600).encode()
    result = _field(data, "init", "--invite", invite, env={"FIELDVAULT_PASSPHRASE": "20261121"})
    assert result.returncode == 1
    assert _json(result) == {
        "ok": False,
        "reason": "passphrase_code_too_short",
        "detail": "passphrase_code_too_short",
    }
    assert not data.exists()
