"""An in-memory `FieldService` for view tests and UI previews. Keeps nothing on disk.

It follows the same contract as the real service (the contract suite runs on both): the same
errors, the same wipe threshold behaviour, the same status transitions. Sync is simulated: a
round marks queued items `sent`, or raises the error set in `next_sync_error` (or `Offline` while
`online` is False) and, as the real service, leaves what waits queued and reports the failure
in `sync_status().last_error` (and `revoked` after `DeviceRevoked`). Invites are real
`sync.invite` codes; `fake_invite` makes one.

Not for production: passphrases are compared in memory, nothing is encrypted.
"""

from __future__ import annotations

import dataclasses
import io
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.services import field_decoy
from app.services import field_types as ftypes
from app.services.field_api import FieldService, about_info, default_form
from core import consent, forms, lifecycle, links, source
from core.forms import FormDefinition
from storage import media_meta
from sync.errors import DeviceRevoked, NotEnrolled, Offline, SyncError
from sync.invite import Invite
from sync.referrals import Contact
from sync.shortcode import ShortCodeError, parse_code


def fake_invite(server: str = "https://org.example", root: str = "ab" * 16) -> str:
    """A real invite code (`sync.invite`) for `server` and the root fingerprint `root`."""
    return Invite(server, "fake-" + "t" * 20, root).encode()


@dataclasses.dataclass
class _Incident:
    id: str
    answers: dict[str, Any]
    status: str = "draft"
    reason: str = ""
    version: int = 1
    created: float = 0.0
    updated: float = 0.0
    stub: bool = False
    withdrawn: tuple[str, ...] = ()


