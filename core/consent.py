"""What the victim allowed: the consent answers of a case, checked before anything leaves.

Use `allows(form, answers, purposes)`: True only when every purpose (a consent option value,
such as `share_org` or `advocacy`) was answered "yes" explicitly in a `consent` field of the
case's form. A purpose answered "no", left unanswered, missing from the form, or a case without
a form all mean no: the absence of a refusal is not consent.

The purposes each use needs are named here, so every part asks the same question: `SENDING`
(the phone seals a report to the organisation only with it: "do not share" keeps the report
on the phone), `UWAZI` (the case goes to another database, which may publish it) needs both
sharing with the organisation and public advocacy.

Danger: decide on the latest revision's answers (a victim may withdraw consent in a later
revision), and never fall back to "allowed" when a form or an answer cannot be read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.forms import FormDefinition

SHARE_ORG = "share_org"
STATISTICS = "statistics"
ADVOCACY = "advocacy"

UWAZI: tuple[str, ...] = (SHARE_ORG, ADVOCACY)
SENDING: tuple[str, ...] = (SHARE_ORG,)


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
