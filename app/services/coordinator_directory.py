"""Consent, the referral directory and the warn-list, for the coordinator service.

`DirectoryMixin` gives `CoordinatorBase` (both implementations):

- `consent(case_id)`: the case's consent as it stands (`core.consent.Standing`: given in its
  latest report, minus every purpose withdrawn since, by its phone or a coordinator). Record a
  coordinator's withdrawal with `act(case_id, {"type": "withdraw", "purposes": "statistics"})`.
- `referrals()` / `publish_referrals(contacts)`: the organisation's directory of trusted
  contacts, published in the signed org document (`sync.referrals`); phones show it offline.
  Publishing needs the root key (`CoordinatorError("no_root_key")`); a wrong entry is
  `CoordinatorError("invalid_referrals", detail naming the entry and the field)` and nothing
  is published. Refer a case to a contact with `act(case_id, {"type": "referral", "to": name,
  "contact": contact_id})`.
- `warn_list()`: the people to warn (`app.services.coordinator_warnlist`): pseudonyms that
  reports say were disclosed under pressure, with the cases that name them.

Danger: the warn-list is built from what victims said; it stays on this laptop (never exported)
and names people only by the pseudonyms the documenters typed.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from app.casebook.cases import CaseDetail, CaseIndex
from app.exports import consent as export_consent
from app.services import coordinator_warnlist as warnlist
from app.services.coordinator_types import CoordinatorError
from core.consent import Standing
from sync import referrals as directory
from sync.referrals import Contact


class DirectoryMixin(abc.ABC):
    """See the module docstring."""

    @abc.abstractmethod
    def index(self) -> CaseIndex: ...

    @abc.abstractmethod
    def case(self, case_id: str, lang: str = "en") -> CaseDetail: ...

    @abc.abstractmethod
    def _org_settings(self) -> Mapping[str, Any]:
        """The settings of the org document this coordinator holds ({} before there is one)."""

    @abc.abstractmethod
    def _publish_settings(self, settings: dict[str, Any]) -> int:
        """*Blocking.* Sign and publish the org document with `settings` merged in; its version."""

    def consent(self, case_id: str) -> Standing:
        self.case(case_id)
        return export_consent.standing_of(self.index(), case_id)

    def referrals(self) -> tuple[Contact, ...]:
        return directory.from_settings(self._org_settings())

    def publish_referrals(self, contacts: Sequence[Mapping[str, Any] | Contact]) -> int:
        """*Blocking.* Publish the whole directory (it replaces the one published before)."""
        raw = [c.to_dict() if isinstance(c, Contact) else dict(c) for c in contacts]
        try:
            listed = directory.to_settings(directory.validate(raw))
        except directory.ReferralError as exc:
            raise CoordinatorError("invalid_referrals", str(exc)) from None
        return self._publish_settings({directory.SETTING: listed})

    def warn_list(self) -> list[warnlist.WarnEntry]:
        return warnlist.build(self.index())
