"""Every file in tests/vectors/envelope/ gives the outcome and error reason it names."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sync import envelope as env
from sync.encoding import b64u_decode
from tests.conftest import require

VECTORS = sorted((Path(__file__).parents[1] / "vectors" / "envelope").glob("*.json"))
ERRORS = {
    "EnvelopeFormatError": env.EnvelopeFormatError,
    "ForgedEnvelope": env.ForgedEnvelope,
    "NotForMe": env.NotForMe,
}


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def run(vector: dict) -> tuple[env.Envelope, bytes]:
    envelope = env.from_bytes(vector["wire"].encode("ascii"))
    env.verify(envelope, b64u_decode(vector["public_key"]))
    return envelope, env.open_(envelope, [vector["identity"]])


def test_the_vector_set_covers_the_named_failures() -> None:
    names = {path.stem for path in VECTORS}
    assert {
        "forged_signature",
        "altered_payload",
        "altered_header_created",
        "non_canonical_b64u_signature",
        "unknown_field",
        "oversize_declared_payload",
        "truncated",
        "wrong_version",
        "not_for_me",
    } <= names
    assert sum(1 for n in names if n.startswith("valid_")) >= 3


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_envelope_vector(path: Path) -> None:
    vector = load(path)
    if vector["expect"] == "valid":
        envelope, plaintext = run(vector)
        assert env.envelope_hash(envelope) == vector["hash"]
        assert plaintext.decode("utf-8") == vector["plaintext"]
        assert env.to_bytes(envelope).decode("ascii") == vector["wire"]
        if "prev_vector" in vector:
            assert (
                envelope.header.prev
                == load(path.with_name(vector["prev_vector"] + ".json"))["hash"]
            )
        return
    with pytest.raises(ERRORS[vector["expect"]]) as caught:
        run(vector)
    assert type(caught.value) is ERRORS[vector["expect"]]
    assert caught.value.reason == vector["reason"]


def test_the_reference_age_tool_opens_a_vector_payload(tmp_path: Path) -> None:
    require(shutil.which("age") is not None, "the reference `age` tool is not installed")
    vector = load(VECTORS[0].with_name("valid_second_report.json"))
    envelope = env.from_bytes(vector["wire"].encode("ascii"))
    identity = tmp_path / "identity.txt"
    identity.write_text(vector["identity"] + "\n")
    result = subprocess.run(
        ["age", "--decrypt", "-i", str(identity)],
        input=envelope.payload,
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert result.stdout.decode("utf-8") == vector["plaintext"]
