"""The coordinator's side of sync, used by the coordinator app and the `coordinator` command line.

Use:
- `create_organisation(vault, server_url, bootstrap_token, org_name, forms=...)` once: makes the
  root key, this coordinator's signing key and age identity, and publishes org document v1.
- `create_invite(vault, expires_in=...)` -> `sync.invite.Invite` for a new device.
- `list_devices`, `revoke_device`, `order_wipe(vault, device_id)` for device management.
- `pull(vault)` -> `PullReport`: fetch new envelopes (cursor pages), verify each signature
  against its author's key, place it in the author's chain, decrypt it and store it in the
  coordinator vault (record shapes below), page by page in one `put_many` with the cursor, so a
  crash or a re-pull never stores anything twice.
- `fetch_blob(vault, blob_id)` -> decrypted attachment bytes (in memory).
- `push_case_event(vault, case_id, event)`, `send_message(vault, device_id, case_id, text)`:
  sealed, signed, chained envelopes from this coordinator.
- `publish_org_document(vault, forms=..., add_coordinator=...)`: the next version, root-signed.
- `export_root_key_backup` / `import_root_key_backup`, `join_organisation` for a second
  coordinator (see docs/sync.md: the first coordinator adds the second with
  `publish_org_document(add_coordinator=join_info)`).
- `coordinator_info(vault)`, `org_document(vault)`: read-only accessors for the UI.

Records written on pull (the contract with `app/services/coordinator*`):
- `Kind.CASE`, id = the field record's id: `{"case_id", "type", "author", "revisions": [...],
  "latest", "custody": {"signature", "chain", "problems"}}`, revisions ordered by seq.
- `Kind.CASE_EVENT`, id = envelope id: `{"case_id", "author", "created", "seq",
  "envelope_id", "event"}`.
- `Kind.MESSAGE`, id = envelope id: `{"case_id", "device", "direction", "text", "created",
  "envelope_id"}`.

Danger: the root key is the organisation's trust anchor. It lives only in coordinator vaults
and in passphrase-encrypted backups; never send it to the server or print it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import Any

from core.crypto.signing import SigningKey
from core.records import Kind, Record, Status
from sync import age, commands, envelope, orgdoc
from sync.chain import ChainHead, ChainVerifier, Verdict
from sync.client import Client
from sync.device import fixed_id, get_or_none, state_lock
from sync.encoding import EncodingError, b64u_decode, b64u_encode, canonical_json, parse_json_strict
from sync.errors import NotEnrolled, ServerKeyChanged, SyncError, UntrustedDocument
from sync.examine import Examined, Examiner
from sync.invite import Invite
from sync.keys import key_id
from sync.payload import build_payload, parse_payload

IDENTITY_ID = fixed_id("coordinator-identity")
STATE_ID = fixed_id("coordinator-state")
PULL_PAGE = 100
PUSH_BATCH = 100
BACKUP_LABEL = "fieldvault-root-key-backup/v1"
_CHAIN_RANK = {"ok": 0, "reordered": 1, "gap": 2, "fork": 3}


class CoordinatorError(SyncError):
    reason = "coordinator_error"


class NoRootKey(CoordinatorError):
    """This coordinator does not hold the organisation's root key (import a backup first)."""

    reason = "no_root_key"


