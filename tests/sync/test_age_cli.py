"""`fieldvault age`: flags like the reference tool, clean errors, no plaintext left on disk."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import sync.age as age

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "app.cli", "age"]


def _run(
    *args: str, data: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLI, *args],
        input=data,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_keygen_writes_a_private_identity_file_and_prints_the_recipient(tmp_path: Path) -> None:
    key_file = tmp_path / "key.txt"
    result = _run("keygen", "-o", str(key_file))
    assert result.returncode == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    text = key_file.read_text()
    identity = age.parse_identity_file(text)[0]
    recipient = age.recipient_of(identity)
    assert f"# public key: {recipient}" in text
    assert result.stderr.decode().strip() == f"Public key: {recipient}"
    assert result.stdout == b""


def test_keygen_refuses_to_overwrite_an_identity_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text("precious\n")
    result = _run("keygen", "-o", str(key_file))
    assert result.returncode == 1
    assert key_file.read_text() == "precious\n"
    assert b"not overwriting" in result.stderr


def test_keygen_y_reads_identities_from_stdin() -> None:
    identity, recipient = age.generate_identity()
    result = _run("keygen", "-y", data=f"# comment\n{identity}\n".encode())
    assert result.returncode == 0
    assert result.stdout.decode() == recipient + "\n"


@pytest.mark.skipif(not age.pq_supported(), reason="ML-KEM is not available here")
def test_keygen_pq_makes_a_hybrid_identity() -> None:
    result = _run("keygen", "--pq")
    identity = age.parse_identity_file(result.stdout.decode())[0]
    assert identity.startswith("AGE-SECRET-KEY-PQ-1")
    assert f"# public key: {age.recipient_of(identity)}" in result.stdout.decode()


def test_encrypt_without_recipients_fails_with_one_line() -> None:
    result = _run("encrypt", data=b"x")
    assert result.returncode == 1
    assert result.stderr.decode().count("\n") == 1
    assert b"missing recipients" in result.stderr


def test_malformed_recipient_is_reported_without_a_traceback() -> None:
    result = _run("encrypt", "-r", "age1notakey", data=b"x")
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    assert result.stderr.decode().count("\n") == 1


def test_encrypt_and_decrypt_files_leave_no_plaintext_on_disk(tmp_path: Path) -> None:
    marker = b"FIELDVAULT-CLI-MARKER-4b1d9"
    identity, recipient = age.generate_identity()
    work = tmp_path / "work"
    work.mkdir()
    source = tmp_path / "source.txt"
    source.write_bytes(marker * 5000)
    key_file = tmp_path / "key.txt"
    key_file.write_text(identity + "\n")
    encrypted = work / "report.age"
    assert _run("encrypt", "-r", recipient, "-o", str(encrypted), str(source)).returncode == 0
    armored = work / "report.txt"
    assert _run("encrypt", "-a", "-r", recipient, "-o", str(armored), str(source)).returncode == 0
    damaged = work / "damaged.age"
    damaged.write_bytes(encrypted.read_bytes()[:-1])
    failed_output = work / "failed.out"
    result = _run("decrypt", "-i", str(key_file), "-o", str(failed_output), str(damaged))
    assert result.returncode == 1
    assert not failed_output.exists()
    for path in work.rglob("*"):
        assert marker not in path.read_bytes(), path.name
    decrypted = _run("decrypt", "-i", str(key_file), str(armored))
    assert decrypted.stdout == marker * 5000


def test_decrypt_with_the_wrong_identity_says_no_identity_matched(tmp_path: Path) -> None:
    _, recipient = age.generate_identity()
    other, _ = age.generate_identity()
    key_file = tmp_path / "other.txt"
    key_file.write_text(other + "\n")
    ciphertext = age.encrypt(b"x", [recipient])
    result = _run("decrypt", "-i", str(key_file), data=ciphertext)
    assert result.returncode == 1
    assert b"no identity matched" in result.stderr
    assert other.encode() not in result.stderr


def test_passphrase_is_not_accepted_without_a_terminal_or_environment() -> None:
    env = {k: v for k, v in os.environ.items() if k != "FIELDVAULT_PASSPHRASE"}
    result = subprocess.run(
        [*CLI, "encrypt", "-p"],
        input=b"x",
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert b"FIELDVAULT_PASSPHRASE" in result.stderr
