"""`fieldvault demo` brings up the whole system offline and removes every trace on Ctrl-C."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 300


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback only)
        return int(answer.status)


def _listening(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


@pytest.mark.slow
def test_demo_serves_both_apps_with_the_seeded_cases_and_cleans_up_on_ctrl_c(
    tmp_path: Path,
) -> None:
    ready_file = tmp_path / "ready.json"
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--no-browser", "--ready-file", str(ready_file)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready_file.exists():
            if proc.poll() is not None:
                pytest.fail(f"demo exited early:\n{(tmp_path / 'demo.log').read_text()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"demo not ready:\n{(tmp_path / 'demo.log').read_text()[-4000:]}")
            time.sleep(0.5)
        ready = json.loads(ready_file.read_text())
        for key in ("field", "coordinator", "server"):
            assert ready[key].startswith("http://127.0.0.1:")
        assert _get(ready["field"]) == 200
        assert _get(ready["coordinator"]) == 200
        assert _get(ready["server"] + "/v1/health") == 200
        assert ready["cases"] >= 5
        data_dir = Path(ready["data_dir"])
        assert data_dir.is_dir()

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert not data_dir.exists(), "the demo left its data directory behind"
    for key in ("field", "coordinator", "server"):
        assert not _listening(ready[key]), f"the {key} is still listening after Ctrl-C"
    output = (tmp_path / "demo.log").read_text()
    assert "demo field passphrase" in output
