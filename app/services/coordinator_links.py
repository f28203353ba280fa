"""Linked cases for the coordinator service: merges, links, entities and their counts.

`LinksMixin` gives `CoordinatorBase` (both implementations) these methods:

- `links(case_id)`: what the case view shows (`core.links.CaseLinks`): the entities the case
  names (from its report and from coordinators), the cases linked to it and why, the cases
  merged into it, or the case it was merged into.
- `add_entity(case_id, kind, value)` / `remove_entity`, `link_cases(case_id, other, note)` /
  `unlink_cases`, `merge_cases(case_id, into)` / `unmerge_case`: each is one signed case event
  (through `act`, so the same checks apply to the app and the command line).
- `entity_counts(flt, kinds)`: how many cases (merged ones once) name each entity, among the
  cases a filter selects, for the dashboard.
- `victim_pseudonym(text)`: a victim's name or number as the organisation's pseudonym, with
  the victim key from the sealed org document; the typed text is not kept.

Errors: `CoordinatorError` with reason `not_found`, `invalid_event` (detail names the
problem: `same_case`, `already_merged`, `not_merged`) or `no_victim_key`.

Danger: everything here reads decrypted case content; keep results in memory.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from typing import Any

from app.casebook.cases import CaseFilter, CaseIndex, answers_of
from app.services.coordinator_types import CoordinatorError
from core import links

ANY = CaseFilter()


class LinksMixin(abc.ABC):
    """Link and merge operations over the case index; see the module docstring."""

    _link_cache: tuple[CaseIndex, links.LinkIndex] | None = None

    @abc.abstractmethod
    def index(self) -> CaseIndex: ...

    @abc.abstractmethod
    def act(self, case_id: str, event: Mapping[str, Any]) -> None: ...

    def _victim_key(self) -> bytes | None:
        """The organisation's victim key (sealed org document settings), or None."""
        return None

    def ensure_victim_key(self) -> bool:
        """*Blocking.* Publish the organisation's victim key if it has none; False when it
        cannot be kept from the server (see the implementations)."""
        return self._victim_key() is not None

    def link_index(self) -> links.LinkIndex:
        """Every case's links, rebuilt whenever the case index is."""
        index = self.index()
        # keyed on the index object itself: an id() can be reused once the old index is freed
        if self._link_cache is None or self._link_cache[0] is not index:
            cases = {
                cid: (answers_of(index._latest_record(index.raw(cid))), index.state(cid).history)
                for cid in index.ids()
            }
            self._link_cache = (index, links.LinkIndex.build(cases))
        return self._link_cache[1]

    def links(self, case_id: str) -> links.CaseLinks:
        try:
            return self.link_index().links_of(case_id)
        except KeyError:
            raise CoordinatorError("not_found") from None

    def check_link_event(self, case_id: str, event: Mapping[str, Any]) -> None:
        """Refuse a link or merge that names an unknown case, the case itself, or a merge that
        is already made; called by `act` for every event."""
        kind = event.get("type")
        if kind not in ("link", "unlink", "merge", "unmerge"):
            return
        index = self.link_index()
        if kind == "unmerge":
            if not index.is_absorbed(case_id):
                raise CoordinatorError("invalid_event", "not_merged")
            return
        other = str(event.get("case") or event.get("into") or "")
        if other not in self.index().ids():
            raise CoordinatorError("not_found")
        if other == case_id:
            raise CoordinatorError("invalid_event", "same_case")
        if kind == "merge":
            problem = index.merge_problem(case_id, other)
            if problem is not None:
                raise CoordinatorError("invalid_event", problem)

    def _entity_value(self, kind: str, value: str) -> str:
        if kind == "victim" and not links.is_pseudonym(value.strip().lower()):
            return self.victim_pseudonym(value)
        return value

    def victim_pseudonym(self, text: str) -> str:
        key = self._victim_key()
        if key is None:
            raise CoordinatorError("no_victim_key")
        try:
            return links.victim_pseudonym(text, key)
        except links.InvalidLink as exc:
            raise CoordinatorError("invalid_event", str(exc)) from None

    def add_entity(self, case_id: str, kind: str, value: str) -> None:
        """The case names this entity (a victim's name or number becomes its pseudonym; other
        entities keep how they were written, for people to read)."""
        event = {"type": "entity", "kind": kind, "value": self._entity_value(kind, value)}
        if kind != "victim":
            event["shown"] = value
        self.act(case_id, event)

    def remove_entity(self, case_id: str, kind: str, value: str) -> None:
        event = {"type": "unentity", "kind": kind, "value": self._entity_value(kind, value)}
        self.act(case_id, event)

    def link_cases(self, case_id: str, other: str, note: str = "") -> None:
        self.act(case_id, {"type": "link", "case": other, **({"note": note} if note else {})})

    def unlink_cases(self, case_id: str, other: str) -> None:
        """Undo a link, whichever of the two cases recorded it."""
        for holder, peer in ((case_id, other), (other, case_id)):
            history = self.index().state(holder).history
            linked = {e.event.get("case") for e in history if e.event.get("type") == "link"}
            if peer in linked:
                self.act(holder, {"type": "unlink", "case": peer})

    def merge_cases(self, case_id: str, into: str) -> None:
        """`case_id`'s report is shown under `into` and counted once, as `into`."""
        self.act(case_id, {"type": "merge", "into": into})

    def unmerge_case(self, case_id: str) -> None:
        self.act(case_id, {"type": "unmerge"})

    def entity_counts(
        self, kinds: Iterable[str], case_ids: Iterable[str] | None = None
    ) -> list[tuple[str, str, int]]:
        """(kind, value, cases) for entities of `kinds`, most cases first."""
        return self.link_index().counts(kinds, case_ids)
