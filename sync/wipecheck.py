"""Wipe before unlock, the phone's side: a remote wipe that reaches a phone kept locked.

A phone syncs only while unlocked, so a wipe ordered for a seized phone that is never unlocked
(or opened only as far as the calculator) would never run. With a keystore the phone keeps,
outside its vault, what it needs to ask for its commands at start:

- `arm(...)` (unlocked, after a sync round): makes a *check key* (Ed25519), registers its
  public half with the server (`sync.checkkey.register`) and writes the sealed *check file*.
  Done again only when what the file holds changes (server, pin, proxy, accepted org
  document version, executed commands).
- `check(...)` (at start, before anything is usable): opens the file, asks
  `GET /v1/commands/pending` with the check key (short timeout, through the proxy), verifies
  the org document's root-signed clear part against the pinned root and the version floor,
  each command with `sync.commands.verify_command`, and on a valid wipe calls the app's wipe.
  Silent: every failure (no file, no keystore entry, network, a hostile answer) returns False.

The check file (`core.checkfile_port`, kept on disk by `storage.checkfile`; exactly 4096 bytes):

    nonce (12) || ChaCha20-Poly1305(key, length (2, big-endian) || JSON || zero padding,
                                    aad = CHECK_FILE label)

JSON: `{"v": 2, "server", "pin", "proxy", "device", "check" (b64u seed of the check key),
"root" (pinned root fingerprint), "floor" (the org document version last accepted),
"done" (executed command ids, the last 32), "recipients" (the coordinators' age recipients of
the accepted org document), "message" (the owner's preset alarm message)}`; the last two let
a locked phone seal its silent alarm (`sync.locked_alarm`) and are empty when they do not fit
(a post-quantum organisation's recipients are too long) or before the first org document.
A version 1 file (without them) is still read. The 32-byte key lives in the keystore under
`field_keystore.CHECK_FILE_KEY_NAME`; without it the file is 4096 random-looking bytes.

Danger: the check key is not a device key: the server accepts it for pending commands only,
so whoever reads the file with the phone's keystore can learn that a wipe waits, and withhold
nothing the server could not. Never widen what the server accepts it for. The floor matters:
without it a hostile server could answer with an older, still root-signed document that lists a
coordinator since removed (a stolen key) and have that key's wipe obeyed.

Errors: `CheckFileError` (the file does not open or is malformed); everything in `check` is
swallowed on purpose.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from core.checkfile_port import SIZE, CheckFilePort
from core.crypto import aead
from core.crypto.errors import InvalidCiphertext
from core.crypto.random import random_bytes
from core.crypto.signing import SigningKey
from sync import commands as commands_mod
from sync import orgdoc, orgseal
from sync.client import Client
from sync.encoding import EncodingError, b64u_decode, b64u_encode, canonical_json
from sync.labels import CHECK_FILE

VERSION = 2
KEY_SIZE = 32
MAX_DONE = 32
CHECK_TIMEOUT = 5.0
"""Seconds for the connection and again for the answer: the start waits at most about this."""
_BODY = SIZE - aead.OVERHEAD
_FIELDS_V1 = frozenset({"v", "server", "pin", "proxy", "device", "check", "root", "floor", "done"})
_FIELDS = _FIELDS_V1 | {"recipients", "message"}


class CheckFileError(Exception):
    """The check file does not open under the key, or what it holds is not well-formed."""


class Keystore(Protocol):
    def get(self, name: str) -> bytes | None: ...
    def put(self, name: str, value: bytes) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class CheckFacts:
    """What a locked phone needs to ask for its commands and check them."""

    server: str
    pin: str | None
    proxy: str | None
    device: str
    check_seed: bytes = dataclasses.field(repr=False)
    root: str
    floor: int
    done: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    message: str = ""

    @property
    def check_key(self) -> SigningKey:
        return SigningKey.from_bytes(self.check_seed)


# ---------------------------------------------------------------- the file format


def seal(facts: CheckFacts, key: bytes) -> bytes:
    """The check file's bytes (exactly `SIZE`); ValueError if the facts do not fit."""
    body = canonical_json(
        {
            "v": VERSION,
            "server": facts.server,
            "pin": facts.pin,
            "proxy": facts.proxy,
            "device": facts.device,
            "check": b64u_encode(facts.check_seed),
            "root": facts.root,
            "floor": facts.floor,
            "done": list(facts.done[-MAX_DONE:]),
            "recipients": list(facts.recipients),
            "message": facts.message,
        }
    )
    if len(body) + 2 > _BODY:
        raise ValueError("server address or proxy too long for the check file")
    plain = len(body).to_bytes(2, "big") + body + bytes(_BODY - 2 - len(body))
    return aead.seal(key, plain, CHECK_FILE)