@dataclasses.dataclass(slots=True)
class CoordinatorIdentity:
    signing_key: SigningKey
    age_identity: str = dataclasses.field(repr=False)
    server_url: str
    name: str = ""
    root_key: SigningKey | None = dataclasses.field(default=None, repr=False)
    root_fingerprint: str = ""
    tls_pin: str | None = None
    proxy: str | None = None

    @property
    def id(self) -> str:
        return key_id(self.signing_key.public_bytes())

    @property
    def recipient(self) -> str:
        return age.recipient_of(self.age_identity)

    def public_info(self) -> dict[str, Any]:
        """What another coordinator needs to add this one to the org document."""
        return {
            "id": self.id,
            "name": self.name,
            "signing_key": b64u_encode(self.signing_key.public_bytes()),
            "recipient": self.recipient,
        }

    def to_record(self) -> Record:
        return Record(
            kind=Kind.DEVICE_KEY,
            id=IDENTITY_ID,
            status=Status.LOCAL,
            data={
                "signing_seed": b64u_encode(self.signing_key.private_bytes()),
                "age_identity": self.age_identity,
                "server_url": self.server_url,
                "name": self.name,
                "root_seed": (
                    b64u_encode(self.root_key.private_bytes()) if self.root_key else None
                ),
                "root_fingerprint": self.root_fingerprint,
                "tls_pin": self.tls_pin,
                "proxy": self.proxy,
            },
        )

    @classmethod
    def from_record(cls, record: Record) -> CoordinatorIdentity:
        d = record.data
        root = d.get("root_seed")
        return cls(
            signing_key=SigningKey.from_bytes(b64u_decode(d["signing_seed"], length=32)),
            age_identity=d["age_identity"],
            server_url=d["server_url"],
            name=d.get("name", ""),
            root_key=SigningKey.from_bytes(b64u_decode(root, length=32)) if root else None,
            root_fingerprint=d.get("root_fingerprint", ""),
            tls_pin=d.get("tls_pin"),
            proxy=d.get("proxy"),
        )


@dataclasses.dataclass(slots=True)
class CoordinatorState:
    cursor: int = 0
    org_document: dict[str, Any] | None = None
    org_version: int = 0
    heads: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    seq: int = 0
    last_hash: str = envelope.ZERO_HASH

    def to_record(self) -> Record:
        return Record(
            kind=Kind.SETTING, id=STATE_ID, status=Status.LOCAL, data=dataclasses.asdict(self)
        )


@dataclasses.dataclass(slots=True)
class PullReport:
    """What one pull did. Counts are envelopes; `problems` lists (envelope id, reason)."""

    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    not_for_me: int = 0
    forged: int = 0
    chain_problems: int = 0
    cases_touched: int = 0
    problems: list[tuple[str, str]] = dataclasses.field(default_factory=list)


# -- identity and state -----------------------------------------------------------------------


def load_identity(vault: Any) -> CoordinatorIdentity:
    record = get_or_none(vault, IDENTITY_ID)
    if record is None:
        raise NotEnrolled("this vault holds no coordinator identity")
    return CoordinatorIdentity.from_record(record)


def has_identity(vault: Any) -> bool:
    return get_or_none(vault, IDENTITY_ID) is not None


def load_state(vault: Any) -> CoordinatorState:
    record = get_or_none(vault, STATE_ID)
    if record is None:
        return CoordinatorState()
    known = {f.name for f in dataclasses.fields(CoordinatorState)}
    return CoordinatorState(**{k: v for k, v in record.data.items() if k in known})


def coordinator_info(vault: Any) -> dict[str, Any]:
    """Public facts for the UI: id, name, server, root fingerprint, holds root key."""
    identity = load_identity(vault)
    return {
        **identity.public_info(),
        "server_url": identity.server_url,
        "root_fingerprint": identity.root_fingerprint,
        "holds_root_key": identity.root_key is not None,
        "tls_pin": identity.tls_pin,
        "proxy": identity.proxy,
    }


def org_document(vault: Any) -> orgdoc.OrgDocument | None:
    """The last org document this coordinator accepted (verified against its root)."""
    state = load_state(vault)
    if state.org_document is None:
        return None
    return orgdoc.from_wire(state.org_document).doc


def client_for(identity: CoordinatorIdentity, *, factory: Callable[..., Client] = Client) -> Client:
    return factory(
        identity.server_url,
        signing_key=identity.signing_key,
        tls_pin=identity.tls_pin,
        proxy=identity.proxy,
    )


def _client(vault: Any) -> tuple[CoordinatorIdentity, Client]:
    identity = load_identity(vault)
    return identity, client_for(identity)


# -- organisation -------------------------------------------------------------------------


