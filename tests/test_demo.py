"""`fieldvault demo` brings up the whole system offline and removes every trace on Ctrl-C.

One demo runs for the whole module (it takes half a minute to build): the first test checks what
answers over HTTP, the second unlocks both apps in headless Chromium with the passphrases the
demo prints, the last sends SIGINT and checks that everything stopped and the data is gone.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.demo.orchestra import COORDINATOR_PASSPHRASE, FIELD_PASSPHRASE
from app.demo.seed import INCIDENTS

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 300
DESKTOP = {"width": 1280, "height": 800}

pytestmark = pytest.mark.slow


class Demo:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path, ready: dict[str, Any]) -> None:
        self.proc, self.log, self.ready = proc, log, ready

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo")
    ready_file, log_path = tmp / "ready.json", tmp / "demo.log"
    with log_path.open("wb") as log:
        argv = [sys.executable, "-m", "app.cli", "demo", "--no-browser"]
        proc = subprocess.Popen(
            [*argv, "--ready-file", str(ready_file)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"demo not ready:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.5)
        yield Demo(proc, log_path, json.loads(ready_file.read_text()))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback only)
        return int(answer.status)


def _listening(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def _catalogue(namespace: str, lang: str) -> dict[str, str]:
    path = ROOT / "assets" / "i18n" / namespace / f"{lang}.json"
    catalogue: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return catalogue


def test_demo_serves_both_apps_on_loopback_with_the_seeded_cases(demo: Demo) -> None:
    ready = demo.ready
    for key in ("field", "coordinator", "server"):
        assert ready[key].startswith("http://127.0.0.1:")
    assert _get(ready["field"]) == 200
    assert _get(ready["coordinator"]) == 200
    assert _get(ready["server"] + "/v1/health") == 200
    assert ready["cases"] == len(INCIDENTS)
    assert Path(ready["data_dir"]).is_dir()
    assert FIELD_PASSPHRASE in demo.output()
    assert COORDINATOR_PASSPHRASE in demo.output()


def test_the_printed_passphrases_unlock_both_apps_in_a_browser(demo: Demo) -> None:
    from tests.support.flet_web import FletPage, chromium_browser

    coordinator, field = _catalogue("coordinator", "ru"), _catalogue("field", "ru")
    with chromium_browser() as browser:
        ui = FletPage.open(browser, demo.ready["coordinator"], viewport=DESKTOP)
        ui.fill(coordinator["unlock.passphrase"], COORDINATOR_PASSPHRASE)
        ui.click(coordinator["unlock.button"])
        ui.wait_text(re.compile("Бишкек"), timeout=60)  # a seeded case, region in Russian
        ui.close()

        ui = FletPage.open(browser, demo.ready["field"])
        ui.fill(field["unlock.passphrase"], FIELD_PASSPHRASE)
        ui.click(field["unlock.button"])
        # sent and forgotten: the phone keeps only a stub of each incident the server acknowledged
        ui.wait_text(field["list.stub_title"], timeout=60)
        ui.close()


def test_ctrl_c_stops_every_process_and_deletes_the_data(demo: Demo) -> None:
    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(timeout=60) == 0
    assert not Path(demo.ready["data_dir"]).exists(), "the demo left its data behind"
    for key in ("field", "coordinator", "server"):
        assert not _listening(demo.ready[key]), f"the {key} still listens after Ctrl-C"
    assert "the demo data directory is deleted" in demo.output()
