"""The roster: the devices coordinators admitted, the only source of device keys they trust.

A device's keys come to coordinators from the server's device list, which a hostile server can
fill with invented devices or swapped keys. So a coordinator admits a device only when:

- its enrolment proof verifies under the secret of an invite this coordinator made and still
  holds (`sync.enrolment`), which the server never saw (`refresh_roster`, run by every pull); or
- a coordinator confirms it by hand after comparing its fingerprint with the phone's
  (`confirm_device`), the path for devices enrolled before 0.2 and for invites made by a
  coordinator who has since left.

An admitted device becomes a `Kind.ROSTER` record, and a signed, encrypted roster envelope
tells the other coordinators (they store it when they pull). From then on the roster is what
pulls verify signatures with, what messages are encrypted to, and what the device list compares
the server's answer against: a key that differs is shown as `key_changed`, never used.

Use `create_invite` (keeps the secret and label here; the server gets neither) or
`create_invite_with_code` (also a short code, `sync.invite_drop`), `roster`,
`roster_keys`, `list_devices` (the server's list, each annotated with `roster`: verified,
unverified or key_changed), `confirm_device`, `revoke_device`, `order_wipe`.

Device tags (`DEVICE_TAGS_ID`, `normalise_device_tag`, `tags_from_setting`) group devices for
one action, such as wiping every phone taken to one conference: they are this coordinator's own
(a setting record in its vault), never sent to the server or to other coordinators, and each
device of a tag still gets its own signed wipe command (`order_wipe`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from core.crypto.random import random_bytes
from core.records import Kind, Record, Status
from core.vault_port import RecordReader, VaultPort
from sync import commands, invite_drop, orgdoc
from sync.client import Client
from sync.coordinator.identity import CoordinatorError, connect, load_identity, load_state
from sync.device import fixed_id, get_or_none
from sync.encoding import EncodingError, b64u_decode, b64u_encode
from sync.enrolment import device_fingerprint, proof_matches
from sync.errors import ServerRefused, SyncError
from sync.invite import SECRET_SIZE, Invite
from sync.keys import key_id
from sync.orgseal import identity_bytes


@dataclasses.dataclass(slots=True)
class RosterEntry:
    """A device admitted to the roster. `how`: "invite" (proof checked) or "confirmed"."""

    device_id: str
    signing_key: bytes
    recipient: str
    label: str
    admitted_by: str
    admitted_at: int
    how: str

    def shared(self) -> dict[str, Any]:
        """What the roster envelope tells the other coordinators."""
        return {
            "device_id": self.device_id,
            "signing_key": b64u_encode(self.signing_key),
            "recipient": self.recipient,
            "label": self.label,
            "how": self.how,
        }

    def to_record(self) -> Record:
        return Record(
            kind=Kind.ROSTER,
            id=roster_record_id(self.device_id),
            status=Status.LOCAL,
            data={
                **self.shared(),
                "admitted_by": self.admitted_by,
                "admitted_at": self.admitted_at,
            },
        )

    @classmethod
    def from_shared(cls, raw: Any, admitted_by: str, admitted_at: int) -> RosterEntry:
        """Parse a roster entry from an envelope or a record; `ValueError` if malformed."""
        if not isinstance(raw, dict):
            raise ValueError("roster entry is not an object")
        try:
            public = b64u_decode(str(raw.get("signing_key")), length=32)
        except EncodingError:
            raise ValueError("bad signing key") from None
        device_id, recipient = raw.get("device_id"), raw.get("recipient")
        if device_id != key_id(public) or not isinstance(recipient, str):
            raise ValueError("device id does not match its signing key")
        if not recipient.startswith("age1"):
            raise ValueError("bad recipient")
        return cls(
            device_id=str(device_id),
            signing_key=public,
            recipient=recipient,
            label=str(raw.get("label", ""))[:100],
            admitted_by=admitted_by,
            admitted_at=admitted_at,
            how=str(raw.get("how", "invite"))[:20],
        )

    @classmethod
    def from_record(cls, record: Record) -> RosterEntry:
        d = record.data
        return cls.from_shared(d, str(d.get("admitted_by", "")), int(d.get("admitted_at", 0)))


@dataclasses.dataclass(slots=True)
class RosterReport:
    admitted: list[str] = dataclasses.field(default_factory=list)
    key_changed: list[str] = dataclasses.field(default_factory=list)
    unverified: list[str] = dataclasses.field(default_factory=list)


ADMIT_GRACE = 7 * 86400
"""How long after an invite expires a device that used it may still be admitted (a coordinator
may pull days after the device enrolled); after that, only by hand."""


def roster_record_id(device_id: str) -> str:
    """A roster entry's record id: derived, so no id an envelope chooses can collide with it."""
    return fixed_id(f"roster/{device_id}")


