"""The coordinator service interface: everything the coordinator's screens and CLI may ask for.

Two implementations pass one contract suite (tests/app/coordinator/test_service_contract.py):
`app.services.coordinator.VaultCoordinatorService` (the coordinator vault, `sync.coordinator`
and the server) and `app.services.coordinator_fake.FakeCoordinatorService` (in memory, for
view tests). Both inherit the case logic from `CoordinatorBase`: the index over `case` and
`case_event` records, filters, dashboard, exports and form validation; they differ only in the
`_`-prefixed storage and network hooks.

Methods marked *blocking* derive keys or talk HTTP: call them off the UI thread. Everything but
`is_set_up`, `setup_new`, `setup_join`, `unlock` raises `CoordinatorError("locked")` while locked.

Danger: case details, messages and exports hold decrypted content. Keep them in memory; the
only way out to a file is `export`, which age-encrypts identifying exports unless told not to.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from app.casebook.cases import CaseDetail, CaseFilter, CaseIndex, CaseSummary, YesNo
from app.casebook.dashboard import Dashboard, aggregate, with_entities
from app.exports import bundle, consent, csv_export, identity, pdf_report, protect, stats, uwazi
from app.exports.opened import OpenedExport, opened
from app.services import timestamps
from app.services.coordinator_directory import DirectoryMixin
from app.services.coordinator_links import LinksMixin
from app.services.coordinator_tags import DeviceTagsMixin
from app.services.coordinator_types import (
    CoordinatorError,
    CoordinatorInfo,
    DeviceInfo,
    ExportRequest,
    ExportResult,
    Invite,
    JoinOrganisation,
    MessageInfo,
    NewOrganisation,
    OpenInvite,
    PullSummary,
)
from core.cases import InvalidCaseEvent, validate_event
from core.forms import FormDefinition, FormDefinitionError, parse_form
from core.records import Kind, Record

DEFAULT_FORMS_DIR = "forms"
ANY_CASE = CaseFilter()
MAX_MESSAGE = 4000
T = TypeVar("T")
READ_REPLIES_ID = "coordinator-read-replies"  # setting record: replies this coordinator has seen
PDF_IMAGE_TYPES = ("image/jpeg", "image/png")


def _with_params(t: Callable[[str], str]) -> Callable[..., str]:
    """A `t(key)` that also fills in `{name}` parameters."""

    def tr(key: str, **params: Any) -> str:
        text = t(key)
        return text.format(**params) if params else text

    return tr


def answer_words(lang: str) -> YesNo:
    """Yes/no in `lang`, from the coordinator catalogue (for answers shown as words)."""
    from app.i18n import Translator

    t = Translator(lang, "coordinator").t
    return YesNo(t("answer.yes"), t("answer.no"))


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG bytes, made in memory."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=6, border=2)
    return out.getvalue()


def load_default_forms() -> list[dict[str, Any]]:
    """The form definitions shipped in assets/forms (*.json), valid ones only."""
    from app.i18n import ASSETS

    forms = []
    for path in sorted((ASSETS / DEFAULT_FORMS_DIR).glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            parse_form(raw)
        except (ValueError, FormDefinitionError):
            continue
        forms.append(raw)
    return forms


class CoordinatorService(LinksMixin, DeviceTagsMixin, DirectoryMixin):
    """What screens call. See the module docstring for the two implementations."""

    # ---- session
    @abc.abstractmethod
    def is_set_up(self) -> bool: ...

    @property
    @abc.abstractmethod
    def unlocked(self) -> bool: ...

    def setup_new(
        self,
        *,
        passphrase: str,
        server_url: str,
        bootstrap_token: str,
        org_name: str,
        coordinator_name: str,
        tls_pin: str = "",
        post_quantum: bool = False,
    ) -> CoordinatorInfo:
        """*Blocking.* New vault, root key, bootstrap the server, publish the first org doc.
        `tls_pin` (optional, see `checked_pin`) pins a self-signed server certificate; it is
        stored with this coordinator's keys and carried by every invite it creates.
        `post_quantum` makes the organisation's keys hybrid (mlkem768x25519): every device
        then seals to post-quantum recipients, and coordinators must join with it too."""
        return self._set_up_new(
            NewOrganisation(
                passphrase=passphrase,
                server_url=server_url,
                bootstrap_token=bootstrap_token,
                org_name=org_name,
                coordinator_name=coordinator_name,
                tls_pin=tls_pin,
                post_quantum=post_quantum,
            )
        )

    @abc.abstractmethod
    def _set_up_new(self, request: NewOrganisation) -> CoordinatorInfo: ...

    def setup_join(
        self,
        *,
        passphrase: str,
        server_url: str,
        backup: bytes,
        backup_passphrase: str,
        coordinator_name: str,
        tls_pin: str = "",
        post_quantum: bool = False,
    ) -> CoordinatorInfo:
        """*Blocking.* New vault from a root key backup; signs this coordinator into the org.
        `tls_pin` as for `setup_new`; `post_quantum` must match the organisation's kind, or
        `add_coordinator` refuses the join request."""
        return self._set_up_join(
            JoinOrganisation(
                passphrase=passphrase,
                server_url=server_url,
                backup=backup,
                backup_passphrase=backup_passphrase,
                coordinator_name=coordinator_name,
                tls_pin=tls_pin,
                post_quantum=post_quantum,
            )
        )

    @abc.abstractmethod
    def _set_up_join(self, request: JoinOrganisation) -> CoordinatorInfo: ...

    @abc.abstractmethod
    def unlock(self, passphrase: str) -> None:
        """*Blocking.* Raises CoordinatorError('wrong_passphrase')."""

    @abc.abstractmethod
    def join_request(self) -> str:
        """This coordinator's public keys as a code (`FVC1-…`) for `add_coordinator`."""

    @abc.abstractmethod
    def add_coordinator(self, code: str) -> int:
        """*Blocking.* Sign the coordinator in a join request into the org document (needs
        the root key); devices encrypt to them from their next sync. Returns the new version."""

    @abc.abstractmethod
    def lock(self) -> None: ...

    @abc.abstractmethod
    def info(self) -> CoordinatorInfo: ...

    @abc.abstractmethod
    def backup_root(self, passphrase: str) -> bytes:
        """*Blocking.* The root key (and org settings) age-encrypted to `passphrase`."""

    @abc.abstractmethod
    def export_identity(self, passphrase: str = "", *, plain: bool = False) -> bytes:
        """*Blocking.* This coordinator's age identity file for stock `age -d -i`: encrypted to
        `passphrase` (at least 10 characters), or, only with `plain=True`, in clear."""

    # ---- post-quantum keys (sync.coordinator.pq_switch)
    @abc.abstractmethod
    def prepare_post_quantum(self) -> str:
        """Give this coordinator hybrid keys (the classic ones are kept to open what was sealed
        to them) and return its signed key update code (`FVK1-…`) for the root holder."""

    @abc.abstractmethod
    def switch_to_post_quantum(self, codes: Sequence[str]) -> int:
        """*Blocking.* Publish the org document that makes the organisation post-quantum (needs
        the root key and a key update from every other coordinator); the new version. Refused
        with `missing_key_updates` (detail: who), `bad_signature`, `unknown_coordinator`,
        `not_post_quantum`, `invalid_key_update` or `already_post_quantum`."""

    # ---- independent timestamps (app.services.timestamps)
    @abc.abstractmethod
    def timestamp_authorities(self) -> list[timestamps.Authority]:
        """The authorities this laptop asks besides the organisation's."""

    @abc.abstractmethod
    def set_timestamp_authorities(self, chosen: Sequence[timestamps.Authority]) -> None: ...

    @abc.abstractmethod
    def org_timestamp_authorities(self) -> list[timestamps.Authority]:
        """The authorities published in the signed org document, for every coordinator."""

    @abc.abstractmethod
    def publish_org_timestamp_authorities(self, chosen: Sequence[timestamps.Authority]) -> int:
        """*Blocking.* Publish the organisation's list (needs the root key); the new version."""

    def all_timestamp_authorities(self) -> list[timestamps.Authority]:
        """What a pull asks: the organisation's authorities, then this laptop's own."""
        return timestamps.combined(self.timestamp_authorities(), self.org_timestamp_authorities())

    # ---- devices
    @abc.abstractmethod
    def create_invite(self, expires_in: int = 7 * 86400, label: str = "") -> Invite: ...

    @abc.abstractmethod
    def open_invites(self) -> list[OpenInvite]:
        """Invites no phone has used yet, newest first."""

    @abc.abstractmethod
    def cancel_invite(self, invite_id: str) -> None:
        """A leaked or unneeded invite: no phone enrolling with it will be admitted."""

    @abc.abstractmethod
    def devices(self) -> list[DeviceInfo]: ...

    @abc.abstractmethod
    def confirm_device(self, device_id: str, fingerprint: str) -> None:
        """Admit a device to the roster by the coordinator's word, after comparing
        `fingerprint` with the one the phone shows (for devices enrolled before invites
        carried a secret); refused with `fingerprint_mismatch` if the keys changed since."""

    @abc.abstractmethod
    def revoke(self, device_id: str) -> None: ...

    @abc.abstractmethod
    def wipe(self, device_id: str) -> None: ...

    # ---- cases
    @abc.abstractmethod
    def pull(self) -> PullSummary: ...

    @abc.abstractmethod
    def cases(self, flt: CaseFilter = ANY_CASE) -> list[CaseSummary]: ...

    @abc.abstractmethod
    def facet_values(self) -> dict[str, list[str]]: ...

    @abc.abstractmethod
    def option_label(self, facet: str, value: str, lang: str) -> str: ...

    @abc.abstractmethod
    def case(self, case_id: str, lang: str = "en") -> CaseDetail: ...

    @abc.abstractmethod
    def names(self) -> dict[str, str]:
        """Key id -> the name a person knows it by: devices by their roster label, coordinators
        by their name in the organisation document. Ids without a name are absent."""

    @abc.abstractmethod
    def mark_read(self, case_id: str) -> None:
        """The coordinator has seen every reply of this case (kept in the workspace vault)."""

    @abc.abstractmethod
    def attachment(self, case_id: str, blob_id: str) -> bytes:
        """*Blocking.* The decrypted attachment, in memory only."""

    @abc.abstractmethod
    def act(self, case_id: str, event: Mapping[str, Any]) -> None:
        """Validate, sign, encrypt and share one workflow event (status, assign, tag, ...)."""

    @abc.abstractmethod
    def messages(self, case_id: str) -> list[MessageInfo]: ...

    @abc.abstractmethod
    def send_message(self, case_id: str, text: str) -> None: ...

    @abc.abstractmethod
    def dashboard(self, flt: CaseFilter = ANY_CASE) -> Dashboard: ...

    def export(
        self,
        kind: str,
        flt: CaseFilter = ANY_CASE,
        *,
        identifying: bool = False,
        lang: str = "en",
        case_ids: Sequence[str] = (),
        protection: str = "recipients",
        passphrase: str = "",
        t: Callable[[str], str] | None = None,
        comments: bool = False,
    ) -> ExportResult:
        """kind: csv | stats | pdf | bundle | uwazi. protection: recipients | passphrase | none.
        *Blocking* for pdf and bundle: their photos and attachments are fetched and decrypted.
        `comments`: the PDF includes the coordinators' internal comments (off by default: a
        report for a lawyer or a court should not carry them)."""
        return self._export(
            ExportRequest(
                kind=kind,
                flt=flt,
                identifying=identifying,
                lang=lang,
                case_ids=tuple(case_ids),
                protection=protection,
                passphrase=passphrase,
                t=t,
                comments=comments,
            )
        )

    @abc.abstractmethod
    def _export(self, request: ExportRequest) -> ExportResult: ...

    # ---- forms
    @abc.abstractmethod
    def forms(self) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def validate_form(self, raw: Any) -> FormDefinition:
        """Raises CoordinatorError('form_invalid', where: reason)."""

    @abc.abstractmethod
    def publish_forms(self, forms: Sequence[Mapping[str, Any]]) -> int:
        """*Blocking.* Sign a new org document with these forms; returns its version."""

    @abc.abstractmethod
    def publish_forget_policy(self, *, sent_notes: bool, read_messages: bool) -> int:
        """*Blocking.* Ask every phone to forget shared notes once sent and coordinators'
        messages once read (as reports are); returns the new org document version."""

    # ---- checking exports (no vault needed for a clear bundle)
    @abc.abstractmethod
    def verify_bundle(self, data: bytes, *, passphrase: str = "") -> bundle.BundleVerdict:
        """Check an evidence bundle (see `app.exports.bundle`); never raises for bad input.

        An age-encrypted bundle is opened first, with this coordinator's identity (when
        unlocked) or `passphrase`; one that cannot be opened is reported as `encrypted`."""

    @abc.abstractmethod
    def open_export(self, name: str, data: bytes, *, passphrase: str = "") -> OpenedExport:
        """*Blocking.* Decrypt an encrypted export (`.age`, to the coordinators' keys or to a
        passphrase) and say what it is; `identity.ExportOpenError` (with a `reason`) if not."""

    # ---- settings
    @abc.abstractmethod
    def language(self) -> str: ...

    @abc.abstractmethod
    def set_language(self, lang: str) -> None: ...


