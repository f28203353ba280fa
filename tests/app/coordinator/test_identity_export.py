"""The coordinator's age identity out of the vault; encrypted bundles opened by verify-bundle."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from app.cli import main
from app.exports import identity as ident
from app.exports.bundle import build_bundle
from app.exports.protect import protect
from app.services.coordinator_fake import FakeCoordinatorService
from app.services.coordinator_types import CoordinatorError
from core.crypto.signing import SigningKey
from sync.age.api import encrypt
from sync.age.keys import generate_identity, recipient_of
from tests.app.coordinator import factory

NOW = 1_780_000_000
IDENTITY_PASSPHRASE = "identity file passphrase"
FAST = 15  # scrypt work factor for test files (the product uses 18)


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["coordinator", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _bundle() -> bytes:
    device = factory.Device()
    return build_bundle(
        [factory.case_data(device, a) for a in factory.SAMPLE_ANSWERS],
        author_keys={device.id: device.key.public_bytes()},
        signer=SigningKey.generate(),
        org="org",
        now=NOW,
    )


def test_plain_identity_file_is_what_age_keygen_writes() -> None:
    secret, recipient = generate_identity()
    text = ident.identity_file(secret, now=NOW).decode()
    lines = text.splitlines()
    assert lines[0] == "# created: 2026-05-28T20:26:40Z"
    assert lines[1] == f"# public key: {recipient}"
    assert lines[-1] == secret and text.endswith("\n")
    assert ident.read_identity_file(text.encode()) == [secret]


def test_protected_identity_file_opens_only_with_its_passphrase() -> None:
    secret, _ = generate_identity()
    data = ident.protected_identity_file(secret, IDENTITY_PASSPHRASE, now=NOW, log_n=FAST)
    assert data.startswith(b"age-encryption.org/v1\n-> scrypt ") and secret.encode() not in data
    assert ident.read_identity_file(data, passphrase=IDENTITY_PASSPHRASE) == [secret]
    with pytest.raises(ident.IdentityFileError) as wrong:
        ident.read_identity_file(data, passphrase="not the passphrase")
    assert wrong.value.reason == "wrong_passphrase"
    with pytest.raises(ident.IdentityFileError) as missing:
        ident.read_identity_file(data)
    assert missing.value.reason == "needs_passphrase"
    with pytest.raises(ident.IdentityFileError) as weak:
        ident.protected_identity_file(secret, "short", now=NOW)
    assert weak.value.reason == "weak_passphrase"


@pytest.mark.parametrize(
    "data",
    [b"", b"hello\n", b"# only a comment\n", b"AGE-SECRET-KEY-1NOTBECH32\n", b"\xff\xfe"],
)
def test_a_file_without_an_identity_is_refused_clearly(data: bytes) -> None:
    with pytest.raises(ident.IdentityFileError) as err:
        ident.read_identity_file(data)
    assert err.value.reason == "not_an_identity_file"


def test_an_export_encrypted_to_recipients_is_not_taken_for_an_identity_file() -> None:
    _, recipient = generate_identity()
    with pytest.raises(ident.IdentityFileError) as err:
        ident.read_identity_file(encrypt(b"AGE-SECRET-KEY-1", [recipient]))
    assert err.value.reason == "not_an_identity_file"


def test_open_export_names_each_reason_it_cannot_open_a_file() -> None:
    secret, recipient = generate_identity()
    other, _ = generate_identity()
    to_recipient = protect(b"zip", recipients=[recipient])
    to_passphrase = protect(b"zip", passphrase="export passphrase", log_n=FAST)
    assert ident.open_export(to_recipient, identities=[secret]) == b"zip"
    assert ident.open_export(to_passphrase, passphrase="export passphrase") == b"zip"
    cases: list[tuple[bytes, dict[str, Any], str]] = [
        (b"PK\x03\x04 a clear zip", {"identities": [secret]}, "not_encrypted"),
        (to_recipient, {}, "needs_identity"),
        (to_passphrase, {"identities": [secret]}, "needs_passphrase"),
        (to_recipient, {"identities": [other]}, "not_addressed_to_identity"),
        (to_passphrase, {"passphrase": "wrong one"}, "wrong_passphrase"),
        (to_recipient[:-5], {"identities": [secret]}, "damaged"),
    ]
    for data, keys, reason in cases:
        with pytest.raises(ident.ExportOpenError) as err:
            ident.open_export(data, **keys)
        assert err.value.reason == reason


def test_the_service_exports_the_identity_its_exports_are_encrypted_to() -> None:
    service = FakeCoordinatorService()
    with pytest.raises(CoordinatorError):
        service.export_identity(IDENTITY_PASSPHRASE)  # locked: nothing set up yet
    service.setup_new(
        passphrase="correct horse battery staple",
        server_url="http://127.0.0.1:9",
        bootstrap_token="token",
        org_name="org",
        coordinator_name="A",
    )
    [secret] = ident.read_identity_file(service.export_identity(plain=True))
    assert recipient_of(secret) in service._recipients()
    protected = service.export_identity(IDENTITY_PASSPHRASE)
    assert ident.read_identity_file(protected, passphrase=IDENTITY_PASSPHRASE) == [secret]
    with pytest.raises(CoordinatorError) as weak:
        service.export_identity("short")
    assert weak.value.reason == "weak_passphrase"
    with pytest.raises(CoordinatorError):
        service.export_identity()  # no passphrase and not plain: refused, never clear


def test_verify_bundle_opens_a_bundle_encrypted_to_the_coordinators(
    tmp_path, capsys, monkeypatch
) -> None:
    secret, recipient = generate_identity()
    sealed = tmp_path / "evidence.zip.age"
    sealed.write_bytes(protect(_bundle(), recipients=[recipient]))
    key = tmp_path / "me.age"
    key.write_bytes(ident.protected_identity_file(secret, IDENTITY_PASSPHRASE, now=NOW, log_n=FAST))
    monkeypatch.setenv("FIELDVAULT_IDENTITY_PASSPHRASE", IDENTITY_PASSPHRASE)
    code, verdict = run(capsys, "verify-bundle", str(sealed), "-i", str(key))
    assert code == 0 and verdict["ok"] and verdict["envelopes"] == 3
    plain = tmp_path / "me.txt"
    plain.write_bytes(ident.identity_file(secret, now=NOW))
    code, verdict = run(capsys, "verify-bundle", str(sealed), "--identity", str(plain))
    assert code == 0 and verdict["ok"]


def test_verify_bundle_refuses_clearly_what_it_cannot_open(tmp_path, capsys, monkeypatch) -> None:
    secret, recipient = generate_identity()
    other, _ = generate_identity()
    sealed = tmp_path / "evidence.zip.age"
    sealed.write_bytes(protect(_bundle(), recipients=[recipient]))
    wrong_key = tmp_path / "other.txt"
    wrong_key.write_bytes(ident.identity_file(other, now=NOW))
    protected_key = tmp_path / "me.age"
    protected_key.write_bytes(
        ident.protected_identity_file(secret, IDENTITY_PASSPHRASE, now=NOW, log_n=FAST)
    )
    not_a_key = tmp_path / "notes.txt"
    not_a_key.write_text("shopping list\n")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert run(capsys, "verify-bundle", str(sealed)) == (
        1,
        {"ok": False, "reason": "needs_identity"},
    )
    code, out = run(capsys, "verify-bundle", str(sealed), "-i", str(wrong_key))
    assert (code, out["reason"]) == (1, "not_addressed_to_identity")
    code, out = run(capsys, "verify-bundle", str(sealed), "-i", str(not_a_key))
    assert (code, out["reason"]) == (1, "not_an_identity_file")
    monkeypatch.setenv("FIELDVAULT_IDENTITY_PASSPHRASE", "not the passphrase")
    code, out = run(capsys, "verify-bundle", str(sealed), "-i", str(protected_key))
    assert (code, out["reason"]) == (1, "wrong_passphrase")
    code, out = run(capsys, "verify-bundle", str(sealed), "-i", str(tmp_path / "absent"))
    assert (code, out["reason"]) == (1, "unreadable")


def test_verify_bundle_opens_a_passphrase_protected_bundle(tmp_path, capsys, monkeypatch) -> None:
    sealed = tmp_path / "evidence.zip.age"
    sealed.write_bytes(protect(_bundle(), passphrase="bundle passphrase", log_n=FAST))
    monkeypatch.setenv("FIELDVAULT_EXPORT_PASSPHRASE", "bundle passphrase")
    code, verdict = run(capsys, "verify-bundle", str(sealed))
    assert code == 0 and verdict["ok"]
    monkeypatch.setenv("FIELDVAULT_EXPORT_PASSPHRASE", "another passphrase")
    code, out = run(capsys, "verify-bundle", str(sealed))
    assert (code, out["reason"]) == (1, "wrong_passphrase")


def test_verify_bundle_says_a_file_that_is_no_bundle_is_invalid(tmp_path, capsys) -> None:
    secret, recipient = generate_identity()
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(300))
    code, out = run(capsys, "verify-bundle", str(junk))
    assert code == 4 and [p["code"] for p in out["problems"]] == ["not_a_bundle"]
    sealed_text = tmp_path / "letter.age"
    sealed_text.write_bytes(protect(b"not a zip at all", recipients=[recipient]))
    key = tmp_path / "me.txt"
    key.write_bytes(ident.identity_file(secret, now=NOW))
    code, out = run(capsys, "verify-bundle", str(sealed_text), "-i", str(key))
    assert code == 4 and [p["code"] for p in out["problems"]] == ["not_a_bundle"]


def test_identity_export_writes_a_private_file_and_warns_when_plain(
    tmp_path, capsys, monkeypatch
) -> None:
    from tests.app.coordinator.worlds import PASSPHRASE

    class Service:
        def __init__(self) -> None:
            self.fake = FakeCoordinatorService()
            self.fake.setup_new(
                passphrase=PASSPHRASE,
                server_url="http://127.0.0.1:9",
                bootstrap_token="t",
                org_name="org",
                coordinator_name="A",
            )

        def export_identity(self, passphrase: str = "", *, plain: bool = False) -> bytes:
            return self.fake.export_identity(passphrase, plain=plain)

        def lock(self) -> None:
            pass

    service = Service()
    monkeypatch.setattr("app.cli_coordinator._service", lambda args, unlock=True: service)
    monkeypatch.setenv("FIELDVAULT_IDENTITY_PASSPHRASE", IDENTITY_PASSPHRASE)
    out = tmp_path / "me.age"
    code, done = run(capsys, "identity", "export", "-o", str(out))
    assert code == 0 and done["protected"] and out.stat().st_mode & 0o777 == 0o600
    [secret] = ident.read_identity_file(out.read_bytes(), passphrase=IDENTITY_PASSPHRASE)
    assert recipient_of(secret) in service.fake._recipients()
    assert run(capsys, "identity", "export", "-o", str(out)) == (
        1,
        {"ok": False, "reason": "file_exists"},
    )
    plain = tmp_path / "me.txt"
    assert main(["coordinator", "identity", "export", "-o", str(plain), "--plain"]) == 0
    captured = capsys.readouterr()
    assert "secret key in clear" in captured.err
    assert ident.read_identity_file(plain.read_bytes()) == [secret]
    monkeypatch.setenv("FIELDVAULT_IDENTITY_PASSPHRASE", "short")
    code, weak = run(capsys, "identity", "export", "-o", str(tmp_path / "weak.age"))
    assert (code, weak["reason"]) == (1, "weak_passphrase")
    assert not (tmp_path / "weak.age").exists()


def test_the_app_opens_an_encrypted_bundle_with_the_coordinators_own_identity() -> None:
    service = FakeCoordinatorService()
    service.setup_new(
        passphrase="correct horse battery staple",
        server_url="http://127.0.0.1:9",
        bootstrap_token="token",
        org_name="org",
        coordinator_name="A",
    )
    data = _bundle()
    mine = protect(data, recipients=service._recipients())
    assert service.verify_bundle(mine).ok
    _, stranger = generate_identity()
    theirs = service.verify_bundle(protect(data, recipients=[stranger]))
    assert not theirs.ok and theirs.codes() == {"encrypted"}
    assert "not_addressed_to_identity" in theirs.problems[0].detail
    by_passphrase = protect(data, passphrase="bundle passphrase", log_n=FAST)
    assert service.verify_bundle(by_passphrase, passphrase="bundle passphrase").ok
    assert service.verify_bundle(by_passphrase).codes() == {"encrypted"}
    service.lock()
    assert service.verify_bundle(mine).codes() == {"encrypted"}  # locked: no identity to use
    assert service.verify_bundle(data).ok  # a clear bundle needs nothing


@pytest.mark.parametrize("lang", ["en", "ru", "ky", "kk"])
def test_every_bundle_problem_has_words_in_every_language(lang: str) -> None:
    from pathlib import Path

    from app.exports.bundle import PROBLEM_CODES

    root = Path(__file__).resolve().parents[3]
    catalogue = json.loads((root / "assets/i18n/coordinator" / f"{lang}.json").read_text("utf-8"))
    missing = [c for c in PROBLEM_CODES if not catalogue.get(f"bundle.{c}", "").strip()]
    assert missing == []
