"""Regenerate the invite vectors: `python tests/vectors/invite/generate.py`.

Deliberately independent of `sync.invite`: it builds the bytes from docs/formats/invite.md
with its own Crockford base32, so the vectors check the implementation against the spec.
Fully deterministic.

Each vector is one JSON file: name, description, text, and either `invite` (the fields the
text must parse to) or `reason` (the `InviteError.reason` parsing must give).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LABEL = b"fieldvault/invite/v1\n"
FINGERPRINT = "3f2a9c0d5e7b41a8b6c4d2e0f1a3b5c7"
PIN = "9d1f6c2b8a7e5d4c3b2a190817263544" + "5f6e7d8c9bafbeadcfd0e1f2a3b4c5d6"
TOKEN = "Qm9uZ2ZqYXJpc3Rvb2R0b2tlbmZvcmludml0ZXMxMjM"
SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
ORG_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"


def base32(data: bytes) -> str:
    bits = "".join(f"{byte:08b}" for byte in data)
    bits += "0" * (-len(bits) % 5)
    return "".join(ALPHABET[int(bits[i : i + 5], 2)] for i in range(0, len(bits), 5))


def grouped(chars: str) -> str:
    return "FV1-" + "-".join(chars[i : i + 5] for i in range(0, len(chars), 5))


def body(url: str, token: str = TOKEN, fingerprint: str = FINGERPRINT, pin: str | None = None,
         flags: int | None = None, secret: str | None = None, floor: int | None = None,
         org_key: str | None = None) -> bytes:
    default = ((1 if pin else 0) | (2 if secret else 0) | (4 if floor is not None else 0)
               | (8 if org_key else 0))
    out = bytes([flags if flags is not None else default])
    out += bytes.fromhex(fingerprint)
    if pin:
        out += bytes.fromhex(pin)
    if secret:
        out += bytes.fromhex(secret)
    if floor is not None:
        out += floor.to_bytes(4, "big")
    if org_key:
        out += bytes.fromhex(org_key)
    out += bytes([len(token)]) + token.encode() + url.encode()
    return out


def code(raw: bytes) -> str:
    return grouped(base32(raw + hashlib.sha256(LABEL + raw).digest()[:4]))


def write(name: str, description: str, text: str, **result: object) -> None:
    vector = {"name": name, "description": description, "text": text, **result}
    (HERE / f"{name}.json").write_text(json.dumps(vector, indent=2, sort_keys=True) + "\n")


def valid(name: str, description: str, url: str, pin: str | None = None, text=None,
          secret: str | None = None, floor: int | None = None, org_key: str | None = None) -> str:
    encoded = code(body(url, pin=pin, secret=secret, floor=floor, org_key=org_key))
    fields = {"server_url": url, "token": TOKEN, "root_fingerprint": FINGERPRINT, "tls_pin": pin}
    if secret:
        fields["enrol_secret"] = secret
    if floor:
        fields["org_floor"] = floor
    if org_key:
        fields["org_key"] = org_key
    write(name, description, text(encoded) if text else encoded, invite=fields,
          canonical=encoded)
    return encoded


def main() -> None:
    for old in HERE.glob("*.json"):
        old.unlink()
    plain = valid("valid_https", "https server, no TLS pin", "https://vault.example.org")
    valid("valid_https_pinned_with_path", "https with port, path and TLS pin",
          "https://vault.example.org:8443/fv", pin=PIN)
    valid("valid_with_secret_and_floor", "TLS pin, enrolment secret, org floor 7",
          "https://vault.example.org", pin=PIN, secret=SECRET, floor=7)
    valid("valid_0_2_full", "an 0.2 invite: enrolment secret, org floor 3, organisation key",
          "https://vault.example.org", secret=SECRET, floor=3, org_key=ORG_KEY)
    write("zero_floor", "an org floor of 0 is written as no floor",
          code(body("https://vault.example.org", secret=SECRET, floor=0)), reason="not_canonical")
    valid("valid_loopback_http", "http is allowed for loopback", "http://127.0.0.1:8000")
    valid("valid_onion_http", "http is allowed for .onion",
          "http://exampleonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion")
    valid("valid_typed_loosely", "lower case, spaces for dashes, O for 0 and l for 1",
          "https://vault.example.org",
          text=lambda t: t.lower().replace("-", " ").replace("0", "o").replace("1", "l")
          .replace("fvl", "fv1"))

    write("bad_checksum", "one character changed",
          plain[:10] + ("A" if plain[10] != "A" else "B") + plain[11:], reason="bad_checksum")
    write("unknown_version", "FV2 prefix", "FV2-" + plain[4:], reason="unknown_version")
    write("not_an_invite", "no FV prefix", plain[4:], reason="not_an_invite")
    write("bad_character", "U is not in Crockford base32", plain[:6] + "U" + plain[7:],
          reason="bad_character")
    chars = plain[4:].replace("-", "")
    write("truncated", "the last five bytes (eight characters) dropped", grouped(chars[:-8]),
          reason="bad_checksum")
    padded = code(body("https://vault.example.org/a")).replace("-", "")[3:]
    assert len(padded) * 5 % 8, "needs unused bits in the last character"
    write("non_zero_padding_bits", "the unused low bits of the last character are not zero",
          grouped(padded[:-1] + ALPHABET[ALPHABET.index(padded[-1]) ^ 1]),
          reason="not_canonical")
    write("impossible_length", "a length no byte string encodes to",
          plain + "-0", reason="bad_length")
    write("insecure_http", "http to a public host, valid checksum",
          code(body("http://vault.example.org")), reason="insecure_url")
    write("ftp_scheme", "only http and https", code(body("ftp://vault.example.org")),
          reason="bad_url")
    write("url_with_credentials", "user info in the URL",
          code(body("https://user:pw@vault.example.org")), reason="bad_url")
    write("unknown_flag", "a flag bit this version does not define",
          code(body("https://vault.example.org", flags=16)), reason="bad_flags")
    write("bad_token", "token outside the base64url alphabet",
          code(body("https://vault.example.org", token="abc.def")), reason="bad_token")


if __name__ == "__main__":
    main()