class FakeFieldService(FieldService):
    def __init__(self, *, clock: Any = time.time) -> None:
        self._clock = clock
        # the organisation's victim key (the sealed org document's in the real service)
        self.victim_key: bytes | None = bytes(range(32))
        self._prefs = ftypes.LaunchPrefs(disguise=True)  # nothing on disk: the calculator
        self._passphrase: str | None = None
        self._duress: str | None = None
        self._open = False
        self._failures = 0
        self._wipe_count = 0
        self._reset_data()
        self.next_sync_error: BaseException | None = None
        self.online = True
        """False: every sync round fails with `Offline`, as with no network."""
        self.calls: list[str] = []
        self.short_codes: set[str] = set()
        """Short codes `fetch_short_invite` accepts (canonical form)."""

    def _reset_data(self) -> None:
        self._incidents: dict[str, _Incident] = {}
        self._notes: dict[str, ftypes.Note] = {}
        self._attachments: dict[str, tuple[ftypes.AttachmentInfo, bytes]] = {}
        self._messages: list[ftypes.Message] = []
        self._drafts: dict[str, ftypes.Draft] = {}
        self.read_messages: set[str] = set()
        self._settings = ftypes.Settings(language=self._prefs.language or "ru")
        self._org: ftypes.OrgInfo | None = None
        self._last_sync: float | None = None
        self._last_error = ""
        self._revoked = False
        self.directory: tuple[Contact, ...] = ()  # what the org document would publish

    def _need_open(self) -> None:
        if not self._open:
            raise ftypes.Locked()

    # ---- before unlock
    def launch_prefs(self) -> ftypes.LaunchPrefs:
        return self._prefs

    def set_language(self, lang: str) -> None:
        self._prefs = dataclasses.replace(self._prefs, language=lang)
        if self._open:
            self._settings = dataclasses.replace(self._settings, language=lang)

    def has_vault(self) -> bool:
        return self._passphrase is not None

    @property
    def unlocked(self) -> bool:
        return self._open

    def create(
        self, passphrase: str, *, duress: str | None = None, language: str, disguise: bool = False
    ) -> None:
        ftypes.check_new_passphrase(passphrase, duress, disguise=disguise)
        self.calls.append("create")
        self._reset_data()
        self._passphrase, self._duress = passphrase, duress
        self._prefs = ftypes.LaunchPrefs(language=language, disguise=disguise)
        self._settings = ftypes.Settings(
            language=language,
            disguise=disguise,
            has_duress=bool(duress),
            panic_immediate=disguise,  # as the real service: immediate when disguised
        )
        self._failures = 0
        self._open = True

    def unlock(self, passphrase: str) -> None:
        self.calls.append("unlock")
        if self._passphrase is None:
            raise ftypes.UnlockFailed("wiped")
        if self._duress is not None and passphrase == self._duress:
            lang, disguise = self._prefs.language, self._prefs.disguise
            self._reset_data()
            self._passphrase, self._duress = passphrase, None
            decoy = field_decoy.decoy(lang, now=self._clock())
            self._settings = ftypes.Settings(
                language=lang,
                disguise=disguise,
                auto_lock_seconds=decoy.auto_lock_seconds,
                panic_immediate=disguise,
            )
            for text, created in decoy.notes:
                note = ftypes.Note(uuid.uuid4().hex, text, False, "local", "", created, created)
                self._notes[note.id] = note
            self._last_sync = float(decoy.last_sync)
            self._open, self._failures = True, 0
            return
        if passphrase != self._passphrase:
            self._failures += 1
            threshold = self._settings.wipe_threshold
            if threshold and self._failures >= threshold:
                self.wipe()
                raise ftypes.UnlockFailed("wiped", attempts_left=0)
            left = threshold - self._failures if threshold else None
            raise ftypes.UnlockFailed("wrong_passphrase", attempts_left=left)
        self._failures = 0
        self._open = True

    def lock(self) -> None:
        self.calls.append("lock")
        self._open = False

    def wipe(self) -> None:
        self.calls.append("wipe")
        self._wipe_count += 1
        self._open = False
        self._passphrase = self._duress = None
        self._prefs = ftypes.LaunchPrefs(disguise=True)
        self._reset_data()

    # ---- organisation
    def preview_invite(self, code: str) -> ftypes.InvitePreview:
        return ftypes.invite_preview(code)

    def fetch_short_invite(self, server: str, code: str) -> str:
        """Codes from `fake_short_codes` open to a fake invite for `server`."""
        self._need_open()
        self.calls.append("fetch_short_invite")
        try:
            canonical = parse_code(code)
        except ShortCodeError as exc:
            raise ftypes.InviteRefused(
                ftypes.SHORT_CODE_REASONS.get(exc.reason, "invalid_invite")
            ) from None
        if not server.strip().startswith(("http://", "https://")):
            raise ftypes.InviteRefused("bad_server_address")
        if canonical not in self.short_codes:
            raise ftypes.InviteRefused("code_unknown")
        return fake_invite(server.strip())

    def join(self, code: str) -> ftypes.OrgInfo:
        self._need_open()
        if self._org is not None:
            raise ftypes.InviteRefused("already_enrolled")
        preview = self.preview_invite(code)
        self._org = ftypes.OrgInfo(preview.server, preview.root_fingerprint, "cd" * 16, "", False)
        return self._org

    def org_info(self) -> ftypes.OrgInfo | None:
        self._need_open()
        return self._org

    def form(self) -> FormDefinition:
        self._need_open()
        return default_form()

    # ---- incidents
    def list_incidents(self) -> list[ftypes.IncidentSummary]:
        self._need_open()
        form = default_form()
        out = []
        for i in self._incidents.values():
            refs = i.answers.get("evidence", [])
            out.append(
                ftypes.IncidentSummary(
                    id=i.id,
                    title="" if i.stub else forms.summary(form, i.answers, self._settings.language),
                    status=i.status,
                    status_reason=i.reason,
                    created_at=i.created,
                    updated_at=i.updated,
                    attachments=len(refs) if isinstance(refs, list) else 0,
                    messages=sum(1 for m in self._messages if m.incident_id == i.id),
                    stub=i.stub,
                    withdrawn=i.withdrawn,
                )
            )
        return sorted(out, key=lambda s: (s.created_at, s.id), reverse=True)

    def _incident(self, incident_id: str) -> _Incident:
        self._need_open()
        try:
            return self._incidents[incident_id]
        except KeyError:
            raise ftypes.NotFound() from None

    def get_incident(self, incident_id: str) -> ftypes.Incident:
        i = self._incident(incident_id)
        if i.stub:
            raise ftypes.NotFound()
        refs = i.answers.get("evidence", [])
        infos = tuple(self._attachments[a][0] for a in refs if a in self._attachments)
        return ftypes.Incident(
            i.id, dict(i.answers), i.status, i.reason, i.version, i.created, infos
        )

    def save_incident(
        self, incident_id: str | None, answers: Mapping[str, Any], *, submit: bool
    ) -> str:
        self._need_open()
        form = default_form()
        if submit:
            answers = source.stamp(form, answers, self._clock())
            errors = forms.validate(form, answers)
            if errors:
                raise ftypes.FormInvalid(errors)
        now = self._clock()
        cleaned = forms.clean_answers(form, answers) if submit else dict(answers)
        pseudonyms = [f.id for f in form.fields if f.type == "pseudonym"]
        cleaned, failed = links.pseudonymise_answers(cleaned, pseudonyms, self.victim_key)
        if failed:
            raise ftypes.FormInvalid({field_id: forms.ERROR_NO_PSEUDONYM for field_id in failed})
        if incident_id is None:
            record = _Incident(uuid.uuid4().hex, cleaned, created=now, updated=now)
            self._incidents[record.id] = record
        else:
            record = self._incident(incident_id)
            record.answers, record.version, record.updated = cleaned, record.version + 1, now
        withheld = (
            submit
            and consent.has_consent_question(form)
            and not consent.allows(form, cleaned, consent.SENDING)
        )
        if submit and not withheld:
            record.status, record.reason = lifecycle.INCIDENT.check(record.status, "queued"), ""
        elif lifecycle.INCIDENT.allows(record.status, "draft"):  # never once queued or sent
            record.status = "draft"
            record.reason = ftypes.ConsentWithheld.reason if withheld else ""
        if withheld:
            raise ftypes.ConsentWithheld()
        return record.id

    def delete_incident(self, incident_id: str) -> None:
        record = self._incident(incident_id)
        for ref in record.answers.get("evidence", []) or []:
            self._attachments.pop(ref, None)
        del self._incidents[incident_id]
        self._forget_drafts_of("incident", incident_id)

    # ---- attachments
    def attach_bytes(
        self, data: bytes, *, name: str, media_type: str = "", keep_metadata: bool = False
    ) -> ftypes.AttachmentInfo:
        self._need_open()
        if len(data) > ftypes.MAX_ATTACHMENT_BYTES:
            raise ftypes.AttachmentRefused("attachment_too_large")
        if not keep_metadata:
            try:
                media_meta.plan(io.BytesIO(data))
            except media_meta.MetadataNotRemovable:
                raise ftypes.AttachmentRefused("metadata_not_removable") from None
        info = ftypes.AttachmentInfo(
            uuid.uuid4().hex, name, media_type or ftypes.guess_type(name), len(data)
        )
        self._attachments[info.id] = (info, bytes(data))
        return info

    def _attach_file(
        self, path: Path, name: str, media_type: str, keep_metadata: bool
    ) -> ftypes.AttachmentInfo:
        self._need_open()
        try:
            data = path.read_bytes()
        except OSError:
            raise ftypes.AttachmentRefused("attachment_unreadable") from None
        return self.attach_bytes(
            data, name=name, media_type=media_type, keep_metadata=keep_metadata
        )

    def attachment(self, attachment_id: str) -> ftypes.AttachmentInfo:
        return self._stored(attachment_id)[0]

    def attachment_bytes(self, attachment_id: str) -> bytes:
        return self._stored(attachment_id)[1]

    def _stored(self, attachment_id: str) -> tuple[ftypes.AttachmentInfo, bytes]:
        self._need_open()
        try:
            return self._attachments[attachment_id]
        except KeyError:
            raise ftypes.NotFound() from None

    def remove_attachment(self, attachment_id: str) -> None:
        self._need_open()
        if self._attachments.pop(attachment_id, None) is None:
            raise ftypes.NotFound()

    # ---- notes
    def list_notes(self) -> list[ftypes.Note]:
        self._need_open()
        return sorted(self._notes.values(), key=lambda n: (n.created_at, n.id), reverse=True)

    def save_note(self, note_id: str | None, text: str, *, shared: bool) -> str:
        self._need_open()
        now = self._clock()
        status = "queued" if shared else "local"
        if note_id is None:
            note = ftypes.Note(uuid.uuid4().hex, text, shared, status, "", now, now)
        else:
            if note_id not in self._notes:
                raise ftypes.NotFound()
            old = self._notes[note_id]
            lifecycle.NOTE.check(old.status, status)
            note = dataclasses.replace(old, text=text, shared=shared, status=status, updated_at=now)
        self._notes[note.id] = note
        return note.id

    def delete_note(self, note_id: str) -> None:
        self._need_open()
        if self._notes.pop(note_id, None) is None:
            raise ftypes.NotFound()
        self._forget_drafts_of("note", note_id)

    # ---- drafts
    def save_draft(
        self, draft_id: str | None, form: str, target: str, content: Mapping[str, Any]
    ) -> str:
        self._need_open()
        if form not in ftypes.DRAFT_FORMS:
            raise ValueError(f"unknown draft form {form!r}")
        draft_id = draft_id if draft_id in self._drafts else uuid.uuid4().hex
        assert draft_id is not None
        if isinstance(content.get("answers"), Mapping):  # a victim's number is never kept
            fields = [f.id for f in default_form().fields if f.type == "pseudonym"]
            answers = links.draft_answers(content["answers"], fields, self.victim_key)
            content = {**content, "answers": answers}
        self._drafts[draft_id] = ftypes.Draft(draft_id, form, target, dict(content), self._clock())
        return draft_id

    def list_drafts(self, form: str | None = None) -> list[ftypes.Draft]:
        self._need_open()
        drafts = [d for d in self._drafts.values() if form in (None, d.form)]
        return sorted(drafts, key=lambda d: (d.updated_at, d.id), reverse=True)

    def get_draft(self, draft_id: str) -> ftypes.Draft:
        self._need_open()
        if draft_id not in self._drafts:
            raise ftypes.NotFound()
        return self._drafts[draft_id]

    def delete_draft(self, draft_id: str) -> None:
        self._need_open()
        self._drafts.pop(draft_id, None)

    def _forget_drafts_of(self, form: str, target: str) -> None:
        for draft in list(self._drafts.values()):
            if draft.form == form and draft.target == target:
                del self._drafts[draft.id]

    # ---- messages
    def add_coordinator_message(self, incident_id: str, text: str) -> ftypes.Message:
        """Test hook: a message as if it had arrived from a coordinator at sync."""
        message = ftypes.Message(uuid.uuid4().hex, incident_id, text, True, self._clock())
        self._messages.append(message)
        return message

    def messages(self, incident_id: str | None = None) -> list[ftypes.Message]:
        self._need_open()
        return [m for m in self._messages if incident_id in (None, m.incident_id)]

    def mark_read(self, incident_id: str | None = None) -> None:
        self._need_open()
        self.read_messages.update(
            m.id
            for m in self._messages
            if m.from_coordinator and incident_id in (None, m.incident_id)
        )

    def reply(self, incident_id: str, text: str) -> str:
        self._incident(incident_id)
        message = ftypes.Message(uuid.uuid4().hex, incident_id, text, False, self._clock())
        self._messages.append(message)
        return message.id

    # ---- consent and referrals
    def withdraw_consent(self, incident_id: str, purposes: Sequence[str]) -> str:
        try:
            chosen = consent.purposes_of(list(purposes))
        except ValueError:
            raise ftypes.FieldServiceError("invalid_purpose") from None
        i = self._incident(incident_id)
        if i.status not in ("queued", "sent"):
            raise ftypes.NotSent()
        i.withdrawn = tuple(sorted(set(i.withdrawn) | chosen))
        self.calls.append(f"withdraw:{incident_id}")
        return uuid.uuid4().hex

    def referrals(self) -> tuple[Contact, ...]:
        self._need_open()
        return self.directory

    # ---- sync
    def _waiting(self) -> int:
        incidents = sum(1 for i in self._incidents.values() if i.status in ("queued", "failed"))
        notes = sum(1 for n in self._notes.values() if n.status == "queued")
        return incidents + notes

    def sync_status(self) -> ftypes.SyncStatus:
        self._need_open()
        enrolled = self._org is not None and self._org.enrolled
        return ftypes.SyncStatus(
            enrolled, self._last_sync, self._waiting(), self._last_error, revoked=self._revoked
        )

    def sync_round(self) -> ftypes.SyncStatus:
        """As the real service: a failed round leaves everything as it was and says why in
        `last_error`; a good one clears it."""
        self._need_open()
        self.calls.append("sync")
        try:
            self._simulated_round()
        except SyncError as exc:
            self._last_error = exc.reason
            self._revoked = self._revoked or isinstance(exc, DeviceRevoked)
            raise
        self._last_sync, self._last_error = self._clock(), ""
        return self.sync_status()

    def _simulated_round(self) -> None:
        if self.next_sync_error is not None:
            error, self.next_sync_error = self.next_sync_error, None
            raise error
        if self._revoked:
            raise DeviceRevoked()
        if self._org is None:
            raise Offline() if self._last_sync else NotEnrolled()
        if not self.online:
            raise Offline()
        self._org = dataclasses.replace(self._org, enrolled=True)
        for i in self._incidents.values():
            if i.status in ("queued", "failed"):
                i.status, i.reason = lifecycle.INCIDENT.check(i.status, "sent"), ""
                if self._settings.send_and_forget:
                    for ref in i.answers.get("evidence", []) or []:
                        self._attachments.pop(ref, None)
                    i.answers, i.stub = {}, True
                    self._forget_drafts_of("incident", i.id)
        for note_id, note in list(self._notes.items()):
            if note.status == "queued":
                sent = lifecycle.NOTE.check(note.status, "sent")
                self._notes[note_id] = dataclasses.replace(note, status=sent)

    # ---- settings
    def settings(self) -> ftypes.Settings:
        self._need_open()
        return self._settings

    def update_settings(self, **changes: Any) -> ftypes.Settings:
        self._need_open()
        ftypes.check_setting_changes(changes, digits=(self._passphrase or "").isdigit())
        self._settings = dataclasses.replace(self._settings, **changes)
        if "disguise" in changes:
            self._prefs = dataclasses.replace(self._prefs, disguise=bool(changes["disguise"]))
        return self._settings

    def set_duress(self, passphrase: str, duress: str | None) -> None:
        self._need_open()
        if passphrase != self._passphrase:
            raise ftypes.UnlockFailed("wrong_passphrase")
        ftypes.check_new_passphrase(passphrase, duress, disguise=self._prefs.disguise)
        self._duress = duress
        self._settings = dataclasses.replace(self._settings, has_duress=duress is not None)

    def about(self) -> ftypes.About:
        return about_info()
