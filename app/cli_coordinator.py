"""`fieldvault coordinator`: the coordinator app, and headless commands for scripts and lawyers.

    fieldvault coordinator [--web] [--port N] [--data DIR]     start the app (127.0.0.1 only)
    fieldvault coordinator init --server URL --bootstrap TOKEN [--org NAME] [--name NAME]
                                [--tls-pin HEX] [--post-quantum]
    fieldvault coordinator join --server URL --backup FILE [--name NAME] [--tls-pin HEX]
                                [--post-quantum]                        (prints a join code)
    fieldvault coordinator add-coordinator CODE            (a listed coordinator adds the joiner)
    fieldvault coordinator backup-root -o FILE
    fieldvault coordinator forget-policy --sent-notes on|off --read-messages on|off
    fieldvault coordinator post-quantum prepare | post-quantum switch [CODE ...]
    fieldvault coordinator invite [--expires-in S] [--label L] [--qr FILE]
    fieldvault coordinator invites | cancel-invite ID
    fieldvault coordinator devices | verify ID FINGERPRINT | revoke ID | wipe ID | pull
    fieldvault coordinator cases [--text T] [--from D] [--to D] [--region R] [--violation V]
                                 [--perpetrator P] [--status S] [--assignee K] [--device K]
                                 [--sort KEY] [--asc]
    fieldvault coordinator export --format csv|stats|pdf|bundle|uwazi [--identifying]
                                 [--lang L] [--passphrase-protect | --no-encrypt] [-o FILE]
                                 [--comments]  (pdf: with internal comments; off by default)
                                 [filters]     (uwazi: a ZIP for Uwazi's CSV import, docs/uwazi.md)
    fieldvault coordinator identity export -o FILE [--plain]    (your age identity, for `age -d -i`)
    fieldvault coordinator forms import-xlsform FILE.xlsx [-o FORM.json]  (ODK/Kobo form, no vault)
    fieldvault coordinator tsa add URL [--ca FILE] [--org] | tsa list | tsa remove URL [--org]
    fieldvault coordinator timestamp              (RFC 3161 tokens for envelopes not yet stamped;
                                                   every pull also asks for them)
    fieldvault coordinator verify-bundle FILE [-i IDENTITY_FILE] (no vault needed)
    fieldvault coordinator links | link | unlink | merge | unmerge | entity | perpetrators
    fieldvault coordinator victim-key | tag | untag | tags | wipe-tag   (see app/cli_links.py)

Every verb takes `--data DIR` and `--json`. Passphrases come from environment variables or an
interactive prompt, never from arguments (the process list shows arguments to every user):
`FIELDVAULT_PASSPHRASE` (the workspace), `FIELDVAULT_BACKUP_PASSPHRASE` (root key backup),
`FIELDVAULT_EXPORT_PASSPHRASE` (`--passphrase-protect`, and opening such a bundle),
`FIELDVAULT_IDENTITY_PASSPHRASE` (the exported identity file).

`--tls-pin HEX` (init, join) is for a server behind a self-signed certificate: the SHA-256 of
its DER certificate, 64 hex digits (`AB:CD:…` accepted). It is kept with the coordinator's keys,
checked on every connection, and carried by every invite the coordinator creates.

`--post-quantum` (init) makes the organisation's age keys hybrid post-quantum
(mlkem768x25519, age 1.3): every device seals its reports to post-quantum recipients (phones
do it in pure Python on cryptography 43.0.1; see docs/formats/age.md). A classic organisation
switches later in two steps: every coordinator runs `post-quantum prepare` (new hybrid keys;
the classic ones are kept to open older reports) and gives the printed `FVK1-` code to the root
holder, who runs `post-quantum switch CODE ...` (see docs/formats/age.md). Coordinators joining
a post-quantum organisation run `join --post-quantum` (stock `age` before 1.3 cannot open their
exports).

Exports that hold identifying data (CSV or Uwazi with `--identifying`, PDF, bundle) are
age-encrypted to the coordinators' recipients unless `--passphrase-protect` or `--no-encrypt` is
given. The Uwazi export leaves out every case whose victim did not allow sharing and public use,
and says how many.

Exit codes: 0 done; 1 usage, vault or refused operation; 2 network problem that may pass
(offline, timeout, server busy); 3 refused for good; 4 `verify-bundle` found the bundle invalid.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli_common import PASSPHRASE_ENV, read_secret, verb_adder

BACKUP_PASSPHRASE_ENV = "FIELDVAULT_BACKUP_PASSPHRASE"  # noqa: S105 - variable names, not secrets
EXPORT_PASSPHRASE_ENV = "FIELDVAULT_EXPORT_PASSPHRASE"  # noqa: S105
IDENTITY_PASSPHRASE_ENV = "FIELDVAULT_IDENTITY_PASSPHRASE"  # noqa: S105
DEFAULT_DATA = os.path.join(os.path.expanduser("~"), ".fieldvault", "coordinator")
DEFAULT_PORT = 8551


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("coordinator", help="the coordinator app and its commands")
    parser.add_argument("--data", default=DEFAULT_DATA, help="data directory")
    parser.add_argument("--web", action="store_true", help="serve the app on 127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port for the app")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=_run_app)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    verb = verb_adder(verbs)

    _register_organisation(verb)
    _register_devices(verb)
    _register_cases(verb)
    _register_evidence(verb)
    from app import cli_links

    cli_links.register(verb)

    from app import cli_referrals

    cli_referrals.register(verb)


def _register_organisation(verb: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """init, join, add-coordinator, forget-policy, post-quantum, backup-root."""
    init = verb("init", "create the organisation on a fresh server")
    init.add_argument("--server", required=True, help="server URL")
    init.add_argument("--bootstrap", required=True, help="bootstrap token from `server init`")
    init.add_argument("--org", default="FieldVault", help="organisation name")
    _setup_args(init, "hybrid post-quantum (mlkem768x25519) keys for the organisation")
    init.set_defaults(func=_init)

    join = verb("join", "join as a second coordinator with a root key backup")
    join.add_argument("--server", required=True, help="server URL")
    join.add_argument("--backup", required=True, type=Path, help="root key backup file")
    _setup_args(join, "hybrid post-quantum keys: needed to join a post-quantum organisation")
    join.set_defaults(func=_join)

    add = verb("add-coordinator", "sign a joining coordinator into the org document")
    add.add_argument("code", help="the join code (FVC1-…) printed by `join`")
    add.set_defaults(func=_add_coordinator)

    policy = verb(
        "forget-policy",
        "ask every phone to forget shared notes once sent and messages once read",
    )
    policy.add_argument("--sent-notes", choices=("on", "off"), required=True)
    policy.add_argument("--read-messages", choices=("on", "off"), required=True)
    policy.set_defaults(func=_forget_policy)

    pq = verb("post-quantum", "switch a classic organisation to post-quantum keys")
    pq_verbs = verb_adder(pq.add_subparsers(dest="pq_verb", metavar="ACTION", required=True))
    pq_verbs("prepare", "make your post-quantum keys; prints the code for the root holder")
    pq_switch = pq_verbs("switch", "publish the switch (root key; a code from every coordinator)")
    pq_switch.add_argument("codes", nargs="*", metavar="CODE")
    pq.set_defaults(func=_post_quantum)

    backup = verb("backup-root", "write the root key backup (passphrase-encrypted)")
    backup.add_argument("-o", "--output", required=True, type=Path)
    backup.set_defaults(func=_backup)


def _register_devices(verb: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """invites, devices, the roster, pull and alerts."""
    invite = verb("invite", "create an invite code for a new device")
    invite.add_argument("--expires-in", type=int, default=7 * 86400, help="seconds")
    invite.add_argument("--label", default="", help="a label for the device")
    invite.add_argument("--qr", type=Path, default=None, help="also write the QR code (PNG)")
    invite.set_defaults(func=_invite)
    verb("invites", "list invites no phone has used yet").set_defaults(func=_invites)
    cancel = verb("cancel-invite", "cancel an unused invite: no phone is admitted with it")
    cancel.add_argument("invite_id")
    cancel.set_defaults(func=_cancel_invite)

    verb("devices", "list enrolled devices").set_defaults(func=_devices)
    verify = verb(
        "verify",
        "admit a device to the roster by hand: give the fingerprint the phone shows in its"
        " settings (`devices` lists the one its keys on the server give)",
    )
    verify.add_argument("device_id")
    verify.add_argument("fingerprint", help="32 hex digits, spaces allowed")
    verify.set_defaults(func=_verify)
    for name, help_text, func in (
        ("revoke", "revoke a device (its pushes are refused from now on)", _revoke),
        ("wipe", "order a device to wipe itself at its next sync", _wipe),
    ):
        sub = verb(name, help_text)
        sub.add_argument("device_id")
        sub.set_defaults(func=func)
    verb("pull", "fetch, verify and decrypt new envelopes").set_defaults(func=_pull)

    alarms = verb(
        "alerts", "alarms and missed check-ins, with the emergency plan (exit 4 while any is open)"
    )
    alarms.add_argument("--no-pull", action="store_true", help="read what is held, offline")
    alarms.add_argument("--all", action="store_true", help="handled alarms too")
    alarms.add_argument("--handle", metavar="ID", help="mark an alarm handled (id or prefix)")
    alarms.set_defaults(func=_alerts)


def _register_cases(verb: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """cases, export, forms."""
    cases = verb("cases", "list cases (with filters)")
    _filter_args(cases)
    cases.set_defaults(func=_cases)

    export = verb("export", "export the filtered cases")
    export.add_argument(
        "--format", required=True, choices=("csv", "stats", "pdf", "bundle", "uwazi")
    )
    export.add_argument("--identifying", action="store_true", help="include identifying fields")
    export.add_argument("--lang", default="en", choices=("en", "ru", "ky", "kk"))
    export.add_argument(
        "--comments", action="store_true", help="pdf: include the internal comments"
    )
    protect = export.add_mutually_exclusive_group()
    protect.add_argument("--passphrase-protect", action="store_true")
    protect.add_argument("--no-encrypt", action="store_true", help="write identifying data clear")
    export.add_argument("-o", "--output", type=Path, default=None)
    _filter_args(export)
    export.set_defaults(func=_export)

    forms = verb("forms", "form definitions")
    forms_verbs = verb_adder(
        forms.add_subparsers(dest="forms_verb", metavar="ACTION", required=True)
    )
    xlsform = forms_verbs(
        "import-xlsform",
        "turn an ODK/Kobo XLSForm into a FieldVault form (JSON) and report what did not carry"
        " over; publish the JSON in the app's Forms screen",
    )
    xlsform.add_argument("file", type=Path)
    xlsform.add_argument(
        "-o", "--output", type=Path, default=None, help="the form JSON (default: FILE.json)"
    )
    xlsform.set_defaults(func=_import_xlsform)


def _register_evidence(verb: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """identity, timestamping authorities, timestamp, verify-bundle."""
    identity = verb("identity", "your age identity, for opening exports with stock `age`")
    identity_verbs = identity.add_subparsers(dest="identity_verb", metavar="ACTION", required=True)
    identity_export = verb_adder(identity_verbs)(
        "export", "write your age identity file (passphrase-protected unless --plain)"
    )
    identity_export.add_argument("-o", "--output", required=True, type=Path)
    identity_export.add_argument(
        "--plain", action="store_true", help="write the secret key in clear (warns)"
    )
    identity_export.set_defaults(func=_identity_export)

    tsa = verb("tsa", "the timestamping authorities (RFC 3161) to ask")
    tsa_verbs = verb_adder(tsa.add_subparsers(dest="tsa_verb", metavar="ACTION", required=True))
    tsa_add = tsa_verbs("add", "add an authority (its URL, and its CA certificate to check)")
    tsa_add.add_argument("url")
    tsa_add.add_argument("--ca", type=Path, default=None, help="the authority's CA (PEM)")
    tsa_add.add_argument("--org", action="store_true", help=ORG_TSA_HELP)
    tsa_add.set_defaults(func=_tsa_add)
    tsa_verbs("list", "list the authorities").set_defaults(func=_tsa_list)
    tsa_remove = tsa_verbs("remove", "stop asking an authority (its tokens are kept)")
    tsa_remove.add_argument("url")
    tsa_remove.add_argument("--org", action="store_true", help=ORG_TSA_HELP)
    tsa_remove.set_defaults(func=_tsa_remove)
    verb("timestamp", "get RFC 3161 timestamps for every envelope not yet stamped").set_defaults(
        func=_timestamp
    )

    check = verb("verify-bundle", "verify an evidence bundle (clear or age-encrypted)")
    check.add_argument("file", type=Path)
    check.add_argument(
        "-i",
        "--identity",
        type=Path,
        default=None,
        help="age identity file (plain or protected) for a bundle encrypted to coordinators",
    )
    check.add_argument(
        "--tsa-ca",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="CA certificate (PEM) of a timestamping authority you trust (repeatable)",
    )
    check.set_defaults(func=_verify_bundle)


def _setup_args(parser: argparse.ArgumentParser, post_quantum_help: str) -> None:
    """--name, --tls-pin and --post-quantum: what `init` and `join` both take."""
    parser.add_argument("--name", default="", help="your name, shown to other coordinators")
    parser.add_argument(
        "--tls-pin",
        default="",
        metavar="HEX",
        help="SHA-256 of the server's DER certificate (self-signed servers)",
    )
    parser.add_argument("--post-quantum", action="store_true", help=post_quantum_help)


def _filter_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", default="", help="full-text search")
    parser.add_argument("--from", dest="date_from", default="", help="YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", default="", help="YYYY-MM-DD")
    for name in ("region", "violation", "perpetrator", "status", "assignee", "device"):
        parser.add_argument(f"--{name}", default="")
    parser.add_argument("--sort", default="received")
    parser.add_argument("--asc", action="store_true", help="oldest first")


# -- helpers ----------------------------------------------------------------------------------


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    print(json.dumps(payload, ensure_ascii=False, indent=1) if args.json else text)


def _fail(args: argparse.Namespace, error: BaseException) -> int:
    from app.errors_text import error_key
    from sync.errors import SyncError

    reason = getattr(error, "reason", "") or error_key(error)
    _emit(args, {"ok": False, "reason": reason}, f"error: {reason}")
    if isinstance(error, SyncError):
        return 2 if error.retryable else 3
    return 1


def _service(args: argparse.Namespace, *, unlock: bool = True) -> Any:
    from app.coordinator.bootstrap import make_service

    service = make_service(args.data)
    if unlock:
        if not service.is_set_up():
            raise SystemExit("no coordinator workspace here; run `coordinator init` or `join`")
        service.unlock(read_secret(PASSPHRASE_ENV, "Passphrase"))
    return service


def _guarded(func: Any) -> Any:
    def wrapper(args: argparse.Namespace) -> int:
        from app.services.coordinator_types import CoordinatorError
        from storage import VaultError
        from sync.errors import SyncError

        service = None
        try:
            service = _service(args, unlock=func.__name__ not in ("_init", "_join"))
            result: int = func(args, service)
            return result
        except (CoordinatorError, SyncError, VaultError, OSError, ValueError) as exc:
            return _fail(args, exc)
        finally:
            if service is not None:
                service.lock()

    wrapper.__name__ = func.__name__
    return wrapper


def _filter(args: argparse.Namespace) -> Any:
    from app.casebook.cases import CaseFilter

    return CaseFilter(
        text=args.text,
        date_from=args.date_from,
        date_to=args.date_to,
        region=args.region,
        violation_type=args.violation,
        perpetrator_type=args.perpetrator,
        status=args.status,
        assignee=args.assignee,
        device=args.device,
        sort=args.sort,
        descending=not args.asc,
    )


# -- verbs ------------------------------------------------------------------------------------


def _run_app(args: argparse.Namespace) -> int:
    from app.coordinator.entry import run

    run(Path(args.data), web=args.web, port=args.port)
    return 0


def _setup_answers(args: argparse.Namespace) -> dict[str, Any]:
    """What `init` and `join` both hand the service (see `_setup_args`); asks for the new
    workspace's passphrase first."""
    return {
        "passphrase": read_secret(PASSPHRASE_ENV, "Passphrase", confirm=True),
        "server_url": args.server,
        "coordinator_name": args.name,
        "tls_pin": args.tls_pin,
        "post_quantum": args.post_quantum,
    }