def roster(vault: RecordReader) -> dict[str, RosterEntry]:
    entries = {}
    for record in vault.list(kind=Kind.ROSTER):
        try:
            entry = RosterEntry.from_record(record)
        except ValueError:
            continue
        if record.id == roster_record_id(entry.device_id):
            entries[entry.device_id] = entry
    return entries


def roster_entry(vault: RecordReader, device_id: str) -> RosterEntry | None:
    record = get_or_none(vault, roster_record_id(device_id))
    if record is None or record.kind != Kind.ROSTER:
        return None
    return RosterEntry.from_record(record)


def roster_keys(vault: RecordReader) -> dict[str, bytes]:
    """Device id -> signing key, for every admitted device."""
    return {device_id: e.signing_key for device_id, e in roster(vault).items()}


def create_invite(
    vault: VaultPort,
    *,
    expires_in: int,
    label: str | None = None,
    tls_pin: str | None = None,
    now: Callable[[], float] = time.time,
) -> Invite:
    """A new invite. Its secret and label stay in this vault; the server sees neither."""
    return _create_invite(vault, expires_in, label, tls_pin, now, short_code=False)[0]


def create_invite_with_code(
    vault: VaultPort,
    *,
    expires_in: int,
    label: str | None = None,
    tls_pin: str | None = None,
    now: Callable[[], float] = time.time,
) -> tuple[Invite, str]:
    """A new invite and its short code (`sync.invite_drop`): the invite is also kept on the
    server, sealed under the code, until it expires or has been fetched a few times. The code
    is "" when the server predates short codes (the long code and QR code still work)."""
    invite, code = _create_invite(vault, expires_in, label, tls_pin, now, short_code=True)
    return invite, code or ""


def _create_invite(
    vault: VaultPort,
    expires_in: int,
    label: str | None,
    tls_pin: str | None,
    now: Callable[[], float],
    *,
    short_code: bool,
) -> tuple[Invite, str | None]:
    identity, client = connect(vault)
    secret = random_bytes(SECRET_SIZE).hex()
    with client:
        answer = client.create_invite(expires_in=expires_in)
        invite = Invite(
            server_url=identity.server_url,
            token=str(answer["token"]),
            root_fingerprint=identity.root_fingerprint,
            tls_pin=tls_pin or identity.tls_pin,
            enrol_secret=secret,
            org_floor=load_state(vault).org_version,
            org_key=identity_bytes(identity.org_identity).hex() if identity.org_identity else None,
        )
        published = None
        if short_code:
            try:
                published = invite_drop.publish(client, invite, expires_in)
            except ServerRefused as exc:
                if exc.status not in (404, 405):
                    raise  # a server from before short codes: the long code still works
    vault.put(
        Record(
            kind=Kind.INVITE,
            status=Status.LOCAL,
            data={
                "secret": secret,
                "label": label or "",
                "created": int(now()),
                # what the coordinator asked for, whatever the server answers
                "expires_at": int(now()) + int(expires_in),
                "used_by": None,
                "drop_lookup": published.lookup if published else None,
            },
        )
    )
    return invite, published.code if published else None


def open_invites(vault: VaultPort) -> list[Record]:
    """Invites no device has used yet (expired ones too, until cancelled)."""
    return [r for r in vault.list(kind=Kind.INVITE) if not r.data.get("used_by")]


def cancel_invite(vault: VaultPort, invite_id: str) -> None:
    """Forget an unused invite's secret: a device enrolling with it (a leaked code) is never
    admitted, and its reports stay held unread. The server's token is simply left to expire;
    the invite sealed under its short code, if any, is deleted from the server. If the server
    cannot be reached the invite is still cancelled here, then `CoordinatorError`
    `short_code_kept` says its sealed copy stays on the server until it expires (admitting
    no one: the secret that would admit a phone is gone)."""
    record = get_or_none(vault, invite_id)
    if record is None or record.kind != Kind.INVITE or record.data.get("used_by"):
        raise CoordinatorError("no such unused invite", reason="not_found")
    lookup = record.data.get("drop_lookup")
    vault.delete(invite_id)
    if not lookup:
        return
    try:
        _, client = connect(vault)
        with client:
            invite_drop.withdraw(client, str(lookup))
    except SyncError as exc:
        raise CoordinatorError(
            "the short code stays on the server", reason="short_code_kept"
        ) from exc


