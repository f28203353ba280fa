"""Post-quantum (mlkem768x25519) interoperability with npm's age-encryption, both ways.

The reference package is pinned in package.json / package-lock.json here and installed with
`make interop-tools` (`npm ci --prefix tests/interop`). Skipped (failed in CI) without node or
the package. Every test runs twice: on this platform's backend, and on the pure-Python ML-KEM a
phone with cryptography 43.0.1 uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import sync.age as age
from core.crypto import pq
from tests.conftest import require

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "age.mjs"
PLAINTEXT = b"post-quantum report " * 5000  # crosses a chunk boundary


@pytest.fixture(autouse=True, params=["this platform's", "pure-Python"])
def _backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "pure-Python":
        monkeypatch.setattr(pq, "native_available", lambda: False)


def _node(*args: str, data: bytes = b"", identity: str | None = None) -> bytes:
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    require(
        (HERE / "node_modules" / "age-encryption").is_dir(),
        "age-encryption is not installed (make interop-tools)",
    )
    assert node is not None
    env = dict(os.environ)
    if identity is not None:
        env["AGE_IDENTITY"] = identity
    result = subprocess.run(
        [node, str(SCRIPT), *args],
        input=data,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def test_reference_decrypts_our_post_quantum_files() -> None:
    identity, recipient = age.generate_identity(pq=True)
    ciphertext = age.encrypt(PLAINTEXT, [recipient])
    assert _node("decrypt", data=ciphertext, identity=identity) == PLAINTEXT


def test_we_decrypt_reference_post_quantum_files() -> None:
    identity, recipient = _node("keygen-pq").decode().split()
    assert age.recipient_of(identity) == recipient
    ciphertext = _node("encrypt", recipient, data=PLAINTEXT)
    assert b"-> mlkem768x25519 " in ciphertext
    assert age.decrypt(ciphertext, [identity]) == PLAINTEXT


def test_reference_and_we_agree_on_hybrid_keys_we_generate() -> None:
    identity, recipient = age.generate_identity(pq=True)
    ciphertext = _node("encrypt", recipient, data=b"to our key")
    assert age.decrypt(ciphertext, [identity]) == b"to our key"
