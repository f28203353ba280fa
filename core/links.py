"""Linked cases: merges, links by perpetrator, place and pseudonymous victim. Pure, no I/O.

Coordinators record links as signed case events (`core.cases` checks their shape through
`validate_link_event` and keeps them in a case's `history`); this module reads them back:

- `{"type": "entity", "kind": K, "value": V, "shown"?: S}` / `"unentity"`: the case names (or
  no longer names) an entity; `shown` is how the coordinator wrote it (never for a victim).
  Kinds (`ENTITY_KINDS`): an officer's `badge`, a `unit`, a `station`, a fake dating
  `profile`, a pseudonymous `victim`, a `place`. Values are normalised (`normalise_entity`)
  so "ОВД  Октябрьский" and "овд октябрьский" are one station; `LinkIndex.shown` gives the
  spelling most reports used, for people to read.
- `{"type": "link", "case": OTHER, "note"?: text}` / `"unlink"`: the two cases are about
  related events (links are symmetric, whichever case holds the event).
- `{"type": "merge", "into": SURVIVOR}` on the case that is absorbed, `{"type": "unmerge"}`
  to undo it. A merged report stays whole and readable; it is shown under the surviving case
  and counted once, as that case.

Reports add entities too: the form's perpetrator fields (`REPORT_FIELDS`) are read from the
answers, and a coordinator can remove one the report got wrong (`unentity`).

Use `LinkIndex.build({case_id: (answers, history)})`, then `index.survivor(case_id)`,
`index.links_of(case_id)`, `index.counts(kinds)`.

**Pseudonymous victims.** `victim_pseudonym(text, key)` is HMAC-SHA256, under the
organisation's victim key, of a normalised name or phone number (`normalise_victim`): the same
person named by two phones gives the same pseudonym, and nobody without the key can test a
guess. The key is published only inside the sealed org document (`settings["victim_key"]`,
`victim_key_of`), so the server never holds it. Phones compute the pseudonym when a report is
saved and keep only it.

Danger: everyone holding the key (every enrolled phone, every coordinator) can test guesses
of a name or number against a pseudonym: a pseudonym protects against the server and against
anyone who copies a report, not against a member. Phone numbers are normalised for Kyrgyz
(0XXX → 996XXX) and Kazakh/Russian (8XXX → 7XXX) national formats only.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from core.crypto.hashing import hmac_sha256
from core.crypto.random import random_bytes

ENTITY_KINDS: tuple[str, ...] = ("badge", "unit", "station", "profile", "victim", "place")
PERPETRATOR_KINDS: tuple[str, ...] = ("badge", "unit", "profile")
LINK_EVENT_TYPES: tuple[str, ...] = ("entity", "unentity", "link", "unlink", "merge", "unmerge")

VICTIM_KEY_SETTING = "victim_key"
VICTIM_KEY_SIZE = 32
VICTIM_PSEUDONYM_LABEL = b"fieldvault/victim-pseudonym/v1\n"
PSEUDONYM_PREFIX = "vh1:"
MAX_VALUE = 200
MAX_NOTE = 2_000
_MAX_CASE_ID = 128
_PSEUDONYM = re.compile(r"\Avh1:[0-9a-f]{64}\Z")
_PHONE = re.compile(r"\A[+()\-\s.\d]+\Z")
_QUOTES = "\"'«»“”„‘’`"

# Report fields that name an entity: answer key -> entity kind (assets/forms/default.json).
REPORT_FIELDS: Mapping[str, str] = {
    "perpetrator_badge": "badge",
    "perpetrator_unit": "unit",
    "perpetrator_station": "station",
    "fake_profile": "profile",
    "victim_ref": "victim",
    "place_name": "place",
}

# The fields each link event carries: name -> (required, max length). Read by `core.cases`.
EVENT_FIELDS: dict[str, dict[str, tuple[bool, int]]] = {
    "entity": {"kind": (True, 16), "value": (True, MAX_VALUE), "shown": (False, MAX_VALUE)},
    "unentity": {"kind": (True, 16), "value": (True, MAX_VALUE)},
    "link": {"case": (True, _MAX_CASE_ID), "note": (False, MAX_NOTE)},
    "unlink": {"case": (True, _MAX_CASE_ID)},
    "merge": {"into": (True, _MAX_CASE_ID)},
    "unmerge": {},
}


class InvalidLink(ValueError):
    """A link event or entity is not valid. The message names the field, never the value."""


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return " ".join(text.translate({ord(q): " " for q in _QUOTES}).split())


def normalise_entity(kind: str, value: str) -> str:
    """The form two mentions of one entity share; raises `InvalidLink` if nothing is left.

    badge: letters and digits only, upper case ("№ 12-345" → "12345"); profile: folded, without
    a leading "@"; victim: must already be a pseudonym (`vh1:` + 64 hex digits); the others:
    folded (NFKC, case-folded, "ё" as "е", quotes dropped, spaces collapsed).
    """
    if kind not in ENTITY_KINDS:
        raise InvalidLink(f"unknown entity kind: {kind!r}")
    if not isinstance(value, str):
        raise InvalidLink("an entity value must be text")
    if kind == "victim":
        clean = value.strip().lower()
        if not _PSEUDONYM.match(clean):
            raise InvalidLink("a victim entity must be a pseudonym, never a name or number")
        return clean
    if kind == "badge":
        folded = unicodedata.normalize("NFKC", value.replace("№", " "))
        clean = "".join(ch for ch in folded if ch.isalnum()).upper()
    elif kind == "profile":
        clean = _fold(value).lstrip("@").strip()
    else:
        clean = _fold(value)
    if not clean:
        raise InvalidLink(f"the {kind} entity is empty")
    if len(clean) > MAX_VALUE:
        raise InvalidLink(f"the {kind} entity is longer than {MAX_VALUE}")
    return clean


def validate_link_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """A link event after `core.cases.validate_event` checked its fields, normalised."""
    clean = dict(event)
    if clean["type"] in ("entity", "unentity"):
        clean["value"] = normalise_entity(str(clean["kind"]), str(clean["value"]))
        shown = " ".join(str(clean.pop("shown", "")).split())
        if shown and clean["kind"] != "victim" and clean["type"] == "entity":
            clean["shown"] = shown
    for name in ("case", "into"):
        if name in clean:
            clean[name] = str(clean[name]).strip()
            if not clean[name]:
                raise InvalidLink(f"{clean['type']} event needs a case in {name!r}")
    return clean


# ---------------------------------------------------------------- pseudonymous victims


def normalise_victim(text: str) -> str:
    """A name or phone number as the pseudonym hashes it; raises `InvalidLink` if empty.

    A phone number keeps its digits in international form ("0555 12-34-56" and "+996 555 123
    456" agree); a name is folded, without punctuation, its words sorted ("Иванов Иван" and
    "иван  ИВАНОВ" agree).
    """
    text = text.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if _PHONE.match(text) and len(digits) >= 7:
        if digits.startswith("00"):
            digits = digits[2:]
        elif len(digits) == 10 and digits.startswith("0"):
            digits = "996" + digits[1:]
        elif len(digits) == 11 and digits.startswith("8"):
            digits = "7" + digits[1:]
        return "phone:" + digits
    words = "".join(ch if ch.isalnum() else " " for ch in _fold(text)).split()
    if not words:
        raise InvalidLink("nothing to make a pseudonym of")
    return "name:" + " ".join(sorted(words))


def victim_pseudonym(text: str, key: bytes) -> str:
    """The organisation's pseudonym for a victim's name or number: `vh1:` + 64 hex digits."""
    if len(key) != VICTIM_KEY_SIZE:
        raise InvalidLink("the victim key must be 32 bytes")
    mac = hmac_sha256(key, VICTIM_PSEUDONYM_LABEL + normalise_victim(text).encode("utf-8"))
    return PSEUDONYM_PREFIX + mac.hex()


def is_pseudonym(value: Any) -> bool:
    return isinstance(value, str) and bool(_PSEUDONYM.match(value))


def pseudonymise_answers(
    answers: Mapping[str, Any], field_ids: Iterable[str], key: bytes | None
) -> tuple[dict[str, Any], list[str]]:
    """`answers` with every answer to `field_ids` (the form's `pseudonym` fields) replaced by
    its pseudonym; empty answers are dropped, pseudonyms kept. Also returns the fields that
    could not be made pseudonyms (no key, or nothing to hash): the caller must refuse to store
    the answers then, because they still hold what was typed."""
    out = dict(answers)
    failed = []
    for field_id in field_ids:
        value = out.get(field_id)
        if value is None or is_pseudonym(value):
            continue
        if not isinstance(value, str) or not value.strip():
            out.pop(field_id, None)
            continue
        try:
            if key is None:
                raise InvalidLink("no victim key")
            out[field_id] = victim_pseudonym(value, key)
        except InvalidLink:
            failed.append(field_id)
    return out, failed


def draft_answers(
    answers: Mapping[str, Any], field_ids: Iterable[str], key: bytes | None
) -> dict[str, Any]:
    """`answers` as an autosaved draft may keep them: pseudonym fields as their pseudonym, or
    left out when none can be made (the form still shows what was typed; it is never stored)."""
    out, failed = pseudonymise_answers(answers, field_ids, key)
    for field_id in failed:
        out.pop(field_id, None)
    return out


def new_victim_key() -> bytes:
    """A fresh organisation victim key; publish it only inside the sealed org document."""
    return random_bytes(VICTIM_KEY_SIZE)


def victim_key_of(settings: Mapping[str, Any] | None) -> bytes | None:
    """The victim key an org document's settings publish, or None if absent or malformed."""
    raw = (settings or {}).get(VICTIM_KEY_SETTING)
    if not isinstance(raw, str) or not re.fullmatch(r"[0-9a-f]{64}", raw):
        return None
    return bytes.fromhex(raw)


def short_pseudonym(value: str) -> str:
    """How a pseudonym is shown to people: `V-` and its first eight hex digits."""
    return "V-" + value[len(PSEUDONYM_PREFIX) :][:8].upper() if is_pseudonym(value) else value


# ---------------------------------------------------------------- the link index


@dataclasses.dataclass(frozen=True, slots=True)
class Entity:
    kind: str
    value: str  # normalised: what matches
    source: str  # "report" (the form's answers) | "coordinator" (an entity event)
    shown: str = ""  # as people wrote it (`LinkIndex.shown`)


@dataclasses.dataclass(frozen=True, slots=True)
class LinkedCase:
    """Another case this one is linked to, and why: `reasons` are ("link", "") for an explicit
    link and (kind, value) for each entity the two share."""

    case_id: str
    reasons: tuple[tuple[str, str], ...]
    note: str = ""
    shown: tuple[str, ...] = ()  # each reason's value as people wrote it ("" for a link)


@dataclasses.dataclass(frozen=True, slots=True)
class CaseLinks:
    case_id: str
    survivor: str  # the case it is shown under: itself unless merged
    merged_into: str  # "" unless this case was merged into another
    merged: tuple[str, ...]  # cases merged into this one
    entities: tuple[Entity, ...]
    linked: tuple[LinkedCase, ...]


@dataclasses.dataclass(slots=True)
class _Folded:
    entities: dict[tuple[str, str], str]
    links: dict[str, str]  # other case -> note
    merged_into: str
    spellings: list[tuple[tuple[str, str], str]] = dataclasses.field(default_factory=list)


def report_entities(answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The entities a report's answers name (`REPORT_FIELDS`); a bad value is left out."""
    return [entity for entity, _ in _spelled_entities(answers)]


def _spelled_entities(answers: Mapping[str, Any]) -> list[tuple[tuple[str, str], str]]:
    """((kind, normalised value), the text as written) for each entity a report names."""
    out = []
    for field_id, kind in REPORT_FIELDS.items():
        value = answers.get(field_id)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and item.strip():
                try:
                    entity = (kind, normalise_entity(kind, item))
                except InvalidLink:
                    continue
                out.append((entity, "" if kind == "victim" else " ".join(item.split())))
    return out


def _fold_case(answers: Mapping[str, Any], history: Iterable[Any]) -> _Folded:
    spelled = _spelled_entities(answers)
    entities = {e: "report" for e, _ in spelled}
    spellings = [(e, text) for e, text in spelled if text]
    links: dict[str, str] = {}
    merged_into = ""
    for item in history:  # already in the one merge order (`core.cases.order_events`)
        ev = item.event
        kind = ev.get("type")
        if kind == "entity":
            entities.setdefault((ev["kind"], ev["value"]), "coordinator")
            if ev.get("shown"):
                spellings.append(((ev["kind"], ev["value"]), ev["shown"]))
        elif kind == "unentity":
            entities.pop((ev["kind"], ev["value"]), None)
        elif kind == "link":
            links[ev["case"]] = ev.get("note", "")
        elif kind == "unlink":
            links.pop(ev["case"], None)
        elif kind == "merge":
            merged_into = ev["into"]
        elif kind == "unmerge":
            merged_into = ""
    kept = [(e, text) for e, text in spellings if e in entities]  # removed ones say nothing
    return _Folded(entities, links, merged_into, kept)


class LinkIndex:
    """Every case's entities, links and merges, and the cases they connect."""

    def __init__(self, folded: Mapping[str, _Folded]) -> None:
        self._folded = dict(folded)
        self._survivor = {cid: self._resolve(cid) for cid in self._folded}
        self._merged: dict[str, list[str]] = {}
        for cid, survivor in self._survivor.items():
            if survivor != cid:
                self._merged.setdefault(survivor, []).append(cid)
        self._by_entity: dict[tuple[str, str], set[str]] = {}
        for cid, f in self._folded.items():
            for entity in f.entities:
                self._by_entity.setdefault(entity, set()).add(self._survivor[cid])
        spellings: dict[tuple[str, str], dict[str, int]] = {}
        for f in self._folded.values():
            for entity, text in f.spellings:
                seen = spellings.setdefault(entity, {})
                seen[text] = seen.get(text, 0) + 1
        # the spelling most reports use; on a tie, the first in code point order (same everywhere)
        self._shown = {
            entity: min(seen, key=lambda text: (-seen[text], text))
            for entity, seen in spellings.items()
        }

    @classmethod
    def build(cls, cases: Mapping[str, tuple[Mapping[str, Any], Iterable[Any]]]) -> LinkIndex:
        """From {case_id: (answers, ordered history of `core.cases.CaseEvent`s)}."""
        return cls({cid: _fold_case(a, h) for cid, (a, h) in cases.items()})

    def _resolve(self, case_id: str) -> str:
        """Follow merges to the surviving case; a merge into an unknown case, or a cycle,
        leaves the case standing on its own."""
        seen = [case_id]
        current = case_id
        while True:
            target = self._folded[current].merged_into
            if not target or target not in self._folded:
                return current
            if target in seen:
                return case_id
            seen.append(target)
            current = target

    def shown(self, kind: str, value: str) -> str:
        """How people wrote an entity (the most common spelling), else its normalised value; a
        victim is always its pseudonym."""
        return self._shown.get((kind, value), value)

    def survivor(self, case_id: str) -> str:
        return self._survivor.get(case_id, case_id)

    def is_absorbed(self, case_id: str) -> bool:
        return self.survivor(case_id) != case_id

    def merge_problem(self, case_id: str, into: str) -> str | None:
        """Why `case_id` may not be merged into `into`, or None."""
        if into not in self._folded or case_id not in self._folded:
            return "not_found"
        if self.survivor(into) == self.survivor(case_id):
            return "already_merged" if case_id != into else "same_case"
        return None

    def group(self, case_id: str) -> list[str]:
        """The surviving case and every case merged into it (directly or not)."""
        survivor = self.survivor(case_id)
        return [survivor, *sorted(self._merged.get(survivor, []))]

    def entities_of(self, case_id: str) -> list[Entity]:
        """The entities of a case and of every case merged into it."""
        seen: dict[tuple[str, str], str] = {}
        for cid in self.group(case_id):
            for entity, source in self._folded[cid].entities.items():
                seen.setdefault(entity, source)
        order = {k: i for i, k in enumerate(ENTITY_KINDS)}
        return [
            Entity(k, v, s, self.shown(k, v))
            for (k, v), s in sorted(seen.items(), key=lambda e: (order[e[0][0]], e))
        ]

    def links_of(self, case_id: str) -> CaseLinks:
        """What the case view shows. Raises KeyError for an unknown case."""
        f = self._folded[case_id]
        survivor = self.survivor(case_id)
        group = set(self.group(case_id))
        reasons: dict[str, list[tuple[str, str]]] = {}
        notes: dict[str, str] = {}
        for cid, other in self._folded.items():  # explicit links, either direction
            for target, note in other.links.items():
                if target not in self._folded:
                    continue
                ends = (self.survivor(cid), self.survivor(target))
                if survivor in ends and ends[0] != ends[1]:
                    peer = ends[1] if ends[0] == survivor else ends[0]
                    reasons.setdefault(peer, []).append(("link", ""))
                    if note:
                        notes[peer] = note
        for entity in self.entities_of(case_id):
            for peer in self._by_entity.get((entity.kind, entity.value), ()):
                if peer not in group:
                    reasons.setdefault(peer, []).append((entity.kind, entity.value))
        linked = []
        for peer, found in sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            why = tuple(dict.fromkeys(found))
            shown = tuple("" if k == "link" else self.shown(k, v) for k, v in why)
            linked.append(LinkedCase(peer, why, notes.get(peer, ""), shown))
        return CaseLinks(
            case_id=case_id,
            survivor=survivor,
            merged_into=f.merged_into if survivor != case_id else "",
            merged=tuple(sorted(self._merged.get(case_id, []))),
            entities=tuple(self.entities_of(case_id)),
            linked=tuple(linked),
        )

    def counts(
        self, kinds: Iterable[str], cases: Iterable[str] | None = None
    ) -> list[tuple[str, str, int]]:
        """(kind, value, number of surviving cases) for entities of `kinds`, most cases first.

        With `cases`, only what those cases name themselves counts (for their surviving case):
        a report merged into one of them adds its entities only if it is given too, so a report
        left out (its consent withdrawn) adds nothing through the case it was merged into."""
        wanted = set(kinds)
        by_entity = self._by_entity
        if cases is not None:
            by_entity = {}
            for cid in cases:
                folded = self._folded.get(cid)
                for entity in folded.entities if folded is not None else ():
                    by_entity.setdefault(entity, set()).add(self.survivor(cid))
        out = [
            (kind, value, len(survivors))
            for (kind, value), survivors in by_entity.items()
            if kind in wanted and survivors
        ]
        return sorted(out, key=lambda e: (-e[2], e[0], e[1]))
