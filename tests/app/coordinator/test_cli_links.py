"""`fieldvault coordinator` verbs for linked cases and the event wipe, against a real server
and real devices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from core.records import Kind, Record, Status
from tests.app.coordinator.test_service_contract import ANSWERS
from tests.app.coordinator.worlds import PASSPHRASE


def run(capsys, *argv: str) -> tuple[int, Any]:
    code = main(["coordinator", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _device(invite_code: str) -> Any:
    from storage.memory import MemoryVault
    from sync.device import identity_from_invite
    from sync.engine import SyncEngine
    from sync.invite import Invite

    vault = MemoryVault()
    identity = identity_from_invite(vault, Invite.parse(invite_code), label="phone")
    engine = SyncEngine(vault)
    engine.run_once()
    return vault, engine, identity.device_id


def _report(device: Any, answers: dict[str, Any]) -> str:
    from sync.outbox import queue_record

    vault, engine, _ = device
    record = Record(
        kind=Kind.INCIDENT,
        status=Status.READY,
        data={"form": "default-incident", "form_version": 1, "answers": answers},
    )
    queue_record(vault, record)
    engine.run_once()
    return record.id


def test_cases_are_linked_merged_and_counted_and_a_tag_is_wiped_from_the_command_line(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    from tests.support.live_server import start_live_server

    monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("FIELDVAULT_VICTIM", "+996 555 000 111")
    data = ("--data", str(tmp_path / "coord"))
    with start_live_server(tmp_path / "server") as server:
        init = ("init", "--server", server.url, "--bootstrap", server.bootstrap_token)
        assert run(capsys, *init, *data)[0] == 0
        assert run(capsys, "victim-key", *data) == (0, {"ok": True})
        phones = [_device(run(capsys, "invite", *data)[1]["code"]) for _ in range(2)]
        a = _report(phones[0], {**ANSWERS, "perpetrator_station": "ОВД Октябрьский"})
        b = _report(phones[1], {**ANSWERS, "perpetrator_station": "ОВД  октябрьский"})
        assert run(capsys, "pull", *data)[0] == 0

        code, links = run(capsys, "links", a[:8], *data)
        assert code == 0 and [p["case_id"] for p in links["linked"]] == [b]
        assert run(capsys, "entity", "add", a, "victim", *data)[0] == 0
        code, links = run(capsys, "links", a, *data)
        victims = [e["value"] for e in links["entities"] if e["kind"] == "victim"]
        assert victims and victims[0].startswith("vh1:") and "555" not in json.dumps(links)
        with pytest.raises(SystemExit, match="FIELDVAULT_VICTIM"):  # never in the process list
            main(["coordinator", "entity", "add", a, "victim", "0555000111", *data])
        code, board = run(capsys, "perpetrators", *data)
        assert board["stations"] == [{"station": "ОВД Октябрьский", "cases": 2}]
        assert run(capsys, "merge", b, "--into", a, *data)[0] == 0
        code, board = run(capsys, "perpetrators", *data)
        assert board["stations"] == [{"station": "ОВД Октябрьский", "cases": 1}]
        code, same = run(capsys, "merge", a, "--into", a, *data)
        assert code == 1 and same["reason"] == "invalid_event"
        assert run(capsys, "unmerge", b, *data)[0] == 0

        ids = [p[2] for p in phones]
        assert run(capsys, "tag", *ids, "--tag", "Прайд", *data)[0] == 0
        assert run(capsys, "tags", *data)[1]["tags"] == {i: ["Прайд"] for i in ids}
        code, wrong = run(capsys, "wipe-tag", "Прайд", "--confirm", "3", *data)
        assert code == 1 and wrong["reason"] == "wipe_not_confirmed"
        assert {d["wipe"] for d in run(capsys, "devices", *data)[1]["devices"]} == {"none"}
        code, wiped = run(capsys, "wipe-tag", "Прайд", "--confirm", "2", *data)
        assert code == 0 and sorted(wiped["ordered"]) == sorted(ids)
        assert {d["wipe"] for d in run(capsys, "devices", *data)[1]["devices"]} == {"pending"}
