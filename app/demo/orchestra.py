"""Drive the real `fieldvault` commands to build a small organisation on this machine.

    with Orchestra(root) as o:
        o.start_server(port)               # `fieldvault server init` + `server run` (SQLite)
        o.setup_organisation()             # coordinator init, invite, field init
        o.record(answers, photo=b"...")    # `fieldvault field add`
        o.sync()                           # field sync, then coordinator pull
        o.cases()                          # what the coordinator vault now holds
        o.start_app("field", port)         # `fieldvault field --web ...`
    # leaving the block stops every child and waits for it

Every step is a child process running the same commands a person would type, each with its own
data directory under `root` and `TMPDIR` pointed inside `root`, so deleting `root` removes
everything the demo wrote. Used by `fieldvault demo` and by the forensics tests.

Danger: passphrases go to the children through `FIELDVAULT_PASSPHRASE`, never on a command
line (which other users of the machine can read in the process list).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

FIELD_PASSPHRASE = "demo field passphrase"  # noqa: S105 (printed to the user on purpose)
COORDINATOR_PASSPHRASE = "demo coordinator passphrase"  # noqa: S105
ORG_NAME = "Demo Human Rights Group"
FORM_ID = "default-incident"  # assets/forms/default.json, as the field app saves incidents
FORM_VERSION = 1
STEP_TIMEOUT_S = 180.0
START_TIMEOUT_S = 90.0


class DemoError(Exception):
    """A step of the demo failed; the message says which and why (never a passphrase)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until `url` answers 200, failing early if `proc` exits."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise DemoError(f"{url}: the process exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (loopback URL)
                if answer.status == 200:
                    return
                last = f"status {answer.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        time.sleep(0.3)
    raise DemoError(f"{url} did not come up within {timeout:.0f} s ({last})")


