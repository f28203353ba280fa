"""Wipe before unlock in the field app: keep the wipe-check file current, and check at start.

Use `arm_quietly(data_dir, keystore, vault)` after every successful sync round (the service
does), and `check_at_start(service)` once at start, before any screen is usable (the entry
point does, off the UI thread). Both need a keystore: without one (desktop, browser) they do
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
from sync import checkkey, wipecheck
from sync import device as device_mod
from sync.client import Client


def arm(data_dir: Path, keystore: DeviceKeystore, vault: Any) -> bool:
    """Write the wipe-check file for an enrolled vault if what it holds changed (registering a
    new check key first). False when there is nothing to do; sync and storage errors raise."""
    identity = device_mod.DeviceIdentity.load(vault)
    if identity is None or not identity.enrolled:
        return False
    state = device_mod.load_sync_state(vault)
    if state.revoked:
        return False  # the server refuses a revoked device's registration; the old file stays

    def wanted(seed: bytes | None) -> wipecheck.CheckFacts:
        return wipecheck.facts_from(identity, state.org_version, state.executed_commands, seed)

    def register(check_key: SigningKey) -> None:
        with Client(
            identity.server_url,
            signing_key=identity.signing_key,
            tls_pin=identity.tls_pin,
            proxy=identity.proxy,
        ) as client:
            checkkey.register(client, check_key, identity.device_id)

    return wipecheck.arm(data_dir, keystore, CHECK_FILE_KEY_NAME, wanted, register)


def arm_quietly(data_dir: Path, keystore: DeviceKeystore, vault: Any) -> None:
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
    return wipecheck.check(data_dir, keystore, CHECK_FILE_KEY_NAME, service.wipe)
