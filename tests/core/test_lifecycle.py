"""Record lifecycles: every listed transition is allowed, every other refused, by name."""

from __future__ import annotations

import itertools

import pytest

from core import cases, lifecycle
from core.lifecycle import InvalidTransition, Lifecycle
from core.records import Kind, Record, Status

TABLES = [
    lifecycle.INCIDENT,
    lifecycle.NOTE,
    lifecycle.SENT_RECORD,
    lifecycle.ENVELOPE_ENTRY,
    lifecycle.BLOB_ENTRY,
    lifecycle.CASE,
]
ALL_STATUSES = [*Status, *lifecycle.CASE_STATUSES]

PAIRS = [
    pytest.param(table, a, b, id=f"{table.kind}:{a}->{b}")
    for table in TABLES
    for a, b in itertools.product(ALL_STATUSES, repeat=2)
]


@pytest.mark.parametrize(("table", "a", "b"), PAIRS)
def test_a_transition_is_allowed_exactly_when_its_table_lists_it(
    table: Lifecycle, a: str, b: str
) -> None:
    listed = b in table.transitions.get(a, frozenset())
    assert table.allows(a, b) == listed
    if listed:
        assert table.check(a, b) == b
    else:
        with pytest.raises(InvalidTransition) as refused:
            table.check(a, b)
        assert (refused.value.kind, refused.value.from_status, refused.value.to_status) == (
            table.kind,
            a,
            b,
        )
        assert f"{table.kind}: {a} -> {b}" in str(refused.value)


def _record(kind: str, status: str, **data: str) -> Record:
    return Record(kind=kind, data=dict(data), status=status)


@pytest.mark.parametrize(
    ("record", "table"),
    [
        (_record(Kind.INCIDENT, Status.DRAFT), lifecycle.INCIDENT),
        (_record(Kind.NOTE, Status.LOCAL), lifecycle.NOTE),
        (_record(Kind.ALERT, Status.READY), lifecycle.SENT_RECORD),
        (_record(Kind.CHECKIN, Status.READY), lifecycle.SENT_RECORD),
        (_record(Kind.OUTBOX, Status.QUEUED, type="envelope"), lifecycle.ENVELOPE_ENTRY),
        (_record(Kind.OUTBOX, Status.QUEUED, type="blob"), lifecycle.BLOB_ENTRY),
    ],
)
def test_each_kind_that_is_sent_has_its_table(record: Record, table: Lifecycle) -> None:
    assert lifecycle.lifecycle_of(record) is table


def test_records_whose_status_never_changes_have_no_lifecycle() -> None:
    with pytest.raises(ValueError, match="setting"):
        lifecycle.lifecycle_of(_record(Kind.SETTING, Status.LOCAL))


def test_the_incident_path_from_draft_to_sent_and_a_retry_after_a_refusal() -> None:
    record = _record(Kind.INCIDENT, Status.DRAFT)
    for step in (Status.READY, Status.QUEUED, Status.FAILED, Status.QUEUED, Status.SENT):
        lifecycle.move(record, step, "refused" if step == Status.FAILED else "")
    assert (record.status, record.status_reason) == (Status.SENT, "")


def test_a_sent_or_queued_incident_never_goes_back_to_draft_and_is_left_unchanged() -> None:
    for status in (Status.SENT, Status.QUEUED):
        record = _record(Kind.INCIDENT, status)
        record.status_reason = "kept"
        with pytest.raises(InvalidTransition, match=f"incident: {status} -> draft"):
            lifecycle.move(record, Status.DRAFT, "consent_withheld")
        assert (record.status, record.status_reason) == (status, "kept")


def test_an_incident_is_never_local_and_a_note_never_a_draft_again() -> None:
    with pytest.raises(InvalidTransition):
        lifecycle.move(_record(Kind.INCIDENT, Status.DRAFT), Status.LOCAL)
    with pytest.raises(InvalidTransition):
        lifecycle.move(_record(Kind.NOTE, Status.LOCAL), Status.DRAFT)


def test_an_outbox_entry_the_server_refused_stays_refused() -> None:
    entry = _record(Kind.OUTBOX, Status.FAILED, type="envelope")
    for step in Status:
        with pytest.raises(InvalidTransition):
            lifecycle.move(entry, step)


def test_a_closed_case_can_be_reopened_and_an_unknown_status_is_refused() -> None:
    assert lifecycle.CASE.states == cases.STATUSES
    assert lifecycle.CASE.allows("closed", "new")
    with pytest.raises(InvalidTransition, match="case: new -> archived"):
        lifecycle.CASE.check("new", "archived")
