"""Signed commands from a coordinator to one device (today: remote wipe).

A coordinator calls `sign_command(device_id, "wipe", coordinator_key=..., now=...)` and posts
`to_wire(signed)`. The device parses with `from_wire` and must call
`verify_command(signed, org_document, own_device_id, executed_ids=...)` before acting: the
signer must be a coordinator of the verified org document, the command must name this device,
and its id must not have been executed before. The server relays commands but cannot forge one.

Danger: pass an org document that `sync.orgdoc.verify_org_document` accepted, never one taken
straight from the server, and record a command's id as executed before carrying it out.

Errors (each with a machine-readable `reason`):

    CommandError
    ├── MalformedCommand    not the documented shape, or an unknown command type
    ├── UntrustedCommand    unknown_coordinator, bad_signature, wrong_device
    └── ReplayedCommand     this command id was already executed
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Collection
from typing import Any, Protocol

from core.crypto.errors import BadSignature
from core.crypto.signing import SigningKey, verify
from sync import encoding
from sync.encoding import EncodingError, b64u_decode, b64u_encode, canonical_json, key_problem
from sync.keys import key_id
from sync.labels import COMMAND_SIGNATURE
from sync.orgdoc import Coordinator, OrgDocument

VERSION = 1
WIPE = "wipe"
TYPES = frozenset({WIPE})

_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
_FIELDS = frozenset({"v", "id", "device", "type", "issued", "by"})


class CommandError(encoding.ReasonError):
    reason = "command_error"


class MalformedCommand(CommandError):
    reason = "malformed_command"


class UntrustedCommand(CommandError):
    reason = "untrusted_command"


class ReplayedCommand(CommandError):
    reason = "replayed_command"


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    v: int
    id: str
    device: str
    type: str
    issued: int
    by: str

    def canonical(self) -> bytes:
        return canonical_json(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True, slots=True)
class SignedCommand:
    cmd: Command
    sig: bytes


def sign_command(
    device_id: str,
    type_: str,
    *,
    coordinator_key: SigningKey,
    now: int,
    command_id: str | None = None,
) -> SignedCommand:
    """Sign a command for `device_id`. Raises `MalformedCommand` for an unknown type."""
    command = Command(
        v=VERSION,
        id=command_id if command_id is not None else uuid.uuid4().hex,
        device=device_id,
        type=type_,
        issued=now,
        by=key_id(coordinator_key.public_bytes()),
    )
    _check(command)
    return SignedCommand(command, coordinator_key.sign(COMMAND_SIGNATURE + command.canonical()))


class KnowsCoordinators(Protocol):
    """An org document, or the server's view of a sealed one."""

    def coordinator(self, coordinator_id: str) -> Coordinator | None: ...


def verify_command(
    signed: SignedCommand,
    org_document: OrgDocument | KnowsCoordinators,
    device_id: str,
    *,
    executed_ids: Collection[str],
) -> Command:
    """Return the command if this device may execute it; raise a `CommandError` otherwise."""
    command = signed.cmd
    _check(command)
    coordinator = org_document.coordinator(command.by)
    if coordinator is None:
        raise UntrustedCommand("unknown_coordinator")
    try:
        verify(coordinator.signing_key, signed.sig, COMMAND_SIGNATURE + command.canonical())
    except BadSignature:
        raise UntrustedCommand("bad_signature") from None
    if command.device != device_id:
        raise UntrustedCommand("wrong_device")
    if command.id in executed_ids:
        raise ReplayedCommand()
    return command


def to_wire(signed: SignedCommand) -> dict[str, Any]:
    return {"cmd": dataclasses.asdict(signed.cmd), "sig": b64u_encode(signed.sig)}


def read_command(
    raw: Any,
    org_document: OrgDocument | KnowsCoordinators,
    device_id: str,
    *,
    executed_ids: Collection[str],
) -> Command:
    """`from_wire`, then `verify_command`: the command `raw` carries if this device may execute
    it; a `CommandError` otherwise."""
    return verify_command(from_wire(raw), org_document, device_id, executed_ids=executed_ids)


def from_wire(obj: Any) -> SignedCommand:
    """Parse `{"cmd": …, "sig": …}` strictly (shape only: call `verify_command` next)."""
    if not isinstance(obj, dict) or set(obj) != {"cmd", "sig"}:
        raise MalformedCommand("bad_shape")
    cmd = obj["cmd"]
    if not isinstance(cmd, dict):
        raise MalformedCommand("wrong_type")
    problem = key_problem(cmd, _FIELDS)
    if problem is not None:
        raise MalformedCommand(problem)
    try:
        sig = b64u_decode(obj["sig"], length=64)
    except EncodingError:
        raise MalformedCommand("bad_b64u") from None
    command = Command(cmd["v"], cmd["id"], cmd["device"], cmd["type"], cmd["issued"], cmd["by"])
    _check(command)
    return SignedCommand(command, sig)


def _check(command: Command) -> None:
    if type(command.v) is not int or command.v != VERSION:
        raise MalformedCommand("unsupported_version")
    for value in (command.id, command.device, command.by):
        if not isinstance(value, str) or not _HEX32.match(value):
            raise MalformedCommand("bad_id")
    if not isinstance(command.type, str) or command.type not in TYPES:
        raise MalformedCommand("unknown_type")
    if type(command.issued) is not int or not 0 <= command.issued < 2**53:
        raise MalformedCommand("bad_time")
