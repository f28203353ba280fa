"""The real coordinator service: the coordinator's vault, `sync.coordinator` and the server.

Use `VaultCoordinatorService(data_dir)` and call the `CoordinatorService` methods (see
`app.services.coordinator_api`). One instance serves one coordinator; the Flet app and the CLI
both build it through `app.coordinator.entry` / `app.cli_coordinator`.

Setup paths:
- `setup_new`: creates the vault, the organisation's root key, this coordinator's keys, and
  registers them with a fresh server's bootstrap token (org document v1 with the default forms).
  If the server refuses, the half-made vault is wiped so the coordinator can simply retry.
- `setup_join`: creates the vault and this coordinator's keys and imports the root key from an
  age-encrypted backup another coordinator made. The server only talks to listed coordinators,
  so the new one then hands `join_request()` (public keys only) to a listed coordinator, whose
  `add_coordinator(code)` signs it into the org document; from the next `pull` on it works,
  and devices encrypt to both from their next sync. Reports and events sealed before that
  moment were encrypted to the coordinators of the time and stay unreadable to the new one.
- Both take an optional `tls_pin` (SHA-256 of the server's DER certificate) for a server behind
  a self-signed certificate: every connection checks it, and every invite carries it. A wrong
  or missing pin fails the setup (`tls_pin_mismatch` / `tls_error`) and leaves no workspace.

Errors from storage (`WrongPassphrase` ...) and sync (`SyncError` with a `reason`) pass through
unchanged, except a wrong passphrase, which becomes `CoordinatorError("wrong_passphrase")`.

Danger: the vault holds the root key. `lock()` forgets it and every decrypted attachment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.i18n import LANGUAGES
from app.services import timestamps
from app.services.coordinator_api import (
    CoordinatorBase,
    checked_pin,
    decode_join_request,
    encode_join_request,
    load_default_forms,
)
from app.services.coordinator_types import (
    CoordinatorError,
    CoordinatorInfo,
    DeviceInfo,
    Invite,
    JoinOrganisation,
    NewOrganisation,
    OpenInvite,
    PullSummary,
    reason_of,
)
from core import links
from core.crypto.hashing import sha256_hex
from core.crypto.signing import SigningKey
from core.records import Kind, Record, Status
from sync import coordinator as sync_coordinator
from sync.engine import FORGET_READ_MESSAGES, FORGET_SENT_NOTES
from sync.errors import SyncError, TlsError, TlsPinMismatch, UntrustedDocument

if TYPE_CHECKING:
    from storage import Vault

UI_SETTINGS_ID = "coordinator-ui-settings"
DEVICE_KEYS_ID = "coordinator-device-keys"  # the devices' public keys, kept for offline exports
MIN_PASSPHRASE = 10


def _check_tls(vault: Vault) -> None:
    """Refuse a wrong (or missing) certificate pin at setup rather than at the first pull. Other
    network trouble is left for the first pull: joining itself needs no server."""
    try:
        with sync_coordinator.client_for(sync_coordinator.load_identity(vault)) as client:
            client.health()
    except (TlsError, TlsPinMismatch):
        raise
    except SyncError:
        pass


class VaultCoordinatorService(CoordinatorBase):
    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Callable[[], int] | None = None,
        vault_class: Any = None,
    ) -> None:
        super().__init__(clock=clock)
        if vault_class is None:
            from storage import Vault

            vault_class = Vault
        self._vault_class = vault_class
        self._dir = Path(data_dir)
        self._vault: Vault | None = None
        self._lang = "ru"
        self._blobs: dict[str, bytes] = {}
        self._stamps_due = True  # a pull must look for unstamped envelopes
        self._stamped_with: tuple[str, ...] = ()  # the authorities last asked

    # ---- session
    def is_set_up(self) -> bool:
        return bool(self._vault_class.exists(self._dir))

    @property
    def unlocked(self) -> bool:
        return self._vault is not None

    def _require_unlocked(self) -> None:
        if self._vault is None:
            raise CoordinatorError("locked")

    @property
    def vault(self) -> Any:
        self._require_unlocked()
        return self._vault

    def _create_vault(self, passphrase: str) -> Any:
        if self.is_set_up():
            raise CoordinatorError("already_set_up")
        if len(passphrase) < MIN_PASSPHRASE:
            raise CoordinatorError("weak_passphrase")
        self._dir.mkdir(parents=True, exist_ok=True)
        return self._vault_class.create(self._dir, passphrase)

    @contextlib.contextmanager
    def _new_vault(self, passphrase: str) -> Iterator[Any]:
        """A fresh vault to set up in: opened as the workspace when the block succeeds, wiped
        again when anything in it fails."""
        vault = self._create_vault(passphrase)
        try:
            yield vault
        except BaseException:
            vault.wipe()
            raise
        self._opened(vault)

    def _set_up_new(self, request: NewOrganisation) -> CoordinatorInfo:
        pin = checked_pin(request.tls_pin)
        with self._new_vault(request.passphrase) as vault:
            sync_coordinator.create_organisation(
                vault,
                request.server_url,
                request.bootstrap_token,
                request.org_name,
                forms=load_default_forms(),
                coordinator_name=request.coordinator_name,
                tls_pin=pin or None,
                post_quantum=request.post_quantum,
            )
        with contextlib.suppress(SyncError):  # published later with `ensure_victim_key`
            self.ensure_victim_key()
        return self.info()

    def _set_up_join(self, request: JoinOrganisation) -> CoordinatorInfo:
        pin = checked_pin(request.tls_pin)
        with self._new_vault(request.passphrase) as vault:
            try:
                sync_coordinator.join_organisation(
                    vault,
                    request.server_url,
                    name=request.coordinator_name,
                    root_fingerprint="",
                    tls_pin=pin or None,
                    post_quantum=request.post_quantum,
                )
                sync_coordinator.import_root_key_backup(
                    vault, request.backup, request.backup_passphrase
                )
                _check_tls(vault)
            except UntrustedDocument:
                raise CoordinatorError("wrong_passphrase") from None
        return self.info()

    def join_request(self) -> str:
        facts = sync_coordinator.coordinator_info(self.vault)
        return encode_join_request(facts)

    def add_coordinator(self, code: str) -> int:
        info = decode_join_request(code)
        try:
            doc = sync_coordinator.publish_org_document(self.vault, add_coordinator=info)
        except sync_coordinator.KeyKindMismatch:
            raise CoordinatorError("join_key_kind") from None
        return int(doc.version)

    def prepare_post_quantum(self) -> str:
        """Give this coordinator post-quantum keys (the classic ones are kept to open older
        reports) and return the signed key update code for the root holder."""
        from sync.coordinator import pq_switch

        return pq_switch.prepare(self.vault)

    def switch_to_post_quantum(self, codes: Sequence[str]) -> int:
        """Publish the org document that makes the organisation post-quantum (needs the root
        key and a key update code from every other coordinator)."""
        from sync.coordinator import pq_switch

        try:
            doc = pq_switch.switch(self.vault, codes, now=self._clock)
        except pq_switch.MissingKeyUpdates as exc:
            raise CoordinatorError("missing_key_updates", ", ".join(exc.names)) from None
        except pq_switch.KeyUpdateError as exc:
            raise CoordinatorError(reason_of(exc.reason), str(exc)) from None
        self._invalidate()
        return int(doc.version)

    def _refresh_document(self) -> None:
        """Fetch the org document if the server lets us (it does once we are listed)."""
        with contextlib.suppress(SyncError):
            sync_coordinator.refresh_org_document(self.vault)

    def unlock(self, passphrase: str) -> None:
        from storage import WrongPassphrase

        try:
            vault = self._vault_class.open(self._dir, passphrase)
        except WrongPassphrase as exc:
            error = CoordinatorError("wrong_passphrase")
            error.attempts_left = getattr(exc, "attempts_left", None)  # type: ignore[attr-defined]
            raise error from None
        self._opened(vault)

    def _opened(self, vault: Vault) -> None:
        self._vault = vault
        self._stamps_due, self._stamped_with = True, ()
        self._invalidate()
        settings = self._get(UI_SETTINGS_ID)
        if settings is not None and settings.data.get("language") in LANGUAGES:
            self._lang = settings.data["language"]

    def lock(self) -> None:
        vault, self._vault = self._vault, None
        self._blobs.clear()
        self._invalidate()
        if vault is not None:
            with contextlib.suppress(Exception):
                vault.lock()

    def _get(self, record_id: str) -> Record | None:
        from storage import RecordNotFound

        try:
            return self.vault.get(record_id)  # type: ignore[no-any-return,unused-ignore]
        except RecordNotFound:
            return None

    def info(self) -> CoordinatorInfo:
        facts = sync_coordinator.coordinator_info(self.vault)
        doc = sync_coordinator.org_document(self.vault)
        if doc is None:
            self._refresh_document()
            doc = sync_coordinator.org_document(self.vault)
        return CoordinatorInfo(
            org=doc.org if doc else "",
            coordinator_id=str(facts["id"]),
            coordinator_name=str(facts.get("name", "")),
            root_fingerprint=str(facts.get("root_fingerprint", "")),
            server_url=str(facts.get("server_url", "")),
            org_version=doc.version if doc else 0,
            coordinators=tuple(c.name or c.id for c in doc.coordinators) if doc else (),
            listed=doc is not None and any(c.id == facts["id"] for c in doc.coordinators),
            tls_pin=str(facts.get("tls_pin") or ""),
            post_quantum=doc is not None and sync_coordinator.is_post_quantum(doc),
        )

    def backup_root(self, passphrase: str) -> bytes:
        if len(passphrase) < MIN_PASSPHRASE:
            raise CoordinatorError("weak_passphrase")
        return sync_coordinator.export_root_key_backup(self.vault, passphrase)

    # ---- devices
    def create_invite(self, expires_in: int = 7 * 86400, label: str = "") -> Invite:
        # the invite carries the TLS pin stored at setup (if any), so devices pin it too
        pin = sync_coordinator.load_identity(self.vault).tls_pin
        invite, short = sync_coordinator.create_invite_with_code(
            self.vault, expires_in=expires_in, label=label or None, tls_pin=pin
        )
        return self._invite(invite.encode(), expires_in, short_code=short, server=invite.server_url)

    def open_invites(self) -> list[OpenInvite]:
        invites = [
            OpenInvite(
                id=r.id,
                label=str(r.data.get("label") or ""),
                created=int(r.data.get("created") or 0),
                expires_at=int(r.data.get("expires_at") or 0),
            )
            for r in sync_coordinator.open_invites(self.vault)
        ]
        return sorted(invites, key=lambda i: (-i.created, i.id))

    def cancel_invite(self, invite_id: str) -> None:
        try:
            sync_coordinator.cancel_invite(self.vault, invite_id)
        except sync_coordinator.CoordinatorError as exc:
            raise CoordinatorError(reason_of(exc.reason)) from None

    def devices(self) -> list[DeviceInfo]:
        return [DeviceInfo.from_raw(d) for d in sync_coordinator.list_devices(self.vault)]

    def confirm_device(self, device_id: str, fingerprint: str) -> None:
        self._known_device(device_id)
        sync_coordinator.confirm_device(
            self.vault, device_id, fingerprint=fingerprint, now=self._clock
        )

    def _known_device(self, device_id: str) -> None:
        if device_id not in {d.id for d in self.devices()}:
            raise CoordinatorError("unknown_device")

    def revoke(self, device_id: str) -> None:
        self._known_device(device_id)
        sync_coordinator.revoke_device(self.vault, device_id)

    def wipe(self, device_id: str) -> None:
        self._known_device(device_id)
        sync_coordinator.order_wipe(self.vault, device_id, now=self._clock)

    def _order_wipe(self, device_id: str) -> None:
        sync_coordinator.order_wipe(self.vault, device_id, now=self._clock)

    # ---- cases
    def pull(self) -> PullSummary:
        from app.services.coordinator_alerts import pull_lock

        with pull_lock(self):  # the alarm watcher pulls too (app.coordinator.alerts_view)
            report = sync_coordinator.pull(self.vault, now=self._clock)
        self._invalidate()
        problems = [f"{eid[:8]}: {reason}" for eid, reason in report.problems]
        problems += [f"{device[:8]}: key_changed" for device in report.key_changed]
        stamps = self._stamp_after_pull(report.stored + report.released)
        problems += [f"{url}: {reason}" for url, reason in stamps.failures]
        return PullSummary(
            envelopes=report.fetched,
            stored=report.stored,
            cases=report.cases_touched,
            problems=tuple(problems),
            held=report.held,
            unverified=len(report.unverified),
            stamped=stamps.stamped,
            unstamped=stamps.pending,
        )

    def attachment(self, case_id: str, blob_id: str) -> bytes:
        detail = self.case(case_id)
        if blob_id not in {a.id for a in detail.attachments}:
            raise CoordinatorError("not_found")
        if blob_id not in self._blobs:
            self._blobs[blob_id] = sync_coordinator.fetch_blob(self.vault, blob_id, case_id=case_id)
        return self._blobs[blob_id]

    def _attachment_original(self, case_id: str, blob_id: str) -> tuple[bytes, bytes | None]:
        """One download gives both: the bytes as the device encrypted them (checked against
        the hash it signed, as `sync_coordinator.fetch_blob` does) and their decryption."""
        from sync import age
        from sync.errors import AttachmentAltered, UntrustedDocument
        from sync.trust import blob_problem

        ref = sync_coordinator.signed_reference(self.vault, blob_id, case_id)
        if ref is None:
            raise CoordinatorError("not_found")
        identity, client = sync_coordinator.connect(self.vault)
        with client:
            original = b"".join(client.blob_chunks(blob_id, limit=int(ref.get("size", 0))))
        if blob_problem(sha256_hex(original), len(original), ref) is not None:
            raise AttachmentAltered("the attachment's bytes are not the ones its author signed")
        try:
            plain = age.decrypt(original, identity.age_identities)
        except age.AgeError:
            raise UntrustedDocument("the attachment cannot be opened") from None
        self._blobs[blob_id] = plain
        return plain, original

    # ---- hooks
    def _records(self, kind: str) -> list[Record]:
        return list(self.vault.list(kind=kind))

    def _device_labels(self) -> dict[str, str]:
        return {device_id: e.label for device_id, e in sync_coordinator.roster(self.vault).items()}

    def _coordinator_names(self) -> dict[str, str]:
        doc = sync_coordinator.org_document(self.vault)
        return {c.id: c.name for c in doc.coordinators} if doc else {}

    def _load_setting(self, record_id: str) -> dict[str, Any]:
        record = self._get(record_id)
        if record is None or record.kind != Kind.SETTING:
            return {}
        return dict(record.data)

    def _save_setting(self, record_id: str, data: Mapping[str, Any]) -> None:
        self.vault.put(
            Record(kind=Kind.SETTING, id=record_id, status=Status.LOCAL, data=dict(data))
        )

    def _push_event(self, case_id: str, event: dict[str, Any]) -> None:
        sync_coordinator.push_case_event(self.vault, case_id, event, now=self._clock)

    def _push_message(self, case_id: str, device: str, text: str) -> None:
        sync_coordinator.send_message(self.vault, device, case_id, text, now=self._clock)

    def _device_keys(self) -> dict[str, bytes]:
        """The devices' public signing keys from the roster (never from the server's list), so
        exports and bundle checks work offline and cannot be fed a swapped key."""
        return sync_coordinator.roster_keys(self.vault)

    def _bundle_signer(self) -> SigningKey:
        return sync_coordinator.load_identity(self.vault).signing_key

    def _recipients(self) -> list[str]:
        doc = sync_coordinator.org_document(self.vault)
        return list(doc.recipients) if doc else []

    def _age_identity(self) -> str:
        return sync_coordinator.load_identity(self.vault).age_identity

    def _age_identities(self) -> list[str]:
        return sync_coordinator.load_identity(self.vault).age_identities

    def _victim_key(self) -> bytes | None:
        doc = sync_coordinator.org_document(self.vault)
        return links.victim_key_of(doc.settings) if doc else None

    def ensure_victim_key(self) -> bool:
        """Publish a victim key in the sealed org document if it has none (needs the root key).
        False for an organisation created before 0.2, whose document the server reads in
        clear: the key would not be secret there."""
        if self._victim_key() is not None:
            return True
        if not sync_coordinator.load_identity(self.vault).org_identity:
            return False
        key = links.new_victim_key().hex()
        try:
            sync_coordinator.publish_org_document(
                self.vault, settings={links.VICTIM_KEY_SETTING: key}, now=self._clock
            )
        except sync_coordinator.NoRootKey:
            raise CoordinatorError("no_root_key") from None
        self._invalidate()
        return True

    def _timestamp_tokens(self) -> dict[str, list[bytes]]:
        return timestamps.tokens_by_hash(self.vault)

    # ---- independent timestamps (RFC 3161), see app.services.timestamps
    def timestamp_authorities(self) -> list[timestamps.Authority]:
        return timestamps.authorities(self.vault)

    def set_timestamp_authorities(self, chosen: Sequence[timestamps.Authority]) -> None:
        timestamps.set_authorities(self.vault, chosen)

    def org_timestamp_authorities(self) -> list[timestamps.Authority]:
        """The organisation's authorities, from the org document every coordinator holds."""
        doc = sync_coordinator.org_document(self.vault)
        return timestamps.org_authorities(doc.settings if doc else None)

    def publish_org_timestamp_authorities(self, chosen: Sequence[timestamps.Authority]) -> int:
        """Publish the organisation's list (needs the root key); every coordinator's pull then
        asks them."""
        settings = {timestamps.ORG_SETTING: timestamps.org_setting(chosen)}
        doc = sync_coordinator.publish_org_document(self.vault, settings=settings, now=self._clock)
        return int(doc.version)

    def _stamp_after_pull(self, arrived: int) -> timestamps.StampReport:
        """Stamp after a pull only when it can find something: new envelopes arrived, an
        earlier round left some waiting, or the authorities changed. (The coordinator app
        pulls every 30 s; each stamping round reads every case.)"""
        urls = tuple(a.url for a in self.all_timestamp_authorities())
        if not arrived and not self._stamps_due and urls == self._stamped_with:
            return timestamps.StampReport(0, 0, ())
        report = self.stamp_pending()
        self._stamps_due, self._stamped_with = report.pending > 0, urls
        return report

    def stamp_pending(self) -> timestamps.StampReport:
        """*Blocking.* Ask the organisation's and this laptop's authorities to stamp every
        unstamped envelope (no request at all when none is configured)."""
        chosen = self.all_timestamp_authorities()
        if not chosen:
            return timestamps.StampReport(0, 0, ())
        proxy = sync_coordinator.load_identity(self.vault).proxy
        return timestamps.stamp_pending(self.vault, chosen=chosen, proxy=proxy)

    # ---- forms
    def forms(self) -> list[dict[str, Any]]:
        doc = sync_coordinator.org_document(self.vault)
        if doc is not None and doc.forms:
            return [dict(f) for f in doc.forms]
        return load_default_forms()

    def publish_forms(self, forms: Sequence[Mapping[str, Any]]) -> int:
        checked = self._check_forms(forms)
        doc = sync_coordinator.publish_org_document(self.vault, forms=checked)
        self._invalidate()
        return int(doc.version)

    def _org_settings(self) -> Mapping[str, Any]:
        doc = sync_coordinator.org_document(self.vault)
        return dict(doc.settings) if doc else {}

    def _publish_settings(self, settings: dict[str, Any]) -> int:
        try:
            doc = sync_coordinator.publish_org_document(
                self.vault, settings=settings, now=self._clock
            )
        except sync_coordinator.NoRootKey:
            raise CoordinatorError("no_root_key") from None
        return int(doc.version)

    def publish_forget_policy(self, *, sent_notes: bool, read_messages: bool) -> int:
        settings = {FORGET_SENT_NOTES: sent_notes, FORGET_READ_MESSAGES: read_messages}
        doc = sync_coordinator.publish_org_document(self.vault, settings=settings, now=self._clock)
        return int(doc.version)

    # ---- settings
    def language(self) -> str:
        return self._lang

    def set_language(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise CoordinatorError("unsupported", f"language {lang}")
        self._lang = lang
        if self._vault is not None:
            self._vault.put(
                Record(
                    kind=Kind.SETTING,
                    id=UI_SETTINGS_ID,
                    status=Status.LOCAL,
                    data={"language": lang},
                )
            )
