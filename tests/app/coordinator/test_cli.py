"""`fieldvault coordinator`: the headless verbs against a real server, and verify-bundle."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from app.cli import main
from app.exports.bundle import build_bundle
from core.crypto.signing import SigningKey
from tests.app.coordinator import factory
from tests.app.coordinator.worlds import PASSPHRASE
from tests.conftest import require


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["coordinator", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _bundle(tmp_path, tamper: bool):
    device = factory.Device()
    datas = [factory.case_data(device, a) for a in factory.SAMPLE_ANSWERS]
    data = build_bundle(
        datas,
        author_keys={device.id: device.key.public_bytes()},
        signer=SigningKey.generate(),
        org="org",
        now=1,
    )
    if tamper:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            files = {i.filename: zf.read(i) for i in zf.infolist()}
        victim = next(n for n in files if n.startswith("envelopes/"))
        files.pop(victim)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for name, content in files.items():
                zf.writestr(name, content)
        data = out.getvalue()
    path = tmp_path / ("bad.zip" if tamper else "good.zip")
    path.write_bytes(data)
    return path


def test_verify_bundle_exits_zero_for_a_good_bundle_and_four_with_reasons(tmp_path, capsys) -> None:
    code, good = run(capsys, "verify-bundle", str(_bundle(tmp_path, False)))
    assert code == 0 and good["ok"] and good["envelopes"] == 3
    code, bad = run(capsys, "verify-bundle", str(_bundle(tmp_path, True)))
    assert code == 4 and not bad["ok"]
    assert "missing_file" in {p["code"] for p in bad["problems"]}


def test_verify_bundle_prints_a_human_report(tmp_path, capsys) -> None:
    assert main(["coordinator", "verify-bundle", str(_bundle(tmp_path, True))]) == 4
    out = capsys.readouterr().out
    assert "result: INVALID" in out and "[missing_file]" in out


def test_headless_verbs_run_an_organisation_end_to_end(tmp_path, capsys, monkeypatch) -> None:
    from tests.support.live_server import start_live_server

    monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("FIELDVAULT_BACKUP_PASSPHRASE", "a long backup passphrase")
    data = str(tmp_path / "coord")
    with start_live_server(tmp_path / "server") as server:
        code, made = run(
            capsys,
            "init",
            "--server",
            server.url,
            "--bootstrap",
            server.bootstrap_token,
            "--org",
            "Сеть",
            "--data",
            data,
        )
        assert code == 0 and made["org"] == "Сеть"
        code, invite = run(capsys, "invite", "--qr", str(tmp_path / "qr.png"), "--data", data)
        assert code == 0 and invite["code"] and (tmp_path / "qr.png").read_bytes()[:4] == b"\x89PNG"
        assert len(invite["short_code"]) == 14 and invite["server"] == server.url
        assert run(capsys, "devices", "--data", data) == (0, {"devices": []})
        code, invites = run(capsys, "invites", "--data", data)
        assert code == 0 and len(invites["invites"]) == 1
        unused = invites["invites"][0]["id"]
        assert run(capsys, "cancel-invite", unused, "--data", data) == (0, {"ok": True})
        assert run(capsys, "invites", "--data", data) == (0, {"invites": []})
        code, gone = run(capsys, "cancel-invite", unused, "--data", data)
        assert code == 1 and gone["reason"] == "not_found"
        code, pulled = run(capsys, "pull", "--data", data)
        assert code == 0 and pulled["cases"] == 0
        assert run(capsys, "cases", "--status", "new", "--data", data) == (0, {"cases": []})
        out = tmp_path / "stats.csv"
        code, exported = run(capsys, "export", "--format", "stats", "-o", str(out), "--data", data)
        assert (
            code == 0 and not exported["protected"] and out.read_bytes().startswith(b"\xef\xbb\xbf")
        )
        code, pdf = run(
            capsys, "export", "--format", "pdf", "-o", str(tmp_path / "r.pdf"), "--data", data
        )
        assert code == 0 and pdf["protected"] and pdf["file"].endswith(".pdf.age")
        backup = tmp_path / "root.age"
        assert run(capsys, "backup-root", "-o", str(backup), "--data", data)[0] == 0
        second = str(tmp_path / "second")
        code, joined = run(
            capsys, "join", "--server", server.url, "--backup", str(backup), "--data", second
        )
        assert code == 0 and joined["root_fingerprint"] == made["root_fingerprint"]
        assert joined["listed"] is False and joined["join_code"].startswith("FVC1-")
        code, added = run(capsys, "add-coordinator", joined["join_code"], "--data", data)
        assert code == 0 and added["org_version"] == 2
        assert run(capsys, "pull", "--data", second)[0] == 0
        code, bad = run(capsys, "add-coordinator", "FVC1-nonsense", "--data", data)
        assert code == 1 and bad["reason"] == "invalid_join_request"
        code, refused = run(capsys, "revoke", "f" * 32, "--data", data)
        assert code == 1 and refused["reason"] == "unknown_device"
    monkeypatch.setenv("FIELDVAULT_PASSPHRASE", "wrong passphrase here")
    code, wrong = run(capsys, "devices", "--data", data)
    assert code == 1 and wrong["reason"] == "wrong_passphrase"


def test_no_workspace_is_a_clear_message(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
    with pytest.raises(SystemExit, match="no coordinator workspace"):
        main(["coordinator", "devices", "--data", str(tmp_path / "none")])


def test_init_with_the_right_certificate_pin_works_and_a_wrong_pin_is_refused(
    tmp_path, capsys, monkeypatch
) -> None:
    from sync.invite import Invite as InviteCode
    from tests.support.live_server import start_live_server
    from tests.support.tls_proxy import (
        caddy_available,
        openssl_available,
        self_signed_certificate,
        start_caddy,
    )

    require(caddy_available() and openssl_available(), "caddy and openssl are not installed")
    monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
    cert = self_signed_certificate(tmp_path / "tls")
    with (
        start_live_server(tmp_path / "server") as server,
        start_caddy(tmp_path / "caddy", cert, [server.url]) as proxy,
    ):
        init = ("init", "--server", proxy.url, "--bootstrap", server.bootstrap_token)
        wrong = str(tmp_path / "wrong")
        code, refused = run(capsys, *init, "--tls-pin", "00" * 32, "--data", wrong)
        assert (code, refused["reason"]) == (3, "tls_pin_mismatch")
        code, unpinned = run(capsys, *init, "--data", wrong)
        assert (code, unpinned["reason"]) == (3, "tls_error")
        code, malformed = run(capsys, *init, "--tls-pin", "abc", "--data", wrong)
        assert (code, malformed["reason"]) == (1, "invalid_tls_pin")
        assert not (tmp_path / "wrong" / "key").exists()  # every refused setup left nothing

        data = str(tmp_path / "coord")
        typed = cert.pin.upper()  # pins are accepted in either case, with or without colons
        code, made = run(capsys, *init, "--tls-pin", typed, "--data", data)
        assert code == 0 and made["tls_pin"] == cert.pin
        code, invite = run(capsys, "invite", "--data", data)
        assert code == 0 and InviteCode.parse(invite["code"]).tls_pin == cert.pin
        assert run(capsys, "devices", "--data", data) == (0, {"devices": []})
        code, invites = run(capsys, "invites", "--data", data)
        assert code == 0 and len(invites["invites"]) == 1
        unused = invites["invites"][0]["id"]
        assert run(capsys, "cancel-invite", unused, "--data", data) == (0, {"ok": True})
        assert run(capsys, "invites", "--data", data) == (0, {"invites": []})
        code, gone = run(capsys, "cancel-invite", unused, "--data", data)
        assert code == 1 and gone["reason"] == "not_found"

        monkeypatch.setenv("FIELDVAULT_BACKUP_PASSPHRASE", "a long backup passphrase")
        backup = str(tmp_path / "root.age")
        assert run(capsys, "backup-root", "-o", backup, "--data", data)[0] == 0
        join = ("join", "--server", proxy.url, "--backup", backup)
        code, refused = run(capsys, *join, "--tls-pin", "11" * 32, "--data", wrong)
        assert (code, refused["reason"]) == (3, "tls_pin_mismatch")
        assert not (tmp_path / "wrong" / "key").exists()
        second = str(tmp_path / "second")
        code, joined = run(capsys, *join, "--tls-pin", cert.pin, "--data", second)
        assert code == 0 and joined["tls_pin"] == cert.pin


def test_every_export_works_with_the_server_down(tmp_path, capsys, monkeypatch) -> None:
    from tests.app.coordinator.worlds import RealWorld

    world = RealWorld(tmp_path)
    try:
        world.setup()
        device = world.enrol_device("phone")
        world.report(device, {**factory.SAMPLE_ANSWERS[0], "consent": ALL_CONSENT})
        assert world.service.pull().cases == 1
        world.service.lock()
        world.server.stop()
        monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
        data = str(tmp_path / "coordinator")
        assert run(capsys, "pull", "--data", data)[1]["reason"] == "offline"
        for kind in ("csv", "stats", "pdf", "bundle"):
            out = str(tmp_path / f"export-{kind}")
            code, done = run(capsys, "export", "--format", kind, "-o", out, "--data", data)
            assert code == 0 and done["bytes"] > 0, kind
        bundle_path = tmp_path / "clear.zip"
        code, _ = run(
            capsys, "export", "--format", "bundle", "--no-encrypt", "-o", str(bundle_path),
            "--data", data,
        )  # fmt: skip
        assert code == 0
        code, verdict = run(capsys, "verify-bundle", str(bundle_path))
        assert code == 0 and verdict["ok"] and verdict["envelopes"] == 1
    finally:
        world.close()


ALL_CONSENT = {"share_org": True, "statistics": True, "advocacy": True}


def test_the_directory_a_referral_a_withdrawal_and_the_warn_list_from_the_command_line(
    tmp_path, capsys, monkeypatch
) -> None:
    from tests.app.coordinator.worlds import RealWorld

    world = RealWorld(tmp_path)
    try:
        world.setup()
        device = world.enrol_device("phone")
        disclosed = {"disclosed_under_pressure": True, "disclosed_contacts": "Айдана-7, Бек"}
        case_id = world.report(
            device, {**factory.SAMPLE_ANSWERS[0], **disclosed, "consent": ALL_CONSENT}
        )
        world.service.pull()
        world.service.lock()
        monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
        data = ("--data", str(tmp_path / "coordinator"))
        code, added = run(
            capsys, "referral-add", "--name", "Адвокат Айгерим", "--service", "lawyer",
            "--city", "Бишкек", "--languages", "ky,ru", "--reach", "Signal", *data,
        )  # fmt: skip
        assert code == 0 and added["version"] > 1
        (contact,) = added["contacts"]
        assert contact["languages"] == ["ky", "ru"]
        code, refused = run(capsys, "referral-add", "--name", " ", "--service", "doctor", *data)
        assert code == 1 and refused["reason"] == "invalid_referrals"
        code, referred = run(capsys, "refer", case_id[:8], contact["id"], *data)
        assert code == 0 and referred["contact"] == contact["id"]
        code, warn = run(capsys, "warn-list", *data)
        assert sorted(e["pseudonym"] for e in warn["entries"]) == ["Айдана-7", "Бек"]
        code, withdrawn = run(capsys, "withdraw", case_id, "--purpose", "statistics", *data)
        assert code == 0 and withdrawn["withdrawn"] == ["statistics"]
        code, stats = run(capsys, "export", "--format", "stats", "-o", str(tmp_path / "s"), *data)
        assert code == 1 and stats["reason"] == "consent_withheld"
        assert run(capsys, "referral-remove", contact["id"], *data)[1]["contacts"] == []
    finally:
        world.close()


def _bundle_with_attachment(tmp_path, original: bytes, signed: bytes):
    from app.exports.bundle import AttachmentFile
    from core.crypto.hashing import sha256_hex

    device = factory.Device()
    ref = {
        "id": "a" * 32,
        "sha256": sha256_hex(signed),
        "size": len(signed),
        "media_type": "image/jpeg",
        "name": "photo.jpg",
    }
    data = build_bundle(
        [factory.case_data(device, factory.SAMPLE_ANSWERS[0], blobs=[ref])],
        author_keys={device.id: device.key.public_bytes()},
        signer=SigningKey.generate(),
        org="org",
        now=1,
        attachments={ref["id"]: AttachmentFile(b"\xff\xd8 decrypted photo", original)},
    )
    path = tmp_path / "with-attachment.zip"
    path.write_bytes(data)
    return path


def test_verify_bundle_passes_a_bundle_with_attachments_and_names_a_swapped_one(
    tmp_path, capsys
) -> None:
    good = _bundle_with_attachment(tmp_path, b"the sent bytes", b"the sent bytes")
    code, verdict = run(capsys, "verify-bundle", str(good))
    assert code == 0 and verdict["ok"]
    bad = _bundle_with_attachment(tmp_path, b"other bytes", b"the sent bytes")
    code, verdict = run(capsys, "verify-bundle", str(bad))
    assert code == 4 and {p["code"] for p in verdict["problems"]} == {"attachment_altered"}
