"""`fieldvault demo`: a throw-away organisation on this machine, with both apps in the browser.

    fieldvault demo [--no-browser] [--ports SERVER,FIELD,COORDINATOR] [--ready-file FILE]

Offline and local only. It creates a temporary data directory, starts the organisation server on
SQLite on 127.0.0.1, creates an organisation and its coordinator, enrols a field device, records
a handful of invented incidents (Russian, Kyrgyz, Kazakh, English; one with a photo), syncs them,
pulls them into the coordinator's vault, then starts the field app and the coordinator app in web
mode on 127.0.0.1 and prints their addresses and passphrases. Ctrl-C (or SIGTERM) stops every
process it started and deletes the data directory.

`--ready-file FILE` writes `{"server", "field", "coordinator", "data_dir", "cases"}` as JSON
once everything answers (for scripts and tests). Exit status 0 after a clean stop, 1 if a step
failed (the message says which).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import webbrowser
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.demo.orchestra import Orchestra


class _Stop(Exception):
    """Raised in the main thread by SIGINT/SIGTERM."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="start a throw-away server and both apps on localhost"
    )
    parser.add_argument("--no-browser", action="store_true", help="only print the addresses")
    parser.add_argument(
        "--ports",
        default=None,
        metavar="SERVER,FIELD,COORDINATOR",
        help="three loopback ports to use (default: any free ones)",
    )
    parser.add_argument("--ready-file", type=Path, default=None, help="write the URLs here")
    parser.set_defaults(func=_run)


def _ports(text: str | None) -> tuple[int, int, int]:
    from app.demo.orchestra import free_port

    if text is None:
        return free_port(), free_port(), free_port()
    try:
        server, field, coordinator = (int(p) for p in text.split(","))
    except ValueError:
        raise SystemExit("--ports takes three numbers: SERVER,FIELD,COORDINATOR") from None
    return server, field, coordinator


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _run(args: argparse.Namespace) -> int:
    from app.demo.orchestra import DemoError, Orchestra

    server_port, field_port, coordinator_port = _ports(args.ports)
    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    root = Path(tempfile.mkdtemp(prefix="fieldvault-demo-"))
    orchestra = Orchestra(root, log=sys.stderr)
    try:
        return _demo(args, orchestra, server_port, field_port, coordinator_port)
    except _Stop:
        return 0
    except DemoError as exc:
        print(f"fieldvault demo: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        orchestra.stop()
        shutil.rmtree(root, ignore_errors=True)
        if args.ready_file is not None:
            args.ready_file.unlink(missing_ok=True)
        for s, handler in previous.items():
            signal.signal(s, handler)
        print("fieldvault demo: stopped; the demo data directory is deleted.", file=sys.stderr)


def _demo(
    args: argparse.Namespace,
    orchestra: Orchestra,
    server_port: int,
    field_port: int,
    coordinator_port: int,
) -> int:
    from app.demo.orchestra import DemoError
    from app.demo.seed import INCIDENTS, demo_photo

    root = orchestra.root
    print(f"FieldVault demo: building an invented organisation in {root}", file=sys.stderr)
    try:
        orchestra.start_server(server_port)
        orchestra.setup_organisation()
        orchestra.say(f"· recording {len(INCIDENTS)} invented incidents on the field device")
        for incident in INCIDENTS:
            orchestra.record(incident["answers"], photo=demo_photo() if incident["photo"] else None)
        orchestra.sync()
        cases = orchestra.cases()
        field_url = orchestra.start_app("field", field_port)
        coordinator_url = orchestra.start_app("coordinator", coordinator_port)
    except DemoError:
        _show_logs(root)
        raise
    ready: dict[str, Any] = {
        "server": orchestra.server_url,
        "field": field_url,
        "coordinator": coordinator_url,
        "data_dir": str(root),
        "cases": len(cases),
    }
    _announce(ready)
    if args.ready_file is not None:
        tmp = args.ready_file.with_name(args.ready_file.name + ".tmp")
        tmp.write_text(json.dumps(ready), encoding="utf-8")
        tmp.replace(args.ready_file)
    if not args.no_browser:
        _open_browser(coordinator_url, field_url)
    while True:
        for name, proc in orchestra.children:
            if proc.poll() is not None:
                _show_logs(root)
                raise DemoError(f"the {name} stopped unexpectedly (status {proc.returncode})")
        time.sleep(0.5)


def _announce(ready: dict[str, Any]) -> None:
    from app.demo.orchestra import COORDINATOR_PASSPHRASE, FIELD_PASSPHRASE

    print(
        f"""
FieldVault demo is running. Everything in it is invented; Ctrl-C stops it and deletes it.

  Field app (a documenter's phone)   {ready["field"]}
      passphrase: {FIELD_PASSPHRASE}
  Coordinator app (the organisation) {ready["coordinator"]}
      passphrase: {COORDINATOR_PASSPHRASE}
  Server (a blind relay, SQLite)     {ready["server"]}/v1/health

The coordinator already holds {ready["cases"]} cases sent from the field device.

What to try:
  - Coordinator: open the cases (Russian, Kyrgyz, Kazakh, English), filter by region or type of
    violation, check a case's chain of custody, look at the dashboard, switch the language.
  - Field app: the five incidents show only as "sent and deleted from the phone": once the
    server has a report, the phone keeps nothing readable (send and forget, on by default).
  - Field app: record a new incident and sync; then pull in the coordinator app and find it.
  - Coordinator: send a message on a case; read and answer it in the field app after a sync.
  - Coordinator: export anonymised statistics or a PDF report.
  - Field app: hold the red panic button: the device's vault is wiped at once.
  - Both apps start in Russian: switch to English, Kyrgyz or Kazakh in Settings (the
    coordinator app also on its unlock screen).
""",
        flush=True,
    )


def _open_browser(*urls: str) -> None:
    """Open the apps in a graphical browser if there is one; never a terminal browser."""
    graphical = sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if not graphical:
        return
    for url in urls:
        try:
            webbrowser.open(url, new=2)
        except webbrowser.Error:
            return


def _show_logs(root: Path) -> None:
    logs = root / "logs"
    if not logs.is_dir():
        return
    for log in sorted(logs.glob("*.log")):
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
        if tail:
            print(f"--- last lines of {log.stem} ---", file=sys.stderr)
            print("\n".join(tail), file=sys.stderr)
