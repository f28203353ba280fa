"""Incidents stored by `fieldvault field add` before it went through the service (`title` and
`values` instead of `answers`) are still read, by one function, everywhere the phone shows them."""

from __future__ import annotations

from pathlib import Path

from app.services.field import VaultFieldService
from app.services.field_types import incident_answers
from core.records import Kind, Record, Status


def test_answers_are_read_from_the_current_shape() -> None:
    data = {"form": "default-incident", "answers": {"region": "kg.osh"}, "title": "ignored"}
    assert incident_answers(data) == {"region": "kg.osh"}


def test_an_old_records_values_are_its_answers_and_its_title_is_kept() -> None:
    old = {"title": "At the station", "values": {"description": "Held for hours"}}
    assert incident_answers(old) == {"description": "Held for hours", "title": "At the station"}


def test_a_value_named_title_wins_over_the_old_title() -> None:
    assert incident_answers({"title": "outer", "values": {"title": "inner"}}) == {"title": "inner"}


def test_a_record_with_neither_shape_has_no_answers() -> None:
    assert incident_answers({"title": ""}) == {}
    assert incident_answers({"values": "not a mapping"}) == {}


def test_the_service_shows_an_old_record_with_its_answers(tmp_path: Path) -> None:
    service = VaultFieldService(tmp_path / "phone", kdf_log_n=15)
    service.create("correct horse 42", language="en")
    try:
        old = Record(
            kind=Kind.INCIDENT,
            status=Status.QUEUED,
            data={"title": "At the station", "values": {"violation_types": ["detention"]}},
        )
        record_id = service.open_vault().put(old).id
        [listed] = service.list_incidents()
        assert (listed.id, listed.title, listed.status) == (
            record_id,
            "Detention or arrest",
            "queued",
        )
        answers = service.get_incident(record_id).answers
        assert answers == {"violation_types": ["detention"], "title": "At the station"}
    finally:
        service.lock()
