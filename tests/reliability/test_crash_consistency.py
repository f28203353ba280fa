"""Crash consistency: SIGKILL at random points loses nothing acknowledged and duplicates nothing.

Vault: a child process saves records (single puts, atomic batches, overwrites, compactions) and
prints each id after the vault acknowledged it; the parent kills it at a random moment, opens the
vault, and checks that every acknowledged record is there and intact, that the one operation in
flight landed entirely or not at all, and that the vault always opens.

Server: see `test_server_ingest_crash.py`.

Quick form: a dozen kills. FIELDVAULT_RELIABILITY=full: two hundred.
"""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.profile import pick
from tests.reliability.workers.vault_writer import PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]
KILLS = pick(12, 200)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(pick(300, 3600))]


def _run_and_kill(data_dir: Path, seed: int, delay: float) -> str:
    """Start a writer, SIGKILL it `delay` seconds after it is ready; return what it printed."""
    argv = [sys.executable, "-m", "tests.reliability.workers.vault_writer", str(data_dir)]
    with subprocess.Popen(
        [*argv, str(seed)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            line = proc.stdout.readline()
            if line.strip() != "ready":
                proc.kill()
                raise AssertionError(f"writer did not start: {line!r} {proc.stderr.read()[-2000:]}")
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            # read through the buffered reader that readline() used: it may hold lines already
            out, err = proc.stdout.read(), proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == -signal.SIGKILL, err[-2000:]
    return out


def _check_record(record_id: str, data: dict[str, object]) -> None:
    assert data["id_echo"] == record_id
    expected = hashlib.sha256(f"{record_id}:{data['v']}:{data['filler']}".encode()).hexdigest()
    assert data["digest"] == expected, f"record {record_id} damaged"


def test_sigkill_during_vault_writes_and_compaction_loses_no_acknowledged_record(
    tmp_path: Path,
) -> None:
    from core.records import Kind
    from storage import Vault

    data_dir = tmp_path / "vault"
    acked: dict[str, int] = {}
    rng = random.Random(20261121)
    compactions = 0
    for kill in range(KILLS):
        out = _run_and_kill(data_dir, seed=kill, delay=rng.uniform(0.0, 0.35))
        intent: list[str] = []
        for line in out.splitlines():
            word, _, rest = line.partition(" ")
            if word == "intent":
                intent = rest.split()
            elif word == "ack":
                acked_id, acked_version = rest.split()
                acked[acked_id] = int(acked_version)
                if acked_id in intent:
                    intent.remove(acked_id)
            elif word == "compacted":
                compactions += 1

        vault = Vault.open(data_dir, PASSPHRASE)
        try:
            present = {r.id: r.data for r in vault.list(kind=Kind.NOTE)}
        finally:
            vault.lock()
        for record_id, version in acked.items():
            assert record_id in present, f"acknowledged record lost after kill {kill}"
            assert int(present[record_id]["v"]) >= version
        for record_id, data in present.items():
            _check_record(record_id, data)
        unacked_new = {i for i in present if i not in acked}
        in_flight_new = {i for i in intent if i not in acked}
        assert unacked_new in (set(), in_flight_new), (
            f"kill {kill}: a batch landed partly, or a record appeared that was never written"
            f" (writer said: {out[-300:]!r})"
        )
        for record_id in unacked_new:  # it landed whole: from now on it must stay
            acked[record_id] = int(present[record_id]["v"])
    assert len(acked) > KILLS, "the writer barely wrote anything; the test proves too little"
    assert compactions > 0, "no compaction ever finished; the kills never met one"
