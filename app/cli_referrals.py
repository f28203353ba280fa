"""`fieldvault coordinator` verbs for the referral directory, consent withdrawal and the warn-list.

    fieldvault coordinator referrals                          (the published directory)
    fieldvault coordinator referral-add --name NAME --service SERVICE [--city CITY]
                                        [--languages ru,ky] [--reach HOW] [--id ID]
    fieldvault coordinator referral-remove ID
    fieldvault coordinator refer CASE CONTACT_ID [--note TEXT]  (a case referred to a contact)
    fieldvault coordinator withdraw CASE --purpose PURPOSE...   (share_org statistics advocacy)
    fieldvault coordinator warn-list                          (pseudonyms disclosed under pressure)

`referral-add` and `referral-remove` sign and publish a new org document (they need the root
key); phones show the directory after their next sync, offline. A withdrawal is a signed case
event that every export honours from then on; it cannot be undone. A case is named as for
`links`: its id, its reference (`3FA-9C2`) or an unambiguous start of its id.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from app.cli_common import command
from core.consent import PURPOSES
from sync import referrals


def register(verb: Callable[[str, str], argparse.ArgumentParser]) -> None:
    from app import cli_coordinator as cc

    guarded = cc._guarded
    verb("referrals", "list the referral directory").set_defaults(func=guarded(_list))
    add = verb("referral-add", "add or replace a trusted contact (publishes the org document)")
    add.add_argument("--name", required=True)
    add.add_argument("--service", required=True, choices=referrals.SERVICES)
    add.add_argument("--city", default="")
    add.add_argument("--languages", default="", help="language codes, e.g. ru,ky")
    add.add_argument("--reach", default="", help="how to reach them safely")
    add.add_argument("--id", default="", help="keep this id (replaces the contact with it)")
    add.set_defaults(func=guarded(_add))
    removal = "remove a contact (publishes the org document)"
    command(verb, "referral-remove", removal, guarded(_remove), "id")
    referral = "record that a case was referred to a directory contact"
    refer = command(verb, "refer", referral, guarded(_refer), "case", "contact")
    refer.add_argument("--note", default="")
    withdraw = verb("withdraw", "record a withdrawal of consent (cannot be undone)")
    withdraw.add_argument("case")
    withdraw.add_argument(
        "--purpose", action="append", required=True, choices=PURPOSES, dest="purposes"
    )
    withdraw.add_argument("--note", default="")
    withdraw.set_defaults(func=guarded(_withdraw))
    verb("warn-list", "pseudonyms disclosed under pressure, with their cases").set_defaults(
        func=guarded(_warn_list)
    )


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    from app import cli_coordinator as cc

    cc._emit(args, payload, text)


def _show(args: argparse.Namespace, contacts: Any, version: int = 0) -> int:
    lines = [
        f"{c.id}  {c.service}  {c.name}"
        + (f"  · {c.city}" if c.city else "")
        + (f"  · {', '.join(c.languages)}" if c.languages else "")
        + (f"\n    {c.reach}" if c.reach else "")
        for c in contacts
    ] or ["no contacts in the directory"]
    if version:
        lines.append(f"published as org document version {version}")
    payload = {"ok": True, "contacts": [c.to_dict() for c in contacts]}
    if version:
        payload["version"] = version
    _emit(args, payload, "\n".join(lines))
    return 0


def _list(args: argparse.Namespace, service: Any) -> int:
    return _show(args, service.referrals())


def _add(args: argparse.Namespace, service: Any) -> int:
    current = list(service.referrals())
    ident = args.id or referrals.new_id(args.name, [c.id for c in current])
    contact = {
        "id": ident,
        "name": args.name,
        "service": args.service,
        "city": args.city,
        "languages": args.languages,
        "reach": args.reach,
    }
    kept = [c.to_dict() for c in current if c.id != ident]
    version = service.publish_referrals([*kept, contact])
    return _show(args, service.referrals(), version)


def _remove(args: argparse.Namespace, service: Any) -> int:
    current = list(service.referrals())
    kept = [c for c in current if c.id != args.id]
    if len(kept) == len(current):
        _emit(args, {"ok": False, "reason": "not_found"}, f"error: no contact {args.id}")
        return 1
    version = service.publish_referrals(kept)
    return _show(args, service.referrals(), version)


def _refer(args: argparse.Namespace, service: Any) -> int:
    from app.cli_links import _case

    case_id = _case(service, args.case)
    contact = referrals.find(service.referrals(), args.contact)
    if contact is None:
        _emit(args, {"ok": False, "reason": "not_found"}, f"error: no contact {args.contact}")
        return 1
    event = {"type": "referral", "to": contact.name, "contact": contact.id}
    service.act(case_id, {**event, **({"note": args.note} if args.note else {})})
    _emit(args, {"ok": True, "case": case_id, "contact": contact.id}, f"referred to {contact.name}")
    return 0


def _withdraw(args: argparse.Namespace, service: Any) -> int:
    from app.cli_links import _case

    case_id = _case(service, args.case)
    event = {"type": "withdraw", "purposes": " ".join(sorted(set(args.purposes)))}
    service.act(case_id, {**event, **({"note": args.note} if args.note else {})})
    now = service.consent(case_id)
    _emit(
        args,
        {"ok": True, "case": case_id, "withdrawn": sorted(now.withdrawn)},
        f"withdrawn: {', '.join(sorted(now.withdrawn))}; may still be used for: "
        + (", ".join(sorted(now.effective)) or "nothing"),
    )
    return 0


def _warn_list(args: argparse.Namespace, service: Any) -> int:
    entries = service.warn_list()
    lines = [f"{e.pseudonym}  {e.last or '-'}  {' '.join(e.references)}" for e in entries]
    payload = {
        "ok": True,
        "entries": [
            {"pseudonym": e.pseudonym, "cases": list(e.cases), "last": e.last} for e in entries
        ],
    }
    _emit(args, payload, "\n".join(lines) or "nobody to warn")
    return 0
