"""The coordinator's case index: summaries, filters, full-text search and case detail.

Use `CaseIndex.build(case_records, event_records, forms)` with the coordinator vault's `case` and
`case_event` records (written by the pull in `sync.coordinator`), then `index.query(CaseFilter)`
for the list and `index.detail(case_id, lang)` for one case. Plain Python, no Flet, no I/O.

Where the list facets come from (the form definition decides, so organisations can rename fields):
- **region**: the first `region` field; **occurred**: the first `date`/`datetime` field;
- **violation type** / **perpetrator type**: the first choice field whose id contains
  `violation` / `perpetrator`; without a form, answer keys with those words.
A case's date for the date-range filter is the occurred date, else the day it was received (UTC).

Search is case-insensitive for every script: text is NFKC-normalised and case-folded (Kazakh and
Kyrgyz letters such as Ә/ә, Ң/ң, Ү/ү, Ө/ө, Қ/қ fold like any other), and "ё" matches "е". It
covers every answer, the option labels in all four languages, tags, comments and referrals.
All words of the query must occur (AND).

What a person reads: `CaseSummary.title_in(lang)` is the title field's answer in the reader's
language (option labels), never cut mid-word (`short_text`); `case_reference(case_id)` is the
short reference both the coordinator's case and the phone's stub can show (`3FA-9C2`: the first
six characters of the id in two groups); yes/no and consent answers are words, never glyphs
(`YesNo`), because the bundled fonts have no check marks. The list's default order is the date
of the incident, newest first.

Danger: summaries and details hold decrypted case content. Keep them in memory only; never log
them or write them anywhere but through `app.exports`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from core.cases import (
    STATUSES,
    CaseEvent,
    CaseState,
    InvalidCaseEvent,
    apply_events,
    case_reference,
)
from core.forms import FormDefinition, label
from sync import age
from sync.encoding import b64u_decode

SORT_KEYS = ("received", "occurred", "status", "region", "title", "device")
STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}
TITLE_LANGUAGES = ("en", "ru", "ky", "kk")


def short_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, with "…" when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;·-") + "…"


@dataclasses.dataclass(frozen=True, slots=True)
class YesNo:
    """The words a yes/no or consent answer is shown with (from the reader's catalogue)."""

    yes: str = "Yes"
    no: str = "No"

    def word(self, value: Any) -> str:
        return self.yes if value else self.no


def normalise(text: str) -> str:
    """Fold text for search: NFKC, case-folded, "ё" as "е"."""
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")


@dataclasses.dataclass(frozen=True, slots=True)
class CaseFilter:
    """What the list, dashboard and exports share. Empty strings mean "any"."""

    text: str = ""
    date_from: str = ""  # YYYY-MM-DD, inclusive
    date_to: str = ""  # YYYY-MM-DD, inclusive
    region: str = ""
    violation_type: str = ""
    perpetrator_type: str = ""
    status: str = ""
    assignee: str = ""
    device: str = ""
    case_type: str = ""
    sort: str = "occurred"
    descending: bool = True

    def replace(self, **changes: Any) -> CaseFilter:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True, slots=True)
class CaseSummary:
    id: str
    case_type: str
    device: str
    received_at: int
    occurred: str
    day: str
    title: str
    region: str
    violation_types: tuple[str, ...]
    perpetrator_types: tuple[str, ...]
    status: str
    assignee: str
    tags: tuple[str, ...]
    custody_ok: bool
    attachments: int
    revisions: int
    form_id: str
    search_text: str = dataclasses.field(repr=False, compare=False, default="")
    titles: Mapping[str, str] = dataclasses.field(
        repr=False, compare=False, hash=False, default_factory=dict
    )
    unread: int = 0  # replies from the device the coordinator has not seen (filled by the service)

    @property
    def reference(self) -> str:
        return case_reference(self.id)

    def title_in(self, lang: str) -> str:
        """The title in `lang` (the form's option labels), else the stored one."""
        return self.titles.get(lang) or self.title


@dataclasses.dataclass(frozen=True, slots=True)
class FieldValue:
    """One answered field, ready to show: labels already in the requested language."""

    section: str
    field_id: str
    label: str
    value: str
    field_type: str
    sensitive: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    name: str
    media_type: str
    size: int
    sha256: str


