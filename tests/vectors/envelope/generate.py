"""Regenerate the envelope vectors in this directory: `python tests/vectors/envelope/generate.py`.

Keys come from fixed seeds; age encryption draws a random file key and ephemeral share, so the
payload bytes change on every run. That is fine: the vectors are the files, and tests read them.

Each vector is one JSON file:
    name, description
    public_key    b64u Ed25519 public key of the author the verifier trusts
    identity      age identity to open with (test-only key), or absent
    wire          the envelope's bytes, as text (canonical JSON unless the vector says otherwise)
    expect        "valid" or the error class name
    reason        the error's `reason` (failures only)
    hash          envelope hash (valid only); plaintext: the decrypted payload as text (valid only)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from core.crypto.signing import SigningKey  # noqa: E402
from sync import age  # noqa: E402
from sync.age import bech32  # noqa: E402
from sync.encoding import b64u_decode, b64u_encode, canonical_json  # noqa: E402
from sync.envelope import (  # noqa: E402
    ZERO_HASH,
    envelope_hash,
    seal,
    sign_ciphertext,
    to_bytes,
    to_wire,
)
from sync.keys import key_id  # noqa: E402
from sync.payload import build_payload  # noqa: E402

AUTHOR = SigningKey.from_bytes(bytes([1]) * 32)
OTHER = SigningKey.from_bytes(bytes([2]) * 32)
IDENTITY = bech32.encode("age-secret-key-", bytes([3]) * 32).upper()
RECIPIENT = age.recipient_of(IDENTITY)
OTHER_IDENTITY = bech32.encode("age-secret-key-", bytes([4]) * 32).upper()
OTHER_RECIPIENT = age.recipient_of(OTHER_IDENTITY)
DEVICE_TO = key_id(OTHER.public_bytes())
NOW = 1_763_700_000
PUBLIC = b64u_encode(AUTHOR.public_bytes())


def eid(n: int) -> str:
    return f"{n:032x}"


def write(name: str, description: str, wire: str, expect: str, **extra: object) -> None:
    vector = {
        "name": name,
        "description": description,
        "public_key": extra.pop("public_key", PUBLIC),
        "wire": wire,
        "expect": expect,
        **extra,
    }
    if "identity" not in vector:
        vector["identity"] = IDENTITY
    (HERE / f"{name}.json").write_text(json.dumps(vector, indent=2, sort_keys=True) + "\n")


def text(obj: object) -> str:
    return canonical_json(obj).decode("ascii")


def main() -> None:
    for old in HERE.glob("*.json"):
        old.unlink()
    record = {"title": "Detention at a checkpoint", "victim": "pseudonym A", "region": "Osh"}
    plain = build_payload("incident", record)
    first = seal(plain, signer=AUTHOR, recipients=[RECIPIENT], seq=1, prev=ZERO_HASH,
                 kind="report", now=NOW, envelope_id=eid(1))
    write("valid_first_report", "seq 1 report, prev is 64 zeros", to_bytes(first).decode(),
          "valid", hash=envelope_hash(first), plaintext=plain.decode())

    plain2 = build_payload("note", {"text": "follow-up"}, [
        {"id": "b" * 32, "sha256": "c" * 64, "size": 1024, "media_type": "image/jpeg",
         "name": "photo.jpg"}])
    second = seal(plain2, signer=AUTHOR, recipients=[RECIPIENT, OTHER_RECIPIENT], seq=2,
                  prev=envelope_hash(first), kind="report", now=NOW + 60, envelope_id=eid(2))
    write("valid_second_report", "seq 2, prev is the hash of valid_first_report; two recipients",
          to_bytes(second).decode(), "valid", hash=envelope_hash(second),
          plaintext=plain2.decode(), prev_vector="valid_first_report")

    plain3 = build_payload("message", {"text": "can you get the badge number?"})
    message = seal(plain3, signer=AUTHOR, recipients=[RECIPIENT], seq=1, prev=ZERO_HASH,
                   kind="message", to=DEVICE_TO, now=NOW, envelope_id=eid(3))
    write("valid_message", "kind message carries `to`", to_bytes(message).decode(), "valid",
          hash=envelope_hash(message), plaintext=plain3.decode())

    base = to_wire(first)

    def variant(change) -> dict:
        obj = json.loads(json.dumps(base))
        change(obj)
        return obj

    def flip_sig(o):
        sig = bytearray(b64u_decode(o["sig"]))
        sig[10] ^= 0x01
        o["sig"] = b64u_encode(bytes(sig))

    write("forged_signature", "one bit of the signature flipped", text(variant(flip_sig)),
          "ForgedEnvelope", reason="bad_signature")

    def flip_payload(o):
        payload = bytearray(b64u_decode(o["payload"]))
        payload[-1] ^= 0x80
        o["payload"] = b64u_encode(bytes(payload))

    write("altered_payload", "last ciphertext byte changed, same length", text(variant(flip_payload)),
          "ForgedEnvelope", reason="payload_mismatch")

    def later(o):
        o["header"]["created"] += 1

    write("altered_header_created", "header `created` changed after signing",
          text(variant(later)), "ForgedEnvelope", reason="bad_signature")

    def kind(o):
        o["header"]["kind"] = "reply"

    write("altered_header_kind", "header `kind` changed after signing", text(variant(kind)),
          "ForgedEnvelope", reason="bad_signature")

    write("wrong_author_key", "valid envelope checked against another device's key",
          to_bytes(first).decode(), "ForgedEnvelope", reason="wrong_author",
          public_key=b64u_encode(OTHER.public_bytes()))

    impostor = sign_ciphertext(first.payload, signer=OTHER, seq=1, prev=ZERO_HASH, kind="report",
                               now=NOW, envelope_id=eid(4))
    impostor_wire = to_wire(impostor)
    impostor_wire["header"]["author"] = first.header.author
    write("signed_by_another_key", "author names the trusted key but another key signed",
          text(impostor_wire), "ForgedEnvelope", reason="bad_signature")

    def sig_trailing_bits(o):
        s = o["sig"]
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        o["sig"] = s[:-1] + alphabet[alphabet.index(s[-1]) ^ 1]

    write("non_canonical_b64u_signature", "last signature character has non-zero unused bits",
          text(variant(sig_trailing_bits)), "EnvelopeFormatError", reason="not_canonical_b64u")

    def padded(o):
        o["payload"] = o["payload"] + "=" * (-len(o["payload"]) % 4 or 4)

    write("padded_b64u_payload", "payload base64 carries `=` padding", text(variant(padded)),
          "EnvelopeFormatError", reason="not_canonical_b64u")

    def std_alphabet(o):
        o["sig"] = "+" + o["sig"][1:]

    write("standard_base64_alphabet", "`+` from the standard alphabet in the signature",
          text(variant(std_alphabet)), "EnvelopeFormatError", reason="not_canonical_b64u")

    write("unknown_field", "an extra top-level field",
          text(variant(lambda o: o.update(extra=1))), "EnvelopeFormatError",
          reason="unknown_field")
    write("unknown_header_field", "an extra header field",
          text(variant(lambda o: o["header"].update(region="Osh"))), "EnvelopeFormatError",
          reason="unknown_field")
    write("missing_header_field", "header without `prev`",
          text(variant(lambda o: o["header"].pop("prev"))), "EnvelopeFormatError",
          reason="missing_field")
    write("message_without_to", "kind message but no `to`",
          text(variant(lambda o: o["header"].update(kind="message"))), "EnvelopeFormatError",
          reason="missing_field")
    write("to_on_report", "`to` on a report", text(variant(lambda o: o["header"].update(to=DEVICE_TO))),
          "EnvelopeFormatError", reason="unexpected_to")
    write("wrong_version", "header v 2", text(variant(lambda o: o["header"].update(v=2))),
          "EnvelopeFormatError", reason="unsupported_version")
    write("seq_as_string", "header seq is a string",
          text(variant(lambda o: o["header"].update(seq="1"))), "EnvelopeFormatError",
          reason="wrong_type")
    write("seq_zero", "sequence numbers start at 1",
          text(variant(lambda o: o["header"].update(seq=0))), "EnvelopeFormatError",
          reason="bad_value")
    write("uppercase_hex_id", "ids are lowercase hex",
          text(variant(lambda o: o["header"].update(id=o["header"]["id"].upper().replace("0", "A")))),
          "EnvelopeFormatError", reason="bad_value")
    write("first_prev_not_zero", "seq 1 must name 64 zeros as prev",
          text(variant(lambda o: o["header"].update(prev="1" * 64))), "EnvelopeFormatError",
          reason="first_prev_not_zero")
    write("unknown_kind", "kind outside the closed set",
          text(variant(lambda o: o["header"].update(kind="photo"))), "EnvelopeFormatError",
          reason="unknown_kind")
    write("oversize_declared_payload", "header declares a payload over 256 KiB",
          text(variant(lambda o: o["header"].update(size=256 * 1024 + 1))),
          "EnvelopeFormatError", reason="payload_too_large")
    wire = to_bytes(first).decode()
    write("truncated", "the wire bytes cut in half", wire[: len(wire) // 2],
          "EnvelopeFormatError", reason="malformed_json")
    write("truncated_payload", "four base64 characters dropped from the payload",
          text(variant(lambda o: o.update(payload=o["payload"][:-4]))), "EnvelopeFormatError",
          reason="size_mismatch")
    write("not_canonical_json", "valid envelope with a space after the first colon",
          wire.replace(":", ": ", 1), "EnvelopeFormatError", reason="not_canonical_json")
    write("duplicate_key", "the header key appears twice",
          wire[:-1] + ',"header":' + json.dumps(base["header"], sort_keys=True,
                                               separators=(",", ":")) + "}",
          "EnvelopeFormatError", reason="malformed_json")

    stranger = seal(plain, signer=AUTHOR, recipients=[OTHER_RECIPIENT], seq=1, prev=ZERO_HASH,
                    kind="report", now=NOW, envelope_id=eid(5))
    write("not_for_me", "valid and signed, but encrypted to another recipient",
          to_bytes(stranger).decode(), "NotForMe", reason="not_for_me")
    garbage = sign_ciphertext(b"not an age file\n", signer=AUTHOR, seq=1, prev=ZERO_HASH,
                              kind="report", now=NOW, envelope_id=eid(6))
    write("signed_garbage", "signature verifies but the payload is not age",
          to_bytes(garbage).decode(), "ForgedEnvelope", reason="bad_ciphertext")


if __name__ == "__main__":
    main()
