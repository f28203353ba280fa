"""What the victim allowed, as it stands after withdrawals (`core.consent`), and the coordinator's
withdraw case event (`core.cases`)."""

from __future__ import annotations

import pytest

from core import consent
from core.cases import InvalidCaseEvent, apply_events, validate_event
from core.forms import parse_form

FORM = parse_form(
    {
        "id": "f",
        "version": 1,
        "label": {"en": "F"},
        "sections": [
            {
                "id": "s",
                "label": {"en": "S"},
                "fields": [
                    {
                        "id": "consent",
                        "type": "consent",
                        "label": {"en": "Consent"},
                        "options": [{"value": p, "label": {"en": p}} for p in consent.PURPOSES],
                    }
                ],
            }
        ],
    }
)
ALL = {"consent": {"share_org": True, "statistics": True, "advocacy": True}}


def test_a_withdrawn_purpose_is_no_longer_allowed_and_the_others_are() -> None:
    now = consent.standing(FORM, ALL, ["statistics"])
    assert not now.allows([consent.STATISTICS]) and now.allows(consent.UWAZI)
    assert now.effective == {"share_org", "advocacy"}


def test_withdrawing_sharing_withdraws_every_use() -> None:
    now = consent.standing(FORM, ALL, ["share_org"])
    assert not now.shared and now.effective == frozenset()
    assert not now.allows([consent.STATISTICS])


def test_a_purpose_answered_no_is_refused_and_one_not_answered_is_not_given() -> None:
    now = consent.standing(FORM, {"consent": {"share_org": True, "statistics": False}})
    assert now.refused == {"statistics"} and now.given == {"share_org"}
    assert now.shared and not now.allows([consent.ADVOCACY])


def test_a_report_under_a_form_without_consent_is_shared_but_allows_nothing_more() -> None:
    now = consent.standing(None, {})
    assert now.shared and now.effective == frozenset()


@pytest.mark.parametrize("bad", [[], "", ["everything"], "statistics lunch", None, 3])
def test_a_withdrawal_must_name_known_purposes(bad: object) -> None:
    with pytest.raises(ValueError):
        consent.purposes_of(bad)


def test_a_withdraw_event_is_normalised_and_only_ever_adds() -> None:
    event = validate_event({"type": "withdraw", "purposes": "statistics  advocacy"})
    assert event["purposes"] == "advocacy statistics"
    events = [
        {"case_id": "c", "author": "a", "created": 1, "envelope_id": "e1", "event": event},
        {
            "case_id": "c",
            "author": "a",
            "created": 2,
            "envelope_id": "e2",
            "event": {"type": "withdraw", "purposes": "share_org"},
        },
    ]
    assert apply_events(events).withdrawn == {"advocacy", "statistics", "share_org"}


@pytest.mark.parametrize(
    "event",
    [
        {"type": "withdraw", "purposes": "lunch"},
        {"type": "withdraw"},
        {"type": "consent", "purposes": "statistics"},
        {"type": "withdraw", "purposes": "statistics", "undo": True},
    ],
)
def test_no_event_gives_consent_back_or_withdraws_nothing(event: dict) -> None:
    with pytest.raises(InvalidCaseEvent):
        validate_event(event)


def test_a_referral_may_name_a_directory_contact() -> None:
    event = validate_event({"type": "referral", "to": "Адвокат", "contact": "aigerim"})
    (referral,) = apply_events(
        [{"case_id": "c", "author": "a", "created": 1, "envelope_id": "e", "event": event}]
    ).referrals
    assert (referral.to, referral.contact) == ("Адвокат", "aigerim")