@dataclasses.dataclass(frozen=True, slots=True)
class Revision:
    version: int
    seq: int
    envelope_id: str
    created: int
    received_at: int
    fields: tuple[FieldValue, ...]
    recipients: tuple[str, ...] = ()  # age stanza types it was sealed with, e.g. mlkem768x25519


@dataclasses.dataclass(frozen=True, slots=True)
class Custody:
    signature: str
    chain: str
    problems: tuple[str, ...]
    recipients: tuple[str, ...] = ()  # every age stanza type among the revisions, sorted

    @property
    def ok(self) -> bool:
        return self.signature == "valid" and self.chain == "ok" and not self.problems

    @property
    def post_quantum(self) -> bool:
        """Every revision was sealed to post-quantum (mlkem768x25519) recipients only."""
        return bool(self.recipients) and set(self.recipients) == {POST_QUANTUM_STANZA}


POST_QUANTUM_STANZA = "mlkem768x25519"


def recipient_types(revision: Mapping[str, Any]) -> tuple[str, ...]:
    """The age stanza types a stored revision's envelope was sealed with; () if unknown."""
    wire = revision.get("wire")
    payload = wire.get("payload") if isinstance(wire, Mapping) else None
    if not isinstance(payload, str):
        return ()
    try:
        return age.stanza_types(b64u_decode(payload))
    except (ValueError, age.AgeError):
        return ()


@dataclasses.dataclass(frozen=True, slots=True)
class CaseDetail:
    summary: CaseSummary
    state: CaseState
    fields: tuple[FieldValue, ...]
    attachments: tuple[Attachment, ...]
    revisions: tuple[Revision, ...]
    custody: Custody
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)


def answers_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The answers inside a field record dict (`record["data"]["answers"]`, or `data` itself)."""
    data = record.get("data", record) if isinstance(record, Mapping) else {}
    if not isinstance(data, Mapping):
        return {}
    answers = data.get("answers")
    return dict(answers) if isinstance(answers, Mapping) else dict(data)


def form_id_of(record: Mapping[str, Any]) -> str:
    data = record.get("data", {}) if isinstance(record, Mapping) else {}
    if isinstance(data, Mapping):
        for key in ("form_id", "form"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return ""


@dataclasses.dataclass(frozen=True, slots=True)
class Facets:
    """Which answer keys hold the list's facets for one form (see module docstring)."""

    region: str = "region"
    occurred: str = "occurred_at"
    violation: str = "violation_types"
    perpetrator: str = "perpetrator_types"
    title: str = ""

    @classmethod
    def for_form(cls, form: FormDefinition | None) -> Facets:
        if form is None:
            return cls()
        fields = form.fields

        def first(pred: Any, default: str) -> str:
            return next((f.id for f in fields if pred(f)), default)

        choice = ("single_choice", "multi_choice")
        return cls(
            region=first(lambda f: f.type == "region", "region"),
            occurred=first(lambda f: f.type in ("date", "datetime"), "occurred_at"),
            violation=first(lambda f: f.type in choice and "violation" in f.id, "violation_types"),
            perpetrator=first(
                lambda f: f.type in choice and "perpetrator" in f.id, "perpetrator_types"
            ),
            title=form.title_field,
        )


def _values(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if isinstance(v, str | int) and not isinstance(v, bool))
    return ()


def _facet(answers: Mapping[str, Any], key: str, word: str) -> Any:
    if key in answers:
        return answers[key]
    return next((v for k, v in answers.items() if word in k), None)


def _day(seconds: int) -> str:
    return _dt.datetime.fromtimestamp(seconds, _dt.UTC).strftime("%Y-%m-%d")


