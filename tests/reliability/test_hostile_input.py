"""Hostile input: every parser that reads untrusted bytes answers damage with its own typed error.

Each parser gets a valid sample, then Hypothesis damages it (truncations, bit flips, insertions,
splices, random bytes; for JSON formats, one place replaced by any JSON value, a key deleted or
added, a list shortened). Whatever comes out must be a parse result or the parser's documented
error: never a KeyError, TypeError, IndexError, UnicodeDecodeError, RecursionError or a raw
library exception, which is what an attacker would use to crash a server or a phone.

Parsers: envelope (wire, canonical bytes, and parse+verify), age (binary and armored), org
document (parse+verify), command (parse+verify), decrypted payload, form definition, invite code,
record journal, key file. The server's HTTP API is fuzzed from its OpenAPI document by
`tests/server/test_schemathesis.py`.

Set FIELDVAULT_RELIABILITY=full for many more examples.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import shutil
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.mutate import damaged_bytes, damaged_json
from tests.reliability.profile import pick

EXAMPLES = pick(150, 3000)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not pick(False, True),
)


@dataclasses.dataclass(frozen=True)
class Target:
    """A parser: a valid sample (bytes or a JSON value), how to parse, what it may raise."""

    sample: Any
    parse: Callable[[Any], object]
    allowed: tuple[type[BaseException], ...]


@cache
def _keys() -> dict[str, Any]:
    from core.crypto.signing import SigningKey
    from sync import age

    identity, recipient = age.generate_identity()
    return {
        "device": SigningKey.generate(),
        "root": SigningKey.generate(),
        "coordinator": SigningKey.generate(),
        "identity": identity,
        "recipient": recipient,
    }


@cache
def _envelope() -> Any:
    from sync import envelope

    keys = _keys()
    return envelope.seal(
        b'{"type":"incident","record":{"title":"hostile"},"blobs":[]}',
        signer=keys["device"],
        recipients=[keys["recipient"]],
        seq=1,
        prev="0" * 64,
        kind="report",
        now=1_763_700_000,
    )


def envelope_wire() -> Target:
    from sync import envelope

    return Target(envelope.to_wire(_envelope()), envelope.from_wire, (envelope.EnvelopeError,))


def envelope_bytes() -> Target:
    from sync import envelope

    return Target(envelope.to_bytes(_envelope()), envelope.from_bytes, (envelope.EnvelopeError,))


def envelope_verify() -> Target:
    """A damaged envelope must not parse, or be refused by `verify` (ForgedEnvelope)."""
    from sync import envelope

    author = _keys()["device"].public_bytes()

    def parse_and_verify(obj: Any) -> object:
        env = envelope.from_wire(obj)
        envelope.verify(env, author)
        return env

    return Target(envelope.to_wire(_envelope()), parse_and_verify, (envelope.EnvelopeError,))


def age_ciphertext() -> Target:
    from sync import age

    keys = _keys()
    sample = age.encrypt(b"hostile input " * 20, [keys["recipient"]])
    return Target(sample, lambda data: age.decrypt(data, [keys["identity"]]), (age.AgeError,))


def age_armored() -> Target:
    from sync import age

    keys = _keys()
    sample = age.encrypt(b"hostile armored", [keys["recipient"]], armor=True)
    return Target(sample, lambda data: age.decrypt(data, [keys["identity"]]), (age.AgeError,))


def _org_document() -> Any:
    from sync import orgdoc
    from sync.keys import key_id

    keys = _keys()
    coordinator = orgdoc.Coordinator(
        id=key_id(keys["coordinator"].public_bytes()),
        name="Coordinator",
        signing_key=keys["coordinator"].public_bytes(),
        recipient=keys["recipient"],
    )
    doc = orgdoc.OrgDocument(
        v=1,
        org="Example Org",
        version=1,
        issued=1_763_700_000,
        root=keys["root"].public_bytes(),
        coordinators=(coordinator,),
        recipients=(keys["recipient"],),
        forms=(),
        settings={},
    )
    return orgdoc.sign_org_document(doc, keys["root"])


def org_document() -> Target:
    from sync import orgdoc
    from sync.keys import key_id

    fingerprint = key_id(_keys()["root"].public_bytes())

    def parse_and_verify(obj: Any) -> object:
        return orgdoc.verify_org_document(orgdoc.from_wire(obj), fingerprint)

    return Target(orgdoc.to_wire(_org_document()), parse_and_verify, (orgdoc.OrgDocumentError,))


def command() -> Target:
    from sync import commands

    keys = _keys()
    signed = commands.sign_command(
        "a" * 32, "wipe", coordinator_key=keys["coordinator"], now=1_763_700_000
    )
    doc = _org_document().doc

    def parse_and_verify(obj: Any) -> object:
        parsed = commands.from_wire(obj)
        commands.verify_command(parsed, doc, "a" * 32, executed_ids=set())
        return parsed

    return Target(commands.to_wire(signed), parse_and_verify, (commands.CommandError,))


def payload() -> Target:
    from sync import payload as payload_mod

    sample = payload_mod.build_payload(
        "incident",
        {"id": "r1", "data": {"title": "x"}},
        [
            {
                "id": "b" * 32,
                "sha256": "c" * 64,
                "size": 10,
                "media_type": "image/png",
                "name": "p.png",
            }
        ],
    )
    return Target(sample, payload_mod.parse_payload, (payload_mod.PayloadError,))


def form_definition() -> Target:
    from pathlib import Path

    from core import forms

    root = Path(__file__).resolve().parents[2]
    sample = json.loads((root / "assets" / "forms" / "default.json").read_text(encoding="utf-8"))
    return Target(sample, forms.parse_form, (forms.FormDefinitionError,))


def invite_code() -> Target:
    from sync import invite

    code = invite.Invite(
        server_url="https://fieldvault.example.org",
        token="t0k3n-" + "x" * 26,
        root_fingerprint="f" * 32,
        tls_pin="e" * 64,
    ).encode()
    return Target(
        code.encode("ascii"),
        lambda data: invite.Invite.parse(data.decode("utf-8", errors="replace")),
        (invite.InviteError,),
    )


_JOURNAL_KEY = bytes(range(32))


def journal() -> Target:
    """The record journal as found on disk: damage must be VaultCorrupt, or a dropped torn tail."""
    import tempfile
    from pathlib import Path

    from storage.errors import VaultError
    from storage.journal import OP_DELETE, OP_PUT, Journal, Op, read_journal

    work = Path(tempfile.mkdtemp(prefix="fieldvault-fuzz-"))
    atexit.register(shutil.rmtree, work, True)
    path = work / "journal"
    log = Journal.create(path, _JOURNAL_KEY, work)
    log.append([Op(OP_PUT, "r1", b"sealed-one" * 8)])
    log.append([Op(OP_PUT, "r2", b"sealed-two" * 3), Op(OP_DELETE, "r1")])
    log.append([Op(OP_PUT, "r3", b"\x00\xff" * 40)])
    log.close()
    sample = path.read_bytes()
    damaged_path = work / "damaged"

    def parse(data: bytes) -> object:
        damaged_path.write_bytes(data)
        for recover in (False, True):
            result = read_journal(damaged_path, _JOURNAL_KEY, recover=recover)
            assert all(op.kind in (OP_PUT, OP_DELETE) for op in result.ops)
        return result

    return Target(sample, parse, (VaultError,))


def key_file() -> Target:
    """The key file: damage must be VaultCorrupt, never a crash in the parser."""
    from storage.errors import VaultError
    from storage.keyfile import KdfParams, KeyFile

    sample = _key_file_bytes()

    def parse(data: bytes) -> object:
        parsed = KeyFile.parse(data)
        assert isinstance(parsed.params, KdfParams)
        return parsed

    return Target(sample, parse, (VaultError,))


def _key_file_bytes() -> bytes:
    import tempfile
    from pathlib import Path

    from storage import Vault

    with tempfile.TemporaryDirectory(prefix="fieldvault-fuzz-") as tmp:
        path = Path(tmp) / "vault"
        Vault.create(path, "hostile input passphrase", kdf_log_n=15).lock()
        return (path / "key").read_bytes()


TARGETS: dict[str, Callable[[], Target]] = {
    "envelope_wire": envelope_wire,
    "envelope_bytes": envelope_bytes,
    "envelope_verify": envelope_verify,
    "age_ciphertext": age_ciphertext,
    "age_armored": age_armored,
    "org_document": org_document,
    "command": command,
    "payload": payload,
    "form_definition": form_definition,
    "invite_code": invite_code,
    "journal": journal,
    "key_file": key_file,
}


@cache
def _target(name: str) -> Target:
    return TARGETS[name]()


def _check(target: Target, damaged: Any) -> None:
    with contextlib.suppress(*target.allowed):
        target.parse(damaged)


@pytest.mark.parametrize("name", sorted(TARGETS))
@FUZZ
@given(data=st.data())
def test_damaged_input_yields_only_the_parsers_typed_error(name: str, data: st.DataObject) -> None:
    target = _target(name)
    if isinstance(target.sample, bytes):
        damaged = data.draw(damaged_bytes(target.sample), label="damaged")
    else:
        damaged = data.draw(damaged_json(target.sample), label="damaged")
    _check(target, damaged)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_each_valid_sample_parses_so_the_fuzzing_starts_from_real_input(name: str) -> None:
    target = _target(name)
    target.parse(target.sample)


@pytest.mark.parametrize("title_field", [[None], {"a": 1}, 7, "no_such_field"])
def test_a_form_whose_title_field_is_not_a_field_name_is_refused(title_field: object) -> None:
    """Found by the fuzzing above: a list as `title_field` once escaped as a TypeError."""
    from core import forms

    target = form_definition()
    damaged = dict(target.sample, title_field=title_field)
    with pytest.raises(forms.FormDefinitionError):
        forms.parse_form(damaged)