JOIN_PREFIX = "FVC1-"


def checked_pin(pin: str) -> str:
    """A TLS pin as typed (`AB:CD:…` or plain hex, SHA-256 of the server's DER certificate) as
    64 lowercase hex digits; "" stays "" (no pin). Raises CoordinatorError('invalid_tls_pin')."""
    from sync.client import normalise_pin

    if not pin.strip():
        return ""
    try:
        return normalise_pin(pin)
    except ValueError:
        raise CoordinatorError("invalid_tls_pin") from None


def encode_join_request(info: Mapping[str, Any]) -> str:
    """A coordinator's public info (`id`, `name`, `signing_key`, `recipient`) as a code."""
    from sync.encoding import b64u_encode, canonical_json

    fields = {k: str(info[k]) for k in ("id", "name", "signing_key", "recipient")}
    return JOIN_PREFIX + b64u_encode(canonical_json(fields))


def decode_join_request(code: str) -> dict[str, str]:
    """Parse a join request; raises CoordinatorError('invalid_join_request')."""
    from sync.encoding import EncodingError, b64u_decode, parse_json_strict
    from sync.keys import key_id

    text = "".join(code.split())
    try:
        if not text.startswith(JOIN_PREFIX):
            raise ValueError("prefix")
        raw = parse_json_strict(b64u_decode(text[len(JOIN_PREFIX) :]))
        if not isinstance(raw, dict) or set(raw) != {"id", "name", "signing_key", "recipient"}:
            raise ValueError("fields")
        if key_id(b64u_decode(raw["signing_key"], length=32)) != raw["id"]:
            raise ValueError("id")
        if not str(raw["recipient"]).startswith("age1"):
            raise ValueError("recipient")
    except (ValueError, EncodingError, TypeError):
        raise CoordinatorError("invalid_join_request") from None
    return {k: str(v) for k, v in raw.items()}


