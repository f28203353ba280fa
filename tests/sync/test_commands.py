"""Commands: only a listed coordinator can order this device, and only once."""

from __future__ import annotations

import dataclasses

import pytest

from core.crypto.signing import SigningKey
from sync import age
from sync import commands as cm
from sync import orgdoc as od
from sync.encoding import canonical_json, parse_json_strict
from sync.keys import key_id

ROOT = SigningKey.from_bytes(bytes([31]) * 32)
COORDINATOR = SigningKey.from_bytes(bytes([32]) * 32)
STRANGER = SigningKey.from_bytes(bytes([33]) * 32)
DEVICE_ID = "d" * 32
_, RECIPIENT = age.generate_identity()
ORG = od.OrgDocument(
    v=1,
    org="Org",
    version=1,
    issued=0,
    root=ROOT.public_bytes(),
    coordinators=(
        od.Coordinator(
            key_id(COORDINATOR.public_bytes()), "C", COORDINATOR.public_bytes(), RECIPIENT
        ),
    ),
    recipients=(RECIPIENT,),
    forms=(),
    settings={},
)
NOW = 1_763_700_000


def wipe(signer: SigningKey = COORDINATOR, device: str = DEVICE_ID) -> cm.SignedCommand:
    return cm.sign_command(device, cm.WIPE, coordinator_key=signer, now=NOW, command_id="c" * 32)


def test_a_wipe_from_a_listed_coordinator_verifies() -> None:
    command = cm.verify_command(wipe(), ORG, DEVICE_ID, executed_ids=set())
    assert (command.type, command.device, command.issued) == ("wipe", DEVICE_ID, NOW)
    assert command.by == key_id(COORDINATOR.public_bytes())


def test_wire_form_round_trips_through_canonical_json() -> None:
    data = canonical_json(cm.to_wire(wipe()))
    parsed = cm.from_wire(parse_json_strict(data))
    assert parsed == wipe()
    assert canonical_json(cm.to_wire(parsed)) == data


def test_command_ids_are_random_by_default() -> None:
    one = cm.sign_command(DEVICE_ID, "wipe", coordinator_key=COORDINATOR, now=NOW)
    two = cm.sign_command(DEVICE_ID, "wipe", coordinator_key=COORDINATOR, now=NOW)
    assert one.cmd.id != two.cmd.id


def test_an_executed_command_is_a_replay() -> None:
    with pytest.raises(cm.ReplayedCommand) as caught:
        cm.verify_command(wipe(), ORG, DEVICE_ID, executed_ids={"c" * 32})
    assert caught.value.reason == "replayed_command"


def test_a_command_for_another_device_is_refused() -> None:
    with pytest.raises(cm.UntrustedCommand) as caught:
        cm.verify_command(wipe(device="e" * 32), ORG, DEVICE_ID, executed_ids=())
    assert caught.value.reason == "wrong_device"


def test_a_command_from_someone_not_in_the_org_document_is_refused() -> None:
    with pytest.raises(cm.UntrustedCommand) as caught:
        cm.verify_command(wipe(STRANGER), ORG, DEVICE_ID, executed_ids=())
    assert caught.value.reason == "unknown_coordinator"


def test_a_forged_command_naming_a_real_coordinator_is_refused() -> None:
    forged = wipe(STRANGER)
    forged = cm.SignedCommand(dataclasses.replace(forged.cmd, by=wipe().cmd.by), forged.sig)
    with pytest.raises(cm.UntrustedCommand) as caught:
        cm.verify_command(forged, ORG, DEVICE_ID, executed_ids=())
    assert caught.value.reason == "bad_signature"


def test_a_command_retargeted_by_the_server_breaks_the_signature() -> None:
    signed = wipe(device="e" * 32)
    moved = cm.SignedCommand(dataclasses.replace(signed.cmd, device=DEVICE_ID), signed.sig)
    with pytest.raises(cm.UntrustedCommand) as caught:
        cm.verify_command(moved, ORG, DEVICE_ID, executed_ids=())
    assert caught.value.reason == "bad_signature"


def test_command_types_are_a_closed_set() -> None:
    with pytest.raises(cm.MalformedCommand) as caught:
        cm.sign_command(DEVICE_ID, "format_disk", coordinator_key=COORDINATOR, now=NOW)
    assert caught.value.reason == "unknown_type"
    assert frozenset({"wipe"}) == cm.TYPES


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda w: w["cmd"].update(v=2), "unsupported_version"),
        (lambda w: w["cmd"].update(extra=1), "unknown_field"),
        (lambda w: w["cmd"].pop("by"), "missing_field"),
        (lambda w: w["cmd"].update(type="reboot"), "unknown_type"),
        (lambda w: w["cmd"].update(device="D" * 32), "bad_id"),
        (lambda w: w["cmd"].update(issued=-1), "bad_time"),
        (lambda w: w["cmd"].update(issued=True), "bad_time"),
        (lambda w: w.update(sig=w["sig"][:-2]), "bad_b64u"),
        (lambda w: w.update(extra=1), "bad_shape"),
        (lambda w: w.update(cmd=[]), "wrong_type"),
    ],
)
def test_malformed_commands_are_refused_with_a_reason(change, reason: str) -> None:
    wire = cm.to_wire(wipe())
    change(wire)
    with pytest.raises(cm.MalformedCommand) as caught:
        cm.from_wire(wire)
    assert caught.value.reason == reason
