"""Crash consistency of the server: SIGKILL mid-batch, restart, resend, everything stored once.

A device pushes a long chain of envelopes in batches of 50, resending whatever was not
acknowledged, while the test kills the server process with SIGKILL at random moments (most land
in the middle of a batch's transaction) and restarts it on the same data. At the end the feed
must hold every envelope exactly once, byte for byte what was sent, with the device's chain
intact; a batch the server died in is either wholly there or wholly resent, and the resend is
acknowledged as `duplicate` for what had landed.

Quick form: a few kills per database. FIELDVAULT_RELIABILITY=full: fifty.
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from sync import envelope
from sync.client import Client
from sync.errors import SyncError
from tests.reliability.org import Organisation
from tests.reliability.profile import pick
from tests.support.live_server import live_server_on

pytestmark = [pytest.mark.slow, pytest.mark.timeout(pick(300, 1800))]

ROOT = Path(__file__).resolve().parents[2]
KILLS = pick(4, 50)
ENVELOPES = pick(10000, 60000)
BATCH = 50


class Restartable:
    """The server process of a live server, which the test may kill and start again."""

    def __init__(self, data_dir: Path, db_url: str | None, url: str) -> None:
        self.data_dir, self.db_url, self.url = data_dir, db_url, url
        self.port = url.rsplit(":", 1)[1]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        db = ["--db", self.db_url] if self.db_url else []
        argv = [sys.executable, "-m", "app.cli", "server", "run", "--data", str(self.data_dir)]
        with (self.data_dir / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*argv, "--port", self.port, *db], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "server died on restart"
            with contextlib.suppress(requests.exceptions.RequestException):
                if requests.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError("server did not come back")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_server_killed_mid_batch_and_restarted_stores_every_envelope_exactly_once(
    db: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "server"
    with live_server_on(db, data_dir) as live:
        org = Organisation.bootstrap(live.url, live.bootstrap_token)
        device = org.enrol("crash")
        sent = device.seal_many(ENVELOPES)
        wire = {e.header.id: envelope.to_wire(e) for e in sent}
        live.process.send_signal(signal.SIGKILL)
        live.process.wait(timeout=10)
        server = Restartable(data_dir, live.db_url, live.url)
        server.start()
        try:
            pusher = Pusher(Client(live.url, signing_key=device.key, read_timeout=15.0), sent)
            pusher.start()
            rng = random.Random(7)
            kills = 0
            while kills < KILLS and pusher.pending:
                time.sleep(rng.uniform(0.05, 0.6))
                server.kill()
                kills += 1
                time.sleep(rng.uniform(0.0, 0.3))
                server.start()
            pusher.join(timeout=300)
            assert not pusher.is_alive(), "the device never got everything acknowledged"
            assert pusher.errors == []
            feed = org.feed()
            chains = {d["id"]: d for d in org.client.devices()}
        finally:
            server.kill()
    ids = [item["header"]["id"] for item in feed]
    assert len(ids) == len(set(ids)), "an envelope was stored twice"
    assert set(ids) == set(wire), "an acknowledged envelope is missing"
    for item in feed:
        assert item == wire[item["header"]["id"]], "an envelope changed on the way"
    assert [item["header"]["seq"] for item in feed] == list(range(1, ENVELOPES + 1))
    assert chains[device.id]["chain"] == "ok"
    assert kills == KILLS, "the device finished before every kill; send more envelopes"
    assert pusher.retries >= kills, "kills did not interrupt the device"
    print(f"{db}: {kills} kills, {pusher.retries} failed pushes, {pusher.duplicates} duplicates")


class Pusher(threading.Thread):
    """Push every envelope in order, resending unacknowledged batches until all are acked."""

    def __init__(self, client: Client, envelopes: list[envelope.Envelope]) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.pending = list(envelopes)
        self.errors: list[object] = []
        self.duplicates = 0
        self.retries = 0

    def run(self) -> None:
        deadline = time.monotonic() + 280
        while self.pending and time.monotonic() < deadline:
            batch = self.pending[:BATCH]
            try:
                results = self.client.push_envelopes([envelope.to_wire(e) for e in batch])
            except SyncError:
                self.retries += 1
                time.sleep(0.05)
                continue
            bad = [r for r in results if r["status"] not in ("stored", "duplicate")]
            if bad:
                self.errors.append(bad)
                return
            self.duplicates += sum(1 for r in results if r["status"] == "duplicate")
            del self.pending[: len(batch)]
