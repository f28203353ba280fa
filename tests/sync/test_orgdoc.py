"""The org document: signed by the root key, accepted only against the pinned fingerprint."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from core.crypto.signing import SigningKey
from sync import age
from sync import orgdoc as od
from sync.encoding import b64u_encode, canonical_json, parse_json_strict
from sync.keys import key_id

ROOT = SigningKey.from_bytes(bytes([21]) * 32)
ROGUE_ROOT = SigningKey.from_bytes(bytes([22]) * 32)
COORDINATOR = SigningKey.from_bytes(bytes([23]) * 32)
_, RECIPIENT = age.generate_identity()
PIN = key_id(ROOT.public_bytes())


def document(root: SigningKey = ROOT, **changes: Any) -> od.OrgDocument:
    doc = od.OrgDocument(
        v=1,
        org="Example Rights Centre",
        version=3,
        issued=1_763_700_000,
        root=root.public_bytes(),
        coordinators=(
            od.Coordinator(
                key_id(COORDINATOR.public_bytes()), "Aida", COORDINATOR.public_bytes(), RECIPIENT
            ),
        ),
        recipients=(RECIPIENT,),
        forms=({"id": "incident", "fields": [{"id": "title", "type": "text"}]},),
        settings={"send_and_forget": True},
    )
    return dataclasses.replace(doc, **changes)


def test_signed_document_verifies_against_the_pinned_root() -> None:
    signed = od.sign_org_document(document(), ROOT)
    doc = od.verify_org_document(signed, PIN, min_version=3)
    assert doc == document()
    assert doc.root_fingerprint == PIN
    assert doc.coordinator(key_id(COORDINATOR.public_bytes())).name == "Aida"  # type: ignore[union-attr]
    assert doc.coordinator("0" * 32) is None


def test_wire_form_round_trips_through_canonical_json() -> None:
    signed = od.sign_org_document(document(), ROOT)
    data = canonical_json(od.to_wire(signed))
    parsed = od.from_wire(parse_json_strict(data))
    assert parsed == signed
    assert canonical_json(od.to_wire(parsed)) == data
    od.verify_org_document(parsed, PIN)


def test_a_document_signed_by_another_root_is_untrusted() -> None:
    signed = od.sign_org_document(document(ROGUE_ROOT), ROGUE_ROOT)
    with pytest.raises(od.UntrustedRoot) as caught:
        od.verify_org_document(signed, PIN)
    assert caught.value.reason == "untrusted_root"


def test_a_document_claiming_the_pinned_root_but_signed_by_another_key_is_forged() -> None:
    rogue = od.sign_org_document(document(ROGUE_ROOT), ROGUE_ROOT)
    forged = od.SignedOrgDocument(document(), rogue.sig)
    with pytest.raises(od.BadOrgSignature):
        od.verify_org_document(forged, PIN)


def test_a_server_that_adds_its_own_recipient_breaks_the_signature() -> None:
    signed = od.sign_org_document(document(), ROOT)
    _, server_recipient = age.generate_identity()
    tampered = od.SignedOrgDocument(
        dataclasses.replace(signed.doc, recipients=(RECIPIENT, server_recipient)), signed.sig
    )
    with pytest.raises(od.BadOrgSignature) as caught:
        od.verify_org_document(tampered, PIN)
    assert caught.value.reason == "bad_signature"


def test_an_older_version_than_the_one_accepted_is_stale() -> None:
    signed = od.sign_org_document(document(version=2), ROOT)
    with pytest.raises(od.StaleOrgDocument) as caught:
        od.verify_org_document(signed, PIN, min_version=3)
    assert caught.value.reason == "stale_version"


def test_signing_needs_the_root_named_in_the_document() -> None:
    with pytest.raises(ValueError):
        od.sign_org_document(document(), ROGUE_ROOT)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(v=2), "unsupported_version"),
        (lambda d: d.update(extra=1), "unknown_field"),
        (lambda d: d.pop("forms"), "missing_field"),
        (lambda d: d.update(forms={}), "wrong_type"),
        (lambda d: d.update(forms=["not an object"]), "bad_forms"),
        (lambda d: d.update(settings=[]), "bad_settings"),
        (lambda d: d.update(recipients=[]), "bad_recipients"),
        (lambda d: d.update(recipients=["age1notarecipient"]), "bad_recipient"),
        (lambda d: d.update(recipients=[{"x": 1}]), "bad_recipient"),
        (lambda d: d.update(root=d["root"] + "="), "bad_b64u"),
        (lambda d: d.update(org=""), "bad_org"),
        (lambda d: d.update(version="3"), "bad_number"),
        (lambda d: d.update(coordinators=[]), "no_coordinators"),
        (lambda d: d["coordinators"][0].update(id="0" * 32), "bad_coordinator_id"),
        (lambda d: d["coordinators"][0].update(extra=1), "unknown_field"),
        (lambda d: d.update(coordinators=d["coordinators"] * 2), "duplicate_coordinator"),
    ],
)
def test_malformed_documents_are_refused_with_a_reason(change, reason: str) -> None:
    wire = od.to_wire(od.sign_org_document(document(), ROOT))
    change(wire["doc"])
    with pytest.raises(od.MalformedOrgDocument) as caught:
        od.from_wire(wire)
    assert caught.value.reason == reason


@pytest.mark.parametrize("obj", [None, [], {"doc": {}}, {"doc": {}, "sig": "", "x": 1}])
def test_wrong_outer_shapes_are_malformed(obj: object) -> None:
    with pytest.raises(od.MalformedOrgDocument):
        od.from_wire(obj)


def test_a_signature_of_the_wrong_length_is_malformed() -> None:
    wire = od.to_wire(od.sign_org_document(document(), ROOT))
    wire["sig"] = b64u_encode(bytes(63))
    with pytest.raises(od.MalformedOrgDocument):
        od.from_wire(wire)


def test_forms_and_settings_are_kept_exactly_as_signed() -> None:
    forms = ({"id": "f", "labels": {"ru": "Инцидент", "ky": "Окуя"}, "nested": [[1, None]]},)
    signed = od.sign_org_document(document(forms=forms, settings={"a": {"b": [1]}}), ROOT)
    parsed = od.from_wire(parse_json_strict(canonical_json(od.to_wire(signed))))
    assert od.verify_org_document(parsed, PIN).forms == forms
