"""Regenerate the locked-alarm vectors in this directory:
`python tests/vectors/locked-alarm/generate.py`.

Keys come from fixed seeds; age encryption draws a random file key and ephemeral share, so the
sealed bytes change on every run. That is fine: the vectors are the files, and tests read them.

Each vector is one JSON file (`sync.locked_alarm.verify` with these inputs):
    name, description
    identity    age identity to open with (test-only key)
    keys        b64u Ed25519 keys the device announced
    device      the device id the server names
    now         the coordinator's clock
    sealed      b64u of the sealed alarm
    expect      "valid" or the error class name
    alarm       {"device", "nonce", "at", "message"} (valid only)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from core.crypto.signing import SigningKey  # noqa: E402
from sync import age  # noqa: E402
from sync.age import bech32  # noqa: E402
from sync.encoding import b64u_encode, canonical_json  # noqa: E402
from sync.labels import LOCKED_ALARM  # noqa: E402
from sync.locked_alarm import PLAIN_SIZE, STALE_SECONDS, seal  # noqa: E402

ALARM_KEY = SigningKey.from_bytes(bytes([5]) * 32)
OTHER_KEY = SigningKey.from_bytes(bytes([6]) * 32)
IDENTITY = bech32.encode("age-secret-key-", bytes([3]) * 32).upper()
RECIPIENT = age.recipient_of(IDENTITY)
OTHER_RECIPIENT = age.recipient_of(bech32.encode("age-secret-key-", bytes([4]) * 32).upper())
DEVICE = "34750f98bd59fcfc946da45aaabe933b"
NOW = 1_763_700_000
NONCE = b64u_encode(bytes(range(16)))
SIGNED = {"v": 1, "device": DEVICE, "nonce": NONCE, "at": NOW, "message": "detained"}


def write(name: str, description: str, sealed: bytes, expect: str, **extra: Any) -> None:
    vector = {
        "name": name,
        "description": description,
        "identity": IDENTITY,
        "keys": [b64u_encode(ALARM_KEY.public_bytes())],
        "device": extra.pop("device", DEVICE),
        "now": NOW + 60,
        "sealed": b64u_encode(sealed),
        "expect": expect,
        **extra,
    }
    text = json.dumps(vector, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (HERE / f"{name}.json").write_text(text, encoding="utf-8")


def sealed(**changes: Any) -> bytes:
    values: dict[str, Any] = {
        "device": DEVICE,
        "nonce": NONCE,
        "at": NOW,
        "message": "detained",
        "alarm_key": ALARM_KEY,
        "recipients": [RECIPIENT],
    }
    values.update(changes)
    return seal(**values)


def by_hand(outer: bytes, size: int = PLAIN_SIZE) -> bytes:
    """The plaintext framing done here, so a vector can break it on purpose."""
    return age.encrypt(
        len(outer).to_bytes(2, "big") + outer + bytes(size - 2 - len(outer)), [RECIPIENT]
    )


def signature(signed: dict[str, Any], key: SigningKey = ALARM_KEY) -> str:
    return b64u_encode(key.sign(LOCKED_ALARM + canonical_json(signed)))


def main() -> None:
    good = sealed()
    write(
        "valid",
        "sealed to us, signed by the key the device announced",
        good,
        "valid",
        alarm={"device": DEVICE, "nonce": NONCE, "at": NOW, "message": "detained"},
    )
    write(
        "not_for_me",
        "sealed to another coordinator",
        sealed(recipients=[OTHER_RECIPIENT]),
        "NotForMe",
    )
    write(
        "signed_by_another_key",
        "well formed, signed by a key the device never announced (the server's own)",
        sealed(alarm_key=OTHER_KEY),
        "UnknownAlarmKey",
    )
    write(
        "moved_to_another_device",
        "genuine, but the server names another device",
        good,
        "BadLockedAlarm",
        device="0" * 32,
    )
    write(
        "stale",
        "signed more than a week before the coordinator sees it",
        sealed(at=NOW + 60 - STALE_SECONDS - 1),
        "StaleAlarm",
    )
    write(
        "future",
        "signed more than ten minutes ahead of the coordinator's clock",
        sealed(at=NOW + 60 + 601),
        "StaleAlarm",
    )
    write("truncated", "the last byte cut off", good[:-1], "BadLockedAlarm")
    flipped = bytearray(good)
    flipped[-20] ^= 1
    write("flipped_bit", "one bit of the payload flipped", bytes(flipped), "BadLockedAlarm")
    outer = canonical_json({"alarm": SIGNED, "sig": signature(SIGNED)})
    write(
        "unpadded",
        "well signed, padded to another size",
        by_hand(outer, PLAIN_SIZE + 16),
        "BadLockedAlarm",
    )
    write(
        "not_canonical",
        "well signed, the outer object not canonical JSON",
        by_hand(json.dumps({"sig": signature(SIGNED), "alarm": SIGNED}).encode()),
        "BadLockedAlarm",
    )
    extra = {**SIGNED, "location": None}
    write(
        "unknown_field",
        "a field the format does not have, signed",
        by_hand(canonical_json({"alarm": extra, "sig": signature(extra)})),
        "BadLockedAlarm",
    )
    odd = {**SIGNED, "nonce": "short"}
    write(
        "bad_nonce",
        "a nonce that is not 16 bytes, signed",
        by_hand(canonical_json({"alarm": odd, "sig": signature(odd)})),
        "BadLockedAlarm",
    )
    altered = {**SIGNED, "message": "call_me"}
    write(
        "altered_message",
        "the message changed after signing (a sender who can encrypt to us, not sign)",
        by_hand(canonical_json({"alarm": altered, "sig": signature(SIGNED)})),
        "UnknownAlarmKey",
    )


if __name__ == "__main__":
    main()
