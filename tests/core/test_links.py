"""Linked cases: entity normalisation, victim pseudonyms, merges and links across cases."""

from __future__ import annotations

from typing import Any

import pytest

from core import links
from core.cases import CaseEvent, InvalidCaseEvent, apply_events, validate_event

KEY = bytes(range(32))


def _event(case_id: str, created: int, event: dict[str, Any], author: str = "c1") -> CaseEvent:
    return CaseEvent(case_id, author, created, f"{case_id}-{created}-{author}", event, created)


def _index(cases: dict[str, tuple[dict[str, Any], list[CaseEvent]]]) -> links.LinkIndex:
    folded = {
        cid: (answers, apply_events(events, cid).history)
        for cid, (answers, events) in cases.items()
    }
    return links.LinkIndex.build(folded)


def test_station_names_written_differently_are_one_entity() -> None:
    a = links.normalise_entity("station", "ОВД  «Октябрьский»")
    b = links.normalise_entity("station", "овд октябрьский")
    assert a == b == "овд октябрьский"


def test_badge_numbers_keep_only_letters_and_digits() -> None:
    assert links.normalise_entity("badge", "№ 12-345") == "12345"
    assert links.normalise_entity("badge", "ab 12") == "AB12"


def test_profile_names_drop_the_at_sign() -> None:
    assert links.normalise_entity("profile", "@Sweet_Boy ") == "sweet_boy"


def test_a_victim_entity_must_be_a_pseudonym_not_a_number() -> None:
    with pytest.raises(links.InvalidLink) as info:
        links.normalise_entity("victim", "+996 555 123 456")
    assert "555" not in str(info.value)


def test_an_unknown_entity_kind_is_refused() -> None:
    with pytest.raises(links.InvalidLink):
        links.normalise_entity("car", "01KG123ABC")


def test_phone_numbers_in_national_and_international_form_share_a_pseudonym() -> None:
    national = links.victim_pseudonym("0555 12-34-56", KEY)
    international = links.victim_pseudonym("+996 555 123 456", KEY)
    dialled = links.victim_pseudonym("00996555123456", KEY)
    assert national == international == dialled
    assert links.is_pseudonym(national)
    assert "555" not in national


def test_kazakh_numbers_with_the_trunk_eight_match_the_plus_seven_form() -> None:
    assert links.victim_pseudonym("8 701 234 56 78", KEY) == links.victim_pseudonym(
        "+7 701 234-56-78", KEY
    )


def test_names_match_whatever_their_case_order_and_spacing() -> None:
    assert links.victim_pseudonym("Иванов Иван", KEY) == links.victim_pseudonym(
        "  иван   ИВАНОВ ", KEY
    )
    assert links.victim_pseudonym("Айбек", KEY) != links.victim_pseudonym("Айгуль", KEY)


def test_another_organisation_key_gives_another_pseudonym() -> None:
    assert links.victim_pseudonym("Айбек", KEY) != links.victim_pseudonym("Айбек", b"\1" * 32)


def test_pseudonym_has_a_known_answer() -> None:
    import hashlib
    import hmac

    expected = hmac.new(
        KEY, b"fieldvault/victim-pseudonym/v1\nphone:996555123456", hashlib.sha256
    ).hexdigest()
    assert links.victim_pseudonym("+996555123456", KEY) == "vh1:" + expected


def test_an_empty_name_gives_no_pseudonym() -> None:
    with pytest.raises(links.InvalidLink):
        links.victim_pseudonym(" .,- ", KEY)


def test_victim_key_is_read_only_from_well_formed_settings() -> None:
    assert links.victim_key_of({"victim_key": KEY.hex()}) == KEY
    assert links.victim_key_of({"victim_key": "short"}) is None
    assert links.victim_key_of({}) is None
    assert links.victim_key_of(None) is None


def test_entity_event_is_validated_and_normalised() -> None:
    clean = validate_event({"type": "entity", "kind": "station", "value": " ОВД  Первомайский "})
    assert clean == {"type": "entity", "kind": "station", "value": "овд первомайский"}