@_guarded
def _init(args: argparse.Namespace, service: Any) -> int:
    info = service.setup_new(
        **_setup_answers(args), bootstrap_token=args.bootstrap, org_name=args.org
    )
    kind = "post-quantum (devices seal to mlkem768x25519)" if info.post_quantum else "classic"
    _emit(
        args,
        {"ok": True, **dataclasses.asdict(info)},
        f"organisation {info.org!r} created, {kind}; root fingerprint {info.root_fingerprint}",
    )
    return 0


@_guarded
def _join(args: argparse.Namespace, service: Any) -> int:
    info = service.setup_join(
        **_setup_answers(args),
        backup=args.backup.read_bytes(),
        backup_passphrase=read_secret(BACKUP_PASSPHRASE_ENV, "Backup passphrase"),
    )
    code = service.join_request()
    _emit(
        args,
        {"ok": True, "join_code": code, **dataclasses.asdict(info)},
        "root key imported. Give this join code to a coordinator already in the organisation\n"
        f"(`fieldvault coordinator add-coordinator CODE`), then run `pull`:\n{code}",
    )
    return 0


@_guarded
def _add_coordinator(args: argparse.Namespace, service: Any) -> int:
    version = service.add_coordinator(args.code)
    _emit(args, {"ok": True, "org_version": version}, f"org document version {version} published")
    return 0


