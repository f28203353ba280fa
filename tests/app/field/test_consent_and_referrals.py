"""The field service's consent withdrawal, source capture and referral directory, on the fake and
the real vault (the contract suite's fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.fake_field import FakeFieldService
from app.services.field import VaultFieldService
from app.services.field_api import FieldService
from app.services.field_types import FieldServiceError, NotSent
from core.source import text_digest
from tests.app.field.test_service_contract import PASS, complete_answers


@pytest.fixture(params=["fake", "vault"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FieldService]:
    svc: FieldService = (
        FakeFieldService()
        if request.param == "fake"
        else VaultFieldService(tmp_path / "data", kdf_log_n=15)
    )
    yield svc
    svc.lock()


POST = "Такие люди не должны жить среди нас"


def test_consent_cannot_be_withdrawn_from_a_draft_edit_it_instead(service: FieldService) -> None:
    service.create(PASS, language="ru")
    draft = service.save_incident(None, {"description": "half"}, submit=False)
    with pytest.raises(NotSent):
        service.withdraw_consent(draft, ["statistics"])


def test_a_withdrawal_must_name_known_purposes(service: FieldService) -> None:
    service.create(PASS, language="ru")
    draft = service.save_incident(None, {"description": "half"}, submit=False)
    with pytest.raises(FieldServiceError) as caught:
        service.withdraw_consent(draft, ["everything"])
    assert caught.value.reason == "invalid_purpose"


def test_the_pasted_source_is_hashed_and_its_capture_time_filled_when_finished(
    service: FieldService,
) -> None:
    service.create(PASS, language="ru")
    answers = complete_answers(source_text=POST, source_sha256="0" * 64)
    incident_id = service.save_incident(None, answers, submit=True)
    kept = service.get_incident(incident_id).answers
    assert kept["source_sha256"] == text_digest(POST)  # a typed value never stands
    assert len(kept["source_captured_at"]) == len("2026-12-05T20:15")


def test_a_report_without_a_source_gets_no_hash_or_capture_time(service: FieldService) -> None:
    service.create(PASS, language="ru")
    incident_id = service.save_incident(None, complete_answers(), submit=True)
    kept = service.get_incident(incident_id).answers
    assert "source_sha256" not in kept and "source_captured_at" not in kept


def test_without_an_organisation_the_referral_directory_is_empty(service: FieldService) -> None:
    service.create(PASS, language="ky")
    assert service.referrals() == ()
