"""The organisation's referral directory: trusted contacts, published in the signed org document.

Coordinators publish lawyers, doctors, psychologists and shelters they trust under the org
document's `settings["referrals"]` (a list of contact objects); the root signs the document, so
a phone shows the directory offline and the server can neither add, change nor remove a contact.

Use `validate(raw)` before publishing (raises `ReferralError` naming the entry and the field),
`to_settings(contacts)` for the list to publish, and `from_settings(settings)` where a directory
is read (the phone, the case view): it keeps the valid contacts of an accepted document and
leaves out any it cannot read rather than failing the whole directory.

A contact: `id` (1-64 of a-z, 0-9, `-`, `_`; a referral case event names it), `name`, `service`
(one of `SERVICES`), `city`, `languages` (language codes such as `ru`, `ky`), `reach` (how to
reach them safely: a code word, a number to call first, hours). Every text is one line at most
`MAX_TEXT` long except `reach` (`MAX_REACH`).

Danger: the directory reaches every enrolled phone and is readable on a seized one once it is
unlocked. Publish only what a contact agreed to, and never victims' details.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SETTING = "referrals"
SERVICES: tuple[str, ...] = ("lawyer", "doctor", "psychologist", "shelter", "other")
MAX_CONTACTS = 200
MAX_TEXT = 120
MAX_REACH = 500
MAX_LANGUAGES = 8
_ID = re.compile(r"\A[a-z0-9_-]{1,64}\Z")
_LANGUAGE = re.compile(r"\A[a-z]{2,3}\Z")
_FIELDS = frozenset({"id", "name", "service", "city", "languages", "reach"})


class ReferralError(ValueError):
    """A directory entry is not a valid contact. `where` names it, `reason` is machine-readable."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class Contact:
    id: str
    name: str
    service: str
    city: str = ""
    languages: tuple[str, ...] = ()
    reach: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "languages": list(self.languages)}


def _text(raw: Mapping[str, Any], name: str, where: str, limit: int, *, required: bool) -> str:
    value = raw.get(name, "")
    if not isinstance(value, str):
        raise ReferralError(where, f"{name}_not_text")
    value = value.strip()
    if required and not value:
        raise ReferralError(where, f"{name}_missing")
    if len(value) > limit:
        raise ReferralError(where, f"{name}_too_long")
    if name != "reach" and ("\n" in value or "\r" in value):
        raise ReferralError(where, f"{name}_not_one_line")
    return value


def contact(raw: Any, where: str = "contact") -> Contact:
    """One contact from its dict; raises `ReferralError` for anything missing, unknown or wrong."""
    if not isinstance(raw, Mapping):
        raise ReferralError(where, "not_an_object")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise ReferralError(where, f"unknown_field:{sorted(unknown)[0]}")
    ident = raw.get("id")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise ReferralError(where, "bad_id")
    where = f"{where} {ident}"
    service = raw.get("service")
    if service not in SERVICES:
        raise ReferralError(where, "unknown_service")
    languages = raw.get("languages", [])
    if isinstance(languages, str):
        languages = [part.strip() for part in languages.replace(",", " ").split()]
    if not isinstance(languages, list | tuple) or len(languages) > MAX_LANGUAGES:
        raise ReferralError(where, "bad_languages")
    if not all(isinstance(code, str) and _LANGUAGE.match(code) for code in languages):
        raise ReferralError(where, "bad_languages")
    return Contact(
        id=ident,
        name=_text(raw, "name", where, MAX_TEXT, required=True),
        service=str(service),
        city=_text(raw, "city", where, MAX_TEXT, required=False),
        languages=tuple(dict.fromkeys(languages)),
        reach=_text(raw, "reach", where, MAX_REACH, required=False),
    )


def validate(raw: Any) -> tuple[Contact, ...]:
    """Every contact of a directory list, or `ReferralError` for the first one that is wrong."""
    if not isinstance(raw, list | tuple):
        raise ReferralError("directory", "not_a_list")
    if len(raw) > MAX_CONTACTS:
        raise ReferralError("directory", "too_many_contacts")
    out = [contact(item, f"contact {number}") for number, item in enumerate(raw, 1)]
    seen: set[str] = set()
    for item in out:
        if item.id in seen:
            raise ReferralError(f"contact {item.id}", "duplicate_id")
        seen.add(item.id)
    return tuple(out)


def to_settings(contacts: Iterable[Contact]) -> list[dict[str, Any]]:
    """The list to publish as `settings["referrals"]` (validated again: ids unique)."""
    listed = [c.to_dict() for c in contacts]
    validate(listed)
    return listed


def from_settings(settings: Mapping[str, Any] | None) -> tuple[Contact, ...]:
    """The readable contacts of a document's settings (none when it publishes no directory)."""
    raw = (settings or {}).get(SETTING)
    if not isinstance(raw, list):
        return ()
    out: list[Contact] = []
    for number, item in enumerate(raw[:MAX_CONTACTS], 1):
        try:
            found = contact(item, f"contact {number}")
        except ReferralError:
            continue  # one unreadable entry (from a newer app) does not hide the others
        if all(c.id != found.id for c in out):
            out.append(found)
    return tuple(out)


def new_id(name: str, taken: Sequence[str]) -> str:
    """A readable unused id for a contact called `name` (`Dr Asel Ch.` → `dr-asel-ch`)."""
    base = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:56] or "contact"
    if not _ID.match(base):
        base = "contact"
    ident, number = base, 2
    while ident in taken:
        ident, number = f"{base}-{number}", number + 1
    return ident


def find(contacts: Iterable[Contact], contact_id: str) -> Contact | None:
    return next((c for c in contacts if c.id == contact_id), None)
