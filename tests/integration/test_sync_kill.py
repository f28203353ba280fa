"""`fieldvault field sync` killed with SIGKILL at random moments loses and duplicates nothing.

The device vault is set up with the command line (`field init`), filled with notes and one
incident with a large attachment, then `field sync` processes are started and killed at random
points, again and again, before one is allowed to finish. The coordinator must then pull every
envelope exactly once, with an unbroken chain, and the attachment intact.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.records import Kind, Record
from storage import Vault
from sync import coordinator
from sync.outbox import pending_blobs, pending_envelopes, queue_record
from tests.integration.conftest import PASSPHRASE, Org

NOTES = 200
MORE_PER_ROUND = 15
BLOB_BYTES = 24 * 1024 * 1024
KILLS = 18


def _field(*args: str, data: Path) -> list[str]:
    return [sys.executable, "-m", "app.cli", "field", *args, "--data", str(data), "--json"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["FIELDVAULT_PASSPHRASE"] = PASSPHRASE
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


@pytest.mark.slow
def test_sync_killed_at_random_points_loses_and_duplicates_nothing(org: Org) -> None:
    data = org.tmp / "killed-phone"
    invite = coordinator.create_invite(org.coordinator, expires_in=600).encode()
    init = subprocess.run(
        _field("init", "--invite", invite, data=data),
        env=_env(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert init.returncode == 0, init.stderr.decode()

    vault = Vault.open(data, PASSPHRASE)
    for i in range(NOTES):
        queue_record(vault, Record(kind=Kind.NOTE, data={"text": f"note {i}"}))
    blob = random.Random(5).randbytes(BLOB_BYTES)
    stored = vault.attach(io.BytesIO(blob), media_type="video/mp4", name="v.mp4")
    queue_record(
        vault,
        Record(kind=Kind.INCIDENT, data={"title": "t", "attachments": [stored.to_dict()]}),
    )
    vault.lock()

    rng = random.Random(2026)
    kills, notes = 0, NOTES
    for _ in range(KILLS):
        process = subprocess.Popen(
            _field("sync", data=data),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 2.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
        vault = Vault.open(data, PASSPHRASE)  # opens cleanly after any kill; more work arrives
        for i in range(MORE_PER_ROUND):
            queue_record(vault, Record(kind=Kind.NOTE, data={"text": f"note {notes + i}"}))
        notes += MORE_PER_ROUND
        vault.lock()
    assert kills >= 3, kills  # the runs really were interrupted

    for _ in range(5):
        final = subprocess.run(
            _field("sync", data=data), env=_env(), capture_output=True, timeout=300, check=False
        )
        if final.returncode == 0:
            break
    assert final.returncode == 0, final.stdout.decode() + final.stderr.decode()

    vault = Vault.open(data, PASSPHRASE)
    try:
        assert pending_envelopes(vault) == [] and pending_blobs(vault) == []
    finally:
        vault.lock()

    pulled = coordinator.pull(org.coordinator)
    assert (pulled.fetched, pulled.stored) == (notes + 1, notes + 1)
    assert (pulled.forged, pulled.chain_problems, pulled.duplicates) == (0, 0, 0)
    texts = sorted(
        c.data["latest"].get("text", "")
        for c in org.coordinator.list(kind=Kind.CASE)
        if c.data["type"] == "note"
    )
    assert texts == sorted(f"note {i}" for i in range(notes))
    (incident,) = [c for c in org.coordinator.list(kind=Kind.CASE) if c.data["type"] == "incident"]
    ref = incident.data["revisions"][0]["blobs"][0]
    plain = coordinator.fetch_blob(org.coordinator, ref["id"])
    assert hashlib.sha256(plain).hexdigest() == hashlib.sha256(blob).hexdigest()
