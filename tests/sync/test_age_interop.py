"""Interoperability both ways with the reference `age` tool and PyPI's pyrage (rage).

Covers X25519, several recipients, scrypt passphrases and armor, through the library and
through `fieldvault age`. Skipped (failed in CI) when the reference tools are missing.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import sync.age as age
from tests.conftest import require
from tests.sync.age_support import AGE_TOOL

PLAINTEXT = bytes(range(256)) * 700 + b"tail"  # crosses a chunk boundary
PASSPHRASE = "interop passphrase"
CLI = [sys.executable, "-m", "app.cli", "age"]
ROOT = Path(__file__).resolve().parents[2]


def _age_tool() -> str:
    require(AGE_TOOL is not None, "the reference age tool is not installed")
    assert AGE_TOOL is not None
    return AGE_TOOL


def _pyrage():  # type: ignore[no-untyped-def]
    require(importlib.util.find_spec("pyrage") is not None, "pyrage is not installed")
    import pyrage

    return pyrage


def _identity_file(tmp_path: Path, identity: str) -> Path:
    path = tmp_path / "key.txt"
    path.write_text(f"# test key\n{identity}\n", encoding="ascii")
    return path


def _run(cmd: list[str], data: bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, **env}
    return subprocess.run(
        cmd, input=data, capture_output=True, check=False, env=full_env, cwd=ROOT, timeout=120
    )


# --- the age tool ---------------------------------------------------------------------------


def test_age_tool_decrypts_what_we_encrypt(tmp_path: Path) -> None:
    tool = _age_tool()
    identity, recipient = age.generate_identity()
    _, other = age.generate_identity()
    for armor in (False, True):
        ciphertext = age.encrypt(PLAINTEXT, [other, recipient], armor=armor)
        result = _run([tool, "-d", "-i", str(_identity_file(tmp_path, identity))], ciphertext)
        assert result.returncode == 0, result.stderr
        assert result.stdout == PLAINTEXT


def test_we_decrypt_what_the_age_tool_encrypts(tmp_path: Path) -> None:
    tool = _age_tool()
    identity, recipient = age.generate_identity()
    for flags in ([], ["-a"]):
        result = _run([tool, "-r", recipient, *flags], PLAINTEXT)
        assert result.returncode == 0, result.stderr
        assert age.decrypt(result.stdout, [identity]) == PLAINTEXT


def test_age_tool_identities_work_with_us(tmp_path: Path) -> None:
    tool = _age_tool()
    keygen = Path(tool).with_name("age-keygen")
    require(keygen.exists(), "age-keygen is not installed")
    key_file = tmp_path / "age-key.txt"
    subprocess.run([str(keygen), "-o", str(key_file)], check=True, capture_output=True)
    identities = age.parse_identity_file(key_file.read_text())
    recipient = age.recipient_of(identities[0])
    assert f"# public key: {recipient}" in key_file.read_text()
    result = _run([tool, "-d", "-i", str(key_file)], age.encrypt(b"x", [recipient]))
    assert result.stdout == b"x"


def test_passphrase_files_interoperate_with_the_age_tool(tmp_path: Path) -> None:
    tool = _age_tool()
    ours = age.encrypt_with_passphrase(PLAINTEXT, PASSPHRASE, log_n=15, armor=True)
    path = tmp_path / "ours.age"
    path.write_bytes(ours)
    # age reads passphrases only from a terminal; its batchpass plugin is not in 1.1.1, so
    # drive it through `script` to provide a pseudo-terminal.
    require(Path("/usr/bin/script").exists(), "util-linux script is not installed")
    result = subprocess.run(
        ["/usr/bin/script", "-qec", f"{tool} -d -o {tmp_path / 'out'} {path}", "/dev/null"],
        input=(PASSPHRASE + "\n").encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "out").read_bytes() == PLAINTEXT


# --- pyrage ---------------------------------------------------------------------------------


def test_pyrage_decrypts_what_we_encrypt() -> None:
    pyrage = _pyrage()
    identity, recipient = age.generate_identity()
    ciphertext = age.encrypt(PLAINTEXT, [recipient])
    assert pyrage.decrypt(ciphertext, [pyrage.x25519.Identity.from_str(identity)]) == PLAINTEXT


def test_we_decrypt_what_pyrage_encrypts() -> None:
    pyrage = _pyrage()
    key = pyrage.x25519.Identity.generate()
    ciphertext = pyrage.encrypt(PLAINTEXT, [key.to_public()])
    assert age.decrypt(ciphertext, [str(key)]) == PLAINTEXT
    assert age.recipient_of(str(key)) == str(key.to_public())


def test_passphrase_files_interoperate_with_pyrage() -> None:
    pyrage = _pyrage()
    ours = age.encrypt_with_passphrase(PLAINTEXT, PASSPHRASE, log_n=15)
    assert pyrage.passphrase.decrypt(ours, PASSPHRASE) == PLAINTEXT
    theirs = pyrage.passphrase.encrypt(b"from rage", PASSPHRASE)
    assert age.decrypt_with_passphrase(theirs, PASSPHRASE) == b"from rage"


# --- the command line against the age tool ----------------------------------------------


def test_cli_encrypt_then_age_tool_decrypt(tmp_path: Path) -> None:
    tool = _age_tool()
    key_file = tmp_path / "id.txt"
    made = _run([*CLI, "keygen", "-o", str(key_file)], b"")
    assert made.returncode == 0, made.stderr
    assert b"Public key: age1" in made.stderr
    recipient = _run([*CLI, "keygen", "-y", str(key_file)], b"").stdout.decode().strip()
    for flags in ([], ["-a"]):
        encrypted = _run([*CLI, "encrypt", "-r", recipient, *flags], PLAINTEXT)
        assert encrypted.returncode == 0, encrypted.stderr
        decrypted = _run([tool, "-d", "-i", str(key_file)], encrypted.stdout)
        assert decrypted.stdout == PLAINTEXT


def test_age_tool_encrypt_then_cli_decrypt(tmp_path: Path) -> None:
    tool = _age_tool()
    identity, recipient = age.generate_identity()
    recipients_file = tmp_path / "recipients.txt"
    recipients_file.write_text(f"# team\n{recipient}\n")
    encrypted = _run([tool, "-R", str(recipients_file), "-a"], PLAINTEXT)
    out = tmp_path / "plain.bin"
    decrypted = _run(
        [*CLI, "decrypt", "-i", str(_identity_file(tmp_path, identity)), "-o", str(out)],
        encrypted.stdout,
    )
    assert decrypted.returncode == 0, decrypted.stderr
    assert out.read_bytes() == PLAINTEXT


def test_cli_passphrase_round_trip_via_environment(tmp_path: Path) -> None:
    pyrage = _pyrage()
    target = tmp_path / "by-passphrase.age"
    encrypted = _run(
        [*CLI, "encrypt", "-p", "-o", str(target)], b"by passphrase", FIELDVAULT_PASSPHRASE="pw 1"
    )
    assert encrypted.returncode == 0, encrypted.stderr
    assert pyrage.passphrase.decrypt(target.read_bytes(), "pw 1") == b"by passphrase"
    decrypted = _run([*CLI, "decrypt", str(target)], b"", FIELDVAULT_PASSPHRASE="pw 1")
    assert decrypted.stdout == b"by passphrase"
    wrong = _run([*CLI, "decrypt", str(target)], b"", FIELDVAULT_PASSPHRASE="pw 2")
    assert wrong.returncode == 1
    assert wrong.stdout == b""
    assert wrong.stderr.count(b"\n") == 1
