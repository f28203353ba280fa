"""Crash safety: a writer killed with SIGKILL at random points never loses what it acknowledged,
and the vault always opens."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import Vault
from tests.storage.conftest import FAST_LOG_N, PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("crash_writer.py")
KILLS = int(os.environ.get("FIELDVAULT_CRASH_KILLS", "30"))


def _run_and_kill(path: Path, seed: int, delay: float) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), PASSPHRASE, str(seed)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    assert first == b"ready\n", child.stderr.read() if child.stderr else first
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, err.decode(errors="replace")
    # Only complete lines were acknowledged; a line cut by the kill is ignored.
    text = out.decode()
    return text.split("\n")[:-1]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_every_acknowledged_record_survives_sigkill_at_random_points(tmp_path: Path) -> None:
    path = tmp_path / "vault"
    Vault.create(path, PASSPHRASE, kdf_log_n=FAST_LOG_N).lock()
    rng = random.Random(20261121)
    acknowledged: dict[str, int] = {}
    for kill in range(KILLS):
        lines = _run_and_kill(path, seed=kill, delay=rng.uniform(0.0, 0.25))
        for line in lines:
            parts = line.split()
            if parts[0] == "P":
                acknowledged[parts[1]] = max(acknowledged.get(parts[1], 0), 1)
            elif parts[0] == "U":
                acknowledged[parts[1]] = max(acknowledged.get(parts[1], 0), int(parts[2]))
        vault = Vault.open(path, PASSPHRASE)  # never VaultCorrupt
        try:
            stored = {r.id: r.version for r in vault.list()}
            missing = [i for i in acknowledged if i not in stored]
            assert not missing, f"kill {kill}: {len(missing)} acknowledged records lost"
            older = [i for i, v in acknowledged.items() if stored[i] < v]
            assert not older, f"kill {kill}: {len(older)} acknowledged updates lost"
        finally:
            vault.lock()
    assert len(acknowledged) > KILLS  # the writer did get work done between kills
