"""Enrolment proofs: how a device shows that its keys are the ones an invite was handed to.

The invite carries a secret the server never sees (`Invite.enrol_secret`). At enrolment the
device sends `enrolment_proof(secret, signing_key, recipient)` with its keys; the server stores
the proof beside the device and hands it to coordinators in the device list. Only the
coordinator who made the invite holds the secret, so only it can check the proof
(`proof_matches`), and a server that invents a device row or swaps a device's keys cannot
produce one that passes.

Danger: the secret is a credential until the device is admitted to the roster. Keep it in the
coordinator's vault only; never send it to the server, log it or show it outside the invite.
"""

from __future__ import annotations

from core.crypto.hashing import equal, hmac_sha256, sha256
from sync.encoding import EncodingError, b64u_decode, b64u_encode
from sync.labels import DEVICE_FINGERPRINT, ENROLMENT_PROOF

PROOF_SIZE = 32


def enrolment_proof(secret_hex: str, signing_key: bytes, recipient: str) -> str:
    """The proof a device sends at enrolment (base64url, 32 bytes)."""
    return b64u_encode(_mac(secret_hex, signing_key, recipient))


def proof_matches(proof: object, secret_hex: str, signing_key: bytes, recipient: str) -> bool:
    """True if `proof` was made with this secret for exactly these keys (constant time)."""
    if not isinstance(proof, str):
        return False
    try:
        raw = b64u_decode(proof, length=PROOF_SIZE)
    except EncodingError:
        return False
    return equal(raw, _mac(secret_hex, signing_key, recipient))


def device_fingerprint(signing_key: bytes, recipient: str) -> str:
    """What a coordinator compares with the phone before admitting it by hand: 32 hex digits
    over both of the device's public keys (its signing key and its age recipient), so a server
    that swaps either one shows a different fingerprint."""
    return sha256(DEVICE_FINGERPRINT + signing_key + recipient.encode("ascii"))[:16].hex()


def _mac(secret_hex: str, signing_key: bytes, recipient: str) -> bytes:
    if len(signing_key) != 32:
        raise ValueError("a signing key is 32 bytes")
    return hmac_sha256(
        bytes.fromhex(secret_hex), ENROLMENT_PROOF + signing_key + recipient.encode("ascii")
    )
