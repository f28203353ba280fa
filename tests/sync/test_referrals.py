"""The referral directory's validation (`sync.referrals`)."""

from __future__ import annotations

import pytest

from sync import referrals

GOOD = {"id": "dr-asel", "name": "Dr Asel", "service": "doctor", "languages": "ru, ky"}


def test_a_contact_round_trips_and_languages_may_be_given_as_text() -> None:
    (contact,) = referrals.validate([GOOD])
    assert contact.languages == ("ru", "ky")
    assert referrals.validate(referrals.to_settings([contact])) == (contact,)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": "Bad Id"}, "bad_id"),
        ({"service": "taxi"}, "unknown_service"),
        ({"name": " "}, "name_missing"),
        ({"name": "x" * 121}, "name_too_long"),
        ({"city": "Bishkek\nOsh"}, "city_not_one_line"),
        ({"languages": ["russian"]}, "bad_languages"),
        ({"phone": "+996"}, "unknown_field:phone"),
    ],
)
def test_a_wrong_contact_is_refused_naming_the_field(change: dict, reason: str) -> None:
    with pytest.raises(referrals.ReferralError) as refused:
        referrals.validate([{**GOOD, **change}])
    assert refused.value.reason == reason


def test_two_contacts_with_one_id_are_refused() -> None:
    with pytest.raises(referrals.ReferralError) as refused:
        referrals.validate([GOOD, GOOD])
    assert refused.value.reason == "duplicate_id"


def test_a_phone_keeps_the_readable_contacts_of_a_directory_with_one_it_cannot_read() -> None:
    settings = {"referrals": [GOOD, {"id": "x", "service": "future_kind", "name": "n"}]}
    assert [c.id for c in referrals.from_settings(settings)] == ["dr-asel"]
    assert referrals.from_settings({}) == () and referrals.from_settings(None) == ()


def test_new_ids_are_readable_and_unused() -> None:
    assert referrals.new_id("Dr Asel Ch.", []) == "dr-asel-ch"
    assert referrals.new_id("Dr Asel Ch.", ["dr-asel-ch"]) == "dr-asel-ch-2"
    assert referrals.new_id("Адвокат", []) == "contact"