class Orchestra:
    """The children of one demo: short command runs and long-running servers."""

    def __init__(self, root: Path, *, log: Any = None) -> None:
        self.root = root
        self.server_dir = root / "server"
        self.field_dir = root / "field"  # the field app's data directory, which is its vault
        self.coordinator_dir = root / "coordinator"
        self.tmp_dir = root / "tmp"
        self.media_dir = root / "media"
        for d in (self.tmp_dir, self.media_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.server_url = ""
        self.invite = ""
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._log = log
        self._logs: list[Any] = []

    # -- process plumbing -----------------------------------------------------------------

    def env(self, passphrase: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("FIELDVAULT_PASSPHRASE", None)
        env.update(
            TMPDIR=str(self.tmp_dir),
            PYTHONUNBUFFERED="1",
            FLET_WEB_NO_CDN="true",
            FLET_SERVER_IP="127.0.0.1",
            BROWSER="/bin/true",  # the demo opens the browser itself, once
        )
        if passphrase is not None:
            env["FIELDVAULT_PASSPHRASE"] = passphrase
        return env

    def command(
        self,
        args: Sequence[str],
        *,
        passphrase: str | None = None,
        stdin: bytes | None = None,
        what: str,
    ) -> str:
        """Run `fieldvault ARGS` to completion; return its stdout or raise DemoError."""
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "app.cli", *args],
                input=stdin,
                capture_output=True,
                env=self.env(passphrase),
                cwd=self.root,
                timeout=STEP_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DemoError(f"{what}: no answer within {STEP_TIMEOUT_S:.0f} s") from None
        if proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise DemoError(f"{what} failed: {' / '.join(detail) or proc.returncode}")
        return proc.stdout.decode("utf-8", "replace")

    def spawn(self, name: str, args: Sequence[str], *, passphrase: str | None = None) -> None:
        """Start a long-running `fieldvault ARGS`, its output in `root/logs/NAME.log`."""
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True, mode=0o700)
        out = open(logs / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop())
        self._logs.append(out)
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=self.env(passphrase),
            cwd=self.root,
            start_new_session=True,
        )
        self.children.append((name, proc))

    def child(self, name: str) -> subprocess.Popen[bytes]:
        for child_name, proc in self.children:
            if child_name == name:
                return proc
        raise KeyError(name)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every child (SIGTERM, then SIGKILL), newest first, and wait for each."""
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.children.clear()
        for out in self._logs:
            out.close()
        self._logs.clear()

    def __enter__(self) -> Orchestra:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def say(self, text: str) -> None:
        if self._log is not None:
            print(text, file=self._log, flush=True)

    # -- the steps ------------------------------------------------------------------------

    def start_server(self, port: int) -> str:
        self.say("· starting the organisation server (SQLite)")
        out = self.command(["server", "init", "--data", str(self.server_dir)], what="server init")
        token = out.strip().splitlines()[-1].strip()
        self.spawn(
            "server",
            [
                "server",
                "run",
                "--data",
                str(self.server_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
        )
        self.server_url = f"http://127.0.0.1:{port}"
        wait_http(self.server_url + "/v1/health", START_TIMEOUT_S, self.child("server"))
        self._bootstrap_token = token
        return token

    def setup_organisation(self) -> None:
        self.say("· creating the organisation and its first coordinator")
        # `--bootstrap=TOKEN` in one word: a token may start with "-"
        self.command(
            [
                "coordinator", "init", "--data", str(self.coordinator_dir),
                "--server", self.server_url, f"--bootstrap={self._bootstrap_token}",
                "--org", ORG_NAME,
            ],
            passphrase=COORDINATOR_PASSPHRASE,
            what="coordinator init",
        )  # fmt: skip
        out = self.command(
            ["coordinator", "invite", "--data", str(self.coordinator_dir), "--json"],
            passphrase=COORDINATOR_PASSPHRASE,
            what="coordinator invite",
        )
        self.invite = _invite_code(out)
        self.say("· enrolling a field device with the invite")
        self.command(
            ["field", "init", "--data", str(self.field_dir), "--invite", self.invite],
            passphrase=FIELD_PASSPHRASE,
            what="field init",
        )

    def record(
        self,
        answers: Mapping[str, Any],
        *,
        photo: bytes | None = None,
        kind: str = "incident",
        attach: Sequence[Path] = (),
    ) -> None:
        """Save an incident (form answers) or a note (`{"text": ...}`) on the field device."""
        args = ["field", "add", "--data", str(self.field_dir), "--kind", kind]
        files = list(attach)
        if photo is not None:
            path = self.media_dir / f"photo-{len(list(self.media_dir.iterdir()))}.png"
            path.write_bytes(photo)
            files.append(path)
        for path in files:
            args += ["--attach", str(path)]
        data = (
            {"form": FORM_ID, "form_version": FORM_VERSION, "answers": dict(answers)}
            if kind == "incident"
            else answers
        )
        self.command(
            args,
            passphrase=FIELD_PASSPHRASE,
            stdin=json.dumps(data, ensure_ascii=False).encode("utf-8"),
            what=f"field add ({kind})",
        )

    def sync(self) -> None:
        self.say("· syncing the field device, then pulling into the coordinator vault")
        self.command(
            ["field", "sync", "--data", str(self.field_dir)],
            passphrase=FIELD_PASSPHRASE,
            what="field sync",
        )
        self.command(
            ["coordinator", "pull", "--data", str(self.coordinator_dir)],
            passphrase=COORDINATOR_PASSPHRASE,
            what="coordinator pull",
        )

    def cases(self) -> list[dict[str, Any]]:
        out = self.command(
            ["coordinator", "cases", "--data", str(self.coordinator_dir), "--json"],
            passphrase=COORDINATOR_PASSPHRASE,
            what="coordinator cases",
        )
        parsed = json.loads(out)
        if isinstance(parsed, dict):
            parsed = parsed.get("cases", [])
        if not isinstance(parsed, list):
            raise DemoError("coordinator cases: unexpected answer")
        return parsed

    def start_app(self, which: str, port: int) -> str:
        data = self.field_dir if which == "field" else self.coordinator_dir
        self.say(f"· starting the {which} app on 127.0.0.1:{port}")
        self.spawn(which, [which, "--web", "--port", str(port), "--data", str(data)])
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, START_TIMEOUT_S, self.child(which))
        return url


def _invite_code(out: str) -> str:
    text = out.strip()
    with contextlib.suppress(ValueError):
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            for key in ("invite", "code", "text"):
                if isinstance(parsed.get(key), str):
                    return str(parsed[key])
    for line in text.splitlines():
        if line.strip().startswith("FV1-"):
            return line.strip()
    raise DemoError("coordinator invite: no invite code in its answer")