@_guarded
def _backup(args: argparse.Namespace, service: Any) -> int:
    data = service.backup_root(
        read_secret(BACKUP_PASSPHRASE_ENV, "Backup passphrase", confirm=True)
    )
    args.output.write_bytes(data)
    _emit(args, {"ok": True, "file": str(args.output)}, f"root key backup written to {args.output}")
    return 0


@_guarded
def _invite(args: argparse.Namespace, service: Any) -> int:
    invite = service.create_invite(args.expires_in, args.label)
    if args.qr is not None:
        args.qr.write_bytes(invite.qr_png)
    answer = {
        "ok": True,
        "code": invite.code,
        "short_code": invite.short_code,
        "server": invite.server,
        "expires_at": invite.expires_at,
    }
    text = invite.code
    if invite.short_code:
        text += f"\nshort code: {invite.short_code}  server: {invite.server}"
    _emit(args, answer, text)
    return 0


@_guarded
def _devices(args: argparse.Namespace, service: Any) -> int:
    devices = service.devices()
    lines = [
        f"{d.id}  {d.label or '-':16} last seen {d.last_seen}  envelopes {d.envelopes}  "
        f"chain {d.chain}{'  REVOKED' if d.revoked else ''}  wipe {d.wipe}  {d.roster.upper()}"
        f"  fingerprint {d.fingerprint}"
        for d in devices
    ]
    _emit(args, {"devices": [dataclasses.asdict(d) for d in devices]}, "\n".join(lines))
    return 0