def test_link_events_with_unknown_fields_or_kinds_are_refused() -> None:
    with pytest.raises(InvalidCaseEvent):
        validate_event({"type": "entity", "kind": "nickname", "value": "x"})
    with pytest.raises(InvalidCaseEvent):
        validate_event({"type": "merge", "into": "b", "extra": 1})
    with pytest.raises(InvalidCaseEvent):
        validate_event({"type": "link"})
    assert validate_event({"type": "unmerge"}) == {"type": "unmerge"}


def test_cases_naming_the_same_station_are_linked_both_ways() -> None:
    index = _index(
        {
            "a": ({"perpetrator_station": "ОВД Октябрьский"}, []),
            "b": ({"perpetrator_station": "овд  октябрьский"}, []),
            "c": ({"perpetrator_station": "ОВД Свердловский"}, []),
        }
    )
    assert [p.case_id for p in index.links_of("a").linked] == ["b"]
    assert index.links_of("b").linked[0].reasons == (("station", "овд октябрьский"),)
    assert index.links_of("c").linked == ()


def test_a_coordinator_entity_links_cases_and_its_removal_unlinks_them() -> None:
    add = {"type": "entity", "kind": "badge", "value": "12345"}
    remove = {"type": "unentity", "kind": "badge", "value": "12345"}
    cases = {
        "a": ({"perpetrator_badge": "12-345"}, []),
        "b": ({}, [_event("b", 10, add)]),
    }
    assert [p.case_id for p in _index(cases).links_of("a").linked] == ["b"]
    cases["b"] = ({}, [_event("b", 10, add), _event("b", 20, remove)])
    assert _index(cases).links_of("a").linked == ()


def test_an_explicit_link_shows_on_both_cases_until_unlinked() -> None:
    link = {"type": "link", "case": "b", "note": "same night"}
    cases: dict[str, tuple[dict[str, Any], list[CaseEvent]]] = {
        "a": ({}, [_event("a", 10, link)]),
        "b": ({}, []),
    }
    index = _index(cases)
    assert index.links_of("b").linked[0].case_id == "a"
    assert index.links_of("b").linked[0].note == "same night"
    cases["a"] = ({}, [_event("a", 10, link), _event("a", 11, {"type": "unlink", "case": "b"})])
    assert _index(cases).links_of("b").linked == ()


def test_a_merged_report_is_shown_under_the_surviving_case_and_counted_once() -> None:
    cases = {
        "a": ({"perpetrator_station": "ОВД 1"}, []),
        "b": ({"perpetrator_station": "ОВД 1"}, [_event("b", 10, {"type": "merge", "into": "a"})]),
        "c": ({"perpetrator_station": "ОВД 1"}, []),
    }
    index = _index(cases)
    assert index.survivor("b") == "a"
    assert index.links_of("a").merged == ("b",)
    assert index.links_of("b").merged_into == "a"
    assert [p.case_id for p in index.links_of("a").linked] == ["c"]
    assert index.counts(["station"]) == [("station", "овд 1", 2)]


def test_unmerge_restores_the_case() -> None:
    merge, unmerge = {"type": "merge", "into": "a"}, {"type": "unmerge"}
    index = _index({"a": ({}, []), "b": ({}, [_event("b", 10, merge), _event("b", 20, unmerge)])})
    assert index.survivor("b") == "b"
    assert index.links_of("a").merged == ()


def test_merges_follow_a_chain_and_a_cycle_merges_nothing() -> None:
    chain = _index(
        {
            "a": ({}, []),
            "b": ({}, [_event("b", 1, {"type": "merge", "into": "a"})]),
            "c": ({}, [_event("c", 1, {"type": "merge", "into": "b"})]),
        }
    )
    assert chain.survivor("c") == "a"
    assert chain.group("c") == ["a", "b", "c"]
    cycle = _index(
        {
            "a": ({}, [_event("a", 1, {"type": "merge", "into": "b"})]),
            "b": ({}, [_event("b", 1, {"type": "merge", "into": "a"})]),
        }
    )
    assert cycle.survivor("a") == "a" and cycle.survivor("b") == "b"


