"""Alarms from locked phones at the coordinators: the keys devices announced, and the pull.

A rostered device announces, in its own signed and encrypted envelope (payload `alarm_key`),
the key its locked alarms are signed with (`sync.locked_alarm`). `store_announcement` keeps the
last `MAX_KEYS` keys per device beside the roster (one `Kind.SETTING` record per device, so the
roster's countersigned entries stay as they are); the server's list of keys is never used.

`fetch(vault, client, identities, now)` asks the server for the alarms of the last week
(`GET /v1/alarms`), verifies each against the keys its device announced, and stores it as an
ordinary alarm (`Kind.ALERT`, the shape of `sync.coordinator.alerts`), so it is raised and
handled like one. Its record id comes from the device and the alarm's nonce, the same id the
ordinary alarm the phone seals at its next unlock gets: the two are one alarm.

What is refused, and never raised: an alarm no announced key of its device verifies (forged by
the server, or signed for another device and moved), one whose signed device is not the device
the server names, one signed more than a week ago or in the future (stale), and one already
held (replayed: same device and nonce). One no key verifies *yet* is looked at again at every
pull while the server keeps it: its device's announcement may still be on its way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from core.crypto.hashing import sha256_hex
from core.records import Kind, Record, Status
from core.vault_port import VaultPort
from sync import envelope, locked_alarm
from sync.age.keys import parse_identity
from sync.coordinator.alerts import alarm_record, nonce_record_id
from sync.device import fixed_id, get_or_none
from sync.encoding import EncodingError, b64u_decode, b64u_encode
from sync.errors import ServerRefused
from sync.payload import Payload

MAX_KEYS = 4
MAX_PER_PULL = 500
"""Alarms opened per pull, newest first: a server filling the table with ones no announced key
verifies (looked at again at every pull) costs at most this much work, and can only delay the
rest, which it could do anyway."""
WINDOW = locked_alarm.STALE_SECONDS + 86400
SEEN_ID = fixed_id("locked-alarms-seen")


@dataclasses.dataclass(slots=True)
class FetchReport:
    raised: int = 0
    duplicates: int = 0
    waiting: int = 0
    problems: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def _keys_id(device: str) -> str:
    return fixed_id(f"alarm-keys/{device}")


def store_announcement(
    vault: VaultPort, sealed: envelope.Envelope, payload: Payload, touched: dict[str, Record]
) -> bool | None:
    """Keep the alarm key a device announced: True if new, False if held, None if malformed."""
    raw = payload.record.get("key")
    try:
        key = b64u_decode(str(raw), length=32)
    except EncodingError:
        return None
    record_id = _keys_id(sealed.author)
    record = touched.get(record_id) or get_or_none(vault, record_id)
    if record is None:
        record = Record(
            kind=Kind.SETTING,
            id=record_id,
            status=Status.LOCAL,
            data={"device": sealed.author, "keys": []},
        )
    keys = [k for k in record.data.get("keys", []) if isinstance(k, dict)]
    encoded = b64u_encode(key)
    if any(k.get("key") == encoded for k in keys):
        return False
    keys.append({"key": encoded, "seq": sealed.seq, "envelope_id": sealed.id})
    keys.sort(key=lambda k: int(k.get("seq", 0)))
    record.data["keys"] = keys[-MAX_KEYS:]
    touched[record_id] = record
    return True


def announced_keys(vault: VaultPort, device: str) -> list[bytes]:
    """The alarm keys `device` announced in its own envelopes, newest first."""
    record = get_or_none(vault, _keys_id(device))
    if record is None:
        return []
    found = []
    for k in reversed(record.data.get("keys", [])):
        try:
            found.append(b64u_decode(str(k.get("key")), length=32))
        except (EncodingError, AttributeError):
            continue
    return found


def fetch(
    vault: VaultPort,
    client: Any,
    identities: Sequence[str],
    rostered: set[str],
    *,
    now: int,
) -> FetchReport:
    """Fetch, verify and store the alarms of locked phones (see the module docstring)."""
    report = FetchReport()
    try:
        answer = client.call("GET", locked_alarm.PATH, query={"since": max(0, now - WINDOW)})
    except ServerRefused:
        return report  # a server from before this feature
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        return report
    seen_record = get_or_none(vault, SEEN_ID)
    seen: dict[str, int] = dict(seen_record.data.get("seen", {})) if seen_record else {}
    parsed = [parse_identity(i) for i in identities]
    changed: list[Record] = []
    opened = 0
    for item in reversed(items):
        if opened >= MAX_PER_PULL:
            break
        try:
            device, raw = str(item["device"]), b64u_decode(str(item["sealed"]))
        except (KeyError, TypeError, EncodingError):
            continue
        digest = sha256_hex(raw)[:32]
        if digest in seen:
            continue
        opened += 1
        outcome = _one(vault, raw, device, parsed, rostered, now, changed)
        if outcome == "waiting":
            report.waiting += 1
            continue
        seen[digest] = now
        if outcome == "raised":
            report.raised += 1
        elif outcome == "duplicate":
            report.duplicates += 1
        else:
            report.problems.append((digest, outcome))
    seen = {d: t for d, t in seen.items() if t >= now - WINDOW}
    changed.append(Record(kind=Kind.SETTING, id=SEEN_ID, status=Status.LOCAL, data={"seen": seen}))
    vault.put_many(changed)
    return report


def _one(
    vault: VaultPort,
    raw: bytes,
    device: str,
    identities: Sequence[Any],
    rostered: set[str],
    now: int,
    changed: list[Record],
) -> str:
    if device not in rostered:
        return "waiting"  # perhaps admitted at a later pull; never raised before
    try:
        alarm = locked_alarm.verify(
            raw, identities, device=device, keys=announced_keys(vault, device), now=now
        )
    except locked_alarm.UnknownAlarmKey:
        return "waiting"
    except locked_alarm.NotForMe:
        return "locked_alarm_not_for_me"
    except locked_alarm.StaleAlarm:
        return "locked_alarm_stale"
    except locked_alarm.LockedAlarmError:
        return "locked_alarm_forged"
    record_id = nonce_record_id(device, alarm.nonce)
    if get_or_none(vault, record_id) is not None or any(r.id == record_id for r in changed):
        return "duplicate"
    changed.append(
        alarm_record(
            record_id,
            device,
            at=alarm.at,
            message=alarm.message,
            received=now,
            nonce=alarm.nonce,
            locked=True,
        )
    )
    return "raised"