def _acting(
    name: str, act: Callable[[Any, argparse.Namespace], object], done: str
) -> Callable[[argparse.Namespace], int]:
    """A verb that makes one service call and says it is done (`done` names the arguments)."""

    def run(args: argparse.Namespace, service: Any) -> int:
        act(service, args)
        _emit(args, {"ok": True}, done.format(**vars(args)))
        return 0

    run.__name__ = name
    guarded: Callable[[argparse.Namespace], int] = _guarded(run)
    return guarded


_cancel_invite = _acting(
    "_cancel_invite", lambda s, a: s.cancel_invite(a.invite_id), "invite {invite_id} cancelled"
)
_verify = _acting(
    "_verify",
    lambda s, a: s.confirm_device(a.device_id, a.fingerprint),
    "device {device_id} verified and added to the roster",
)
_revoke = _acting("_revoke", lambda s, a: s.revoke(a.device_id), "device {device_id} revoked")
_wipe = _acting("_wipe", lambda s, a: s.wipe(a.device_id), "wipe ordered for device {device_id}")


@_guarded
def _invites(args: argparse.Namespace, service: Any) -> int:
    invites = service.open_invites()
    lines = [f"{i.id}  {i.label or '-':20} expires {i.expires_at}" for i in invites]
    _emit(args, {"invites": [dataclasses.asdict(i) for i in invites]}, "\n".join(lines))
    return 0


