"""Case state: validation of event dicts and the deterministic merge."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.cases import (
    STATUSES,
    CaseEvent,
    InvalidCaseEvent,
    apply_all,
    apply_events,
    validate_event,
)


def ev(created: int, author: str, eid: str, **event: str) -> CaseEvent:
    return CaseEvent("c1", author, created, eid, validate_event(event))


def test_new_case_without_events_is_new_and_unassigned() -> None:
    state = apply_events([], "c1")
    assert (state.status, state.assignee, state.tags, state.comments) == (
        "new",
        "",
        frozenset(),
        (),
    )


def test_later_status_wins_whatever_the_arrival_order() -> None:
    a = ev(100, "aaa", "e1", type="status", status="in_review")
    b = ev(200, "bbb", "e2", type="status", status="verified")
    assert apply_events([b, a]).status == "verified"
    assert apply_events([a, b]).status == "verified"


def test_same_second_conflict_is_broken_by_author_then_envelope_id() -> None:
    a = ev(100, "aaa", "e9", type="assign", assignee="alice")
    b = ev(100, "bbb", "e1", type="assign", assignee="bob")
    assert apply_events([b, a]).assignee == "bob"
    c = ev(100, "bbb", "e0", type="assign", assignee="carol")
    assert apply_events([b, c, a]).assignee == "bob"


def test_one_coordinators_steps_in_the_same_second_keep_their_chain_order() -> None:
    tag = CaseEvent("c1", "a", 5, "ffff", {"type": "tag", "tag": "x"}, seq=1)
    untag = CaseEvent("c1", "a", 5, "0000", {"type": "untag", "tag": "x"}, seq=2)
    assert apply_events([untag, tag]).tags == frozenset()


def test_tags_are_a_set_and_untag_removes() -> None:
    events = [
        ev(1, "a", "e1", type="tag", tag="urgent"),
        ev(2, "a", "e2", type="tag", tag="urgent"),
        ev(3, "b", "e3", type="tag", tag="legal"),
        ev(4, "b", "e4", type="untag", tag="urgent"),
    ]
    assert apply_events(events).tags == frozenset({"legal"})


def test_comments_and_referrals_are_appended_in_order_and_duplicates_count_once() -> None:
    c1 = ev(5, "a", "e1", type="comment", text="первый")
    c2 = ev(3, "b", "e2", type="comment", text="second")
    r = ev(4, "a", "e3", type="referral", to="lawyer", note="Бишкек")
    state = apply_events([c1, c2, r, c1])
    assert [c.text for c in state.comments] == ["second", "первый"]
    assert state.referrals[0].to == "lawyer" and state.referrals[0].note == "Бишкек"
    assert len(state.history) == 3 and state.updated == 5


def test_validate_event_refuses_unknown_types_fields_and_statuses() -> None:
    with pytest.raises(InvalidCaseEvent, match="unknown case event type"):
        validate_event({"type": "delete"})
    with pytest.raises(InvalidCaseEvent, match="unknown fields"):
        validate_event({"type": "tag", "tag": "x", "extra": 1})
    with pytest.raises(InvalidCaseEvent, match="unknown status"):
        validate_event({"type": "status", "status": "done"})
    with pytest.raises(InvalidCaseEvent, match="must not be empty"):
        validate_event({"type": "comment", "text": "  "})
    with pytest.raises(InvalidCaseEvent, match="must be text"):
        validate_event({"type": "assign", "assignee": 5})
    with pytest.raises(InvalidCaseEvent, match="needs 'to'"):
        validate_event({"type": "referral"})


def test_unassign_with_empty_assignee_is_valid() -> None:
    assert validate_event({"type": "assign", "assignee": ""}) == {"type": "assign", "assignee": ""}


def test_case_event_records_are_parsed_and_malformed_ones_refused() -> None:
    raw = {
        "case_id": "c1",
        "author": "k1",
        "created": 7,
        "seq": 1,
        "envelope_id": "e1",
        "event": {"type": "status", "status": "closed"},
    }
    assert apply_events([raw]).status == "closed"
    with pytest.raises(InvalidCaseEvent, match="integer"):
        CaseEvent.from_dict({**raw, "created": "7"})
    with pytest.raises(InvalidCaseEvent, match="seq"):
        CaseEvent.from_dict({**raw, "seq": "1"})
    with pytest.raises(InvalidCaseEvent, match="lacks"):
        CaseEvent.from_dict({"case_id": "c1"})


def test_events_of_two_cases_are_refused_together_but_grouped_by_apply_all() -> None:
    a = CaseEvent("c1", "a", 1, "e1", {"type": "status", "status": "closed"})
    b = CaseEvent("c2", "a", 1, "e2", {"type": "status", "status": "verified"})
    with pytest.raises(InvalidCaseEvent, match="several cases"):
        apply_events([a, b])
    states = apply_all([a, b])
    assert states["c1"].status == "closed" and states["c2"].status == "verified"


_event_bodies = st.one_of(
    st.builds(lambda s: {"type": "status", "status": s}, st.sampled_from(STATUSES)),
    st.builds(lambda s: {"type": "assign", "assignee": s}, st.sampled_from(["", "k1", "k2"])),
    st.builds(lambda t: {"type": "tag", "tag": t}, st.sampled_from(["a", "б", "ң"])),
    st.builds(lambda t: {"type": "untag", "tag": t}, st.sampled_from(["a", "б", "ң"])),
    st.builds(lambda t: {"type": "comment", "text": t}, st.text(min_size=1).filter(str.strip)),
    st.builds(lambda t: {"type": "referral", "to": t}, st.sampled_from(["lawyer", "doctor"])),
)
_events = st.lists(
    st.tuples(st.integers(0, 5), st.sampled_from(["k1", "k2", "k3"]), _event_bodies),
    max_size=12,
).map(
    lambda items: [
        CaseEvent("c1", author, created, f"e{i:03d}", body, seq=i)
        for i, (created, author, body) in enumerate(items)
    ]
)


@settings(max_examples=150, deadline=None)
@given(events=_events, data=st.data())
def test_any_permutation_of_the_same_events_gives_the_same_state(events, data) -> None:
    shuffled = data.draw(st.permutations(events))
    duplicated = (
        shuffled + data.draw(st.lists(st.sampled_from(events), max_size=3)) if events else []
    )
    expected = apply_events(events, "c1")
    assert apply_events(shuffled, "c1") == expected
    assert apply_events(duplicated, "c1") == expected
