"""A victim's phone number typed on the phone: only its pseudonym is kept and sent; the
organisation's victim key never reaches the server. Real phone service, real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.field import VaultFieldService
from app.services.field_types import FormInvalid
from core import forms, links
from core.records import Kind
from sync import coordinator
from tests.integration.conftest import Org, running_org

PASS = "correct horse 42"
NUMBER = "+996 555 834 217"
KEY = bytes(range(100, 132))


def _needles() -> list[bytes]:
    digits = "555834217"
    texts = [NUMBER, digits, "555 834 217", "0555834217", "996555834217"]
    return [t.encode(enc) for t in texts for enc in ("utf-8", "utf-16-le")] + [
        json.dumps(NUMBER).encode()
    ]


def _found(root: Path, needles: list[bytes]) -> list[str]:
    return [
        path.name
        for path in root.rglob("*")
        if path.is_file() and any(n in path.read_bytes() for n in needles)
    ]


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path) as value:
        yield value


def _phone(org: Org, tmp_path: Path) -> VaultFieldService:
    invite = coordinator.create_invite(org.coordinator, expires_in=3600, label="phone")
    service = VaultFieldService(tmp_path / "phone", kdf_log_n=15)
    service.create(PASS, language="ru")
    service.join(invite.encode())
    return service


ANSWERS = {
    "occurred_at": "2026-11-01T21:30",
    "region": "kg.osh",
    "violation_types": ["entrapment"],
    "description": "Met through a dating app, then detained.",
    "perpetrator_types": ["police"],
    "victims": "A1",
    "victim_ref": NUMBER,
    "consent": {"share_org": True, "statistics": True, "advocacy": False},
}


@pytest.mark.slow
def test_the_phone_keeps_and_sends_only_the_pseudonym_of_a_victims_number(
    org: Org, tmp_path: Path
) -> None:
    coordinator.publish_org_document(org.coordinator, settings={"victim_key": KEY.hex()})
    phone = _phone(org, tmp_path)
    phone.sync_round()  # the org document with the key
    phone.update_settings(send_and_forget=False)
    draft = phone.save_incident(None, ANSWERS, submit=False)
    assert phone.get_incident(draft).answers["victim_ref"] == links.victim_pseudonym(NUMBER, KEY)
    phone.save_incident(draft, phone.get_incident(draft).answers, submit=True)
    kept = phone.save_draft(None, "incident", "", {"answers": {"victim_ref": NUMBER}})
    assert phone.get_draft(kept).content["answers"] == {
        "victim_ref": links.victim_pseudonym(NUMBER, KEY)
    }
    phone.sync_round()
    phone.lock()

    assert _found(tmp_path / "phone", _needles()) == []
    assert _found(org.server.data_dir, _needles()) == []
    assert _found(org.server.data_dir, [KEY.hex().encode(), KEY]) == []

    coordinator.pull(org.coordinator)
    case = org.coordinator.get(draft)
    assert case.kind == Kind.CASE
    received = case.data["latest"]["answers"]["victim_ref"]
    assert received == links.victim_pseudonym("0555 83-42-17", KEY)
    assert not any(n in json.dumps(case.data).encode() for n in _needles())


@pytest.mark.slow
def test_without_the_organisations_key_the_number_is_refused_and_nothing_is_stored(
    org: Org, tmp_path: Path
) -> None:
    # an organisation from before victim keys: its document publishes none
    coordinator.publish_org_document(org.coordinator, settings={"victim_key": None})
    phone = _phone(org, tmp_path)
    phone.sync_round()
    with pytest.raises(FormInvalid) as refused:
        phone.save_incident(None, ANSWERS, submit=False)
    assert refused.value.errors == {"victim_ref": forms.ERROR_NO_PSEUDONYM}
    assert phone.list_incidents() == []
    phone.lock()
    assert _found(tmp_path / "phone", _needles()) == []


@pytest.mark.slow
def test_a_new_organisation_has_a_victim_key_only_inside_its_sealed_document(org: Org) -> None:
    document = coordinator.org_document(org.coordinator)
    assert document is not None and document.version == 1
    key = links.victim_key_of(document.settings)
    assert key is not None
    assert _found(org.server.data_dir, [key.hex().encode(), key]) == []
