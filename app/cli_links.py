"""`fieldvault coordinator` verbs for linked cases and the event wipe.

    fieldvault coordinator links CASE                         (what the case names, its links)
    fieldvault coordinator link CASE OTHER [--note TEXT] | unlink CASE OTHER
    fieldvault coordinator merge CASE --into SURVIVOR | unmerge CASE
    fieldvault coordinator entity add|remove CASE KIND [VALUE]
                                      (KIND: badge unit station profile victim place; a victim's
                                       name or number is read from FIELDVAULT_VICTIM or a prompt,
                                       never from the command line, and only its pseudonym kept)
    fieldvault coordinator perpetrators [filters]             (cases per station and perpetrator)
    fieldvault coordinator victim-key                         (publish the organisation's key)
    fieldvault coordinator tag DEVICE... --tag TAG | untag DEVICE --tag TAG | tags
    fieldvault coordinator wipe-tag TAG --confirm TAG_OR_COUNT

A case is named by its id, its reference (`3FA-9C2`) or an unambiguous start of its id. Every
link, merge and entity is a signed case event, shared with the other coordinators at once.
`wipe-tag` orders the normal signed wipe of every device the tag reaches, once `--confirm` is the
tag or their number (see `tags`); it prints the devices ordered and those the server refused.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

from app.cli_common import command, read_secret
from core.links import ENTITY_KINDS

VICTIM_ENV = "FIELDVAULT_VICTIM"


def register(verb: Callable[[str, str], argparse.ArgumentParser]) -> None:
    from app import cli_coordinator as cc

    guarded = cc._guarded

    command(
        verb, "links", "what a case names, the cases linked to it, merges", guarded(_links), "case"
    )
    link = command(
        verb, "link", "link two cases (a signed case event)", guarded(_link), "case", "other"
    )
    link.add_argument("--note", default="", help="why they are linked")
    command(verb, "unlink", "remove a link between two cases", guarded(_unlink), "case", "other")
    merge = command(
        verb,
        "merge",
        "merge a case's report into another case (one event, counted once)",
        guarded(_merge),
        "case",
    )
    merge.add_argument("--into", required=True, help="the surviving case")
    command(verb, "unmerge", "undo the merge of a case", guarded(_unmerge), "case")

    entity = verb("entity", "add or remove what a case names (station, badge, ...)")
    entity.add_argument("action", choices=("add", "remove"))
    entity.add_argument("case")
    entity.add_argument("kind", choices=ENTITY_KINDS)
    entity.add_argument("value", nargs="?", default="", help="not for victims (see --help)")
    entity.set_defaults(func=guarded(_entity))

    counts = verb("perpetrators", "how many cases name each station and perpetrator")
    cc._filter_args(counts)
    counts.set_defaults(func=guarded(_perpetrators))

    verb("victim-key", "publish the organisation's victim key (sealed org document)").set_defaults(
        func=guarded(_victim_key)
    )

    tag = verb("tag", "tag devices (kept in this workspace only)")
    tag.add_argument("devices", nargs="+")
    tag.add_argument("--tag", required=True)
    tag.set_defaults(func=guarded(_tag))
    untag = verb("untag", "remove a tag from a device")
    untag.add_argument("device")
    untag.add_argument("--tag", required=True)
    untag.set_defaults(func=guarded(_untag))
    verb("tags", "list the device tags and their devices").set_defaults(func=guarded(_tags))

    wipe = verb("wipe-tag", "order a remote wipe of every device with this tag")
    wipe.add_argument("tag")
    wipe.add_argument(
        "--confirm", required=True, help="the tag again, or the number of devices it reaches"
    )
    wipe.set_defaults(func=guarded(_wipe_tag))


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    from app import cli_coordinator as cc

    cc._emit(args, payload, text)


def _case(service: Any, named: str) -> str:
    """A case id from an id, a reference or an unambiguous start of an id."""
    from app.services.coordinator_types import CoordinatorError

    wanted = named.strip().lower().replace("-", "")
    ids = [s.id for s in service.cases()]
    if named in ids:
        return named
    found = [i for i in ids if i.replace("-", "").lower().startswith(wanted)] if wanted else []
    if len(found) != 1:
        raise CoordinatorError("not_found", "no single case with this id or reference")
    return found[0]


def _links(args: argparse.Namespace, service: Any) -> int:
    from core.cases import case_reference

    case_id = _case(service, args.case)
    links = service.links(case_id)
    lines = [f"case {case_reference(case_id)} ({case_id})"]
    if links.merged_into:
        lines.append(f"merged into {case_reference(links.survivor)} ({links.survivor})")
    lines += [f"merged here: {case_reference(c)} ({c})" for c in links.merged]
    lines += [f"names {e.kind}: {e.value}  ({e.source})" for e in links.entities]
    for peer in links.linked:
        why = ", ".join("by hand" if k == "link" else f"{k} {v}" for k, v in peer.reasons)
        lines.append(f"linked {case_reference(peer.case_id)} ({peer.case_id}): {why}")
    _emit(args, {"ok": True, **dataclasses.asdict(links)}, "\n".join(lines))
    return 0


def _link(args: argparse.Namespace, service: Any) -> int:
    case_id, other = _case(service, args.case), _case(service, args.other)
    service.link_cases(case_id, other, args.note)
    _emit(args, {"ok": True}, f"linked {case_id} and {other}")
    return 0


def _unlink(args: argparse.Namespace, service: Any) -> int:
    case_id, other = _case(service, args.case), _case(service, args.other)
    service.unlink_cases(case_id, other)
    _emit(args, {"ok": True}, f"unlinked {case_id} and {other}")
    return 0


def _merge(args: argparse.Namespace, service: Any) -> int:
    case_id, into = _case(service, args.case), _case(service, args.into)
    service.merge_cases(case_id, into)
    _emit(args, {"ok": True}, f"{case_id} merged into {into}")
    return 0


def _unmerge(args: argparse.Namespace, service: Any) -> int:
    case_id = _case(service, args.case)
    service.unmerge_case(case_id)
    _emit(args, {"ok": True}, f"{case_id} stands on its own again")
    return 0


def _entity(args: argparse.Namespace, service: Any) -> int:
    case_id = _case(service, args.case)
    if args.kind == "victim":
        if args.value:
            raise SystemExit(f"a victim is read from {VICTIM_ENV} or a prompt, not an argument")
        value = read_secret(VICTIM_ENV, "Victim's name or number")
    elif not args.value.strip():
        raise SystemExit("give the value to add or remove")
    else:
        value = args.value
    if args.action == "add":
        service.add_entity(case_id, args.kind, value)
    else:
        service.remove_entity(case_id, args.kind, value)
    _emit(args, {"ok": True}, f"{args.kind} {args.action}ed on {case_id}")
    return 0


def _perpetrators(args: argparse.Namespace, service: Any) -> int:
    from app import cli_coordinator as cc

    board = service.dashboard(cc._filter(args))
    payload = {
        "ok": True,
        "stations": [{"station": v, "cases": n} for (_k, v), n in board.by_station],
        "perpetrators": [{"kind": k, "value": v, "cases": n} for (k, v), n in board.by_perpetrator],
    }
    lines = [f"{n:5}  station {v}" for (_k, v), n in board.by_station]
    lines += [f"{n:5}  {k} {v}" for (k, v), n in board.by_perpetrator]
    _emit(args, payload, "\n".join(lines) or "no stations or perpetrators named yet")
    return 0


def _victim_key(args: argparse.Namespace, service: Any) -> int:
    if not service.ensure_victim_key():
        raise SystemExit(
            "this organisation's document is not sealed (created before 0.2): a victim key"
            " published there would be readable by the server"
        )
    _emit(args, {"ok": True}, "the victim key is in the sealed org document; phones get it at sync")
    return 0


def _tag(args: argparse.Namespace, service: Any) -> int:
    service.tag_devices(args.devices, args.tag)
    _emit(args, {"ok": True}, f"{len(args.devices)} devices tagged {args.tag!r}")
    return 0


def _untag(args: argparse.Namespace, service: Any) -> int:
    service.untag_device(args.device, args.tag)
    _emit(args, {"ok": True}, f"tag {args.tag!r} removed from {args.device}")
    return 0


def _tags(args: argparse.Namespace, service: Any) -> int:
    tags = service.device_tags()
    lines = [f"{tag}: {count} devices" for tag, count in service.all_tags()]
    _emit(args, {"ok": True, "tags": tags}, "\n".join(lines) or "no tags")
    return 0


def _wipe_tag(args: argparse.Namespace, service: Any) -> int:
    result = service.wipe_tag(args.tag, args.confirm)
    lines = [f"wipe ordered for {d}" for d in result.ordered]
    lines += [f"REFUSED {d}: {reason}" for d, reason in result.failed]
    _emit(args, {"ok": not result.failed, **dataclasses.asdict(result)}, "\n".join(lines))
    return 1 if result.failed else 0