def refresh_roster(
    vault: VaultPort,
    client: Client,
    *,
    now: Callable[[], float] = time.time,
    devices: list[dict[str, Any]] | None = None,
) -> RosterReport:
    """Admit the devices whose enrolment proof matches one of our invites; report the rest.

    Takes the server's device list as a hint only: a device is admitted for its proof, and a
    rostered device whose keys the server now reports differently is reported, not changed.
    """
    from sync.coordinator.outgoing import queue_roster_entry

    report = RosterReport()
    known = roster(vault)
    identity = load_identity(vault)
    for device in client.devices() if devices is None else devices:
        device_id = str(device.get("id", ""))
        entry = known.get(device_id)
        if entry is not None:
            if _server_keys(device) != (entry.signing_key, entry.recipient):
                report.key_changed.append(device_id)
            continue
        keys = _server_keys(device)
        invite = _matching_invite(vault, device, keys, now())
        if keys is None or invite is None:
            report.unverified.append(device_id)
            continue
        admitted = RosterEntry(
            device_id=device_id,
            signing_key=keys[0],
            recipient=keys[1],
            label=str(invite.data.get("label") or ""),
            admitted_by=identity.id,
            admitted_at=int(now()),
            how="invite",
        )
        invite.data["used_by"] = device_id
        with vault.unit() as uow:
            uow.put_many([*queue_roster_entry(vault, admitted, now=now), invite])
        known[device_id] = admitted
        report.admitted.append(device_id)
        _withdraw_drop(client, invite)
    return report


def _withdraw_drop(client: Client, invite: Record) -> None:
    """A used invite's short code must not open it any more: the sealed copy the server keeps
    (the organisation's identity in it) is deleted as soon as its device is admitted, not left
    until its fetches run out or it expires. Best effort: it expires anyway."""
    lookup = invite.data.get("drop_lookup")
    if lookup:
        with contextlib.suppress(SyncError):
            invite_drop.withdraw(client, str(lookup))


def confirm_device(
    vault: VaultPort,
    device_id: str,
    *,
    fingerprint: str,
    label: str = "",
    now: Callable[[], float] = time.time,
) -> RosterEntry:
    """Admit a device by a coordinator's word, after comparing `fingerprint` (what the phone
    shows, `sync.enrolment.device_fingerprint`) with the phone. Raises
    `CoordinatorError("fingerprint_mismatch")` if the keys the server now reports are not the
    ones that fingerprint names."""
    from sync.coordinator.outgoing import push_pending, queue_roster_entry

    identity, client = connect(vault)
    with client:
        devices = {str(d.get("id")): d for d in client.devices()}
    device = devices.get(device_id)
    keys = _server_keys(device) if device is not None else None
    if device is None or keys is None:
        raise CoordinatorError("no such device", reason="unknown_device")
    if device_fingerprint(*keys) != fingerprint.replace(" ", "").lower():
        raise CoordinatorError("not the fingerprint of these keys", reason="fingerprint_mismatch")
    if roster_entry(vault, device_id) is not None:
        raise CoordinatorError("already in the roster", reason="already_verified")
    entry = RosterEntry(
        device_id=device_id,
        signing_key=keys[0],
        recipient=keys[1],
        label=label or str(device.get("label") or ""),
        admitted_by=identity.id,
        admitted_at=int(now()),
        how="confirmed",
    )
    with vault.unit() as uow:
        uow.put_many(queue_roster_entry(vault, entry, now=now))
    push_pending(vault)
    return entry


def reshare_roster(vault: VaultPort, *, now: Callable[[], float] = time.time) -> int:
    """Seal every roster entry again to the current coordinators (after one was added, who
    could not read the entries sealed before) and push them; return how many."""
    from sync.coordinator.outgoing import push_pending, queue_roster_entry

    entries = list(roster(vault).values())
    for entry in entries:
        with vault.unit() as uow:
            uow.put_many(queue_roster_entry(vault, entry, now=now))
    if entries:
        push_pending(vault)
    return len(entries)


