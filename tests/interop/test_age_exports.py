"""Every encrypted file the coordinator tools write opens with Debian's stock `age`, using the
coordinator's *exported* identity (never a key made for the test).

The reference `age` reads passphrases from the terminal only, so these tests give it one: a
pseudo-terminal as its controlling terminal, answered when it prompts.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from app.cli import main
from app.exports.bundle import verify_bundle
from tests.app.coordinator import factory
from tests.app.coordinator.worlds import PASSPHRASE, RealWorld
from tests.conftest import require

IDENTITY_PASSPHRASE = "identity file passphrase"
EXPORT_PASSPHRASE = "export passphrase for a lawyer"
BACKUP_PASSPHRASE = "a long backup passphrase"


def age_with_terminal(args: list[str], passphrase: str, timeout: float = 60) -> str:
    """Run the reference `age` with a pseudo-terminal, typing `passphrase` at each prompt."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        ["age", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,  # the pty becomes its controlling terminal, /dev/tty
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    answered = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
                if seen.lower().count(b"passphrase") > answered:
                    os.write(master, passphrase.encode() + b"\n")
                    answered += 1
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()
    text = seen.decode(errors="replace")
    assert code == 0, f"age {' '.join(args)} failed: {text}"
    return text


def age(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["age", *args], capture_output=True, check=False, timeout=60)


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["coordinator", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def coordinator(tmp_path, monkeypatch):
    require(shutil.which("age") is not None, "the reference `age` tool is not installed")
    world = RealWorld(tmp_path)
    try:
        world.setup()
        device = world.enrol_device("phone")
        for answers in factory.SAMPLE_ANSWERS[:2]:
            world.report(device, answers)
        assert world.service.pull().cases == 2
        world.service.lock()
        monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
        monkeypatch.setenv("FIELDVAULT_IDENTITY_PASSPHRASE", IDENTITY_PASSPHRASE)
        monkeypatch.setenv("FIELDVAULT_EXPORT_PASSPHRASE", EXPORT_PASSPHRASE)
        monkeypatch.setenv("FIELDVAULT_BACKUP_PASSPHRASE", BACKUP_PASSPHRASE)
        yield str(tmp_path / "coordinator")
    finally:
        world.close()


def _export(capsys, data: str, out: Path, *args: str) -> Path:
    code, done = run(capsys, "export", *args, "-o", str(out), "--data", data)
    assert code == 0 and done["protected"], done
    return Path(done["file"])


def _check_plaintext(kind: str, plain: bytes) -> None:
    if kind == "csv":
        text = plain.decode("utf-8-sig")
        assert "Задержали у кафе" in text and "Айбек" in text  # identifying answers are there
    elif kind == "pdf":
        assert plain.startswith(b"%PDF-")
    elif kind == "bundle":
        assert verify_bundle(plain).ok and verify_bundle(plain).envelopes == 2
    elif kind == "backup":
        assert json.loads(plain)["root_seed"]


def test_stock_age_opens_every_export_with_the_exported_protected_identity(
    coordinator, tmp_path, capsys
) -> None:
    data = coordinator
    identity = tmp_path / "coordinator-identity.age"
    code, done = run(capsys, "identity", "export", "-o", str(identity), "--data", data)
    assert code == 0 and done["protected"]
    assert identity.read_bytes().startswith(b"age-encryption.org/v1\n-> scrypt ")

    exports = {
        "csv": _export(capsys, data, tmp_path / "cases.csv", "--format", "csv", "--identifying"),
        "pdf": _export(capsys, data, tmp_path / "cases.pdf", "--format", "pdf"),
        "bundle": _export(capsys, data, tmp_path / "evidence.zip", "--format", "bundle"),
    }
    # 1. the protected identity file straight into `age -d -i` (age asks for its passphrase)
    for kind, sealed in exports.items():
        out = tmp_path / f"{kind}.direct"
        age_with_terminal(
            ["-d", "-i", str(identity), "-o", str(out), str(sealed)], IDENTITY_PASSPHRASE
        )
        _check_plaintext(kind, out.read_bytes())

    # 2. `age -d` of the identity gives the plain identity file, then plain `age -d -i`
    plain_identity = tmp_path / "coordinator-identity.txt"
    age_with_terminal(["-d", "-o", str(plain_identity), str(identity)], IDENTITY_PASSPHRASE)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(plain_identity)], capture_output=True, check=True, text=True
    ).stdout.strip()
    assert recipient.startswith("age1")
    for kind, sealed in exports.items():
        opened = age(["-d", "-i", str(plain_identity), str(sealed)])
        assert opened.returncode == 0, opened.stderr
        _check_plaintext(kind, opened.stdout)

    # 3. and the decrypted bundle is the one verify-bundle accepts through the same identity
    code, verdict = run(capsys, "verify-bundle", str(exports["bundle"]), "-i", str(identity))
    assert code == 0 and verdict["ok"] and verdict["cases"] == 2


def test_stock_age_opens_passphrase_exports_and_the_root_key_backup(
    coordinator, tmp_path, capsys
) -> None:
    data = coordinator
    sealed = {
        kind: _export(
            capsys, data, tmp_path / name, "--format", kind, *extra, "--passphrase-protect"
        )
        for kind, name, extra in (
            ("csv", "cases.csv", ("--identifying",)),
            ("pdf", "cases.pdf", ()),
            ("bundle", "evidence.zip", ()),
        )
    }
    backup = tmp_path / "root.age"
    assert run(capsys, "backup-root", "-o", str(backup), "--data", data)[0] == 0
    for kind, path in [*sealed.items(), ("backup", backup)]:
        out = tmp_path / f"{kind}.out"
        secret = BACKUP_PASSPHRASE if kind == "backup" else EXPORT_PASSPHRASE
        age_with_terminal(["-d", "-o", str(out), str(path)], secret)
        _check_plaintext(kind, out.read_bytes())


def test_a_plain_identity_export_works_with_stock_age_and_a_wrong_identity_does_not(
    coordinator, tmp_path, capsys
) -> None:
    data = coordinator
    plain = tmp_path / "me.txt"
    assert (
        main(["coordinator", "identity", "export", "--plain", "-o", str(plain), "--data", data])
        == 0
    )
    assert "in clear" in capsys.readouterr().err
    sealed = _export(capsys, data, tmp_path / "evidence.zip", "--format", "bundle")
    opened = age(["-d", "-i", str(plain), str(sealed)])
    assert opened.returncode == 0 and zipfile.is_zipfile(_write(tmp_path / "b.zip", opened.stdout))
    stranger = tmp_path / "stranger.txt"
    subprocess.run(["age-keygen", "-o", str(stranger)], capture_output=True, check=True)
    refused = age(["-d", "-i", str(stranger), str(sealed)])
    assert refused.returncode != 0 and b"no identity matched" in refused.stderr.lower()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