def test_a_merge_into_an_unknown_case_changes_nothing() -> None:
    index = _index({"a": ({}, [_event("a", 1, {"type": "merge", "into": "nowhere"})])})
    assert index.survivor("a") == "a"


def test_merge_problems_are_named() -> None:
    index = _index({"a": ({}, []), "b": ({}, [_event("b", 1, {"type": "merge", "into": "a"})])})
    assert index.merge_problem("a", "a") == "same_case"
    assert index.merge_problem("a", "b") == "already_merged"
    assert index.merge_problem("a", "x") == "not_found"


def test_counts_per_perpetrator_are_limited_to_the_given_cases() -> None:
    index = _index(
        {
            "a": ({"perpetrator_badge": "1", "fake_profile": "@boy"}, []),
            "b": ({"perpetrator_badge": "1"}, []),
            "c": ({"perpetrator_badge": "2"}, []),
        }
    )
    assert index.counts(links.PERPETRATOR_KINDS) == [
        ("badge", "1", 2),
        ("badge", "2", 1),
        ("profile", "boy", 1),
    ]
    assert index.counts(["badge"], cases=["a", "c"]) == [("badge", "1", 1), ("badge", "2", 1)]


def test_a_victim_pseudonym_in_two_reports_links_them() -> None:
    ref = links.victim_pseudonym("0555123456", KEY)
    index = _index({"a": ({"victim_ref": ref}, []), "b": ({"victim_ref": ref}, [])})
    assert index.links_of("a").linked[0].reasons == (("victim", ref),)
    assert links.short_pseudonym(ref).startswith("V-")


def test_answers_keep_only_the_pseudonym_of_what_was_typed() -> None:
    answers = {"victim_ref": "+996 555 123 456", "other": "x"}
    out, failed = links.pseudonymise_answers(answers, ["victim_ref"], KEY)
    assert failed == []
    assert out["victim_ref"] == links.victim_pseudonym("0555123456", KEY)
    assert out["other"] == "x"
    again, _ = links.pseudonymise_answers(out, ["victim_ref"], KEY)
    assert again == out


def test_answers_without_a_victim_key_are_reported_not_pseudonymised() -> None:
    out, failed = links.pseudonymise_answers({"victim_ref": "0555123456"}, ["victim_ref"], None)
    assert failed == ["victim_ref"] and out["victim_ref"] == "0555123456"


def test_an_emptied_pseudonym_answer_is_dropped() -> None:
    out, failed = links.pseudonymise_answers({"victim_ref": "  "}, ["victim_ref"], None)
    assert out == {} and failed == []


def test_an_entity_is_shown_as_most_reports_spell_it_and_a_victim_never_is() -> None:
    ref = links.victim_pseudonym("Айбек", KEY)
    index = _index(
        {
            "a": ({"perpetrator_station": "ОВД  Октябрьский", "victim_ref": ref}, []),
            "b": ({"perpetrator_station": "ОВД Октябрьский"}, []),
            "c": ({"perpetrator_station": "овд октябрьский"}, []),
        }
    )
    assert index.shown("station", "овд октябрьский") == "ОВД Октябрьский"
    assert index.shown("victim", ref) == ref
    assert index.links_of("c").linked[0].shown == ("ОВД Октябрьский",)


def test_a_coordinator_spelling_travels_in_the_event_but_never_for_a_victim() -> None:
    clean = validate_event({"type": "entity", "kind": "unit", "value": "ППС", "shown": " ППС  "})
    assert clean == {"type": "entity", "kind": "unit", "value": "ппс", "shown": "ППС"}
    ref = links.victim_pseudonym("Айбек", KEY)
    hidden = validate_event({"type": "entity", "kind": "victim", "value": ref, "shown": "Айбек"})
    assert "shown" not in hidden