def store_shared_entry(
    vault: VaultPort, raw: Any, author: str, created: int, touched: dict[str, Record]
) -> str | None:
    """Store a roster entry a coordinator sent; return a problem reason, or None if it was
    stored or is already known (our own entries come back in the feed)."""
    try:
        entry = RosterEntry.from_shared(raw, author, created)
    except ValueError:
        return "bad_roster_entry"
    record_id = roster_record_id(entry.device_id)
    existing = touched.get(record_id) or get_or_none(vault, record_id)
    squatted = existing is not None and existing.kind != Kind.ROSTER
    if existing is not None and not squatted:
        old = RosterEntry.from_record(existing)
        return None if old.recipient == entry.recipient else "roster_conflict"
    touched[record_id] = entry.to_record()  # a record a sender placed at this id gives way
    return "id_squatted" if squatted else None


def list_devices(vault: VaultPort) -> list[dict[str, Any]]:
    """The server's device list, each with `roster` (verified / unverified / key_changed) and
    the label from the roster (the server holds none for devices enrolled since 0.2). Devices
    whose enrolment proof matches one of our invites are admitted on the way."""
    from sync.coordinator.outgoing import push_pending

    _, client = connect(vault)
    with client:
        devices = client.devices()
        with vault.unit():  # the vault's state lock: admissions do their own units inside
            admitted = refresh_roster(vault, client, devices=devices).admitted
    if admitted:
        push_pending(vault)
    known = roster(vault)
    out = []
    for device in devices:
        entry = known.get(str(device.get("id")))
        status = "unverified"
        if entry is not None:
            same = _server_keys(device) == (entry.signing_key, entry.recipient)
            status = "verified" if same else "key_changed"
        keys = _server_keys(device)
        out.append(
            {
                **device,
                "roster": status,
                "label": entry.label if entry and entry.label else device.get("label", ""),
                "fingerprint": device_fingerprint(*keys) if keys else "",
            }
        )
    return out


def revoke_device(vault: VaultPort, device_id: str) -> None:
    _, client = connect(vault)
    with client:
        client.revoke_device(device_id)


def order_wipe(vault: VaultPort, device_id: str, *, now: Callable[[], float] = time.time) -> str:
    """Sign and post a wipe command for `device_id`; return the command id."""
    identity, client = connect(vault)
    signed = commands.sign_command(
        device_id, commands.WIPE, coordinator_key=identity.signing_key, now=int(now())
    )
    with client:
        client.post_command(commands.to_wire(signed))
    return signed.cmd.id


DEVICE_TAGS_ID = "coordinator-device-tags"  # setting record: {"tags": {device_id: [tag, ...]}}
MAX_DEVICE_TAG = 40
MAX_TAGS_PER_DEVICE = 20


def normalise_device_tag(tag: str) -> str:
    """A tag as stored: spaces collapsed, case kept; `ValueError` if empty or too long."""
    clean = " ".join(str(tag).split())
    if not clean:
        raise ValueError("a device tag must not be empty")
    if len(clean) > MAX_DEVICE_TAG:
        raise ValueError(f"a device tag is at most {MAX_DEVICE_TAG} characters")
    return clean


def tags_from_setting(data: dict[str, Any]) -> dict[str, list[str]]:
    """Device id -> its tags, from the setting record's data (malformed entries dropped)."""
    raw = data.get("tags")
    if not isinstance(raw, dict):
        return {}
    out: dict[str, list[str]] = {}
    for device_id, tags in raw.items():
        if isinstance(device_id, str) and isinstance(tags, list):
            kept = [t for t in tags if isinstance(t, str) and t][:MAX_TAGS_PER_DEVICE]
            if kept:
                out[device_id] = kept
    return out


def coordinator_keys(document: orgdoc.OrgDocument) -> dict[str, bytes]:
    return {c.id: c.signing_key for c in document.coordinators}


def _server_keys(device: dict[str, Any] | None) -> tuple[bytes, str] | None:
    if device is None:
        return None
    try:
        public = b64u_decode(str(device.get("signing_key")), length=32)
    except EncodingError:
        return None
    recipient = device.get("recipient")
    if key_id(public) != device.get("id") or not isinstance(recipient, str):
        return None
    return public, recipient


def _matching_invite(
    vault: VaultPort, device: dict[str, Any], keys: tuple[bytes, str] | None, now: float
) -> Record | None:
    if keys is None or not device.get("proof"):
        return None
    for invite in open_invites(vault):
        if now > int(invite.data.get("expires_at", 0)) + ADMIT_GRACE:
            continue  # a seized old invite text admits nobody
        if proof_matches(device["proof"], str(invite.data["secret"]), keys[0], keys[1]):
            return invite
    return None
