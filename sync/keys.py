"""Key identifiers: how devices, coordinators and the organisation's root key are named.

`key_id(public_key)` is the first 16 bytes of SHA-256 over the Ed25519 public key, as 32 lowercase
hex digits. It names a device or coordinator on the server and in envelope headers, and it is
the root-key fingerprint pinned by an invite. It is derived from a key, never from a name.
"""

from core.crypto.hashing import sha256

KEY_ID_HEX_LENGTH = 32


def key_id(public_key: bytes) -> str:
    if len(public_key) != 32:
        raise ValueError("Ed25519 public keys are 32 bytes")
    return sha256(public_key)[:16].hex()


def format_fingerprint(fingerprint: str) -> str:
    """Group a key id for reading aloud: `a1b2 c3d4 …`."""
    return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))
