"""Wipe before unlock in the field app: keep the wipe-check file current, and check at start.

Use `arm_quietly(data_dir, keystore, vault)` after every successful sync round (the service
does), and `check_at_start(service)` once at start, before any screen is usable (the entry
point does, off the UI thread). Arming also keeps what a locked phone's silent alarm needs in
the file (the coordinators' recipients and the preset message, `sync.locked_alarm`) and, when
the check key is new, queues its announcement to the coordinators
(`sync.outbox.queue_alarm_key`). Both need a keystore: without one (desktop, browser) they do
nothing, and a wipe arrives at the next sync as before. See `sync.wipecheck` for what the file
holds and what is verified.

Danger: `check_at_start` may wipe the vault: call it only with the service the app will use,
and never with the fake preview service.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from app.services.field_keystore import CHECK_FILE_KEY_NAME, DeviceKeystore
from core.crypto.signing import SigningKey
from core.records import Kind, Record, Status
from core.vault_port import DeviceVaultPort
from storage.checkfile import CheckFile
from sync import alerts, checkkey, outbox, wipecheck
from sync import device as sync_device
from sync.client import Client
from sync.encoding import b64u_encode

ANNOUNCED_ID = sync_device.fixed_id("alarm-key-announced")


def arm(data_dir: Path, keystore: DeviceKeystore, vault: DeviceVaultPort) -> bool:
    """Write the wipe-check file for an enrolled vault if what it holds changed (registering a
    new check key first). False when there is nothing to do; sync and storage errors raise."""
    identity = sync_device.DeviceIdentity.load(vault)
    if identity is None or not identity.enrolled:
        return False
    state = sync_device.load_sync_state(vault)
    if state.revoked:
        return False  # the server refuses a revoked device's registration; the old file stays

    recipients = outbox.current_recipients(vault) or []
    message = alerts.load_settings(vault).message

    def wanted(seed: bytes | None) -> wipecheck.CheckFacts:
        return wipecheck.facts_from(
            identity,
            state.org_version,
            state.executed_commands,
            seed,
            recipients=recipients,
            message=message,
        )

    def register(check_key: SigningKey) -> None:
        with Client(
            identity.server_url,
            signing_key=identity.signing_key,
            tls_pin=identity.tls_pin,
            proxy=identity.proxy,
        ) as client:
            checkkey.register(client, check_key, identity.device_id)

    written = wipecheck.arm(CheckFile(data_dir), keystore, CHECK_FILE_KEY_NAME, wanted, register)
    announce(data_dir, keystore, vault)
    return written


def announce(data_dir: Path, keystore: DeviceKeystore, vault: DeviceVaultPort) -> bool:
    """Queue the announcement of the check key as this phone's alarm key, once per key and only
    when the file can seal an alarm. True if one was queued."""
    facts = wipecheck.load_facts(CheckFile(data_dir), keystore, CHECK_FILE_KEY_NAME)
    if facts is None or not facts.recipients:
        return False
    public = b64u_encode(facts.check_key.public_bytes())
    done = sync_device.get_or_none(vault, ANNOUNCED_ID)
    if done is not None and done.data.get("key") == public:
        return False
    outbox.queue_alarm_key(vault, facts.check_key.public_bytes())
    vault.put(Record(kind=Kind.SETTING, id=ANNOUNCED_ID, status=Status.LOCAL, data={"key": public}))
    return True


def arm_quietly(data_dir: Path, keystore: DeviceKeystore, vault: DeviceVaultPort) -> None:
    """`arm`, with any failure left for the next round (the sync itself has succeeded)."""
    with contextlib.suppress(Exception):
        arm(data_dir, keystore, vault)


def check_at_start(service: Any) -> bool:
    """Ask the server whether a wipe waits for this phone, and carry it out (the panic wipe,
    keystore entries first). True if it wiped; silent on every failure."""
    keystore = getattr(service, "keystore", None)
    data_dir = getattr(service, "data_dir", None)
    if keystore is None or data_dir is None:
        return False
    return wipecheck.check(CheckFile(data_dir), keystore, CHECK_FILE_KEY_NAME, service.wipe)