def create_organisation(
    vault: Any,
    server_url: str,
    bootstrap_token: str,
    org_name: str,
    *,
    forms: Iterable[dict[str, Any]] = (),
    coordinator_name: str = "",
    tls_pin: str | None = None,
    proxy: str | None = None,
    now: Callable[[], float] = time.time,
) -> orgdoc.OrgDocument:
    """Create the organisation: keys saved in the vault first, then org document v1 published."""
    root = SigningKey.generate()
    identity_str, _ = age.generate_identity()
    identity = CoordinatorIdentity(
        signing_key=SigningKey.generate(),
        age_identity=identity_str,
        server_url=server_url.rstrip("/"),
        name=coordinator_name,
        root_key=root,
        root_fingerprint=key_id(root.public_bytes()),
        tls_pin=tls_pin,
        proxy=proxy,
    )
    me = orgdoc.Coordinator(
        identity.id, coordinator_name, identity.signing_key.public_bytes(), identity.recipient
    )
    doc = orgdoc.OrgDocument(
        v=orgdoc.VERSION,
        org=org_name,
        version=1,
        issued=int(now()),
        root=root.public_bytes(),
        coordinators=(me,),
        recipients=(identity.recipient,),
        forms=tuple(forms),
        settings={},
    )
    signed = orgdoc.sign_org_document(doc, root)
    state = CoordinatorState(org_document=orgdoc.to_wire(signed), org_version=1)
    vault.put_many([identity.to_record(), state.to_record()])
    with client_for(identity) as client:
        client.bootstrap(bootstrap_token, orgdoc.to_wire(signed))
    return doc


def join_organisation(
    vault: Any,
    server_url: str,
    *,
    name: str = "",
    root_fingerprint: str,
    tls_pin: str | None = None,
    proxy: str | None = None,
) -> dict[str, Any]:
    """Make this vault a (not yet listed) coordinator; return the info an existing coordinator
    passes to `publish_org_document(add_coordinator=...)`."""
    identity_str, _ = age.generate_identity()
    identity = CoordinatorIdentity(
        signing_key=SigningKey.generate(),
        age_identity=identity_str,
        server_url=server_url.rstrip("/"),
        name=name,
        root_fingerprint=root_fingerprint,
        tls_pin=tls_pin,
        proxy=proxy,
    )
    vault.put_many([identity.to_record(), CoordinatorState().to_record()])
    return identity.public_info()


def refresh_org_document(vault: Any) -> orgdoc.OrgDocument:
    """Fetch the org document and accept it only if signed by our pinned root."""
    identity, client = _client(vault)
    with client:
        wire = client.org_document()
    with state_lock(vault):
        state = load_state(vault)
        try:
            signed = orgdoc.from_wire(wire)
            doc = orgdoc.verify_org_document(
                signed, identity.root_fingerprint, min_version=state.org_version
            )
        except orgdoc.UntrustedRoot:
            raise ServerKeyChanged("org document not signed by the pinned root") from None
        except orgdoc.OrgDocumentError as exc:
            raise UntrustedDocument(f"org document refused ({exc.reason})") from None
        state.org_document = orgdoc.to_wire(signed)
        state.org_version = doc.version
        vault.put(state.to_record())
    return doc


def publish_org_document(
    vault: Any,
    *,
    forms: Iterable[dict[str, Any]] | None = None,
    add_coordinator: dict[str, Any] | None = None,
    remove_coordinator: str | None = None,
    now: Callable[[], float] = time.time,
) -> orgdoc.OrgDocument:
    """Sign and publish the next version of the org document (needs the root key)."""
    identity = load_identity(vault)
    if identity.root_key is None:
        raise NoRootKey("import the root key backup before publishing")
    current = refresh_org_document(vault)
    coordinators = list(current.coordinators)
    if add_coordinator is not None:
        added = orgdoc.Coordinator(
            str(add_coordinator["id"]),
            str(add_coordinator.get("name", "")),
            b64u_decode(str(add_coordinator["signing_key"]), length=32),
            str(add_coordinator["recipient"]),
        )
        if key_id(added.signing_key) != added.id:
            raise ValueError("coordinator id does not match its signing key")
        coordinators = [c for c in coordinators if c.id != added.id] + [added]
    if remove_coordinator is not None:
        coordinators = [c for c in coordinators if c.id != remove_coordinator]
    doc = dataclasses.replace(
        current,
        version=current.version + 1,
        issued=int(now()),
        coordinators=tuple(coordinators),
        recipients=tuple(dict.fromkeys(c.recipient for c in coordinators)),
        forms=tuple(forms) if forms is not None else current.forms,
    )
    signed = orgdoc.sign_org_document(doc, identity.root_key)
    with client_for(identity) as client:
        client.put_org_document(orgdoc.to_wire(signed))
    with state_lock(vault):
        state = load_state(vault)
        state.org_document = orgdoc.to_wire(signed)
        state.org_version = doc.version
        vault.put(state.to_record())
    return doc