def _flatten(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k)
            yield from _flatten(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _flatten(v)


def display_value(
    form: FormDefinition | None,
    field_id: str,
    value: Any,
    lang: str,
    words: YesNo = YesNo(),
) -> str:
    """An answer as text in `lang`: option labels for choices, words for yes/no and consent."""
    field = None
    if form is not None:
        try:
            field = form.field(field_id)
        except KeyError:
            field = None
    if isinstance(value, bool):
        return words.word(value)
    if field is not None and field.type == "consent" and isinstance(value, Mapping):
        parts = []
        for key, given in value.items():
            option = field.option(str(key))
            name = label(option.labels, lang) if option else str(key)
            parts.append(f"{name}: {words.word(given)}")
        return "; ".join(parts)
    if field is not None and field.options:
        shown = [label(o.labels, lang) if (o := field.option(v)) else v for v in _values(value)]
        return ", ".join(shown)
    if isinstance(value, list | tuple):
        return ", ".join(_flatten(value))
    if isinstance(value, Mapping):
        return "; ".join(
            f"{k}: {display_value(None, '', v, lang, words)}" for k, v in value.items()
        )
    return "" if value is None else str(value)


class CaseIndex:
    """All cases in memory with their merged workflow state; rebuilt after every pull."""

    def __init__(
        self,
        cases: Mapping[str, Mapping[str, Any]],
        states: Mapping[str, CaseState],
        forms: Mapping[str, FormDefinition],
        default_form: FormDefinition | None,
    ) -> None:
        self._cases = dict(cases)
        self._states = dict(states)
        self._forms = dict(forms)
        self._default_form = default_form
        self._option_cache: dict[tuple[str, str, str], Any] = {}
        self._facet_cache: dict[str, Facets] = {}
        self._field_cache: dict[str, dict[str, Any]] = {}
        # yes/no words per language for `detail` when none are given (the service sets the
        # catalogue's, so every export says "Да"/"Ооба" rather than glyphs fonts may lack)
        self.answer_words: Callable[[str], YesNo] = lambda _lang: YesNo()
        self._summaries = {cid: self._summarise(cid, data) for cid, data in self._cases.items()}

    @classmethod
    def build(
        cls,
        case_records: Iterable[Any],
        event_records: Iterable[Any],
        forms: Sequence[FormDefinition] = (),
    ) -> CaseIndex:
        """From vault `Record`s (or their `data` dicts) of kinds `case` and `case_event`."""
        cases: dict[str, Mapping[str, Any]] = {}
        for rec in case_records:
            data = rec.data if hasattr(rec, "data") else rec
            cid = str(data.get("case_id") or getattr(rec, "id", ""))
            if cid:
                cases[cid] = data
        grouped: dict[str, list[CaseEvent]] = {}
        for rec in event_records:
            data = rec.data if hasattr(rec, "data") else rec
            try:
                event = CaseEvent.from_dict(data)
            except InvalidCaseEvent:
                continue  # a malformed event from a coordinator is ignored, not fatal
            grouped.setdefault(event.case_id, []).append(event)
        states = {cid: apply_events(grouped.get(cid, []), cid) for cid in cases}
        by_id = {f.id: f for f in forms}
        return cls(cases, states, by_id, forms[0] if forms else None)

    # ------------------------------------------------------------ reading

    def form_for(self, data: Mapping[str, Any]) -> FormDefinition | None:
        latest_record = self._latest_record(data)
        return self._forms.get(form_id_of(latest_record), self._default_form)

    @staticmethod
    def _latest_record(data: Mapping[str, Any]) -> Mapping[str, Any]:
        revisions = data.get("revisions") or []
        if revisions and isinstance(revisions[-1], Mapping):
            record = revisions[-1].get("record")
            if isinstance(record, Mapping):
                return record
        latest = data.get("latest")
        return {"data": latest} if isinstance(latest, Mapping) else {}

    def _fields_by_id(self, form: FormDefinition) -> dict[str, Any]:
        fields = self._field_cache.get(form.id)
        if fields is None:
            fields = self._field_cache[form.id] = {f.id: f for f in form.fields}
        return fields

    def _option(self, form: FormDefinition | None, field_id: str, value: str) -> Any:
        """The form's option for an answer value, or None (cached: used for every case)."""
        if form is None:
            return None
        key = (form.id, field_id, value)
        if key not in self._option_cache:
            field = self._fields_by_id(form).get(field_id)
            self._option_cache[key] = field.option(value) if field is not None else None
        return self._option_cache[key]

    def _summarise(self, cid: str, data: Mapping[str, Any]) -> CaseSummary:
        record = self._latest_record(data)
        answers = answers_of(record)
        form = self.form_for(data)
        facets = self._facet_cache.get(form.id if form else "")
        if facets is None:
            facets = self._facet_cache[form.id if form else ""] = Facets.for_form(form)
        state = self._states.get(cid) or apply_events([], cid)
        revisions = [r for r in data.get("revisions") or [] if isinstance(r, Mapping)]
        received = min((int(r.get("received_at") or 0) for r in revisions), default=0)
        occurred_raw = _facet(answers, facets.occurred, "occurred")
        occurred = occurred_raw[:10] if isinstance(occurred_raw, str) else ""
        region = _values(_facet(answers, facets.region, "region"))
        title = ""
        titles: dict[str, str] = {}
        if form is not None and facets.title:
            values = _values(answers.get(facets.title))
            options = [(v, self._option(form, facets.title, v)) for v in values]
            for lang in TITLE_LANGUAGES:
                titles[lang] = ", ".join(label(o.labels, lang) if o else v for v, o in options)
            title = titles.get("en", "")
        if not title:
            title = next((v for v in _flatten(answers.get(facets.title or "title")) if v), "")
        custody = data.get("custody") or {}
        words: list[str] = [cid, *state.tags]
        for key, value in answers.items():
            words.extend(_flatten(value))
            for v in _values(value):
                option = self._option(form, key, v)
                if option is not None:
                    words.extend(option.labels.values())
        words.extend(c.text for c in state.comments)
        words.extend(f"{r.to} {r.note}" for r in state.referrals)
        blobs = {
            b.get("id") for r in revisions for b in r.get("blobs") or [] if isinstance(b, dict)
        }
        return CaseSummary(
            id=cid,
            case_type=str(data.get("type", "incident")),
            device=str(data.get("author", "")),
            received_at=received,
            occurred=occurred,
            day=occurred or (_day(received) if received else ""),
            title=title[:120],
            region=region[0] if region else "",
            violation_types=_values(_facet(answers, facets.violation, "violation")),
            perpetrator_types=_values(_facet(answers, facets.perpetrator, "perpetrator")),
            status=state.status,
            assignee=state.assignee,
            tags=tuple(sorted(state.tags)),
            custody_ok=custody.get("signature") == "valid"
            and custody.get("chain") == "ok"
            and not custody.get("problems"),
            attachments=len(blobs),
            revisions=len(revisions),
            form_id=form_id_of(record),
            search_text=normalise("\n".join(words)),
            titles={k: v[:120] for k, v in titles.items() if v},
        )

    def __len__(self) -> int:
        return len(self._summaries)

    def ids(self) -> list[str]:
        return list(self._summaries)

    def summary(self, case_id: str) -> CaseSummary:
        return self._summaries[case_id]

    def state(self, case_id: str) -> CaseState:
        return self._states.get(case_id) or apply_events([], case_id)

    def raw(self, case_id: str) -> Mapping[str, Any]:
        return self._cases[case_id]

    def query(self, flt: CaseFilter | None = None) -> list[CaseSummary]:
        """The cases matching every condition of `flt`, sorted as it asks."""
        flt = flt or CaseFilter()
        words = normalise(flt.text).split()
        out = []
        for s in self._summaries.values():
            if flt.status and s.status != flt.status:
                continue
            if flt.region and s.region != flt.region:
                continue
            if flt.violation_type and flt.violation_type not in s.violation_types:
                continue
            if flt.perpetrator_type and flt.perpetrator_type not in s.perpetrator_types:
                continue
            if flt.assignee and s.assignee != flt.assignee:
                continue
            if flt.device and s.device != flt.device:
                continue
            if flt.case_type and s.case_type != flt.case_type:
                continue
            if flt.date_from and (not s.day or s.day < flt.date_from):
                continue
            if flt.date_to and (not s.day or s.day > flt.date_to):
                continue
            if words and not all(w in s.search_text for w in words):
                continue
            out.append(s)
        key = flt.sort if flt.sort in SORT_KEYS else "occurred"

        def sort_key(s: CaseSummary) -> tuple[Any, ...]:
            primary: Any = {
                "received": s.received_at,
                "occurred": s.day,
                "status": STATUS_ORDER.get(s.status, 99),
                "region": s.region,
                "title": normalise(s.title),
                "device": s.device,
            }[key]
            return (primary, s.received_at, s.id)

        out.sort(key=sort_key, reverse=flt.descending)
        return out

    def facet_values(self) -> dict[str, list[str]]:
        """Every value seen per facet, for the filter drop-downs."""
        seen: dict[str, set[str]] = {
            k: set() for k in ("region", "violation_type", "perpetrator_type", "assignee", "device")
        }
        for s in self._summaries.values():
            if s.region:
                seen["region"].add(s.region)
            seen["violation_type"].update(s.violation_types)
            seen["perpetrator_type"].update(s.perpetrator_types)
            if s.assignee:
                seen["assignee"].add(s.assignee)
            if s.device:
                seen["device"].add(s.device)
        return {k: sorted(v) for k, v in seen.items()}

    def option_label(self, facet: str, value: str, lang: str) -> str:
        """The label of a facet value in `lang` (from the default form), else the value."""
        form = self._default_form
        if form is None:
            return value
        facets = Facets.for_form(form)
        field_id = {
            "region": facets.region,
            "violation_type": facets.violation,
            "perpetrator_type": facets.perpetrator,
        }.get(facet, "")
        try:
            option = form.field(field_id).option(value)
        except KeyError:
            return value
        return label(option.labels, lang) if option else value

    def fields_of(
        self,
        record: Mapping[str, Any],
        lang: str,
        words: YesNo = YesNo(),
    ) -> tuple[FieldValue, ...]:
        answers = answers_of(record)
        form = self._forms.get(form_id_of(record), self._default_form)
        out: list[FieldValue] = []
        used: set[str] = set()
        if form is not None:
            for section in form.sections:
                for f in section.fields:
                    if f.id not in answers or f.type == "attachments":
                        used.add(f.id)
                        continue
                    used.add(f.id)
                    out.append(
                        FieldValue(
                            section=label(section.labels, lang),
                            field_id=f.id,
                            label=label(f.labels, lang),
                            value=display_value(form, f.id, answers[f.id], lang, words),
                            field_type=f.type,
                            sensitive=f.sensitive,
                        )
                    )
        for key, value in answers.items():
            if key not in used:
                shown = display_value(None, key, value, lang, words)
                out.append(FieldValue("", key, key, shown, "text", False))
        return tuple(out)

    def detail(self, case_id: str, lang: str = "en", words: YesNo | None = None) -> CaseDetail:
        """Everything about one case, labels in `lang`. Raises KeyError for an unknown case."""
        data = self._cases[case_id]
        words = words or self.answer_words(lang)
        revisions = [r for r in data.get("revisions") or [] if isinstance(r, Mapping)]
        attachments: dict[str, Attachment] = {}
        history = []
        for rev in revisions:
            record = rev.get("record") if isinstance(rev.get("record"), Mapping) else {}
            for blob in rev.get("blobs") or []:
                if isinstance(blob, Mapping) and blob.get("id"):
                    attachments[str(blob["id"])] = Attachment(
                        id=str(blob["id"]),
                        name=str(blob.get("name", "")),
                        media_type=str(blob.get("media_type", "application/octet-stream")),
                        size=int(blob.get("size") or 0),
                        sha256=str(blob.get("sha256", "")),
                    )
            history.append(
                Revision(
                    version=int(rev.get("version") or 0),
                    seq=int(rev.get("seq") or 0),
                    envelope_id=str(rev.get("envelope_id", "")),
                    created=int(rev.get("created") or 0),
                    received_at=int(rev.get("received_at") or 0),
                    fields=self.fields_of(record or {}, lang, words),
                    recipients=recipient_types(rev),
                )
            )
        custody_raw = data.get("custody") or {}
        custody = Custody(
            signature=str(custody_raw.get("signature", "invalid")),
            chain=str(custody_raw.get("chain", "gap")),
            problems=tuple(str(p) for p in custody_raw.get("problems") or ()),
            recipients=tuple(sorted({t for rev in history for t in rev.recipients})),
        )
        return CaseDetail(
            summary=self._summaries[case_id],
            state=self.state(case_id),
            fields=self.fields_of(self._latest_record(data), lang, words),
            attachments=tuple(attachments.values()),
            revisions=tuple(history),
            custody=custody,
            raw=data,
        )
