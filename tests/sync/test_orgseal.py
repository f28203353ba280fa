"""The sealed org document: what the server can and cannot read or change."""

from __future__ import annotations

import dataclasses
import time

import pytest

from core.crypto.signing import SigningKey
from sync import age, orgdoc, orgseal
from sync.encoding import b64u_encode, canonical_json
from sync.errors import UntrustedDocument
from sync.keys import key_id
from sync.labels import ORG_DOCUMENT_CONTAINER
from sync.trust import accept_org_document

SECRET_NAME = "Rainbow-Osh-7731"


def _signed() -> tuple[orgdoc.SignedOrgDocument, SigningKey, str, str]:
    root, coordinator = SigningKey.generate(), SigningKey.generate()
    coordinator_identity, recipient = age.generate_identity()
    doc = orgdoc.OrgDocument(
        v=1,
        org=SECRET_NAME,
        version=4,
        issued=int(time.time()),
        root=root.public_bytes(),
        coordinators=(
            orgdoc.Coordinator(
                key_id(coordinator.public_bytes()), "Aigul", coordinator.public_bytes(), recipient
            ),
        ),
        recipients=(recipient,),
        forms=({"id": "f", "title": "Police violence"},),
        settings={},
        expires=int(time.time()) + orgdoc.LIFETIME,
    )
    return orgdoc.sign_org_document(doc, root), root, coordinator_identity, recipient


def test_the_container_shows_the_server_keys_and_version_but_no_names_or_forms() -> None:
    signed, root, _, _ = _signed()
    container = orgseal.seal(signed, root, orgseal.new_org_identity())
    text = canonical_json(container)
    assert SECRET_NAME.encode() not in text and b"Aigul" not in text and b"Police" not in text
    view = orgseal.server_view(container, key_id(root.public_bytes()))
    assert view.version == 4 and set(view.coordinators) == {c.id for c in signed.doc.coordinators}


def test_devices_and_coordinators_open_it_and_verify_the_document_inside() -> None:
    signed, root, coordinator_identity, _ = _signed()
    org_identity = orgseal.new_org_identity()
    container = orgseal.seal(signed, root, org_identity)
    pinned = key_id(root.public_bytes())
    for identity in (org_identity, coordinator_identity):
        _, doc = accept_org_document(
            container, pinned, min_version=0, now=time.time(), identities=[identity]
        )
        assert doc.org == SECRET_NAME and doc.forms[0]["title"] == "Police violence"


def test_without_the_organisation_key_the_document_cannot_be_read() -> None:
    signed, root, _, _ = _signed()
    container = orgseal.seal(signed, root, orgseal.new_org_identity())
    stranger, _ = age.generate_identity()
    with pytest.raises(UntrustedDocument, match="not_readable"):
        accept_org_document(
            container, key_id(root.public_bytes()), min_version=0, now=None, identities=[stranger]
        )


def test_a_server_that_edits_the_clear_part_breaks_the_roots_signature() -> None:
    signed, root, _, _ = _signed()
    container = orgseal.seal(signed, root, orgseal.new_org_identity())
    intruder = SigningKey.generate()
    forged = dict(container)
    forged["coordinators"] = {
        **container["coordinators"],
        key_id(intruder.public_bytes()): b64u_encode(intruder.public_bytes()),
    }
    with pytest.raises(orgdoc.BadOrgSignature):
        orgseal.server_view(forged, key_id(root.public_bytes()))
    with pytest.raises(orgdoc.UntrustedRoot):
        orgseal.server_view(container, "0" * 32)


def test_a_clear_part_that_is_not_the_sealed_documents_own_is_refused() -> None:
    signed, root, _, _ = _signed()
    org_identity = orgseal.new_org_identity()
    older = orgdoc.sign_org_document(dataclasses.replace(signed.doc, version=3), root)
    container = orgseal.seal(older, root, org_identity)
    clear = {k: v for k, v in container.items() if k != "sig"} | {"version": 4}
    relabelled = {
        **clear,
        "sig": b64u_encode(root.sign(ORG_DOCUMENT_CONTAINER + canonical_json(clear))),
    }
    with pytest.raises(UntrustedDocument, match="container_mismatch"):
        accept_org_document(
            relabelled,
            key_id(root.public_bytes()),
            min_version=0,
            now=None,
            identities=[org_identity],
        )


def test_an_organisation_identity_survives_the_invites_32_bytes() -> None:
    identity = orgseal.new_org_identity()
    assert orgseal.identity_from_bytes(orgseal.identity_bytes(identity)) == identity
    with pytest.raises(ValueError):
        orgseal.identity_bytes(age.generate_identity()[1])