def export_root_key_backup(vault: Any, passphrase: str) -> bytes:
    """The root key, age-encrypted to `passphrase` (armored text, safe to print or store)."""
    identity = load_identity(vault)
    if identity.root_key is None:
        raise NoRootKey("this coordinator does not hold the root key")
    secret = canonical_json(
        {
            "label": BACKUP_LABEL,
            "root_seed": b64u_encode(identity.root_key.private_bytes()),
            "server_url": identity.server_url,
        }
    )
    return age.encrypt_with_passphrase(secret, passphrase, armor=True)


def import_root_key_backup(vault: Any, backup: bytes, passphrase: str) -> str:
    """Add the root key from a backup to this coordinator; return the root fingerprint.

    Raises `UntrustedDocument` if the key does not match the root this vault already pins.
    """
    try:
        obj = parse_json_strict(age.decrypt_with_passphrase(backup, passphrase))
        if not isinstance(obj, dict) or obj.get("label") != BACKUP_LABEL:
            raise ValueError("not a root key backup")
        root = SigningKey.from_bytes(b64u_decode(str(obj["root_seed"]), length=32))
    except (age.AgeError, EncodingError, ValueError, KeyError):
        raise UntrustedDocument("the backup could not be opened with this passphrase") from None
    fingerprint = key_id(root.public_bytes())
    identity = load_identity(vault)
    if identity.root_fingerprint and identity.root_fingerprint != fingerprint:
        raise UntrustedDocument("the backup holds another organisation's root key")
    identity.root_key = root
    identity.root_fingerprint = fingerprint
    vault.put(identity.to_record())
    return fingerprint


# -- devices --------------------------------------------------------------------------------


def create_invite(
    vault: Any, *, expires_in: int, label: str | None = None, tls_pin: str | None = None
) -> Invite:
    identity, client = _client(vault)
    with client:
        answer = client.create_invite(expires_in=expires_in, label=label)
    return Invite(
        server_url=identity.server_url,
        token=str(answer["token"]),
        root_fingerprint=identity.root_fingerprint,
        tls_pin=tls_pin or identity.tls_pin,
    )


def list_devices(vault: Any) -> list[dict[str, Any]]:
    _, client = _client(vault)
    with client:
        return client.devices()


def revoke_device(vault: Any, device_id: str) -> None:
    _, client = _client(vault)
    with client:
        client.revoke_device(device_id)


def order_wipe(vault: Any, device_id: str, *, now: Callable[[], float] = time.time) -> str:
    """Sign and post a wipe command for `device_id`; return the command id."""
    identity, client = _client(vault)
    signed = commands.sign_command(
        device_id, commands.WIPE, coordinator_key=identity.signing_key, now=int(now())
    )
    with client:
        client.post_command(commands.to_wire(signed))
    return signed.cmd.id


# -- pull -----------------------------------------------------------------------------------


