"""What the victim allowed: the consent answers of a case, checked before anything leaves.

Use `allows(form, answers, purposes)`: True only when every purpose (a consent option value,
such as `share_org` or `advocacy`) was answered "yes" explicitly in a `consent` field of the
case's form. A purpose answered "no", left unanswered, missing from the form, or a case without
a form all mean no: the absence of a refusal is not consent.

The purposes each use needs are named here, so every part asks the same question: `SENDING`
(the phone seals a report to the organisation only with it: "do not share" keeps the report
on the phone), `UWAZI` (the case goes to another database, which may publish it) needs both
sharing with the organisation and public advocacy.

Withdrawal: after a report was sent, its documenter (a signed `withdrawal` envelope from the
author's phone) or a coordinator (a `withdraw` case event) may withdraw purposes. Use
`standing(form, answers, withdrawn)` for what is allowed *now*: the purposes given in the latest
revision, minus every purpose ever withdrawn. A withdrawal is never undone by anyone (not by a
coordinator, not by a later event): a victim who agrees again files a new report. Withdrawing
`share_org` withdraws everything: the organisation may then use the case for nothing.

Danger: decide on the latest revision's answers (a victim may withdraw consent in a later
revision), and never fall back to "allowed" when a form or an answer cannot be read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.forms import FormDefinition

SHARE_ORG = "share_org"
STATISTICS = "statistics"
ADVOCACY = "advocacy"

UWAZI: tuple[str, ...] = (SHARE_ORG, ADVOCACY)
SENDING: tuple[str, ...] = (SHARE_ORG,)
PURPOSES: tuple[str, ...] = (SHARE_ORG, STATISTICS, ADVOCACY)
"""Every purpose a consent question may ask about, and so every purpose that can be withdrawn."""


def has_consent_question(form: FormDefinition | None) -> bool:
    return form is not None and any(field.type == "consent" for field in form.fields)


def given(form: FormDefinition | None, answers: Mapping[str, Any]) -> frozenset[str]:
    """The purposes answered with an explicit `True` in the form's consent fields."""
    if form is None:
        return frozenset()
    out: set[str] = set()
    for field in form.fields:
        if field.type != "consent":
            continue
        answer = answers.get(field.id)
        if not isinstance(answer, Mapping):
            continue
        out.update(
            str(key) for key, value in answer.items() if value is True and field.option(str(key))
        )
    return frozenset(out)


def allows(
    form: FormDefinition | None, answers: Mapping[str, Any], purposes: Sequence[str]
) -> bool:
    """Every one of `purposes` was explicitly allowed (an empty `purposes` is a caller bug)."""
    if not purposes:
        raise ValueError("name the purposes the export needs consent for")
    return set(purposes) <= given(form, answers)


def refused(form: FormDefinition | None, answers: Mapping[str, Any]) -> frozenset[str]:
    """The purposes answered with an explicit `False` in the form's consent fields."""
    if form is None:
        return frozenset()
    out: set[str] = set()
    for field in form.fields:
        answer = answers.get(field.id) if field.type == "consent" else None
        if isinstance(answer, Mapping):
            out.update(str(key) for key, value in answer.items() if value is False)
    return frozenset(out)


def purposes_of(value: Any) -> frozenset[str]:
    """Withdrawn purposes from a list (or space-separated text) of purpose names.

    Raises `ValueError` for anything that is not a known purpose or an empty list: a withdrawal
    must say what it withdraws."""
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple | frozenset | set) or not items:
        raise ValueError("a withdrawal names at least one purpose")
    out = frozenset(str(item) for item in items)
    unknown = out - set(PURPOSES)
    if unknown or not all(isinstance(item, str) for item in items):
        raise ValueError(f"unknown purposes: {sorted(unknown)}")
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Standing:
    """A case's consent as it stands: given in its latest revision, minus what was withdrawn."""

    given: frozenset[str] = frozenset()
    refused: frozenset[str] = frozenset()
    withdrawn: frozenset[str] = frozenset()

    @property
    def shared(self) -> bool:
        """The organisation may still work on the case (sharing neither refused nor withdrawn).

        A report reaches the organisation only with consent to share (or under a form that asks
        none), so a case that arrived is shared until that is refused or withdrawn."""
        return SHARE_ORG not in self.refused | self.withdrawn

    def allows(self, purposes: Sequence[str]) -> bool:
        """Every one of `purposes` was given and none was withdrawn (sharing included)."""
        if not purposes:
            raise ValueError("name the purposes the export needs consent for")
        if not self.shared:
            return False
        return set(purposes) <= self.given - self.withdrawn

    @property
    def effective(self) -> frozenset[str]:
        """The purposes the case may be used for now."""
        return frozenset() if not self.shared else self.given - self.withdrawn


def standing(
    form: FormDefinition | None, answers: Mapping[str, Any], withdrawn: Iterable[str] = ()
) -> Standing:
    """The consent of a case now: its latest answers and every purpose withdrawn since."""
    return Standing(given(form, answers), refused(form, answers), frozenset(withdrawn))
