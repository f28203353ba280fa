"""An in-memory coordinator service for view tests and the screenshot tour.

`FakeCoordinatorService` passes the same contract suite as the real one; nothing is encrypted,
nothing leaves the process. Test helpers (not part of the interface) stand in for the outside
world: `add_device(label)`, `receive_case(data)` (a `case` record's data, as the pull stores
it), `receive_reply(case_id, text)`, `receive_event(case_id, author, created, event)`,
`receive_withdrawal(case_id, author, purposes)`.

Danger: never use it with real data; it exists so screens can be tested without a server.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.i18n import LANGUAGES
from app.services import coordinator_types as ct
from app.services import timestamps
from app.services.coordinator_api import (
    CoordinatorBase,
    checked_pin,
    decode_join_request,
    encode_join_request,
    load_default_forms,
)
from core.crypto.hashing import sha256_hex
from core.crypto.signing import SigningKey
from core.records import Kind, Record, Status
from sync.age.keys import generate_identity
from sync.coordinator import pq_switch
from sync.encoding import b64u_decode, b64u_encode
from sync.invite import Invite as InviteCode
from sync.keys import key_id
from sync.shortcode import new_code

MIN_PASSPHRASE = 10


class FakeCoordinatorService(CoordinatorBase):
    def __init__(self, *, clock: Callable[[], int] | None = None) -> None:
        super().__init__(clock=clock)
        self._open_invites: list[ct.OpenInvite] = []
        self._passphrase: str | None = None
        self._unlocked = False
        self._records_by_id: dict[str, Record] = {}
        self._device_table: dict[str, dict[str, Any]] = {}
        self._device_key_table: dict[str, bytes] = {}
        self._blob_table: dict[str, bytes] = {}
        self._forms: list[dict[str, Any]] = load_default_forms()
        self._org = ""
        self._name = ""
        self._server = ""
        self._tls_pin = ""
        self._post_quantum = False
        self._version = 0
        self._signer = SigningKey.generate()
        self._identity, self._recipient = generate_identity()
        self._lang = "ru"
        self._pending: list[Record] = []
        self._listed = True
        self._others: list[str] = []
        self._other_ids: dict[str, str] = {}
        self._other_keys: dict[str, bytes] = {}
        self._previous_identities: list[str] = []
        self._own_authorities: list[timestamps.Authority] = []
        self._settings: dict[str, dict[str, Any]] = {}
        self._event_seq = 0
        self.org_settings: dict[str, Any] = {}  # what the signed org document would publish
        self.victim_key: bytes | None = bytes(range(32))  # the sealed org document's, faked

    # ---- session
    def is_set_up(self) -> bool:
        return self._passphrase is not None

    @property
    def unlocked(self) -> bool:
        return self._unlocked

    def _require_unlocked(self) -> None:
        if not self._unlocked:
            raise ct.CoordinatorError("locked")

    def _start(self, passphrase: str, server_url: str, name: str, tls_pin: str) -> None:
        pin = checked_pin(tls_pin)
        if self.is_set_up():
            raise ct.CoordinatorError("already_set_up")
        if len(passphrase) < MIN_PASSPHRASE:
            raise ct.CoordinatorError("weak_passphrase")
        self._passphrase = passphrase
        self._server = server_url.rstrip("/")
        self._tls_pin = pin
        self._name = name
        self._unlocked = True
        self._version = 1

    def _use_keys(self, post_quantum: bool) -> None:
        self._post_quantum = post_quantum
        if post_quantum:
            self._identity, self._recipient = generate_identity(pq_hybrid=True)

    def _set_up_new(self, request: ct.NewOrganisation) -> ct.CoordinatorInfo:
        if not request.bootstrap_token:
            raise ct.CoordinatorError("invalid_token")
        self._start(
            request.passphrase, request.server_url, request.coordinator_name, request.tls_pin
        )
        self._use_keys(request.post_quantum)
        self._org = request.org_name
        return self.info()

    def _set_up_join(self, request: ct.JoinOrganisation) -> ct.CoordinatorInfo:
        expected = b"fake-backup:" + sha256_hex(request.backup_passphrase.encode("utf-8")).encode()
        if not request.backup.startswith(expected):
            raise ct.CoordinatorError("wrong_passphrase")
        self._start(
            request.passphrase, request.server_url, request.coordinator_name, request.tls_pin
        )
        self._use_keys(request.post_quantum)
        self._org = ""
        self._listed = False
        return self.info()

    def join_request(self) -> str:
        self._require_unlocked()
        return encode_join_request(
            {
                "id": key_id(self._signer.public_bytes()),
                "name": self._name,
                "signing_key": b64u_encode(self._signer.public_bytes()),
                "recipient": self._recipient,
            }
        )

    def add_coordinator(self, code: str) -> int:
        self._require_unlocked()
        info = decode_join_request(code)
        if info["recipient"].startswith("age1pq1") != self._post_quantum:
            raise ct.CoordinatorError("join_key_kind")
        self._others.append(info["name"] or info["id"])
        self._other_ids[info["id"]] = info["name"]
        self._other_keys[info["id"]] = b64u_decode(info["signing_key"], length=32)
        self._version += 1
        return self._version

    # ---- post-quantum keys: the real key update codes and checks (sync.coordinator.pq_switch)
    def prepare_post_quantum(self) -> str:
        self._require_unlocked()
        if not pq_switch.is_hybrid(self._recipient):
            self._previous_identities.append(self._identity)
            self._identity, self._recipient = generate_identity(pq_hybrid=True)
        return pq_switch.key_update_code(self._signer, self._recipient)

    def switch_to_post_quantum(self, codes: Sequence[str]) -> int:
        self._require_unlocked()
        if self._post_quantum:
            raise ct.CoordinatorError("already_post_quantum")
        self.prepare_post_quantum()
        me = key_id(self._signer.public_bytes())
        listed = {cid: (self._other_ids[cid], key) for cid, key in self._other_keys.items()}
        listed[me] = (self._name, self._signer.public_bytes())
        try:
            pq_switch.checked_recipients(listed, codes, (me, self._recipient))
        except pq_switch.MissingKeyUpdates as exc:
            raise ct.CoordinatorError("missing_key_updates", ", ".join(exc.names)) from None
        except pq_switch.KeyUpdateError as exc:
            raise ct.CoordinatorError(ct.reason_of(exc.reason), str(exc)) from None
        self._post_quantum = True
        self._version += 1
        return self._version

    # ---- independent timestamps: lists only (nothing is stamped without a vault)
    def timestamp_authorities(self) -> list[timestamps.Authority]:
        return list(self._own_authorities)

    def set_timestamp_authorities(self, chosen: Sequence[timestamps.Authority]) -> None:
        if len({a.url for a in chosen}) != len(chosen):
            raise ValueError("an authority is listed twice")
        self._own_authorities = list(chosen)

    def org_timestamp_authorities(self) -> list[timestamps.Authority]:
        return timestamps.org_authorities(self.org_settings)

    def publish_org_timestamp_authorities(self, chosen: Sequence[timestamps.Authority]) -> int:
        self._require_unlocked()
        self.org_settings[timestamps.ORG_SETTING] = timestamps.org_setting(chosen)
        self._version += 1
        return self._version

    def mark_listed(self, org: str, version: int) -> None:
        """Test helper: an existing coordinator has added this one."""
        self._org, self._version, self._listed = org, version, True

    def unlock(self, passphrase: str) -> None:
        if self._passphrase is None:
            raise ct.CoordinatorError("not_set_up")
        if passphrase != self._passphrase:
            raise ct.CoordinatorError("wrong_passphrase")
        self._unlocked = True

    def lock(self) -> None:
        self._unlocked = False
        self._invalidate()

    def info(self) -> ct.CoordinatorInfo:
        self._require_unlocked()
        me = key_id(self._signer.public_bytes())
        return ct.CoordinatorInfo(
            org=self._org,
            coordinator_id=me,
            coordinator_name=self._name,
            root_fingerprint=key_id(b"r" * 32),
            server_url=self._server,
            org_version=self._version,
            coordinators=(self._name or me, *self._others),
            listed=self._listed,
            tls_pin=self._tls_pin,
            post_quantum=self._post_quantum,
        )

    def backup_root(self, passphrase: str) -> bytes:
        self._require_unlocked()
        if len(passphrase) < MIN_PASSPHRASE:
            raise ct.CoordinatorError("weak_passphrase")
        digest = sha256_hex(passphrase.encode("utf-8")).encode()
        return b"fake-backup:" + digest + b":" + self._org.encode("utf-8")

    # ---- devices
    def create_invite(self, expires_in: int = 7 * 86400, label: str = "") -> ct.Invite:
        self._require_unlocked()
        code = InviteCode(
            server_url=self._server,
            token=uuid.uuid4().hex,
            root_fingerprint=key_id(b"r" * 32),
            tls_pin=self._tls_pin or None,
        ).encode()
        self._open_invites.append(
            ct.OpenInvite(uuid.uuid4().hex, label, self._clock(), self._clock() + expires_in)
        )
        return self._invite(code, expires_in, short_code=new_code(), server=self._server)

    def open_invites(self) -> list[ct.OpenInvite]:
        self._require_unlocked()
        return sorted(self._open_invites, key=lambda i: (-i.created, i.id))

    def cancel_invite(self, invite_id: str) -> None:
        self._require_unlocked()
        kept = [i for i in self._open_invites if i.id != invite_id]
        if len(kept) == len(self._open_invites):
            raise ct.CoordinatorError("not_found")
        self._open_invites = kept

    def devices(self) -> list[ct.DeviceInfo]:
        self._require_unlocked()
        return [ct.DeviceInfo.from_raw(d) for d in self._device_table.values()]

    def _device(self, device_id: str) -> dict[str, Any]:
        self._require_unlocked()
        if device_id not in self._device_table:
            raise ct.CoordinatorError("unknown_device")
        return self._device_table[device_id]

    def confirm_device(self, device_id: str, fingerprint: str) -> None:
        device = self._device(device_id)
        if device.get("roster") == "verified":
            raise ct.CoordinatorError("already_verified")
        if fingerprint != device.get("fingerprint", ""):
            raise ct.CoordinatorError("fingerprint_mismatch")
        device["roster"] = "verified"

    def revoke(self, device_id: str) -> None:
        self._device(device_id)["revoked"] = True

    def wipe(self, device_id: str) -> None:
        self._device(device_id)["wipe"] = "pending"

    # ---- cases
    def pull(self) -> ct.PullSummary:
        self._require_unlocked()
        arrived = len(self._pending)
        cases = sum(1 for r in self._pending if r.kind == Kind.CASE)
        for record in self._pending:
            self._records_by_id[record.id] = record
        self._pending.clear()
        self._invalidate()
        return ct.PullSummary(envelopes=arrived, stored=arrived, cases=cases)

    def attachment(self, case_id: str, blob_id: str) -> bytes:
        detail = self.case(case_id)
        if blob_id not in {a.id for a in detail.attachments} or blob_id not in self._blob_table:
            raise ct.CoordinatorError("not_found")
        return self._blob_table[blob_id]

    # ---- hooks
    def _records(self, kind: str) -> list[Record]:
        return [r for r in self._records_by_id.values() if r.kind == kind]

    def _device_labels(self) -> dict[str, str]:
        return {i: str(d.get("label") or "") for i, d in self._device_table.items()}

    def _coordinator_names(self) -> dict[str, str]:
        return {key_id(self._signer.public_bytes()): self._name, **self._other_ids}

    def _load_setting(self, record_id: str) -> dict[str, Any]:
        return dict(self._settings.get(record_id, {}))

    def _save_setting(self, record_id: str, data: Mapping[str, Any]) -> None:
        self._settings[record_id] = dict(data)

    def _push_event(self, case_id: str, event: dict[str, Any]) -> None:
        self.receive_event(case_id, self.info().coordinator_id, self._clock(), event, now=True)

    def _push_message(self, case_id: str, device: str, text: str) -> None:
        self._store_message(case_id, device, "out", text)

    def _device_keys(self) -> dict[str, bytes]:
        return dict(self._device_key_table)

    def _bundle_signer(self) -> SigningKey:
        return self._signer

    def _recipients(self) -> list[str]:
        return [self._recipient]

    def _age_identity(self) -> str:
        return self._identity

    def _victim_key(self) -> bytes | None:
        return self.victim_key

    # ---- forms
    def forms(self) -> list[dict[str, Any]]:
        return [dict(f) for f in self._forms]

    def publish_forms(self, forms: Sequence[Mapping[str, Any]]) -> int:
        self._require_unlocked()
        self._forms = self._check_forms(forms)
        self._version += 1
        self._invalidate()
        return self._version

    def _org_settings(self) -> Mapping[str, Any]:
        return dict(self.org_settings)

    def _publish_settings(self, settings: dict[str, Any]) -> int:
        self._require_unlocked()
        self.org_settings.update(settings)
        self._version += 1
        return self._version

    def publish_forget_policy(self, *, sent_notes: bool, read_messages: bool) -> int:
        self._require_unlocked()
        self.forget_policy = (sent_notes, read_messages)
        self._version += 1
        return self._version

    # ---- settings
    def language(self) -> str:
        return self._lang

    def set_language(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ct.CoordinatorError("unsupported", f"language {lang}")
        self._lang = lang

    # ---- test helpers: the outside world
    def add_device(
        self, label: str, *, key: bytes | None = None, envelopes: int = 0, **fields: Any
    ) -> str:
        public = key or SigningKey.generate().public_bytes()
        device_id = key_id(public)
        self._device_key_table[device_id] = public
        self._device_table[device_id] = {
            "id": device_id,
            "label": label,
            "enrolled_at": self._clock(),
            "last_seen": self._clock(),
            "envelopes": envelopes,
            "last_seq": envelopes,
            "chain": "ok",
            "problems": [],
            "revoked": False,
            "wipe": "none",
            "roster": "verified",
            **fields,
        }
        return device_id

    def add_blob(self, blob_id: str, data: bytes) -> None:
        self._blob_table[blob_id] = data

    def receive_case(self, data: Mapping[str, Any]) -> None:
        """Queue a case record for the next `pull`."""
        self._pending.append(
            Record(kind=Kind.CASE, id=str(data["case_id"]), data=dict(data), status=Status.LOCAL)
        )

    def receive_withdrawal(self, case_id: str, author: str, purposes: Sequence[str]) -> None:
        """The documenter's phone withdrew consent (as the pull stores it: on the case, and only
        from the case's author; another author's is ignored, as the pull refuses it)."""
        case = self._records_by_id[case_id]
        if case.data.get("author") != author:
            return
        case.data.setdefault("withdrawals", []).append(
            {
                "envelope_id": uuid.uuid4().hex,
                "author": author,
                "created": self._clock(),
                "purposes": sorted(purposes),
            }
        )
        self._invalidate()

    def receive_reply(self, case_id: str, text: str, device: str = "") -> None:
        record = self._message_record(case_id, device, "in", text)
        self._pending.append(record)

    def receive_event(
        self,
        case_id: str,
        author: str,
        created: int,
        event: Mapping[str, Any],
        *,
        now: bool = False,
    ) -> None:
        self._event_seq += 1
        record = _received(
            Kind.CASE_EVENT,
            case_id=case_id,
            author=author,
            created=created,
            seq=self._event_seq,
            event=dict(event),
        )
        if now:
            self._records_by_id[record.id] = record
        else:
            self._pending.append(record)

    def _message_record(self, case_id: str, device: str, direction: str, text: str) -> Record:
        return _received(
            Kind.MESSAGE,
            case_id=case_id,
            device=device,
            direction=direction,
            text=text,
            created=self._clock(),
        )

    def _store_message(self, case_id: str, device: str, direction: str, text: str) -> None:
        record = self._message_record(case_id, device, direction, text)
        self._records_by_id[record.id] = record


def _received(kind: str, **data: Any) -> Record:
    """A record as a pull stores it: named after the envelope it came in (a new one here)."""
    envelope_id = uuid.uuid4().hex
    return Record(
        kind=kind, id=envelope_id, status=Status.LOCAL, data={**data, "envelope_id": envelope_id}
    )