def pull(
    vault: Any,
    *,
    page_size: int = PULL_PAGE,
    max_pages: int | None = None,
    parallel: bool = True,
) -> PullReport:
    """Fetch, verify, decrypt and store every new envelope. Safe to repeat at any time.

    Pages are pipelined: while one page is stored, the next is fetched and (for a large
    backlog, with `parallel`) verified and decrypted in worker processes (`sync.examine`).
    """
    identity, client = _client(vault)
    report = PullReport()
    with client, state_lock(vault):
        document = _verified_document(vault, identity, client)
        keys = _author_keys(client, document)
        state = load_state(vault)
        verifier = ChainVerifier(
            {a: ChainHead(int(h[0]), str(h[1])) for a, h in state.heads.items()}
        )
        with Examiner(identity.age_identity, keys, parallel=parallel) as examiner:

            def fetch(cursor: int) -> tuple[list[dict[str, Any]], int, Any]:
                answer = client.envelopes(cursor, page_size)
                items = answer.get("items") or []
                if not items:
                    return [], cursor, None
                next_cursor = answer.get("next")
                if not isinstance(next_cursor, int) or next_cursor <= cursor:
                    next_cursor = max(int(i.get("cursor", 0)) for i in items)
                return items, next_cursor, examiner.submit(items)

            pages = 0
            items, next_cursor, pending = fetch(state.cursor)
            while items and (max_pages is None or pages < max_pages):
                pages += 1
                more = max_pages is None or pages < max_pages
                upcoming = fetch(next_cursor) if more else ([], next_cursor, None)
                touched: dict[str, Record] = {}
                for item, examined in zip(items, pending(), strict=True):
                    report.fetched += 1
                    if examined.signature == "unknown_author":
                        examiner.keys.update(_author_keys(client, document))
                        examined = examiner.again(item)
                    _ingest(vault, item, examined, verifier, touched, report)
                state.cursor = next_cursor
                state.heads = {a: [h.seq, h.hash] for a, h in verifier.heads().items()}
                vault.put_many([*touched.values(), state.to_record()])
                report.cases_touched += sum(1 for r in touched.values() if r.kind == Kind.CASE)
                items, next_cursor, pending = upcoming
    return report


def _verified_document(
    vault: Any, identity: CoordinatorIdentity, client: Client
) -> orgdoc.OrgDocument:
    state = load_state(vault)
    try:
        signed = orgdoc.from_wire(client.org_document())
        doc = orgdoc.verify_org_document(
            signed, identity.root_fingerprint, min_version=state.org_version
        )
    except orgdoc.UntrustedRoot:
        raise ServerKeyChanged("org document not signed by the pinned root") from None
    except orgdoc.OrgDocumentError as exc:
        raise UntrustedDocument(f"org document refused ({exc.reason})") from None
    if doc.version != state.org_version:
        state.org_document = orgdoc.to_wire(signed)
        state.org_version = doc.version
        vault.put(state.to_record())
    return doc


def _author_keys(client: Client, document: orgdoc.OrgDocument) -> dict[str, bytes]:
    keys = {c.id: c.signing_key for c in document.coordinators}
    for device in client.devices():
        try:
            public = b64u_decode(str(device.get("signing_key")), length=32)
        except EncodingError:
            continue
        if key_id(public) == device.get("id"):
            keys[key_id(public)] = public
    return keys


def _ingest(
    vault: Any,
    item: dict[str, Any],
    examined: Examined,
    verifier: ChainVerifier,
    touched: dict[str, Record],
    report: PullReport,
) -> None:
    sealed = examined.sealed
    if sealed is None:
        report.forged += 1
        report.problems.append(("", examined.reason))
        return
    signature = "valid" if examined.signature == "valid" else "invalid"
    if signature == "invalid":
        report.forged += 1
        report.problems.append((sealed.id, examined.reason))
    chain, problem = "ok", ""
    if signature == "valid":
        verdict = verifier.check(sealed)
        if verdict.status is Verdict.DUPLICATE:
            report.duplicates += 1
            return
        chain = {
            Verdict.OK: "ok",
            Verdict.GAP: "gap",
            Verdict.FORK: "fork",
            Verdict.REPLAY: "reordered",
            Verdict.OUT_OF_ORDER: "reordered",
        }[verdict.status]
        if chain != "ok":
            report.chain_problems += 1
            problem = f"seq {sealed.seq}: {verdict.reason}"
    if examined.not_for_me:
        report.not_for_me += 1
        return
    payload = examined.payload
    if payload is None:
        if signature == "valid":
            report.forged += 1
            report.problems.append((sealed.id, examined.reason))
        return
    received = int(item.get("received_at", 0) or 0)
    if signature == "invalid" and payload.type not in ("incident", "note"):
        return
    if payload.type in ("incident", "note"):
        stored = _store_revision(
            vault, sealed, payload, received, signature, chain, problem, touched
        )
    elif payload.type == "case_event":
        stored = _store_simple(vault, touched, _case_event_record(sealed, payload))
    elif payload.type in ("reply", "message"):
        stored = _store_simple(vault, touched, _message_record(sealed, payload))
    else:
        stored = False
    if stored:
        report.stored += 1
    else:
        report.duplicates += 1