@_guarded
def _forget_policy(args: argparse.Namespace, service: Any) -> int:
    version = service.publish_forget_policy(
        sent_notes=args.sent_notes == "on", read_messages=args.read_messages == "on"
    )
    _emit(args, {"ok": True, "version": version}, f"org document version {version} published")
    return 0


@_guarded
def _post_quantum(args: argparse.Namespace, service: Any) -> int:
    if args.pq_verb == "prepare":
        code = service.prepare_post_quantum()
        _emit(
            args,
            {"ok": True, "code": code},
            "your post-quantum keys are ready; give this code to the root holder:\n" + code,
        )
        return 0
    version = service.switch_to_post_quantum(args.codes)
    _emit(
        args,
        {"ok": True, "version": version},
        f"org document version {version} published: devices seal post-quantum from their next sync",
    )
    return 0


@_guarded
def _pull(args: argparse.Namespace, service: Any) -> int:
    summary = service.pull()
    _emit(
        args,
        {"ok": True, **dataclasses.asdict(summary)},
        f"{summary.envelopes} envelopes fetched, {summary.stored} stored, "
        f"{summary.cases} cases updated"
        + (f"; {summary.stamped} timestamps received" if summary.stamped else "")
        + (f", {summary.unstamped} envelopes still waiting for one" if summary.unstamped else "")
        + (
            f"; {summary.held} kept aside from {summary.unverified} unverified devices"
            " (compare fingerprints, then `verify ID`)"
            if summary.held
            else ""
        )
        + (f"; problems: {', '.join(summary.problems)}" if summary.problems else ""),
    )
    return 0


