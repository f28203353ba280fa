"""`fieldvault field`: the field app, and headless commands for trainers, scripts and tests.

    fieldvault field [--web] [--port N] [--data DIR]        start the app
    fieldvault field init --invite CODE [--label L] [--proxy URL] --data DIR
    fieldvault field add [--kind incident|note] [--attach FILE]... --data DIR   (JSON on stdin)
    fieldvault field list --data DIR
    fieldvault field sync --data DIR
    fieldvault field wipe --data DIR                         (no passphrase needed)

Every verb takes `--json` for machine-readable output. The passphrase comes from the
`FIELDVAULT_PASSPHRASE` environment variable or an interactive prompt, never from an argument
(arguments are visible to every user of the machine in the process list).

`add` reads the record's data as a JSON object on stdin, e.g. `{"title": "...", "form":
"incident", "values": {...}}`; attachments are stored in the vault and sent as blobs.

Exit codes: 0 done; 1 usage or vault error; 2 sync failed but will succeed later (offline,
timeout, server busy); 3 sync refused for good (revoked, server key changed, TLS pin mismatch).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import mimetypes
import os
import sys
from pathlib import Path
from typing import Any

from app.cli_common import PASSPHRASE_ENV, read_secret, verb_adder

DEFAULT_DATA = os.path.join(os.path.expanduser("~"), ".fieldvault", "field")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("field", help="the field app and its headless commands")
    parser.add_argument("--data", default=DEFAULT_DATA, help="data directory")
    parser.add_argument("--web", action="store_true", help="serve the app in a browser")
    parser.add_argument("--port", type=int, default=0, help="port for --web")
    parser.set_defaults(func=_run_app)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    verb = verb_adder(verbs)

    init = verb("init", "create the vault and enrol with an invite code")
    init.add_argument("--invite", required=True, help="invite code (FV1-...)")
    init.add_argument("--label", default=None, help="a name for this device")
    init.add_argument("--proxy", default=None, help="http://host:port or socks5h://host:port")
    init.add_argument(
        "--language",
        choices=("en", "ru", "ky", "kk"),
        default="ru",
        help="the lock screen's language (a vault made here has no calculator disguise)",
    )
    init.set_defaults(func=_init)

    add = verb("add", "add an incident or note (data as JSON on stdin)")
    add.add_argument("--kind", choices=("incident", "note"), default="incident")
    add.add_argument("--attach", action="append", default=[], metavar="FILE")
    add.set_defaults(func=_add)

    verb("list", "list records and their sync status").set_defaults(func=_list)
    verb("sync", "sync once now").set_defaults(func=_sync)
    verb("wipe", "destroy the vault at once").set_defaults(func=_wipe)


# -- helpers ----------------------------------------------------------------------------------


def _passphrase(*, confirm: bool = False) -> str:
    return read_secret(PASSPHRASE_ENV, "Passphrase", confirm=confirm)


def _emit(args: argparse.Namespace, obj: dict[str, Any], text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(obj, sort_keys=True))
    else:
        print(text)


def _open(args: argparse.Namespace) -> Any:
    """Open the vault, or print why not (wrong passphrase, in use, missing) and exit 1."""
    from storage import Vault
    from storage.errors import VaultError

    try:
        return Vault.open(Path(args.data), _passphrase())
    except VaultError as exc:
        _emit(args, {"ok": False, "reason": type(exc).__name__, "detail": str(exc)}, str(exc))
        raise SystemExit(1) from None


def _fail(args: argparse.Namespace, error: Exception, code: int) -> int:
    reason = getattr(error, "reason", type(error).__name__)
    _emit(args, {"ok": False, "reason": reason, "detail": str(error)}, f"error: {error}")
    return code


def _sync_exit(error: Exception) -> int:
    return 2 if getattr(error, "retryable", False) else 3


# -- verbs ----------------------------------------------------------------------------------


def _run_app(args: argparse.Namespace) -> int:
    from app.field.entry import run

    run(web=args.web, port=args.port, data_dir=args.data)
    return 0


def _init(args: argparse.Namespace) -> int:
    from storage import Vault
    from sync.client import normalise_proxy
    from sync.device import identity_from_invite
    from sync.engine import SyncEngine
    from sync.errors import SyncError
    from sync.invite import Invite, InviteError

    try:
        invite = Invite.parse(args.invite)
        if args.proxy:
            normalise_proxy(args.proxy)
    except (InviteError, ValueError) as exc:
        return _fail(args, exc, 1)
    if Vault.exists(Path(args.data)):
        _emit(args, {"ok": False, "reason": "vault_exists"}, "a vault already exists there")
        return 1
    from app.services.field_types import PassphraseRefused, check_new_passphrase

    passphrase = _passphrase(confirm=True)
    try:  # the same floor as the app's setup: an image of the phone is guessed offline
        check_new_passphrase(passphrase, None, disguise=False)
    except PassphraseRefused as exc:
        return _fail(args, exc, 1)
    vault = Vault.create(Path(args.data), passphrase)
    from storage.launch import write_launch

    write_launch(args.data, language=args.language, disguise=False)  # the app opens to unlock
    try:
        identity = identity_from_invite(
            vault,
            invite,
            proxy=args.proxy,
            label=args.label,
        )
        try:
            SyncEngine(vault).run_once()
        except SyncError as exc:
            detail = {"ok": True, "device_id": identity.device_id, "enrolled": False}
            _emit(
                args,
                {**detail, "reason": exc.reason},
                f"vault created; enrolment will finish at the next sync ({exc.reason})",
            )
            return 0
        _emit(
            args,
            {"ok": True, "device_id": identity.device_id, "enrolled": True},
            f"enrolled as device {identity.device_id}",
        )
        return 0
    finally:
        vault.lock()


def _add(args: argparse.Namespace) -> int:
    from core.records import Kind, Record
    from sync.outbox import queue_record

    try:
        data = json.loads(sys.stdin.read() or "{}")
    except json.JSONDecodeError:
        _emit(args, {"ok": False, "reason": "bad_json"}, "stdin is not a JSON object")
        return 1
    if not isinstance(data, dict):
        _emit(args, {"ok": False, "reason": "bad_json"}, "stdin is not a JSON object")
        return 1
    vault = _open(args)
    try:
        attachments = list(data.get("attachments") or [])
        for path in args.attach:
            media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
            with open(path, "rb") as source:
                stored = vault.attach(source, media_type=media_type, name=Path(path).name)
            attachments.append(
                {"id": stored.id, "media_type": stored.media_type, "name": stored.name}
            )
        if attachments:
            data["attachments"] = attachments
        kind = Kind.INCIDENT if args.kind == "incident" else Kind.NOTE
        saved = queue_record(vault, Record(kind=kind, data=data))
        _emit(
            args,
            {"ok": True, "id": saved.id, "status": str(saved.status)},
            f"{saved.id} {saved.status}",
        )
        return 0
    finally:
        vault.lock()


def _list(args: argparse.Namespace) -> int:
    from core.records import Kind

    vault = _open(args)
    try:
        rows = []
        for kind in (Kind.INCIDENT, Kind.NOTE, Kind.STUB, Kind.MESSAGE):
            for record in vault.list(kind=kind):
                rows.append(
                    {
                        "id": record.id,
                        "kind": str(record.kind),
                        "status": str(record.status),
                        "reason": record.status_reason,
                        "title": str(record.data.get("title", "")),
                        "text": str(record.data.get("text", "")),
                        "updated_at": record.updated_at or record.created_at,
                    }
                )
        rows.sort(key=lambda r: r["updated_at"])
        text = "\n".join(
            f"{r['id']}  {r['kind']:<8} {r['status']:<7} {r['title'] or r['text']}" for r in rows
        )
        _emit(args, {"ok": True, "records": rows}, text or "(nothing yet)")
        return 0
    finally:
        vault.lock()


def _sync(args: argparse.Namespace) -> int:
    from sync.engine import SyncEngine
    from sync.errors import SyncError

    vault = _open(args)
    try:
        try:
            report = SyncEngine(vault).run_once()
        except SyncError as exc:
            return _fail(args, exc, _sync_exit(exc))
        summary = dataclasses.asdict(report)
        _emit(
            args,
            {"ok": True, **summary},
            f"sent {report.envelopes_sent} envelope(s) and {report.blobs_sent} blob(s); "
            f"{report.messages_received} new message(s)" + ("; wiped" if report.wiped else ""),
        )
        return 0
    finally:
        vault.lock()  # also fine after a remote wipe (the vault then is already locked)


def _wipe(args: argparse.Namespace) -> int:
    from storage.wipe import wipe_directory

    report = wipe_directory(Path(args.data))
    _emit(args, {"ok": True, "failures": getattr(report, "failures", 0)}, "wiped")
    return 0
