"""The field service interface: everything the field app's screens may ask for.

Two implementations pass the same contract suite (tests/app/field/test_service_contract.py):
`app.services.field.VaultFieldService` (the real one: storage.Vault and the sync engine) and
`app.services.fake_field.FakeFieldService` (in memory, for view tests).

Methods marked *blocking* derive keys, encrypt or talk HTTP: call them off the UI thread
(`asyncio.to_thread` / `page.run_thread`). Everything except the launch preferences, `has_vault`,
`create`, `unlock` and `wipe` raises `Locked` while the vault is locked.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.services.field_types import (
    About,
    AttachmentInfo,
    Draft,
    FieldServiceError,
    Incident,
    IncidentSummary,
    InvitePreview,
    LaunchPrefs,
    Locked,
    Message,
    Note,
    OrgInfo,
    Settings,
    SyncStatus,
)
from core.forms import FormDefinition
from sync.referrals import Contact

_COPY_KEPT = ("metadata_not_removable", "attachment_unreadable")


class FieldService(abc.ABC):
    # ---- before unlock
    @abc.abstractmethod
    def launch_prefs(self) -> LaunchPrefs: ...

    @abc.abstractmethod
    def set_language(self, lang: str) -> None:
        """Remember the language before and after unlock (also in settings when unlocked)."""

    @abc.abstractmethod
    def has_vault(self) -> bool: ...

    @property
    @abc.abstractmethod
    def unlocked(self) -> bool: ...

    @abc.abstractmethod
    def create(
        self, passphrase: str, *, duress: str | None = None, language: str, disguise: bool = False
    ) -> None:
        """*Blocking.* A new vault, opened. Raises `PassphraseRefused`."""

    @abc.abstractmethod
    def unlock(self, passphrase: str) -> None:
        """*Blocking.* Raises `UnlockFailed` (counted toward the wipe threshold)."""

    def take_unlock_notice(self) -> str:
        """What the last unlock found that the owner must be told, once: "" or
        "rolled_back" (saved changes are missing: the files were cut short or put back)."""
        return ""

    @abc.abstractmethod
    def lock(self) -> None:
        """Forget keys and decrypted data. Safe to call twice."""

    @abc.abstractmethod
    def wipe(self) -> None:
        """Panic wipe: keys first, then every file. Leaves the state of a phone never set up:
        no launch file, so the calculator shows."""

    # ---- organisation
    @abc.abstractmethod
    def preview_invite(self, code: str) -> InvitePreview:
        """Parse an invite code strictly (raises `InviteRefused`)."""

    @abc.abstractmethod
    def fetch_short_invite(self, server: str, code: str) -> str:
        """The long invite code a short code stands for, fetched from `server`, opened and
        checked (`sync.invite_drop`); raises `InviteRefused` (short_code_typo, code_unknown,
        code_expired, code_used, too_many_attempts, invite_tampered, bad_server_address) or a
        `SyncError`. Blocking (scrypt and the network): call it off the UI thread."""

    @abc.abstractmethod
    def join(self, code: str) -> OrgInfo:
        """Remember the invite and create this device's keys; enrolment happens at next sync."""

    @abc.abstractmethod
    def org_info(self) -> OrgInfo | None: ...

    @abc.abstractmethod
    def form(self) -> FormDefinition:
        """The organisation's incident form, or the default one before enrolment."""

    # ---- incidents
    @abc.abstractmethod
    def list_incidents(self) -> list[IncidentSummary]:
        """Newest first."""

    @abc.abstractmethod
    def get_incident(self, incident_id: str) -> Incident: ...

    @abc.abstractmethod
    def save_incident(
        self, incident_id: str | None, answers: Mapping[str, Any], *, submit: bool
    ) -> str:
        """*Blocking.* Save a draft (`submit=False`, never validated) or validate and queue it
        for sending (`submit=True`, raises `FormInvalid`). Returns the incident id."""

    @abc.abstractmethod
    def delete_incident(self, incident_id: str) -> None: ...

    # ---- attachments
    @abc.abstractmethod
    def attach_bytes(
        self, data: bytes, *, name: str, media_type: str = "", keep_metadata: bool = False
    ) -> AttachmentInfo:
        """*Blocking.* Encrypt at once. Metadata is removed first (photos, videos, recordings)
        unless kept; media whose metadata cannot be removed is refused with
        `AttachmentRefused("metadata_not_removable")`."""

    def attach_path(
        self,
        path: Path,
        *,
        name: str = "",
        media_type: str = "",
        remove_source: bool = True,
        keep_metadata: bool = False,
    ) -> AttachmentInfo:
        """*Blocking.* Encrypt a picker's cached copy and (with `remove_source`) delete that
        plaintext copy, whatever happens, except after `metadata_not_removable`: then the copy
        stays for the owner's choice (attach again with `keep_metadata`, or `discard_copy`).
        A copy that cannot be read, or a locked service, leaves the copy alone."""
        try:
            info = self._attach_file(path, name or path.name, media_type, keep_metadata)
        except FieldServiceError as exc:
            if remove_source and not isinstance(exc, Locked) and exc.reason not in _COPY_KEPT:
                path.unlink(missing_ok=True)
            raise
        if remove_source:
            path.unlink(missing_ok=True)
        return info

    @abc.abstractmethod
    def _attach_file(
        self, path: Path, name: str, media_type: str, keep_metadata: bool
    ) -> AttachmentInfo:
        """Encrypt the file at `path` as `attach_path` does, leaving the file itself alone."""

    def discard_copy(self, path: Path) -> None:
        """*Blocking.* Delete a plaintext copy the picker left (a no-op if it is gone)."""
        path.unlink(missing_ok=True)

    def delete_original(self, path: Path) -> None:
        """*Blocking.* Overwrite and delete the owner's own file after it was imported (on a
        computer, where the picker gives the file itself). A no-op if it is gone."""
        from storage.wipe import overwrite_and_unlink

        overwrite_and_unlink(path)

    def clear_capture_leftovers(self, since: float) -> None:  # noqa: B027 - optional hook
        """*Blocking.* After a camera capture or a recording: overwrite and delete what the
        camera plugin left in the app's cache and temp directories (see `storage.wipe`)."""

    @abc.abstractmethod
    def attachment(self, attachment_id: str) -> AttachmentInfo: ...

    @abc.abstractmethod
    def attachment_bytes(self, attachment_id: str) -> bytes:
        """Decrypted into memory for a preview; never written anywhere."""

    @abc.abstractmethod
    def remove_attachment(self, attachment_id: str) -> None: ...

    # ---- notes
    @abc.abstractmethod
    def list_notes(self) -> list[Note]: ...

    @abc.abstractmethod
    def save_note(self, note_id: str | None, text: str, *, shared: bool) -> str: ...

    @abc.abstractmethod
    def delete_note(self, note_id: str) -> None: ...

    # ---- drafts
    @abc.abstractmethod
    def save_draft(
        self, draft_id: str | None, form: str, target: str, content: Mapping[str, Any]
    ) -> str:
        """*Blocking.* Keep what was typed into a form (`form="incident"`) or a note
        (`form="note"`) as an encrypted draft; `target` is the incident or note being edited, ""
        for a new one. Returns the draft's id. Never validated, never sent."""

    @abc.abstractmethod
    def list_drafts(self, form: str | None = None) -> list[Draft]:
        """Newest first; only one `form` when given."""

    @abc.abstractmethod
    def get_draft(self, draft_id: str) -> Draft:
        """Raises `NotFound`."""

    @abc.abstractmethod
    def delete_draft(self, draft_id: str) -> None:
        """*Blocking.* Forget a draft (the vault's deletion: its text is no longer readable from
        the files). A no-op when it is already gone."""

    # ---- messages
    @abc.abstractmethod
    def messages(self, incident_id: str | None = None) -> list[Message]:
        """Oldest first; all incidents when `incident_id` is None."""

    @abc.abstractmethod
    def mark_read(self, incident_id: str | None = None) -> None:
        """The owner has seen these coordinators' messages (where the organisation asks for
        it, the next sync forgets read messages)."""

    @abc.abstractmethod
    def reply(self, incident_id: str, text: str) -> str: ...

    # ---- consent and referrals
    @abc.abstractmethod
    def withdraw_consent(self, incident_id: str, purposes: Sequence[str]) -> str:
        """*Blocking.* Withdraw consent (`core.consent.PURPOSES`) about a report already sent,
        or its stub; raises `NotSent` for a draft. Returns the envelope id. Never undone."""

    @abc.abstractmethod
    def referrals(self) -> tuple[Contact, ...]:
        """The organisation's referral directory (`sync.referrals`), readable offline."""

    # ---- sync
    @abc.abstractmethod
    def sync_status(self) -> SyncStatus: ...

    @abc.abstractmethod
    def sync_round(self) -> SyncStatus:
        """*Blocking.* One full sync round; raises `sync.errors.SyncError`."""

    def cancel_sync(self) -> None:  # noqa: B027 - optional hook
        """Ask a running round to stop at the next safe point."""

    # ---- settings
    @abc.abstractmethod
    def settings(self) -> Settings: ...

    @abc.abstractmethod
    def update_settings(self, **changes: Any) -> Settings:
        """Change `auto_lock_seconds`, `wipe_threshold`, `send_and_forget`, `proxy`, `disguise`,
        `panic_immediate`."""

    @abc.abstractmethod
    def set_duress(self, passphrase: str, duress: str | None) -> None:
        """*Blocking.* Set or clear the duress passphrase (needs the main passphrase)."""

    @abc.abstractmethod
    def about(self) -> About: ...


DEFAULT_FORM_PATH = Path(__file__).resolve().parents[2] / "assets" / "forms" / "default.json"


def default_form() -> FormDefinition:
    """The bundled incident form, used until the organisation's signed document arrives."""
    import json

    from core.forms import parse_form

    return parse_form(json.loads(DEFAULT_FORM_PATH.read_text(encoding="utf-8")))


def about_info() -> About:
    """Versions for the settings screen: what runs on this device, not what a desktop has."""
    from core.crypto import info
    from core.version import __version__

    return About(__version__, info.cryptography_version(), info.openssl_version())