@_guarded
def _alerts(args: argparse.Namespace, service: Any) -> int:
    import datetime

    from app.coordinator.bootstrap import alerts_for

    alerts = alerts_for(service)
    if not args.no_pull:
        alerts.refresh()
    if args.handle:
        matches = [a.id for a in alerts.active() if a.id.startswith(args.handle)]
        if len(matches) != 1:
            return _fail(args, ValueError("no_such_alert" if not matches else "ambiguous_alert"))
        alerts.handle(matches[0])
    shown = alerts.raised() if args.all else alerts.active()
    names = service.names()

    def when(ts: int) -> str:
        return datetime.datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M %Z")

    lines = []
    for a in shown:
        who = names.get(a.device) or a.device[:8]
        what = (
            f"did not check in by {when(a.deadline)}"
            if a.reason == "checkin_missed"
            else f"ALARM at {when(a.at)}"
        )
        extra = [f'"{a.message.replace("_", " ")}"'] if a.message else []
        if a.location:
            extra.append(f"location {a.location['lat']},{a.location['lon']}")
        if a.wiped:
            extra.append("phone wiped its data")
        if a.seen_late:
            extra.append(
                f"a check-in signed at {when(a.late_checkin)} reached you only after the"
                " deadline: confirm with them directly"
            )
        elif a.late_checkin:
            extra.append(f"checked in late at {when(a.late_checkin)}")
        if a.handled_at:
            extra.append(f"handled at {when(a.handled_at)}")
        lines.append(f"{a.id[:8]}  {who}: {what}" + (f" ({'; '.join(extra)})" if extra else ""))
    plan = alerts.plan()
    text = "\n".join(lines) if lines else "no open alarms"
    if shown and any(a.active for a in shown):
        text += "\n\nWhat to do now (the organisation's emergency plan):\n" + (
            plan or "(no plan published: `fieldvault coordinator` app, Alarms)"
        )
    _emit(
        args,
        {
            "ok": True,
            "alerts": [
                dataclasses.asdict(a) | {"device_name": names.get(a.device, "")} for a in shown
            ],
            "emergency_plan": plan,
        },
        text,
    )
    return 4 if alerts.active() else 0


@_guarded
def _cases(args: argparse.Namespace, service: Any) -> int:
    found = service.cases(_filter(args))
    rows = [
        {
            "id": s.id,
            "date": s.day,
            "region": s.region,
            "violation_types": list(s.violation_types),
            "perpetrator_types": list(s.perpetrator_types),
            "status": s.status,
            "assignee": s.assignee,
            "device": s.device,
            "custody_ok": s.custody_ok,
            "attachments": s.attachments,
        }
        for s in found
    ]
    lines = [
        f"{r['id']}  {r['date'] or '-':10}  {r['status']:9}  {r['region'] or '-':14}  "
        f"{','.join(r['violation_types']) or '-'}  {'ok' if r['custody_ok'] else 'CUSTODY?'}"
        for r in rows
    ]
    _emit(args, {"cases": rows}, "\n".join(lines) or "no cases")
    return 0


@_guarded
def _export(args: argparse.Namespace, service: Any) -> int:
    protection = "recipients"
    passphrase = ""
    if args.no_encrypt:
        protection = "none"
    elif args.passphrase_protect:
        protection = "passphrase"
        passphrase = read_secret(EXPORT_PASSPHRASE_ENV, "Export passphrase", confirm=True)
    result = service.export(
        args.format,
        _filter(args),
        identifying=args.identifying,
        lang=args.lang,
        protection=protection,
        passphrase=passphrase,
        comments=args.comments,
    )
    output: Path = args.output or Path(result.filename)
    if result.protected and not output.name.endswith(".age"):
        output = output.with_name(output.name + ".age")
    output.write_bytes(result.data)
    if result.identifying and not result.protected:
        print("warning: this file identifies victims and is NOT encrypted", file=sys.stderr)
    payload = {
        "ok": True,
        "file": str(output),
        "protected": result.protected,
        "bytes": len(result.data),
    }
    text = f"wrote {output} ({len(result.data)} bytes{', encrypted' if result.protected else ''})"
    if args.format == "uwazi":
        from app.exports.uwazi import withheld

        left_out = len(withheld(service.index(), service.cases(_filter(args))))
        payload["withheld"] = left_out
        text += (
            f"\n{left_out} cases left out: the victim did not allow sharing and public use"
            if left_out
            else ""
        )
    elif result.left_out:  # consent kept these cases out (`app.exports.consent`)
        payload["left_out"] = list(result.left_out)
        text += f"\n{len(result.left_out)} cases left out for want of consent"
    _emit(args, payload, text)
    return 0


