"""The silent alarm of a locked phone: sealed without the vault, posted with the check key.

A locked phone cannot use its device key (it is inside the vault). With a keystore it keeps,
in the sealed check file (`sync.wipecheck`), what an alarm needs: the coordinators' age
recipients, the owner's preset message, and the check key, which also signs alarms (under its
own label, so an alarm signature is never a request signature or a proof, and back). While
unlocked the phone announces that key to the coordinators in an ordinary signed, encrypted
envelope (payload type `alarm_key`); the server cannot substitute it.

    signed  = {"v": 1, "device": <key id>, "nonce": <b64u 16 random bytes>, "at": <unix s>,
               "message": "detained" | "danger" | "medical" | "call_me"}
    sig     = Ed25519(check key, LOCKED_ALARM || canonical_json(signed))
    plain   = length (2, big-endian) || canonical_json({"alarm": signed, "sig": b64u(sig)})
              || zero padding to PLAIN_SIZE
    sealed  = age(plain) to the coordinators' recipients

Use on the phone `seal(...)` and `post(facts, sealed)` (`POST /v1/alarms`, signed by the check
key). Coordinators use `verify(sealed, identities, device=..., keys=..., now=...)`, where `keys`
are the keys `device` announced in its own envelopes (`sync.coordinator.locked_alarms`).

Errors: `NotForMe` (none of our identities opens it), `UnknownAlarmKey` (no announced key of
that device verifies it yet: try again after the next pull), `StaleAlarm` (older than
`STALE_SECONDS` or dated in the future), and one opaque `BadLockedAlarm` for everything else
(altered, forged, moved to another device, malformed).

Danger: the nonce is what coordinators de-duplicate on; the phone reuses it for the ordinary
alarm it seals at the next unlock, so the two are one alarm. Never reuse a nonce otherwise.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from core.crypto.errors import BadSignature
from core.crypto.random import random_bytes
from core.crypto.signing import SigningKey
from core.crypto.signing import verify as verify_signature
from sync import age
from sync.encoding import EncodingError, b64u_decode, b64u_encode, canonical_json
from sync.labels import LOCKED_ALARM

VERSION = 1
PATH = "/v1/alarms"
PLAIN_SIZE = 512
"""Every alarm's plaintext is padded to this, so all alarms of an organisation have one size."""
NONCE_SIZE = 16
STALE_SECONDS = 7 * 86400
FUTURE_SECONDS = 600
MESSAGES = ("detained", "danger", "medical", "call_me")
_SIGNED = frozenset({"v", "device", "nonce", "at", "message"})


class LockedAlarmError(Exception):
    """Base class: this locked alarm is not raised."""


class NotForMe(LockedAlarmError):
    """None of the given identities opens it."""


class UnknownAlarmKey(LockedAlarmError):
    """It opens, but no key its device announced verifies it (yet)."""


class StaleAlarm(LockedAlarmError):
    """Signed more than `STALE_SECONDS` ago, or too far in the future."""


class BadLockedAlarm(LockedAlarmError):
    """Altered, forged, moved to another device or malformed. Deliberately says no more."""


@dataclasses.dataclass(frozen=True, slots=True)
class LockedAlarm:
    device: str
    nonce: str
    at: int
    message: str


def new_nonce() -> str:
    return b64u_encode(random_bytes(NONCE_SIZE))


def seal(
    *,
    device: str,
    nonce: str,
    at: int,
    message: str,
    alarm_key: SigningKey,
    recipients: Sequence[str],
) -> bytes:
    """The sealed alarm (ValueError for a bad message, time or empty recipients)."""
    if message not in MESSAGES or type(at) is not int or at < 0 or not recipients:
        raise ValueError("not a valid alarm")
    signed = {"v": VERSION, "device": device, "nonce": nonce, "at": at, "message": message}
    sig = alarm_key.sign(LOCKED_ALARM + canonical_json(signed))
    body = canonical_json({"alarm": signed, "sig": b64u_encode(sig)})
    if len(body) + 2 > PLAIN_SIZE:
        raise ValueError("alarm too long")
    plain = len(body).to_bytes(2, "big") + body + bytes(PLAIN_SIZE - 2 - len(body))
    return age.encrypt(plain, list(recipients))


def _open(sealed: bytes, identities: Sequence[Any]) -> tuple[dict[str, Any], bytes]:
    try:
        plain = age.decrypt(sealed, list(identities))
    except age.NoIdentityMatch:
        raise NotForMe() from None
    except (age.AgeError, ValueError):
        raise BadLockedAlarm() from None
    try:
        if len(plain) != PLAIN_SIZE:
            raise ValueError
        size = int.from_bytes(plain[:2], "big")
        if plain[2 + size :].strip(b"\0"):
            raise ValueError
        outer = json.loads(plain[2 : 2 + size].decode("utf-8"))
        if not isinstance(outer, dict) or set(outer) != {"alarm", "sig"}:
            raise ValueError
        signed = outer["alarm"]
        if not isinstance(signed, dict) or set(signed) != _SIGNED or signed["v"] != VERSION:
            raise ValueError
        if canonical_json(outer) != plain[2 : 2 + size]:
            raise ValueError
        return signed, b64u_decode(outer["sig"], length=64)
    except (ValueError, TypeError, KeyError, EncodingError, UnicodeDecodeError):
        raise BadLockedAlarm() from None


def verify(
    sealed: bytes,
    identities: Sequence[Any],
    *,
    device: str,
    keys: Sequence[bytes],
    now: int,
) -> LockedAlarm:
    """The alarm `device` sent, checked against the alarm keys it announced, or an error."""
    signed, sig = _open(sealed, identities)
    if signed["device"] != device:
        raise BadLockedAlarm()  # moved by the server to another device's name
    message, at, nonce = signed["message"], signed["at"], signed["nonce"]
    if message not in MESSAGES or type(at) is not int or not isinstance(nonce, str):
        raise BadLockedAlarm()
    try:
        b64u_decode(nonce, length=NONCE_SIZE)
    except EncodingError:
        raise BadLockedAlarm() from None
    for key in keys:
        try:
            verify_signature(key, sig, LOCKED_ALARM + canonical_json(signed))
        except (BadSignature, ValueError):
            continue
        if at < now - STALE_SECONDS or at > now + FUTURE_SECONDS:
            raise StaleAlarm()
        return LockedAlarm(device=device, nonce=nonce, at=at, message=message)
    raise UnknownAlarmKey()


def post(facts: Any, sealed: bytes, *, timeout: float = 5.0) -> None:
    """Post a sealed alarm with the check key of a `sync.wipecheck.CheckFacts` (raises a
    `sync.errors.SyncError` on failure)."""
    from sync.wipecheck import check_key_client

    with check_key_client(facts, timeout=timeout) as client:
        client.call("POST", PATH, json_body={"sealed": b64u_encode(sealed)})
