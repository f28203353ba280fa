"""The check key: a second Ed25519 key a phone registers so that, locked, it may ask for its
pending commands (and nothing else; see `server.auth.check_key` and `sync.wipecheck`).

Use `register(client, check_key, device_id)` with a client that signs with the device key
(`PUT /v1/devices/me/check-key`); the server checks `verify_proof`. The proof (the check key's
signature over the device id) shows the device holds the key, so no device can register
another's key as its own.
"""

from __future__ import annotations

from typing import Any

from core.crypto.errors import BadSignature
from core.crypto.signing import SigningKey, verify
from sync.encoding import b64u_encode
from sync.labels import CHECK_KEY_PROOF

PATH = "/v1/devices/me/check-key"


def proof(check_key: SigningKey, device_id: str) -> bytes:
    """The check key's signature over the device id."""
    return check_key.sign(CHECK_KEY_PROOF + device_id.encode("ascii"))


def verify_proof(public_key: bytes, signature: bytes, device_id: str) -> bool:
    """True if `signature` is `proof(key, device_id)` for the key `public_key`."""
    try:
        verify(public_key, signature, CHECK_KEY_PROOF + device_id.encode("ascii"))
    except BadSignature:
        return False
    return True


def register(client: Any, check_key: SigningKey, device_id: str) -> None:
    """Register the check key (a `sync.client.Client` signing with the device key)."""
    body = {
        "check_key": b64u_encode(check_key.public_bytes()),
        "proof": b64u_encode(proof(check_key, device_id)),
    }
    client.call("PUT", PATH, json_body=body)
