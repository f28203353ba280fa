"""The field app's service layer on the real pieces: `storage.Vault` and the sync engine.

Use `VaultFieldService(data_dir)`; screens see only `app.services.field_api.FieldService`.
The data directory is the vault itself (the same one `fieldvault field init|add|sync --data DIR`
uses). Beside it, the launch file (`storage.launch`) holds only the lock screen's language,
and only when the calculator disguise is off: no file means "show the calculator", so a
disguised phone, a wiped phone and a phone never set up look the same on disk. A wipe removes
the file (overwritten first). The language chosen before a vault exists, and the language of a
disguised vault, are kept in memory only.

Storage errors are translated here into the service's typed errors; sync errors pass through.
Blocking methods (create, unlock, saves, attachments, sync_round, set_duress) are called by the
app off the UI thread.

Danger: passphrases are passed straight to the vault and never kept; `lock()` forgets the vault
object and with it every key and decrypted record held here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, cast

from app.services import field_decoy, field_keystore
from app.services.field_api import FieldService, about_info, default_form
from app.services.field_types import (
    DRAFT_FORMS,
    MAX_ATTACHMENT_BYTES,
    SHORT_CODE_REASONS,
    About,
    AttachmentInfo,
    AttachmentRefused,
    ConsentWithheld,
    Draft,
    FieldServiceError,
    FormInvalid,
    Incident,
    IncidentSummary,
    InvitePreview,
    InviteRefused,
    LaunchPrefs,
    Locked,
    Message,
    Note,
    NotFound,
    NotSent,
    OrgInfo,
    PassphraseRefused,
    Settings,
    SyncStatus,
    UnlockFailed,
    check_new_passphrase,
    check_setting_changes,
    guess_type,
    incident_answers,
    invite_preview,
    parse_invite,
    service_error,
)
from core import consent, forms, lifecycle, links, source
from core.crypto.random import random_bytes
from core.forms import FormDefinition, FormDefinitionError, parse_form
from core.records import Kind, Record, Status
from storage import errors as storage_errors
from storage import media_meta
from storage.launch import read_launch, remove_launch, write_launch
from storage.vault import Vault
from sync import device as sync_device
from sync import invite_drop, outbox
from sync import referrals as referrals_mod
from sync.enrolment import device_fingerprint
from sync.invite import InviteError
from sync.shortcode import ShortCodeError

APP_SETTINGS_ID = sync_device.fixed_id("field-app-settings")
# Every unlock on a phone takes at least this long (scrypt is calibrated to about 0.5 s): the
# passphrase, the duress passphrase and a wrong one cannot be told apart by their time.
UNLOCK_FLOOR_SECONDS = 1.0
WAITING = (Status.READY, Status.QUEUED, Status.FAILED)


class VaultFieldService(FieldService):
    def __init__(
        self,
        data_dir: Path,
        *,
        kdf_log_n: int | None = None,
        extra_dirs: Sequence[Path] = (),
        engine_factory: Callable[..., Any] | None = None,
        clock: Callable[[], float] = time.time,
        unlock_floor: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        keystore: field_keystore.DeviceKeystore | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.vault_dir = self.data_dir
        self.kdf_log_n = kdf_log_n
        self.extra_dirs = tuple(extra_dirs)
        self._engine_factory = engine_factory
        self._clock = clock
        self.unlock_floor = unlock_floor  # seconds every unlock takes at least (see unlock)
        self._sleep = sleep
        self.keystore = keystore  # binds the vault to this phone where there is one
        self._vault: Vault | None = None
        self._engine: Any = None
        self._digits = False
        self._progress: tuple[int, int] | None = None
        self._blob_sent: dict[str, int] = {}  # bytes of each blob the server acknowledged
        self._last_error = ""
        self.last_report: Any = None  # the sync engine's report of the last good round
        self._language = ""  # this session's language when no launch file says it
        self._notice = ""  # what the last unlock found that the owner must be told, once
        self._mutex = threading.RLock()

    # ------------------------------------------------------------ launch preferences
    def launch_prefs(self) -> LaunchPrefs:
        """No launch file (disguised, wiped or never set up) means: show the calculator."""
        facts = read_launch(self.data_dir)
        if facts is None or facts.disguise:
            language = self._language or (facts.language if facts is not None else "")
            return LaunchPrefs(language=language, disguise=True)
        return LaunchPrefs(language=facts.language or self._language, disguise=False)

    def _save_launch(self, prefs: LaunchPrefs) -> None:
        self._language = prefs.language or self._language
        write_launch(self.data_dir, language=prefs.language, disguise=prefs.disguise)

    def set_language(self, lang: str) -> None:
        self._language = lang
        if self.has_vault() and not self.launch_prefs().disguise:
            self._save_launch(dataclasses.replace(self.launch_prefs(), language=lang))
        if self._vault is not None:
            self._put_app_settings(language=lang)

    def has_vault(self) -> bool:
        return Vault.exists(self.vault_dir)

    @property
    def unlocked(self) -> bool:
        return self._vault is not None and not self._vault.locked

    # ------------------------------------------------------------ create, unlock, lock, wipe
    def create(
        self, passphrase: str, *, duress: str | None = None, language: str, disguise: bool = False
    ) -> None:
        check_new_passphrase(passphrase, duress, disguise=disguise)
        secret = None
        if self.keystore is not None:  # bind the new vault to this phone (field_keystore)
            secret = random_bytes(field_keystore.SECRET_SIZE)
            self.keystore.put(field_keystore.SECRET_NAME, secret)
        try:
            vault = Vault.create(
                self.vault_dir,
                field_keystore.bound(passphrase, secret),
                None if duress is None else field_keystore.bound(duress, secret),
                kdf_log_n=self.kdf_log_n,
                extra_dirs=self.extra_dirs,
            )
        except ValueError as exc:  # storage refuses a duress equal to the passphrase
            raise PassphraseRefused("duress_same_as_passphrase") from exc
        with self._mutex:
            self._vault, self._digits = vault, passphrase.isdigit()
        self._save_launch(LaunchPrefs(language=language, disguise=disguise))
        self._put_app_settings(language=language, has_duress=duress is not None)

    def unlock(self, passphrase: str) -> None:
        """Every outcome (the passphrase, the duress passphrase, a wrong one) takes at least
        `unlock_floor` seconds, so how long it took tells an onlooker nothing."""
        if self.unlocked:
            return
        started = time.monotonic()
        try:
            self._unlock(passphrase)
        finally:
            left = self.unlock_floor - (time.monotonic() - started)
            if left > 0:
                self._sleep(left)

    def _unlock(self, passphrase: str) -> None:
        if not passphrase:
            raise UnlockFailed("wrong_passphrase")  # refused, counted as nothing
        try:
            vault = Vault.open(self.vault_dir, self._bound(passphrase), extra_dirs=self.extra_dirs)
        except storage_errors.WrongPassphrase as exc:
            if exc.attempts_left == 0:
                self._after_wipe()
                raise UnlockFailed("wiped", attempts_left=0) from None
            raise UnlockFailed("wrong_passphrase", attempts_left=exc.attempts_left) from None
        except storage_errors.VaultNotFound:
            raise UnlockFailed("wiped") from None
        except storage_errors.VaultInUse:
            raise UnlockFailed("vault_in_use") from None
        except storage_errors.VaultRolledBack:
            raise UnlockFailed("vault_rolled_back") from None
        except storage_errors.VaultCorrupt:
            raise UnlockFailed("vault_corrupt") from None
        except ValueError:  # an empty or unusable passphrase: counted as nothing, refused
            raise UnlockFailed("wrong_passphrase") from None
        with self._mutex:
            self._vault, self._digits = vault, passphrase.isdigit()
            self._engine, self._progress, self._last_error = None, None, ""
            self._notice = "rolled_back" if vault.open_report.rollback else ""
        if sync_device.get_or_none(vault, APP_SETTINGS_ID) is None and not vault.list():
            # Nothing at all: the duress passphrase has just replaced the vault (one this
            # service created always holds its settings). Make it look used, and leave no
            # keystore entry of the wipe check (the vault's own secret stays: it opens this one).
            self._fill_decoy(vault)
            if self.keystore is not None:
                with contextlib.suppress(Exception):
                    self.keystore.delete(field_keystore.CHECK_FILE_KEY_NAME)
        lang = self._app_settings().get("language")
        if isinstance(lang, str) and lang:
            self._language = lang
            prefs = self.launch_prefs()
            if not prefs.disguise and lang != read_launch_language(self.data_dir):
                self._save_launch(dataclasses.replace(prefs, language=lang))

    def _fill_decoy(self, vault: Vault) -> None:
        """Harmless notes, an organisation name, a past sync and settings, in ordinary records
        written as one journal entry (see `field_decoy`)."""
        d = field_decoy.decoy(self.launch_prefs().language, now=self._clock())
        notes = [
            Record(
                kind=Kind.NOTE,
                data={"text": text, "shared": False, "attachments": [], "edited": int(created)},
                status=Status.LOCAL,
                created_at=created,
            )
            for text, created in d.notes
        ]
        settings = Record(
            kind=Kind.SETTING,
            id=APP_SETTINGS_ID,
            status=Status.LOCAL,
            data={
                "language": d.language,
                "has_duress": False,
                "auto_lock_seconds": d.auto_lock_seconds,
            },
        )
        state = sync_device.SyncState(
            org_document={"doc": {"org": d.org_name}}, last_sync=d.last_sync
        ).to_record()
        with contextlib.suppress(storage_errors.VaultError):
            vault.put_many([settings, *notes, state])

    def take_unlock_notice(self) -> str:
        notice, self._notice = self._notice, ""
        return notice

    def lock(self) -> None:
        with self._mutex:
            vault, self._vault, self._engine = self._vault, None, None
            self._progress, self._blob_sent = None, {}
            self._notice = ""
        if vault is not None and not vault.locked:
            vault.lock()

    def wipe(self) -> None:
        self._forget_device_secret()  # first: from here the files alone open nothing
        with self._mutex:
            vault, self._vault, self._engine = self._vault, None, None
        if vault is not None and not vault.locked:
            vault.wipe()
        else:
            from storage.wipe import wipe_directory

            wipe_directory(self.vault_dir, self.extra_dirs)
        self._after_wipe()

    def _after_wipe(self) -> None:
        """Leave nothing that says a vault, a disguise or a wipe ever existed: no launch file,
        so the phone opens as a calculator like one never set up."""
        self._language, self._notice = "", ""
        self._forget_device_secret()
        remove_launch(self.data_dir)

    def _bound(self, passphrase: str) -> str:
        secret = None
        if self.keystore is not None:
            try:
                secret = self.keystore.get(field_keystore.SECRET_NAME)
            except field_keystore.KeystoreUnavailable:
                raise UnlockFailed("keystore_unavailable") from None  # nothing was counted
        return field_keystore.bound(passphrase, secret)

    def _forget_device_secret(self) -> None:
        field_keystore.forget(self.keystore)  # never raises: a wipe never stops half-way

    # ------------------------------------------------------------ helpers
    def open_vault(self) -> Vault:
        """The unlocked vault, for services built on it (`app.services.field_alarm`); raises
        `Locked` otherwise. Never keep it across a lock."""
        vault = self._vault
        if vault is None or vault.locked:
            raise Locked()
        return vault

    def _get(self, record_id: str, *kinds: str) -> Record:
        try:
            record = self.open_vault().get(record_id)
        except storage_errors.RecordNotFound:
            raise NotFound() from None
        if kinds and record.kind not in kinds:
            raise NotFound()
        return record

    def _app_settings(self) -> dict[str, Any]:
        record = sync_device.get_or_none(self.open_vault(), APP_SETTINGS_ID)
        return dict(record.data) if record is not None else {}

    def _put_app_settings(self, **changes: Any) -> None:
        data = self._app_settings()
        data.update(changes)
        self.open_vault().put(
            Record(kind=Kind.SETTING, id=APP_SETTINGS_ID, status=Status.LOCAL, data=data)
        )

    # ------------------------------------------------------------ organisation
    def preview_invite(self, code: str) -> InvitePreview:
        return invite_preview(code)

    def fetch_short_invite(self, server: str, code: str) -> str:
        proxy = str(self._app_settings().get("proxy") or "") or None
        try:
            return invite_drop.fetch(server.strip(), code, proxy=proxy).encode()
        except ShortCodeError as exc:
            raise InviteRefused(SHORT_CODE_REASONS.get(exc.reason, "invalid_invite")) from None
        except (ValueError, InviteError):
            raise InviteRefused("bad_server_address") from None

    def join(self, code: str, *, label: str | None = None) -> OrgInfo:
        """`label` names this device for the coordinators (the command line's `--label`)."""
        vault = self.open_vault()
        if sync_device.DeviceIdentity.load(vault) is not None:
            raise InviteRefused("already_enrolled")
        invite = parse_invite(code)
        proxy = str(self._app_settings().get("proxy") or "") or None
        sync_device.identity_from_invite(
            vault,
            invite,
            proxy=proxy,
            label=label,
        )
        self._engine = None
        info = self.org_info()
        assert info is not None
        return info

    def org_info(self) -> OrgInfo | None:
        identity = sync_device.DeviceIdentity.load(self.open_vault())
        if identity is None:
            return None
        document = sync_device.load_sync_state(self.open_vault()).org_document or {}
        name = str(document.get("doc", {}).get("org", ""))
        return OrgInfo(
            server=identity.server_url,
            root_fingerprint=identity.root_fingerprint,
            device_id=identity.device_id,
            org_name=name,
            enrolled=identity.enrolled,
            device_fingerprint=device_fingerprint(
                identity.signing_key.public_bytes(), identity.recipient
            ),
        )

    def form(self) -> FormDefinition:
        document = sync_device.load_sync_state(self.open_vault()).org_document or {}
        for raw in document.get("doc", {}).get("forms") or []:
            with contextlib.suppress(FormDefinitionError):
                return parse_form(raw)
        return default_form()

    # ------------------------------------------------------------ incidents
    def list_incidents(self) -> list[IncidentSummary]:
        vault = self.open_vault()
        form = self.form()
        lang = self.launch_prefs().language or "ru"
        messages = [r for r in vault.list(kind=Kind.MESSAGE)]
        out: list[IncidentSummary] = []
        for record in vault.list(kind=Kind.INCIDENT):
            answers = incident_answers(record.data)
            out.append(
                IncidentSummary(
                    id=record.id,
                    title=forms.summary(form, answers, lang),
                    status=_shown_status(record.status),
                    status_reason=record.status_reason,
                    created_at=record.created_at,
                    updated_at=record.updated_at,
                    attachments=len(record.data.get("attachments") or []),
                    messages=sum(1 for m in messages if m.data.get("case_id") == record.id),
                    confirmed=bool(record.data.get("confirmed_at")),
                    withdrawn=tuple(record.data.get("withdrawn") or ()),
                )
            )
        for record in vault.list(kind=Kind.STUB):
            out.append(
                IncidentSummary(
                    id=record.id,
                    title="",
                    status=_shown_status(record.status),
                    status_reason=record.status_reason,
                    created_at=record.created_at,
                    updated_at=record.updated_at,
                    messages=sum(1 for m in messages if m.data.get("case_id") == record.id),
                    stub=True,
                    confirmed=bool(record.data.get("confirmed_at")),
                    withdrawn=tuple(record.data.get("withdrawn") or ()),
                )
            )
        return sorted(out, key=lambda s: (s.created_at, s.id), reverse=True)

    def get_incident(self, incident_id: str) -> Incident:
        record = self._get(incident_id, Kind.INCIDENT)
        infos = []
        for item in record.data.get("attachments") or []:
            with contextlib.suppress(NotFound):
                infos.append(self.attachment(str(item["id"])))
        return Incident(
            id=record.id,
            answers=incident_answers(record.data),
            status=_shown_status(record.status),
            status_reason=record.status_reason,
            version=record.version,
            created_at=record.created_at,
            attachments=tuple(infos),
        )

    def save_incident(
        self, incident_id: str | None, answers: Mapping[str, Any], *, submit: bool
    ) -> str:
        vault = self.open_vault()
        form = self.form()
        if submit:
            answers = source.stamp(form, answers, self._clock())
            errors = forms.validate(form, answers)
            if errors:
                raise FormInvalid(errors)
            answers = forms.clean_answers(form, answers)
        answers = self._pseudonymised(form, answers)
        refs = []
        for field in form.fields:
            if field.type == "attachments":
                for attachment_id in answers.get(field.id) or []:
                    info = self.attachment(str(attachment_id))
                    refs.append({"id": info.id, "media_type": info.media_type, "name": info.name})
        data = {
            "form": form.id,
            "form_version": form.version,
            "answers": dict(answers),
            "attachments": refs,
        }
        if incident_id is None:
            record = Record(kind=Kind.INCIDENT, data=data, status=Status.DRAFT)
        else:
            record = self._get(incident_id, Kind.INCIDENT)
            record.data = data
        try:
            if not submit:
                _back_to_draft(record)
                return vault.put(record).id
            if consent.has_consent_question(form) and not consent.allows(
                form, answers, consent.SENDING
            ):
                _back_to_draft(record, ConsentWithheld.reason)
                vault.put(record)  # kept, never sealed: nothing of it leaves the phone
                raise ConsentWithheld()
            if sync_device.DeviceIdentity.load(vault) is None:
                lifecycle.move(record, Status.READY)
                return vault.put(record).id
            return outbox.queue_record(vault, record).id
        except storage_errors.VaultError as exc:
            raise service_error(exc) from exc

    def _draft_answers(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        document = sync_device.load_sync_state(self.open_vault()).org_document or {}
        key = links.victim_key_of(document.get("doc", {}).get("settings"))
        fields = [f.id for f in self.form().fields if f.type == "pseudonym"]
        return links.draft_answers(answers, fields, key)

    def _pseudonymised(self, form: FormDefinition, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The answers with every `pseudonym` field hashed under the organisation's victim key
        (from the sealed org document), before anything is stored: a name or number typed there
        never reaches the vault. Without a key, `FormInvalid` and nothing is stored."""
        document = sync_device.load_sync_state(self.open_vault()).org_document or {}
        key = links.victim_key_of(document.get("doc", {}).get("settings"))
        fields = [f.id for f in form.fields if f.type == "pseudonym"]
        out, failed = links.pseudonymise_answers(answers, fields, key)
        if failed:
            raise FormInvalid({field_id: forms.ERROR_NO_PSEUDONYM for field_id in failed})
        return out

    def delete_incident(self, incident_id: str) -> None:
        vault = self.open_vault()
        record = self._get(incident_id, Kind.INCIDENT, Kind.STUB)
        for item in record.data.get("attachments") or []:
            with contextlib.suppress(storage_errors.AttachmentNotFound):
                vault.delete_attachment(str(item["id"]))
        vault.delete_many([record.id, *self._drafts_of("incident", record.id)])

    # ------------------------------------------------------------ attachments
    def _info(self, attachment: Any) -> AttachmentInfo:
        return AttachmentInfo(
            attachment.id, attachment.name, attachment.media_type, attachment.size
        )

    def attach_bytes(
        self, data: bytes, *, name: str, media_type: str = "", keep_metadata: bool = False
    ) -> AttachmentInfo:
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise AttachmentRefused("attachment_too_large")
        plan = _media_plan(io.BytesIO(data), keep_metadata)
        try:
            stored = self.open_vault().attach(
                plan.apply(bytes(data)) if plan is not None else bytes(data),
                media_type=media_type or guess_type(name),
                name=name,
                keep_metadata=keep_metadata,
            )
        except storage_errors.VaultError as exc:
            raise service_error(exc) from exc
        return self._info(stored)

    def _attach_file(
        self, path: Path, name: str, media_type: str, keep_metadata: bool
    ) -> AttachmentInfo:
        try:
            size = path.stat().st_size
        except OSError:
            raise AttachmentRefused("attachment_unreadable") from None
        if size > MAX_ATTACHMENT_BYTES:
            raise AttachmentRefused("attachment_too_large")
        try:
            with open(path, "rb") as handle:
                plan = _media_plan(handle, keep_metadata)
                stored = self.open_vault().attach(
                    cast(IO[bytes], plan.reader(handle)) if plan is not None else handle,
                    media_type=media_type or guess_type(name),
                    name=name,
                    keep_metadata=keep_metadata,
                )
        except storage_errors.VaultError as exc:
            raise service_error(exc) from exc
        except OSError:
            raise AttachmentRefused("attachment_unreadable") from None
        return self._info(stored)

    def clear_capture_leftovers(self, since: float) -> None:
        from storage.wipe import wipe_capture_leftovers

        wipe_capture_leftovers(self.extra_dirs, since=since)

    def attachment(self, attachment_id: str) -> AttachmentInfo:
        try:
            return self._info(self.open_vault().attachment_info(attachment_id))
        except storage_errors.VaultError as exc:
            raise service_error(exc) from exc

    def attachment_bytes(self, attachment_id: str) -> bytes:
        try:
            return self.open_vault().read_attachment(attachment_id)
        except storage_errors.VaultError as exc:
            raise service_error(exc) from exc

    def remove_attachment(self, attachment_id: str) -> None:
        try:
            self.open_vault().delete_attachment(attachment_id)
        except storage_errors.VaultError as exc:
            raise service_error(exc) from exc

    # ------------------------------------------------------------ notes
    def list_notes(self) -> list[Note]:
        notes = [
            Note(
                id=r.id,
                text=str(r.data.get("text", "")),
                shared=bool(r.data.get("shared")),
                status=_shown_status(r.status),
                status_reason=r.status_reason,
                created_at=r.created_at,
                updated_at=float(r.data.get("edited") or r.updated_at),
            )
            for r in self.open_vault().list(kind=Kind.NOTE)
        ]
        return sorted(notes, key=lambda n: (n.created_at, n.id), reverse=True)

    def save_note(self, note_id: str | None, text: str, *, shared: bool) -> str:
        vault = self.open_vault()
        if note_id is None:
            record = Record(kind=Kind.NOTE, data={}, status=Status.LOCAL)
        else:
            record = self._get(note_id, Kind.NOTE)
        record.data = {"text": text, "shared": shared, "attachments": []}
        if not shared:
            # when the owner last wrote it, as the screen shows it (the decoy's notes carry
            # their own past times the same way)
            record.data["edited"] = int(self._clock())
            lifecycle.move(record, Status.LOCAL)
            return vault.put(record).id
        if sync_device.DeviceIdentity.load(vault) is None:
            lifecycle.move(record, Status.READY, record.status_reason)
            return vault.put(record).id
        return outbox.queue_record(vault, record).id

    def delete_note(self, note_id: str) -> None:
        self._get(note_id, Kind.NOTE)
        self.open_vault().delete_many([note_id, *self._drafts_of("note", note_id)])

    # ------------------------------------------------------------ drafts
    def save_draft(
        self, draft_id: str | None, form: str, target: str, content: Mapping[str, Any]
    ) -> str:
        if form not in DRAFT_FORMS:
            raise ValueError(f"unknown draft form {form!r}")
        vault = self.open_vault()
        record = sync_device.get_or_none(vault, draft_id) if draft_id else None
        if record is None or record.kind != Kind.DRAFT:
            record = Record(kind=Kind.DRAFT, data={}, status=Status.LOCAL)
        if isinstance(content.get("answers"), Mapping):  # a victim's number is never kept
            content = {**content, "answers": self._draft_answers(content["answers"])}
        record.data = {
            "form": form,
            "target": target,
            "content": dict(content),
            "edited": self._clock(),
        }
        try:
            return vault.put(record).id
        except storage_errors.VaultError as exc:
            raise service_error(exc) from exc

    def _draft(self, record: Record) -> Draft:
        return Draft(
            id=record.id,
            form=str(record.data.get("form", "")),
            target=str(record.data.get("target", "")),
            content=dict(record.data.get("content") or {}),
            updated_at=float(record.data.get("edited") or record.updated_at),
        )

    def list_drafts(self, form: str | None = None) -> list[Draft]:
        drafts = [self._draft(r) for r in self.open_vault().list(kind=Kind.DRAFT)]
        drafts = [d for d in drafts if form in (None, d.form)]
        return sorted(drafts, key=lambda d: (d.updated_at, d.id), reverse=True)

    def get_draft(self, draft_id: str) -> Draft:
        return self._draft(self._get(draft_id, Kind.DRAFT))

    def delete_draft(self, draft_id: str) -> None:
        vault = self.open_vault()
        record = sync_device.get_or_none(vault, draft_id)
        if record is not None and record.kind == Kind.DRAFT:
            vault.delete(draft_id)

    def _drafts_of(self, form: str, target: str) -> list[str]:
        return [
            r.id
            for r in self.open_vault().list(kind=Kind.DRAFT)
            if r.data.get("form") == form and r.data.get("target") == target
        ]

    # ------------------------------------------------------------ messages
    def messages(self, incident_id: str | None = None) -> list[Message]:
        out = [
            Message(
                id=r.id,
                incident_id=str(r.data.get("case_id", "")),
                text=str(r.data.get("text", "")),
                from_coordinator=r.data.get("direction", "in") == "in",
                created_at=float(r.data.get("created") or r.created_at),
            )
            for r in self.open_vault().list(kind=Kind.MESSAGE)
        ]
        out = [m for m in out if incident_id in (None, m.incident_id)]
        return sorted(out, key=lambda m: (m.created_at, m.id))

    def mark_read(self, incident_id: str | None = None) -> None:
        vault = self.open_vault()
        unread = [
            r
            for r in vault.list(kind=Kind.MESSAGE)
            if r.data.get("direction", "in") == "in"
            and not r.data.get("read")
            and incident_id in (None, r.data.get("case_id"))
        ]
        for record in unread:
            record.data["read"] = True
        if unread:
            vault.put_many(unread)

    def reply(self, incident_id: str, text: str) -> str:
        vault = self.open_vault()
        thread = self.messages(incident_id)
        incoming = [m for m in thread if m.from_coordinator]
        in_reply_to = incoming[-1].id if incoming else ""
        envelope_id = outbox.queue_reply(vault, incident_id, text, in_reply_to)
        vault.put(
            Record(  # its own id: the outbox entry already uses the envelope id
                kind=Kind.MESSAGE,
                status=Status.QUEUED,
                data={
                    "case_id": incident_id,
                    "text": text,
                    "direction": "out",
                    "created": int(self._clock()),
                    "envelope_id": envelope_id,
                },
            )
        )
        return envelope_id

    # ------------------------------------------------------------ consent and referrals
    def withdraw_consent(self, incident_id: str, purposes: Sequence[str]) -> str:
        """Withdraw consent about a report already sent (or its stub): a signed envelope that
        only this device can write, honoured by every export from then on. Never undone."""
        vault = self.open_vault()
        try:
            chosen = consent.purposes_of(list(purposes))
        except ValueError:
            raise FieldServiceError("invalid_purpose") from None
        record = self._get(incident_id, Kind.INCIDENT, Kind.STUB)
        if record.status not in (Status.QUEUED, Status.SENT):
            raise NotSent()
        envelope_id = outbox.queue_withdrawal(vault, record.id, sorted(chosen), now=self._clock)
        record = self._get(incident_id, Kind.INCIDENT, Kind.STUB)
        record.data["withdrawn"] = sorted(set(record.data.get("withdrawn") or ()) | chosen)
        vault.put(record)
        return envelope_id

    def referrals(self) -> tuple[referrals_mod.Contact, ...]:
        """The organisation's referral directory from the signed org document held (offline)."""
        document = sync_device.load_sync_state(self.open_vault()).org_document or {}
        return referrals_mod.from_settings(document.get("doc", {}).get("settings"))

    # ------------------------------------------------------------ sync
    def sync_status(self) -> SyncStatus:
        vault = self.open_vault()
        identity = sync_device.DeviceIdentity.load(vault)
        state = sync_device.load_sync_state(vault)
        waiting = sum(
            1
            for kind in (Kind.INCIDENT, Kind.NOTE)
            for r in vault.list(kind=kind)
            if r.status in WAITING
        )
        left = sum(
            max(0, int(r.data.get("size", 0)) - self._blob_sent.get(r.id, 0))
            for r in vault.list(kind=Kind.OUTBOX)
            if r.data.get("type") == "blob" and r.status == Status.QUEUED
        )
        return SyncStatus(
            enrolled=bool(identity and identity.enrolled),
            last_sync=float(state.last_sync) if state.last_sync else None,
            waiting=waiting,
            last_error=self._last_error,
            revoked=state.revoked,
            progress=self._progress,
            bytes_left=left,
        )

    def _make_engine(self) -> Any:
        if self._engine is None:
            from sync.engine import SyncEngine

            factory = self._engine_factory or SyncEngine
            self._engine = factory(self.open_vault(), progress=self._on_progress)
        return self._engine

    def _on_progress(self, blob_id: str, sent: int, total: int) -> None:
        self._progress = (sent, total) if sent < total else None
        self._blob_sent[blob_id] = sent

    def sync_round(self) -> SyncStatus:
        from sync.errors import Offline, SyncError

        vault = self.open_vault()
        if (
            sync_device.DeviceIdentity.load(vault) is None
            and sync_device.load_sync_state(vault).last_sync
        ):
            raise Offline()  # synced once, no longer connected (the duress vault): no server
        engine = self._make_engine()
        try:
            report = engine.run_once()
        except SyncError as exc:
            self._last_error = exc.reason  # what the sync line shows; what waits stays queued
            raise
        finally:
            self._progress = None
        self.last_report = report
        if getattr(report, "wiped", False):
            with self._mutex:
                self._vault, self._engine = None, None
            self._after_wipe()
            return SyncStatus(False, None, 0)
        self._last_error = ""
        self._arm_wipe_check()
        self._forget_drafts_of_sent()
        return self.sync_status()

    def _forget_drafts_of_sent(self) -> None:
        """Send and forget leaves only a stub of a report (or of a shared note, where the
        organisation forgets sent notes): an unsaved edit of it goes too."""
        vault = self.open_vault()
        live = {
            "incident": {r.id for r in vault.list(kind=Kind.INCIDENT)},
            "note": {r.id for r in vault.list(kind=Kind.NOTE)},
        }
        gone = [
            r.id
            for r in vault.list(kind=Kind.DRAFT)
            if r.data.get("form") in live
            and r.data.get("target")
            and r.data.get("target") not in live[str(r.data.get("form"))]
        ]
        if gone:
            with contextlib.suppress(storage_errors.VaultError):
                vault.delete_many(gone)

    def _arm_wipe_check(self) -> None:
        """Keep the wipe-check file current (phones only; see `field_wipecheck`)."""
        if self.keystore is not None and self.unlocked:
            from app.services import field_wipecheck

            field_wipecheck.arm_quietly(self.data_dir, self.keystore, self.open_vault())

    def cancel_sync(self) -> None:
        engine = self._engine
        if engine is not None:
            engine.cancel()

    # ------------------------------------------------------------ settings
    def settings(self) -> Settings:
        vault = self.open_vault()
        app = self._app_settings()
        identity = sync_device.DeviceIdentity.load(vault)
        proxy = identity.proxy if identity is not None else app.get("proxy")
        return Settings(
            language=self.launch_prefs().language or str(app.get("language") or "ru"),
            auto_lock_seconds=int(app.get("auto_lock_seconds", 120)),
            wipe_threshold=vault.settings.wipe_threshold,
            send_and_forget=sync_device.load_settings(vault).send_and_forget,
            proxy=str(proxy or ""),
            has_duress=bool(app.get("has_duress")),
            disguise=self.launch_prefs().disguise,
            # never chosen: immediate on a disguised phone (the high-risk setting), else counted
            panic_immediate=bool(app.get("panic_immediate", self.launch_prefs().disguise)),
        )

    def update_settings(self, **changes: Any) -> Settings:
        vault = self.open_vault()
        check_setting_changes(changes, digits=self._digits)
        if "panic_immediate" in changes:
            self._put_app_settings(panic_immediate=bool(changes["panic_immediate"]))
        if "auto_lock_seconds" in changes:
            self._put_app_settings(auto_lock_seconds=int(changes["auto_lock_seconds"]))
        if "wipe_threshold" in changes:
            vault.settings.wipe_threshold = int(changes["wipe_threshold"])
        if "send_and_forget" in changes:
            sync_device.save_settings(
                vault, sync_device.SyncSettings(send_and_forget=bool(changes["send_and_forget"]))
            )
        if "proxy" in changes:
            proxy = _check_proxy(str(changes["proxy"]))
            self._put_app_settings(proxy=proxy)
            with vault.unit() as uow:
                identity = sync_device.DeviceIdentity.load(uow)
                if identity is not None:
                    identity.proxy = proxy or None
                    uow.put(identity.to_record())
            self._engine = None
        if "disguise" in changes:
            self._save_launch(
                dataclasses.replace(self.launch_prefs(), disguise=bool(changes["disguise"]))
            )
        return self.settings()

    def set_duress(self, passphrase: str, duress: str | None) -> None:
        vault = self.open_vault()
        check_new_passphrase(passphrase, duress, disguise=self.launch_prefs().disguise)
        try:
            bound = self._bound(passphrase)
            vault.change_passphrase(bound, bound)  # proves the current passphrase
            vault.set_duress_passphrase(None if duress is None else self._bound(duress))
        except storage_errors.WrongPassphrase:
            raise UnlockFailed("wrong_passphrase") from None
        except ValueError:
            raise PassphraseRefused("duress_same_as_passphrase") from None
        self._put_app_settings(has_duress=duress is not None)

    def about(self) -> About:
        return about_info()


def _back_to_draft(incident: Record, reason: str = "") -> None:
    """Make `incident` a draft again, unless something of it is sealed already (queued or sent,
    which never become drafts again): then it keeps its status and the edit stays here."""
    if lifecycle.INCIDENT.allows(incident.status, Status.DRAFT):
        lifecycle.move(incident, Status.DRAFT, reason)


def _media_plan(handle: Any, keep_metadata: bool) -> media_meta.Plan | None:
    """How to clean a video or recording, None for anything else (or when the owner chose to
    keep its metadata); `metadata_not_removable` when it cannot be cleaned."""
    if keep_metadata:
        return None
    try:
        return media_meta.plan(handle)
    except media_meta.MetadataNotRemovable as exc:
        raise AttachmentRefused("metadata_not_removable", exc.kind) from None
    finally:
        handle.seek(0)


def read_launch_language(data_dir: Path) -> str:
    facts = read_launch(data_dir)
    return facts.language if facts is not None else ""


def _shown_status(status: str) -> str:
    """Statuses as a documenter sees them: `ready` (sealed at next sync) is waiting too."""
    return Status.QUEUED if status == Status.READY else str(status)


def _check_proxy(proxy: str) -> str:
    proxy = proxy.strip()
    if not proxy:
        return ""
    from sync.client import normalise_proxy

    try:
        return normalise_proxy(proxy)
    except ValueError:
        raise FieldServiceError("invalid_proxy") from None