def _current(vault: Any, touched: dict[str, Record], record_id: str) -> Record | None:
    return touched.get(record_id) or get_or_none(vault, record_id)


def _store_simple(vault: Any, touched: dict[str, Record], record: Record) -> bool:
    if _current(vault, touched, record.id) is not None:
        return False
    touched[record.id] = record
    return True


def _store_revision(
    vault: Any,
    sealed: envelope.Envelope,
    payload: Any,
    received: int,
    signature: str,
    chain: str,
    problem: str,
    touched: dict[str, Record],
) -> bool:
    field_record = payload.record
    case_id = str(field_record.get("id") or sealed.id)
    existing = _current(vault, touched, case_id)
    if existing is not None and existing.kind != Kind.CASE:
        return False
    if existing is None:
        existing = Record(
            kind=Kind.CASE,
            id=case_id,
            status=Status.LOCAL,
            data={
                "case_id": case_id,
                "type": payload.type,
                "author": sealed.author,
                "revisions": [],
                "latest": {},
                "custody": {"signature": "valid", "chain": "ok", "problems": []},
            },
        )
    data = existing.data
    if any(r["envelope_id"] == sealed.id for r in data["revisions"]):
        return False
    data["revisions"].append(
        {
            "envelope_id": sealed.id,
            "seq": sealed.seq,
            "created": sealed.header.created,
            "received_at": received,
            "version": int(field_record.get("version", 0) or 0),
            "record": field_record,
            "blobs": [b.to_dict() for b in payload.blobs],
            "wire": envelope.to_wire(sealed),
        }
    )
    data["revisions"].sort(key=lambda r: r["seq"])
    data["latest"] = data["revisions"][-1]["record"].get("data", {})
    custody = data["custody"]
    if signature == "invalid":
        custody["signature"] = "invalid"
        custody["problems"].append(f"seq {sealed.seq}: signature does not verify")
    if _CHAIN_RANK[chain] > _CHAIN_RANK.get(custody["chain"], 0):
        custody["chain"] = chain
    if problem:
        custody["problems"].append(problem)
    touched[case_id] = existing
    return True


def _case_event_record(sealed: envelope.Envelope, payload: Any) -> Record:
    return Record(
        kind=Kind.CASE_EVENT,
        id=sealed.id,
        status=Status.LOCAL,
        data={
            "case_id": str(payload.record.get("case_id", "")),
            "author": sealed.author,
            "created": sealed.header.created,
            "seq": sealed.seq,
            "envelope_id": sealed.id,
            "event": payload.record.get("event", {}),
        },
    )


def _message_record(sealed: envelope.Envelope, payload: Any) -> Record:
    return Record(
        kind=Kind.MESSAGE,
        id=sealed.id,
        status=Status.LOCAL,
        data={
            "case_id": str(payload.record.get("case_id", "")),
            "device": sealed.author if payload.type == "reply" else str(sealed.header.to or ""),
            "direction": "in" if payload.type == "reply" else "out",
            "text": str(payload.record.get("text", "")),
            "created": sealed.header.created,
            "envelope_id": sealed.id,
        },
    )