class CoordinatorBase(CoordinatorService):
    """Case logic shared by both implementations, over the `_` hooks below."""

    def __init__(self, *, clock: Callable[[], int] | None = None) -> None:
        self._clock = clock or (lambda: int(time.time()))
        self._index: CaseIndex | None = None

    # ---- hooks for implementations
    @abc.abstractmethod
    def _records(self, kind: str) -> list[Record]: ...

    @abc.abstractmethod
    def _push_event(self, case_id: str, event: dict[str, Any]) -> None:
        """Sign, encrypt, send and store one case event (a `case_event` record)."""

    @abc.abstractmethod
    def _push_message(self, case_id: str, device: str, text: str) -> None: ...

    @abc.abstractmethod
    def _device_keys(self) -> dict[str, bytes]: ...

    @abc.abstractmethod
    def _bundle_signer(self) -> Any: ...

    @abc.abstractmethod
    def _recipients(self) -> list[str]: ...

    def _age_identities(self) -> list[str]:
        """Current identity first, then any from before a key change (to open older files)."""
        return [self._age_identity()]

    @abc.abstractmethod
    def _age_identity(self) -> str:
        """This coordinator's age identity string (secret)."""

    def _timestamp_tokens(self) -> dict[str, list[bytes]]:
        """RFC 3161 tokens kept for envelopes, by envelope hash (none unless implemented)."""
        return {}

    @abc.abstractmethod
    def _device_labels(self) -> dict[str, str]:
        """Device id -> its label in the roster (offline)."""

    @abc.abstractmethod
    def _coordinator_names(self) -> dict[str, str]:
        """Coordinator key id -> name, from the organisation document."""

    @abc.abstractmethod
    def _load_setting(self, record_id: str) -> dict[str, Any]: ...

    @abc.abstractmethod
    def _save_setting(self, record_id: str, data: Mapping[str, Any]) -> None: ...

    def _attachment_original(self, case_id: str, blob_id: str) -> tuple[bytes, bytes | None]:
        """*Blocking.* An attachment decrypted, and its encrypted bytes as the device sent them
        when the implementation can give them (checked against the signed hash by bundles)."""
        return self.attachment(case_id, blob_id), None

    @abc.abstractmethod
    def _require_unlocked(self) -> None: ...

    def _invite(self, code: str, expires_in: int, *, short_code: str, server: str) -> Invite:
        """An invite code as the screens show it: with its expiry and its QR code."""
        return Invite(
            code=code,
            expires_at=self._clock() + expires_in,
            qr_png=qr_png(code),
            short_code=short_code,
            server=server,
        )

    # ---- shared behaviour
    def _invalidate(self) -> None:
        self._index = None

    def verify_bundle(self, data: bytes, *, passphrase: str = "") -> bundle.BundleVerdict:
        if identity.age_file_kind(data) is not None:
            own = self._age_identities() if self.unlocked else []
            try:
                data = identity.open_export(data, identities=own, passphrase=passphrase)
            except identity.ExportOpenError as exc:
                return bundle.unopened(exc.reason)
        return bundle.verify_bundle(data)

    def open_export(self, name: str, data: bytes, *, passphrase: str = "") -> OpenedExport:
        """*Blocking.* Decrypt an encrypted export (`.age`) with this coordinator's identity or
        with the passphrase it was protected with; `identity.ExportOpenError` says why not."""
        own = self._age_identities() if self.unlocked else []
        return opened(name, identity.open_export(data, identities=own, passphrase=passphrase))

    def export_identity(self, passphrase: str = "", *, plain: bool = False) -> bytes:
        self._require_unlocked()
        if plain:
            return identity.identity_file(self._age_identities(), now=self._clock())
        if len(passphrase) < identity.MIN_PASSPHRASE:
            raise CoordinatorError("weak_passphrase")
        return identity.protected_identity_file(
            self._age_identities(), passphrase, now=self._clock()
        )

    def _form_definitions(self) -> list[FormDefinition]:
        out = []
        for raw in self.forms():
            try:
                out.append(parse_form(raw))
            except FormDefinitionError:
                continue
        return out

    def index(self) -> CaseIndex:
        self._require_unlocked()
        if self._index is None:
            self._index = CaseIndex.build(
                self._records(Kind.CASE), self._records(Kind.CASE_EVENT), self._form_definitions()
            )
            self._index.answer_words = answer_words
        return self._index

    def facet_values(self) -> dict[str, list[str]]:
        return self.index().facet_values()

    def option_label(self, facet: str, value: str, lang: str) -> str:
        return self.index().option_label(facet, value, lang)

    def case(self, case_id: str, lang: str = "en") -> CaseDetail:
        try:
            detail = self.index().detail(case_id, lang, answer_words(lang))
        except KeyError:
            raise CoordinatorError("not_found") from None
        unread = self._unread().get(case_id, 0)
        if unread != detail.summary.unread:
            detail = dataclasses.replace(
                detail, summary=dataclasses.replace(detail.summary, unread=unread)
            )
        return detail

    def cases(self, flt: CaseFilter = ANY_CASE) -> list[CaseSummary]:
        found = self.index().query(flt)
        unread = self._unread()
        if not unread:
            return found
        return [dataclasses.replace(s, unread=unread[s.id]) if s.id in unread else s for s in found]

    def names(self) -> dict[str, str]:
        self._require_unlocked()
        named = {k: v for k, v in self._device_labels().items() if v}
        named.update({k: v for k, v in self._coordinator_names().items() if v})
        return named

    def _read_replies(self) -> dict[str, list[str]]:
        raw = self._load_setting(READ_REPLIES_ID).get("cases")
        if not isinstance(raw, Mapping):
            return {}
        return {str(k): [str(i) for i in v] for k, v in raw.items() if isinstance(v, list)}

    def _replies(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for rec in self._records(Kind.MESSAGE):
            if rec.data.get("direction", "in") == "in":
                out.setdefault(str(rec.data.get("case_id", "")), []).append(rec.id)
        return out

    def _unread(self) -> dict[str, int]:
        """Case id -> replies from its device the coordinator has not opened the case since."""
        read = self._read_replies()
        out = {}
        for case_id, ids in self._replies().items():
            seen = set(read.get(case_id, ()))
            count = sum(1 for i in ids if i not in seen)
            if count:
                out[case_id] = count
        return out

    def mark_read(self, case_id: str) -> None:
        self._require_unlocked()
        replies = self._replies().get(case_id, [])
        read = self._read_replies()
        if set(read.get(case_id, ())) >= set(replies):
            return
        read[case_id] = sorted(set(read.get(case_id, ())) | set(replies))
        self._save_setting(READ_REPLIES_ID, {"cases": read})

    def act(self, case_id: str, event: Mapping[str, Any]) -> None:
        self.case(case_id)
        try:
            clean = validate_event(event)
        except InvalidCaseEvent as exc:
            raise CoordinatorError("invalid_event", str(exc)) from None
        self.check_link_event(case_id, clean)
        self._push_event(case_id, clean)
        self._invalidate()

    def messages(self, case_id: str) -> list[MessageInfo]:
        self._require_unlocked()
        out = []
        for rec in self._records(Kind.MESSAGE):
            d = rec.data
            if d.get("case_id") != case_id:
                continue
            out.append(
                MessageInfo(
                    id=rec.id,
                    case_id=case_id,
                    device=str(d.get("device", "")),
                    direction=str(d.get("direction", "in")),
                    text=str(d.get("text", "")),
                    created=int(d.get("created") or 0),
                )
            )
        # same second: a message before the reply it prompted
        return sorted(out, key=lambda m: (m.created, m.direction != "out", m.id))

    def send_message(self, case_id: str, text: str) -> None:
        detail = self.case(case_id)
        if not text.strip():
            raise CoordinatorError("empty_message")
        if len(text) > MAX_MESSAGE:
            raise CoordinatorError("message_too_long")
        self._push_message(case_id, detail.summary.device, text)

    def dashboard(self, flt: CaseFilter = ANY_CASE) -> Dashboard:
        """The charts count only cases whose victim agreed to statistics (and withdrew neither
        that nor sharing); `left_out` says how many of the filtered cases that leaves out."""
        permitted, left_out = consent.permitted(self.index(), self.cases(flt), "dashboard")
        merged = self.link_index()
        # a group of merged reports counts once: as its surviving case, or, when that one is
        # left out (its consent withdrawn), as the first report of the group that is not
        counted_by_group: dict[str, CaseSummary] = {}
        for summary in sorted(permitted, key=lambda s: (merged.is_absorbed(s.id), s.id)):
            counted_by_group.setdefault(merged.survivor(summary.id), summary)
        counted = [s for s in permitted if counted_by_group.get(merged.survivor(s.id)) is s]
        board = dataclasses.replace(aggregate(counted), left_out=len(left_out))
        # what each permitted report names, merged or not; never what a left-out one names
        return with_entities(board, merged, [s.id for s in permitted])

    def validate_form(self, raw: Any) -> FormDefinition:
        if isinstance(raw, str | bytes):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                raise CoordinatorError("form_invalid", f"not JSON: {exc}") from None
        try:
            return parse_form(raw)
        except FormDefinitionError as exc:
            raise CoordinatorError("form_invalid", f"{exc.where}: {exc.reason}") from None

    def _check_forms(self, forms: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        ids = set()
        for raw in forms:
            form = self.validate_form(raw)
            if form.id in ids:
                raise CoordinatorError("form_invalid", f"duplicate form id {form.id}")
            ids.add(form.id)
        if not forms:
            raise CoordinatorError("form_invalid", "at least one form is required")
        return [dict(f) for f in forms]

    def _export(self, request: ExportRequest) -> ExportResult:
        kind, lang = request.kind, request.lang
        if kind not in protect.EXPORT_KINDS:
            raise CoordinatorError("unsupported", f"export kind {kind}")
        if request.protection not in ("recipients", "passphrase", "none"):
            raise CoordinatorError("unsupported", f"protection {request.protection}")
        index = self.index()
        summaries = (
            [index.summary(c) for c in request.case_ids if c in index.ids()]
            if request.case_ids
            else index.query(request.flt)
        )
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self._clock()))
        identifying = request.identifying or kind in ("pdf", "bundle")
        use = csv_export.use(identifying) if kind == "csv" else kind
        summaries, left_out = consent.permitted(index, summaries, use)
        if left_out and not summaries:
            raise CoordinatorError("consent_withheld", f"{len(left_out)} cases")
        if kind == "csv":
            data = csv_export.cases_csv(index, summaries, identifying=identifying, lang=lang)
            name, media = f"cases-{stamp}.csv", "text/csv"
        elif kind == "stats":
            data = stats.stats_csv(stats.statistics(summaries, index=index, lang=lang))
            name, media, identifying = f"statistics-{stamp}.csv", "text/csv", False
        elif kind == "pdf":
            data = self._pdf_export(index, summaries, request)
            name, media = f"cases-{stamp}.pdf", "application/pdf"
        elif kind == "uwazi":
            data = uwazi.build(
                index, summaries, identifying=identifying, lang=lang, attachment=self.attachment
            ).data
            name, media = f"uwazi-{stamp}.zip", "application/zip"
        else:
            data = self._bundle_export(index, summaries)
            name, media = f"evidence-{stamp}.zip", "application/zip"
        if request.protection == "none" or not protect.needs_protection(kind, identifying):
            return ExportResult(name, data, False, media, identifying, tuple(left_out))
        sealed = self._sealed(data, request.protection, request.passphrase)
        return ExportResult(
            name + ".age", sealed, True, "application/octet-stream", identifying, tuple(left_out)
        )

    def _pdf_export(
        self, index: CaseIndex, summaries: Sequence[CaseSummary], request: ExportRequest
    ) -> bytes:
        lang = request.lang
        details = [index.detail(s.id, lang, answer_words(lang)) for s in summaries]
        tr = _with_params(request.t or self._catalogue(lang))
        not_public = [
            d.summary.id
            for d in details
            if not consent.standing_of(index, d.summary.id).allows(consent.UWAZI)
        ]
        return pdf_report.cases_report(
            details,
            not_public=not_public,
            t=tr,
            status_label=lambda s: tr(f"status.{s}"),
            photos=self._photos(details),
            comments=request.comments,
            names=self.names(),
            now=self._clock(),
            lang=lang,
        )

    def _bundle_export(self, index: CaseIndex, summaries: Sequence[CaseSummary]) -> bytes:
        return bundle.build_bundle(
            [index.raw(s.id) for s in summaries],
            author_keys=self._device_keys(),
            signer=self._bundle_signer(),
            org=self.info().org,
            now=self._clock(),
            timestamps=self._timestamp_tokens(),
            attachments=self._bundle_attachments([s.id for s in summaries]),
        )

    def _sealed(self, data: bytes, protection: str, passphrase: str) -> bytes:
        """`data` encrypted with age, to a passphrase or to every coordinator's key."""
        if protection == "passphrase":
            if len(passphrase) < 8:
                raise CoordinatorError("needs_passphrase")
            return protect.protect(data, passphrase=passphrase)
        recipients = self._recipients()
        if not recipients:
            raise CoordinatorError("no_recipients")
        return protect.protect(data, recipients=recipients)

    @staticmethod
    def _catalogue(lang: str) -> Callable[[str], str]:
        from app.i18n import LANGUAGES, Translator

        return Translator(lang if lang in LANGUAGES else "en", "coordinator").t

    def _photos(self, details: Sequence[CaseDetail]) -> dict[str, bytes]:
        """JPEG and PNG attachments of these cases, decrypted, for the PDF (one that cannot be
        fetched is left out; the PDF still lists it with its hash)."""
        wanted = [
            (d.summary.id, a.id)
            for d in details
            for a in d.attachments
            if a.media_type in PDF_IMAGE_TYPES
        ]
        return self._fetch_each(wanted, lambda c, b: self.attachment(c, b))

    def _bundle_attachments(self, case_ids: Sequence[str]) -> dict[str, bundle.AttachmentFile]:
        """Every attachment of these cases, decrypted (and encrypted as sent, when known)."""
        index = self.index()
        wanted = [(c, a.id) for c in case_ids for a in index.detail(c).attachments]
        return self._fetch_each(
            wanted, lambda c, b: bundle.AttachmentFile(*self._attachment_original(c, b))
        )

    @staticmethod
    def _fetch_each(
        wanted: Sequence[tuple[str, str]], fetch: Callable[[str, str], T]
    ) -> dict[str, T]:
        """`fetch(case_id, blob_id)` for each attachment once. One that fails is left out (the
        export lists it); once the server is out of reach, the rest are not tried, so an export
        made offline does not wait for every attachment's timeout."""
        from sync.errors import Offline, ServerUnavailable, Timeout

        out: dict[str, T] = {}
        for case_id, blob_id in wanted:
            if blob_id in out:
                continue
            try:
                out[blob_id] = fetch(case_id, blob_id)
            except (Offline, ServerUnavailable, Timeout):
                break
            except Exception:  # noqa: S112 - an altered or missing blob: listed, not fatal
                continue
        return out