def _import_xlsform(args: argparse.Namespace) -> int:
    from core.xlsform import XLSFormError, import_xlsform

    output: Path = args.output or args.file.with_suffix(".json")
    try:
        result = import_xlsform(args.file.read_bytes())
    except OSError as exc:
        _emit(args, {"ok": False, "reason": "unreadable"}, f"cannot read {args.file}: {exc}")
        return 1
    except XLSFormError as exc:
        _emit(args, {"ok": False, "reason": exc.reason}, f"error: {exc.reason}")
        return 1
    output.write_text(json.dumps(result.form, ensure_ascii=False, indent=1) + "\n", "utf-8")
    fields = sum(len(s["fields"]) for s in result.form["sections"])
    _emit(
        args,
        {
            "ok": True,
            "file": str(output),
            "form_id": result.form["id"],
            "fields": fields,
            "notes": [{"where": n.where, "what": n.what} for n in result.notes],
        },
        f"wrote {output}: form {result.form['id']!r}, {fields} questions"
        + ("\nwhat did not carry over as it was:\n" + result.report() if result.notes else "")
        + "\nreview it, then publish it in the app (Forms > Import JSON) or keep it for later",
    )
    return 0


PLAIN_IDENTITY_WARNING = (
    "warning: this file holds your secret key in clear; anyone who copies it can read every "
    "report and export encrypted to you. Keep it off shared folders and delete it when done."
)


@_guarded
def _identity_export(args: argparse.Namespace, service: Any) -> int:
    if args.plain:
        data = service.export_identity(plain=True)
    else:
        passphrase = read_secret(IDENTITY_PASSPHRASE_ENV, "Identity file passphrase", confirm=True)
        data = service.export_identity(passphrase)
    try:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _emit(args, {"ok": False, "reason": "file_exists"}, f"error: {args.output} exists already")
        return 1
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    if args.plain:
        print(PLAIN_IDENTITY_WARNING, file=sys.stderr)
    how = "in clear" if args.plain else "passphrase-protected"
    _emit(
        args,
        {"ok": True, "file": str(args.output), "protected": not args.plain},
        f"identity written to {args.output} ({how}); open an export with\n"
        f"  age -d -i {args.output} -o FILE FILE.age",
    )
    return 0


ORG_TSA_HELP = "the organisation's list in the org document (needs the root key)"


def _authority_rows(service: Any) -> list[dict[str, Any]]:
    org = [
        {"url": a.url, "ca": bool(a.ca_pem), "org": True}
        for a in service.org_timestamp_authorities()
    ]
    own = [
        {"url": a.url, "ca": bool(a.ca_pem), "org": False} for a in service.timestamp_authorities()
    ]
    return org + own


def _show_authorities(args: argparse.Namespace, service: Any) -> int:
    rows = _authority_rows(service)
    lines = [
        f"{r['url']}  {'CA checked' if r['ca'] else 'no CA given'}"
        f"  ({'organisation' if r['org'] else 'this laptop'})"
        for r in rows
    ]
    _emit(args, {"ok": True, "authorities": rows}, "\n".join(lines) or "no authorities")
    return 0


def _authorities_of(args: argparse.Namespace, service: Any) -> list[Any]:
    return service.org_timestamp_authorities() if args.org else service.timestamp_authorities()


def _set_authorities_of(args: argparse.Namespace, service: Any, chosen: list[Any]) -> None:
    if args.org:
        service.publish_org_timestamp_authorities(chosen)
    else:
        service.set_timestamp_authorities(chosen)


@_guarded
def _tsa_add(args: argparse.Namespace, service: Any) -> int:
    from app.services.timestamps import check_authority

    try:
        ca = args.ca.read_text(encoding="ascii") if args.ca is not None else ""
        authority = check_authority(args.url, ca)
    except (OSError, ValueError) as exc:
        _emit(args, {"ok": False, "reason": "invalid_authority"}, f"error: {exc}")
        return 1
    chosen = [a for a in _authorities_of(args, service) if a.url != authority.url]
    _set_authorities_of(args, service, [*chosen, authority])
    return _show_authorities(args, service)


