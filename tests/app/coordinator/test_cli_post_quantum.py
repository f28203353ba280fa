"""`fieldvault coordinator init --post-quantum` and `join --post-quantum` against a real server."""

from __future__ import annotations

import json

from app.cli import main
from tests.app.coordinator.worlds import PASSPHRASE


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["coordinator", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_post_quantum_organisation_admits_only_post_quantum_coordinators(
    tmp_path, capsys, monkeypatch
) -> None:
    from tests.support.live_server import start_live_server

    monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("FIELDVAULT_BACKUP_PASSPHRASE", "a long backup passphrase")
    data = str(tmp_path / "coord")
    with start_live_server(tmp_path / "server") as server:
        init = ("init", "--server", server.url, "--bootstrap", server.bootstrap_token)
        code, made = run(capsys, *init, "--post-quantum", "--data", data)
        assert code == 0 and made["post_quantum"] is True
        backup = tmp_path / "root.age"
        assert run(capsys, "backup-root", "-o", str(backup), "--data", data)[0] == 0
        join = ("join", "--server", server.url, "--backup", str(backup))

        code, classic = run(capsys, *join, "--data", str(tmp_path / "classic"))
        assert code == 0
        code, refused = run(capsys, "add-coordinator", classic["join_code"], "--data", data)
        assert code == 1 and refused["reason"] == "join_key_kind"

        code, hybrid = run(capsys, *join, "--post-quantum", "--data", str(tmp_path / "hybrid"))
        assert code == 0
        code, added = run(capsys, "add-coordinator", hybrid["join_code"], "--data", data)
        assert code == 0 and added["org_version"] == 2
        assert run(capsys, "pull", "--data", str(tmp_path / "hybrid"))[0] == 0  # now listed


def test_init_without_the_flag_makes_a_classic_organisation(tmp_path, capsys, monkeypatch) -> None:
    from tests.support.live_server import start_live_server

    monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
    with start_live_server(tmp_path / "server") as server:
        code, made = run(
            capsys,
            *("init", "--server", server.url, "--bootstrap", server.bootstrap_token),
            *("--data", str(tmp_path / "coord")),
        )
    assert code == 0 and made["post_quantum"] is False