def open_(sealed: bytes, key: bytes) -> CheckFacts:
    """The facts in a check file, or `CheckFileError`."""
    try:
        plain = aead.open_(key, sealed, CHECK_FILE)
    except (InvalidCiphertext, ValueError):
        raise CheckFileError() from None
    size = int.from_bytes(plain[:2], "big")
    try:
        obj = json.loads(plain[2 : 2 + size].decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError
        if not (set(obj) == _FIELDS and obj["v"] == VERSION) and not (
            set(obj) == _FIELDS_V1 and obj["v"] == 1
        ):
            raise ValueError
        recipients = obj.get("recipients", [])
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            raise ValueError
        if not isinstance(obj.get("message", ""), str):
            raise ValueError
        done = obj["done"]
        if not isinstance(done, list) or not all(isinstance(d, str) for d in done):
            raise ValueError
        if not isinstance(obj["floor"], int):
            raise ValueError
        return CheckFacts(
            server=str(obj["server"]),
            pin=None if obj["pin"] is None else str(obj["pin"]),
            proxy=None if obj["proxy"] is None else str(obj["proxy"]),
            device=str(obj["device"]),
            check_seed=b64u_decode(obj["check"], length=32),
            root=str(obj["root"]),
            floor=obj["floor"],
            done=tuple(done),
            recipients=tuple(recipients),
            message=obj.get("message", ""),
        )
    except (ValueError, KeyError, TypeError, EncodingError):
        raise CheckFileError() from None


# ---------------------------------------------------------------- arming (unlocked)


def arm(
    check_file: CheckFilePort,
    keystore: Keystore,
    key_name: str,
    wanted: Callable[[bytes | None], CheckFacts],
    register_key: Callable[[SigningKey], None],
) -> bool:
    """Write the check file if what it should hold changed; True if it was (re)written.

    `wanted(seed)` returns the facts the file should hold, given the check key's seed already
    in the file (None: a new check key is needed, made by `wanted`). `register_key` registers
    a new check key with the server; it runs before the file is written, so a file never holds
    a key the server does not know. Raises whatever registration raises (the caller decides).
    """
    key = keystore.get(key_name)
    current: CheckFacts | None = None
    if key is not None and len(key) == KEY_SIZE:
        sealed = check_file.read()
        if sealed is not None:
            try:
                current = open_(sealed, key)
            except CheckFileError:
                current = None
    else:
        key = random_bytes(KEY_SIZE)
        keystore.put(key_name, key)
    facts = wanted(current.check_seed if current is not None else None)
    if current is not None and facts == current:
        return False
    if current is None or current.check_seed != facts.check_seed:
        register_key(facts.check_key)
    check_file.write(seal(facts, key))
    return True


def new_check_seed() -> bytes:
    return SigningKey.generate().private_bytes()


# ---------------------------------------------------------------- checking (locked)


def ordered_wipe(facts: CheckFacts, answer: Any) -> str | None:
    """The id of a wipe in `answer` (`GET /v1/commands/pending`) this phone must obey, or None.

    The org document must be signed by the pinned root and not older than the floor; the
    command by one of its coordinators, for this device, never executed before.
    """
    if not isinstance(answer, dict) or set(answer) != {"commands", "org_document"}:
        return None
    coordinators = _coordinators(answer["org_document"], facts)
    commands = answer["commands"]
    if coordinators is None or not isinstance(commands, list):
        return None
    for raw in commands:
        try:
            command = commands_mod.read_command(
                raw, coordinators, facts.device, executed_ids=frozenset(facts.done)
            )
        except commands_mod.CommandError:
            continue
        if command.type == commands_mod.WIPE:
            return command.id
    return None


def _coordinators(document: Any, facts: CheckFacts) -> commands_mod.KnowsCoordinators | None:
    try:
        if orgseal.is_container(document):
            view = orgseal.server_view(document, facts.root)
            return view if view.version >= facts.floor else None
        signed = orgdoc.from_wire(document)
        return orgdoc.verify_org_document(signed, facts.root, min_version=facts.floor)
    except orgdoc.OrgDocumentError:
        return None


def check_key_client(facts: CheckFacts, *, timeout: float = CHECK_TIMEOUT) -> Client:
    """A client that signs with the check key, through the phone's pin and proxy, with short
    timeouts (the two routes that accept the check key: pending commands, locked alarms)."""
    return Client(
        facts.server,
        signing_key=facts.check_key,
        tls_pin=facts.pin,
        proxy=facts.proxy,
        connect_timeout=timeout,
        read_timeout=timeout,
    )


def fetch(facts: CheckFacts, *, timeout: float = CHECK_TIMEOUT) -> Any:
    """Ask the server with the check key; raise a `sync.errors.SyncError` on any failure."""
    with check_key_client(facts, timeout=timeout) as client:
        return client.call("GET", "/v1/commands/pending")


def check(
    check_file: CheckFilePort,
    keystore: Keystore | None,
    key_name: str,
    wipe: Callable[[], None],
    *,
    fetcher: Callable[[CheckFacts], Any] = fetch,
) -> bool:
    """At start: wipe (through `wipe`) if the server relays a valid wipe for this phone.

    Returns True if it wiped. Never raises and never writes anything otherwise: no keystore,
    no file, a file that does not open, no network, a refusal or a forged answer all return
    False, and the app starts as if nothing had been asked.
    """
    try:
        facts = load_facts(check_file, keystore, key_name)
        if facts is None or ordered_wipe(facts, fetcher(facts)) is None:
            return False
    except Exception:  # silent by design: the app must start whatever happens
        return False
    with contextlib.suppress(Exception):  # the app's wipe never stops half-way
        wipe()
    return True


def load_facts(
    check_file: CheckFilePort, keystore: Keystore | None, key_name: str
) -> CheckFacts | None:
    """What the check file holds, or None (no keystore, no key, no file, or it does not open)."""
    if keystore is None:
        return None
    key = keystore.get(key_name)
    sealed = check_file.read()
    if key is None or sealed is None:
        return None
    try:
        return open_(sealed, key)
    except CheckFileError:
        return None


def fits(facts: CheckFacts) -> bool:
    """True if `facts` can be sealed into the file (`seal` raises ValueError otherwise)."""
    try:
        seal(facts, bytes(KEY_SIZE))
    except ValueError:
        return False
    return True


def facts_from(
    identity: Any,
    floor: int,
    done: Sequence[str],
    seed: bytes | None,
    *,
    recipients: Sequence[str] = (),
    message: str = "",
) -> CheckFacts:
    """The facts for an enrolled `sync.device.DeviceIdentity` (a new check key if no seed).

    The alarm part (`recipients`, `message`) is left out when it would not fit the file."""
    facts = CheckFacts(
        server=identity.server_url,
        pin=identity.tls_pin,
        proxy=identity.proxy,
        device=identity.device_id,
        check_seed=seed if seed is not None else new_check_seed(),
        root=identity.root_fingerprint,
        floor=int(floor),
        done=tuple(done[-MAX_DONE:]),
        recipients=tuple(recipients),
        message=message,
    )
    if facts.recipients and not fits(facts):
        facts = dataclasses.replace(facts, recipients=(), message="")
    return facts