@_guarded
def _tsa_list(args: argparse.Namespace, service: Any) -> int:
    return _show_authorities(args, service)


@_guarded
def _tsa_remove(args: argparse.Namespace, service: Any) -> int:
    chosen = _authorities_of(args, service)
    kept = [a for a in chosen if a.url != args.url.strip()]
    if len(kept) == len(chosen):
        _emit(args, {"ok": False, "reason": "not_found"}, f"error: {args.url} is not listed")
        return 1
    _set_authorities_of(args, service, kept)
    return _show_authorities(args, service)


@_guarded
def _timestamp(args: argparse.Namespace, service: Any) -> int:
    if not service.all_timestamp_authorities():
        _emit(
            args,
            {"ok": False, "reason": "no_authorities"},
            "error: no timestamping authority; add one with `fieldvault coordinator tsa add URL`",
        )
        return 1
    report = service.stamp_pending()
    failures = [{"tsa": url, "reason": reason} for url, reason in report.failures]
    text = f"{report.stamped} timestamps received, {report.pending} envelopes still waiting"
    if failures:
        text += "; failures: " + ", ".join(f"{f['tsa']}: {f['reason']}" for f in failures)
    _emit(
        args,
        {
            "ok": not failures,
            "stamped": report.stamped,
            "pending": report.pending,
            "failures": failures,
        },
        text,
    )
    return 2 if failures else 0


_OPEN_ERRORS = {
    "needs_identity": "this bundle is encrypted to the coordinators: give -i IDENTITY_FILE "
    "(from `fieldvault coordinator identity export`)",
    "needs_passphrase": "a passphrase is needed",
    "wrong_passphrase": "the passphrase is wrong",
    "not_addressed_to_identity": "this bundle was not encrypted to that identity",
    "not_an_identity_file": "the identity file holds no age identity",
    "damaged": "the encrypted bundle is damaged or truncated",
}


def _open_bundle(args: argparse.Namespace, data: bytes) -> bytes:
    """The zip inside an age-encrypted bundle (asking for the identity or passphrase)."""
    from app.exports.identity import age_file_kind, open_export, read_identity_file

    kind = age_file_kind(data)
    if kind is None:
        return data
    if kind == "passphrase":
        return open_export(data, passphrase=read_secret(EXPORT_PASSPHRASE_ENV, "Bundle passphrase"))
    path: Path | None = args.identity
    if path is None and sys.stdin.isatty():
        print(
            "This bundle is encrypted to the coordinators. Identity file: ", end="", file=sys.stderr
        )
        path = Path(sys.stdin.readline().strip())
    if path is None:
        return open_export(data)  # raises needs_identity
    raw = path.read_bytes()
    passphrase = ""
    if age_file_kind(raw) == "passphrase":
        passphrase = read_secret(IDENTITY_PASSPHRASE_ENV, "Identity file passphrase")
    return open_export(data, identities=read_identity_file(raw, passphrase=passphrase))


def _verify_bundle(args: argparse.Namespace) -> int:
    from app.exports.bundle import verify_bundle
    from app.exports.identity import ExportOpenError, IdentityFileError
    from core.crypto.rfc3161 import load_certificates

    try:
        data = _open_bundle(args, args.file.read_bytes())
    except OSError as exc:
        _emit(args, {"ok": False, "reason": "unreadable"}, f"cannot read a file: {exc}")
        return 1
    except (ExportOpenError, IdentityFileError) as exc:
        text = _OPEN_ERRORS.get(exc.reason, exc.reason)
        _emit(args, {"ok": False, "reason": exc.reason}, f"error: {text}")
        return 1
    try:
        trusted = [der for path in args.tsa_ca for der in load_certificates(path.read_bytes())]
    except (OSError, ValueError):
        _emit(
            args, {"ok": False, "reason": "bad_tsa_ca"}, "error: a --tsa-ca file is no certificate"
        )
        return 1
    verdict = verify_bundle(data, tsa_trusted=trusted)
    payload = {
        "ok": verdict.ok,
        "problems": [dataclasses.asdict(p) for p in verdict.problems],
        "notes": list(verdict.notes),
        "signer": verdict.signer,
        "org": verdict.org,
        "cases": verdict.cases,
        "envelopes": verdict.envelopes,
        "authors": list(verdict.authors),
        "timestamps": [dataclasses.asdict(t) for t in verdict.timestamps],
    }
    _emit(args, payload, verdict.report_text().rstrip())
    return 0 if verdict.ok else 4