# -- blobs ------------------------------------------------------------------------------------


def fetch_blob(vault: Any, blob_id: str) -> bytes:
    """Download a complete blob and decrypt it in memory with this coordinator's identity."""
    identity, client = _client(vault)
    with client:
        ciphertext = client.blob_download(blob_id)
    try:
        return age.decrypt(ciphertext, [identity.age_identity])
    except age.NoIdentityMatch:
        raise UntrustedDocument("this attachment is not addressed to this coordinator") from None
    except age.AgeError:
        raise UntrustedDocument("the attachment is damaged or altered") from None


# -- pushing case events and messages ---------------------------------------------------------


def push_case_event(
    vault: Any, case_id: str, event: dict[str, Any], *, now: Callable[[], float] = time.time
) -> str:
    """Seal a case event to all coordinators, store it locally, push it; return its id."""
    document = org_document(vault)
    if document is None:
        document = refresh_org_document(vault)
    plaintext = build_payload("case_event", {"case_id": case_id, "event": event})
    sealed = _seal_and_queue(
        vault,
        plaintext,
        list(document.recipients),
        "event",
        None,
        now,
        local=lambda s: _case_event_record(s, parse_payload(plaintext)),
    )
    push_pending(vault)
    return sealed


def send_message(
    vault: Any,
    device_id: str,
    case_id: str,
    text: str,
    *,
    now: Callable[[], float] = time.time,
) -> str:
    """Seal a message only that device can read, store it locally, push it; return its id."""
    devices = {d["id"]: d for d in list_devices(vault)}
    device = devices.get(device_id)
    if device is None or not device.get("recipient"):
        raise CoordinatorError("unknown device", reason="unknown_device")
    plaintext = build_payload("message", {"case_id": case_id, "text": text})
    sealed = _seal_and_queue(
        vault,
        plaintext,
        [str(device["recipient"])],
        "message",
        device_id,
        now,
        local=lambda s: _message_record(s, parse_payload(plaintext)),
    )
    push_pending(vault)
    return sealed


def _seal_and_queue(
    vault: Any,
    plaintext: bytes,
    recipients: list[str],
    kind: str,
    to: str | None,
    now: Callable[[], float],
    *,
    local: Callable[[envelope.Envelope], Record],
) -> str:
    identity = load_identity(vault)
    with state_lock(vault):
        state = load_state(vault)
        sealed = envelope.seal_next(
            state,
            plaintext,
            signer=identity.signing_key,
            recipients=recipients,
            kind=kind,
            to=to,
            now=int(now()),
        )
        entry = Record(  # its own id: the envelope id names the local case event or message
            kind=Kind.OUTBOX,
            status=Status.QUEUED,
            data={
                "type": "envelope",
                "seq": sealed.seq,
                "envelope_id": sealed.id,
                "wire": envelope.to_wire(sealed),
            },
        )
        vault.put_many([local(sealed), entry, state.to_record()])
    return sealed.id


def push_pending(vault: Any) -> int:
    """Push this coordinator's queued envelopes in chain order; return how many were acked."""
    entries = sorted(
        (
            r
            for r in vault.list(kind=Kind.OUTBOX)
            if r.status == Status.QUEUED and r.data.get("type") == "envelope"
        ),
        key=lambda r: int(r.data["seq"]),
    )
    if not entries:
        return 0
    _, client = _client(vault)
    acked = 0
    with client:
        for start in range(0, len(entries), PUSH_BATCH):
            batch = entries[start : start + PUSH_BATCH]
            results = client.push_envelopes([e.data["wire"] for e in batch])
            done = []
            for entry, result in zip(batch, results, strict=True):
                if result.get("status") in ("stored", "duplicate"):
                    entry.status = Status.SENT
                    done.append(entry)
                elif result.get("status") == "rejected":
                    entry.status = Status.FAILED
                    entry.status_reason = str(result.get("reason", ""))[:100]
                    done.append(entry)
            if done:
                vault.put_many(done)
                acked += sum(1 for e in done if e.status == Status.SENT)
    return acked
