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

The verbs call the same service as the app's screens, built by `app.field.bootstrap`:
`add` validates an incident against the organisation's form and stores it as the app does.
It reads a JSON object on stdin: for an incident `{"answers": {...}}` (form answers keyed by
field id; `form` and `form_version` may come along and are ignored: the service knows the
form), for a note `{"text": "...", "shared": true}`. Files given with `--attach` are encrypted
into the vault and listed in the form's evidence field. The older input `{"title": ...,
"values": {...}}` is read as answers by `field_types.incident_answers`.

Exit codes: 0 done; 1 usage, vault or form error (`reason` is the service's machine reason);
2 sync failed but will succeed later (offline, timeout, server busy); 3 sync refused for good
(revoked, server key changed, TLS pin mismatch).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Iterator
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


def _fail(args: argparse.Namespace, error: Exception, code: int) -> int:
    reason = getattr(error, "reason", type(error).__name__)
    _emit(args, {"ok": False, "reason": reason, "detail": str(error)}, f"error: {error}")
    return code


def _sync_exit(error: Exception) -> int:
    return 2 if getattr(error, "retryable", False) else 3


def _service(args: argparse.Namespace) -> Any:
    from app.field.bootstrap import make_service

    return make_service(Path(args.data), unlock_floor=0.0)


@contextlib.contextmanager
def _unlocked(args: argparse.Namespace) -> Iterator[Any]:
    """The field service with the vault open, locked again afterwards; or why not, and exit 1."""
    from app.services.field_types import FieldServiceError

    service = _service(args)
    passphrase = _passphrase()
    if not service.has_vault():
        _emit(args, {"ok": False, "reason": "vault_not_found"}, "no vault there")
        raise SystemExit(1)
    try:
        service.unlock(passphrase)
    except FieldServiceError as exc:
        raise SystemExit(_fail(args, exc, 1)) from None
    try:
        yield service
    finally:
        service.lock()  # also fine after a remote wipe (the vault then is already locked)


def _read_object(args: argparse.Namespace) -> dict[str, Any] | None:
    try:
        data = json.loads(sys.stdin.read() or "{}")
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        _emit(args, {"ok": False, "reason": "bad_json"}, "stdin is not a JSON object")
        return None
    return data


# -- verbs ----------------------------------------------------------------------------------


def _run_app(args: argparse.Namespace) -> int:
    from app.field.entry import run

    run(web=args.web, port=args.port, data_dir=args.data)
    return 0


def _init(args: argparse.Namespace) -> int:
    from app.services.field_types import FieldServiceError
    from sync.client import normalise_proxy
    from sync.errors import SyncError

    service = _service(args)
    try:
        service.preview_invite(args.invite)
        if args.proxy:
            normalise_proxy(args.proxy)
    except (FieldServiceError, ValueError) as exc:
        return _fail(args, exc, 1)
    if service.has_vault():
        _emit(args, {"ok": False, "reason": "vault_exists"}, "a vault already exists there")
        return 1
    try:  # the app's floor (an image of the phone is guessed offline); opens to unlock
        service.create(_passphrase(confirm=True), language=args.language, disguise=False)
    except FieldServiceError as exc:
        return _fail(args, exc, 1)
    try:
        if args.proxy:
            service.update_settings(proxy=args.proxy)
        device_id = service.join(args.invite, label=args.label).device_id
        try:
            service.sync_round()
        except SyncError as exc:
            _emit(
                args,
                {"ok": True, "device_id": device_id, "enrolled": False, "reason": exc.reason},
                f"vault created; enrolment will finish at the next sync ({exc.reason})",
            )
            return 0
        _emit(
            args,
            {"ok": True, "device_id": device_id, "enrolled": True},
            f"enrolled as device {device_id}",
        )
        return 0
    finally:
        service.lock()


def _add(args: argparse.Namespace) -> int:
    from app.services.field_types import FieldServiceError, FormInvalid, incident_answers

    data = _read_object(args)
    if data is None:
        return 1
    with _unlocked(args) as service:
        try:
            if args.kind == "note":
                note_id = service.save_note(
                    None, str(data.get("text", "")), shared=bool(data.get("shared", True))
                )
                status = next(n.status for n in service.list_notes() if n.id == note_id)
                _emit(args, {"ok": True, "id": note_id, "status": status}, f"{note_id} {status}")
                return 0
            answers = incident_answers(data)
            _attach(service, answers, args.attach)
            incident_id = service.save_incident(None, answers, submit=True)
        except FormInvalid as exc:
            _emit(
                args,
                {"ok": False, "reason": exc.reason, "errors": exc.errors},
                "the form is not complete: "
                + ", ".join(f"{k} ({v})" for k, v in sorted(exc.errors.items())),
            )
            return 1
        except FieldServiceError as exc:
            return _fail(args, exc, 1)
        status = service.get_incident(incident_id).status
        _emit(args, {"ok": True, "id": incident_id, "status": status}, f"{incident_id} {status}")
        return 0


def _attach(service: Any, answers: dict[str, Any], paths: list[str]) -> None:
    """Encrypt each file into the vault (the file itself stays) and list it in the form's
    evidence field (the first attachments field where the form has none of that name)."""
    if not paths:
        return
    fields = [f.id for f in service.form().fields if f.type == "attachments"]
    field = "evidence" if "evidence" in fields else fields[0]
    refs = list(answers.get(field) or [])
    for path in paths:
        refs.append(service.attach_path(Path(path), remove_source=False).id)
    answers[field] = refs


def _list(args: argparse.Namespace) -> int:
    with _unlocked(args) as service:
        rows = [
            _row(
                i.id,
                "stub" if i.stub else "incident",
                i.status,
                i.status_reason,
                i.title,
                "",
                i.updated_at or i.created_at,
            )
            for i in service.list_incidents()
        ]
        rows += [
            _row(n.id, "note", n.status, n.status_reason, "", n.text, n.updated_at or n.created_at)
            for n in service.list_notes()
        ]
        rows += [
            _row(m.id, "message", "", "", "", m.text, m.created_at) for m in service.messages()
        ]
    rows.sort(key=lambda r: r["updated_at"])
    text = "\n".join(
        f"{r['id']}  {r['kind']:<8} {r['status']:<7} {r['title'] or r['text']}" for r in rows
    )
    _emit(args, {"ok": True, "records": rows}, text or "(nothing yet)")
    return 0


def _row(
    record_id: str, kind: str, status: str, reason: str, title: str, text: str, updated: float
) -> dict[str, Any]:
    return {
        "id": record_id,
        "kind": kind,
        "status": status,
        "reason": reason,
        "title": title,
        "text": text,
        "updated_at": updated,
    }


def _sync(args: argparse.Namespace) -> int:
    from sync.errors import SyncError

    with _unlocked(args) as service:
        try:
            service.sync_round()
        except SyncError as exc:
            return _fail(args, exc, _sync_exit(exc))
        report = service.last_report
    summary = dataclasses.asdict(report)
    _emit(
        args,
        {"ok": True, **summary},
        f"sent {report.envelopes_sent} envelope(s) and {report.blobs_sent} blob(s); "
        f"{report.messages_received} new message(s)" + ("; wiped" if report.wiped else ""),
    )
    return 0


def _wipe(args: argparse.Namespace) -> int:
    from storage.wipe import wipe_directory

    report = wipe_directory(Path(args.data))
    _emit(args, {"ok": True, "failures": getattr(report, "failures", 0)}, "wiped")
    return 0
