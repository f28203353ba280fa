"""Pull: fetch, verify, decrypt and store every new envelope, then receipt what was kept.

`pull(vault)` -> `PullReport`. Safe to repeat at any time; a crash or a re-pull never stores
anything twice (each page is stored in one unit of work with the cursor). In order:

1. The org document, accepted only from the pinned root and never older than the one held;
   renewed if it lapses soon and this coordinator holds the root key.
2. The roster: devices whose enrolment proof matches one of our invites are admitted
   (`sync.coordinator.roster`). Signatures are checked against coordinators' keys from the org
   document and devices' keys from the roster, never against the server's device list.
3. Feed pages, pipelined (`sync.examine`): each envelope's signature, its place in its author's
   chain, its decryption, and who may write it (`sync.trust`). An envelope from a device outside
   the roster is held aside unread (`Kind.HELD`) and examined again once the device is admitted.
4. Attachments named by new reports are downloaded as a stream and checked against the SHA-256
   and size their author signed; ones still uploading are checked at a later pull.
5. Alarms of locked phones (`sync.coordinator.locked_alarms`), verified against the keys
   their devices announced in step 3, stored as ordinary alarms.
6. Receipts: for every device, a signed message naming the envelopes and attachments stored and
   checked, so the phone may forget them (`sync.coordinator.outgoing.queue_receipt`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from core import consent
from core.records import Kind, Record, Status
from core.vault_port import VaultPort
from sync import envelope, orgdoc
from sync.age.keys import parse_identity
from sync.chain import ChainHead, ChainVerifier, Verdict
from sync.client import Client
from sync.coordinator import locked_alarms
from sync.coordinator.alerts import store_alert
from sync.coordinator.identity import connect, load_state
from sync.coordinator.org import renew_if_due, verified_document
from sync.coordinator.outgoing import push_pending, queue_receipt
from sync.coordinator.records import case_event_record, message_record
from sync.coordinator.roster import coordinator_keys, refresh_roster, roster, store_shared_entry
from sync.device import fixed_id, get_or_none
from sync.errors import BlobTooLarge, OrgDocumentExpired, ServerRefused, SyncError
from sync.examine import Examined, Examiner, examine
from sync.payload import Payload
from sync.trust import blob_problem, case_author_problem, writer_problem

PULL_PAGE = 100
RECEIPTED = frozenset({"incident", "note", "reply", "alert", "checkin", "alarm_key"})
"""Payload types whose envelopes are named in receipts once stored (the phone may forget them,
and shows an alarm or check-in as confirmed by the organisation)."""
MAX_HELD_PER_AUTHOR = 2000
"""Envelopes kept aside for one device outside the roster; past that they are dropped and
reported (a server inventing devices must not fill the coordinator's disk)."""
PENDING_BLOB_DAYS = 30
"""An attachment still not uploaded this long after its report is reported and no longer
asked about (a device may name attachments it never sends)."""
_CHAIN_RANK = {"ok": 0, "reordered": 1, "gap": 2, "fork": 3}
_CHAIN_NAME = {
    Verdict.OK: "ok",
    Verdict.GAP: "gap",
    Verdict.FORK: "fork",
    Verdict.REPLAY: "reordered",
    Verdict.OUT_OF_ORDER: "reordered",
}


@dataclasses.dataclass(slots=True)
class PullReport:
    """What one pull did. Counts are envelopes; `problems` lists (envelope id, reason).

    `held`: from devices outside the roster, kept aside; `refused`: a writer that may not write
    that (a device sending case events, a device writing another's case, a kind that does not
    match its payload); `unverified` and `key_changed`: device ids from the roster check.
    """

    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    not_for_me: int = 0
    forged: int = 0
    refused: int = 0
    held: int = 0
    released: int = 0
    chain_problems: int = 0
    cases_touched: int = 0
    attachments_checked: int = 0
    receipts_sent: int = 0
    locked_alarms: int = 0
    admitted: list[str] = dataclasses.field(default_factory=list)
    unverified: list[str] = dataclasses.field(default_factory=list)
    key_changed: list[str] = dataclasses.field(default_factory=list)
    problems: list[tuple[str, str]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class _Round:
    """What one pull carries between pages."""

    vault: VaultPort
    document: orgdoc.OrgDocument
    devices: set[str]
    verifier: ChainVerifier
    report: PullReport
    receipts: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    new_blobs: list[list[Any]] = dataclasses.field(default_factory=list)
    held_counts: dict[str, int] = dataclasses.field(default_factory=dict)
    now: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class _Arrival:
    """One verified, decrypted envelope and what its checks found."""

    sealed: envelope.Envelope
    payload: Payload
    received: int
    signature: str  # valid | invalid
    chain: str  # ok | gap | fork | reordered
    problem: str


def pull(
    vault: VaultPort,
    *,
    page_size: int = PULL_PAGE,
    max_pages: int | None = None,
    parallel: bool = True,
    now: Callable[[], float] = time.time,
) -> PullReport:
    """Fetch, verify, decrypt and store every new envelope; see the module docstring."""
    identity, client = connect(vault)
    report = PullReport()
    with client, vault.unit():  # the state lock for the whole pull; each page is its own unit
        document = verified_document(vault, identity, client)
        document = renew_if_due(vault, document, now=now) or document
        if orgdoc.is_expired(document, now()):
            raise OrgDocumentExpired(
                "the org document has expired; a coordinator holding the root key renews it"
            )
        checked = refresh_roster(vault, client, now=now)
        report.admitted, report.unverified = checked.admitted, checked.unverified
        report.key_changed = checked.key_changed
        rostered = roster(vault)
        keys = coordinator_keys(document) | {d: e.signing_key for d, e in rostered.items()}
        state = load_state(vault)
        run = _Round(
            vault,
            document,
            set(rostered),
            ChainVerifier({a: ChainHead(int(h[0]), str(h[1])) for a, h in state.heads.items()}),
            report,
            now=now(),
        )
        _release_held(run, keys, identity.age_identities)
        with Examiner(identity.age_identities, keys, parallel=parallel) as examiner:
            _pages(run, client, examiner, page_size, max_pages, keys, identity.age_identities)
        _check_blobs(run, client)
        fetched = locked_alarms.fetch(
            vault, client, identity.age_identities, set(roster(vault)), now=int(now())
        )
        report.locked_alarms = fetched.raised
        report.problems.extend(fetched.problems)
        for device_id, envelope_ids in run.receipts.items():
            report.receipts_sent += queue_receipt(vault, device_id, envelope_ids, [], now=now)
    push_pending(vault)
    return report


def _pages(
    run: _Round,
    client: Client,
    examiner: Examiner,
    page_size: int,
    max_pages: int | None,
    keys: dict[str, bytes],
    age_identities: Sequence[str],
) -> None:
    vault = run.vault

    def fetch(cursor: int) -> tuple[list[dict[str, Any]], int, Any]:
        answer = client.envelopes(cursor, page_size)
        items = answer.get("items") or []
        if not items:
            return [], cursor, None
        next_cursor = answer.get("next")
        if not isinstance(next_cursor, int) or next_cursor <= cursor:
            next_cursor = max(int(i.get("cursor", 0)) for i in items)
        return items, next_cursor, examiner.submit(items)

    state = load_state(vault)
    pages = 0
    items, next_cursor, pending = fetch(state.cursor)
    while items and (max_pages is None or pages < max_pages):
        pages += 1
        more = max_pages is None or pages < max_pages
        upcoming = fetch(next_cursor) if more else ([], next_cursor, None)
        touched: dict[str, Record] = {}
        for item, examined in zip(items, pending(), strict=True):
            run.report.fetched += 1
            sealed = examined.sealed
            if examined.signature == "unknown_author" and sealed and sealed.author in keys:
                examined = examiner.again(item)  # admitted since this page was examined
            if examined.signature == "unknown_author" and examined.sealed is not None:
                author = examined.sealed.author
                count = run.held_counts.get(author)
                if count is None:
                    count = sum(
                        1 for r in vault.list(kind=Kind.HELD) if r.data.get("author") == author
                    )
                if count >= MAX_HELD_PER_AUTHOR:
                    run.report.problems.append((examined.sealed.id, "held_limit"))
                    continue
                run.held_counts[author] = count + 1
                held = _held_record(examined.sealed, item)
                touched[held.id] = held
                run.report.held += 1
                continue
            _ingest(run, item, examined, touched)
        _store_page(run, touched, cursor=next_cursor)
        if any(r.kind == Kind.ROSTER for r in touched.values()):
            added = {d: e.signing_key for d, e in roster(vault).items()}
            keys.update(added)
            examiner.keys.update(added)
            run.devices |= set(added)
            _release_held(run, keys, age_identities)
        items, next_cursor, pending = upcoming


def _held_record(sealed: envelope.Envelope, item: dict[str, Any]) -> Record:
    return Record(
        kind=Kind.HELD,
        id=fixed_id(f"held/{sealed.id}"),  # never the envelope's own (chosen by its sender)
        status=Status.LOCAL,
        data={"author": sealed.author, "seq": sealed.seq, "item": item},
    )


def _release_held(run: _Round, keys: dict[str, bytes], age_identities: Sequence[str]) -> None:
    """Examine and store held envelopes whose author is now known, in chain order."""
    held = [r for r in run.vault.list(kind=Kind.HELD) if r.data.get("author") in keys]
    if not held:
        return
    held.sort(key=lambda r: (str(r.data["author"]), int(r.data["seq"])))
    identities = [parse_identity(i) for i in age_identities]
    touched: dict[str, Record] = {}
    for record in held:
        item = record.data["item"]
        _ingest(run, item, examine(item, keys, identities), touched)
        run.report.released += 1
    _store_page(run, touched, released=[r.id for r in held])


def _store_page(
    run: _Round,
    touched: dict[str, Record],
    *,
    cursor: int | None = None,
    released: Sequence[str] = (),
) -> None:
    """Store what a page touched with the chain heads, new pending attachments and (for a feed
    page) the cursor, deleting the `released` held envelopes, in one unit of work: a crash
    stores all of it or none."""
    with run.vault.unit() as uow:
        state = load_state(uow)
        if cursor is not None:
            state.cursor = cursor
        state.heads = {a: [h.seq, h.hash] for a, h in run.verifier.heads().items()}
        state.pending_blobs = [*state.pending_blobs, *run.new_blobs]
        uow.put_many([*touched.values(), state.to_record()])
        for record_id in released:
            uow.delete(record_id)
    run.new_blobs = []
    run.report.cases_touched += sum(1 for r in touched.values() if r.kind == Kind.CASE)


def _ingest(
    run: _Round, item: dict[str, Any], examined: Examined, touched: dict[str, Record]
) -> None:
    report = run.report
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
        verdict = run.verifier.check(sealed)
        if verdict.status is Verdict.DUPLICATE:
            report.duplicates += 1
            return
        chain = _CHAIN_NAME[verdict.status]
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
    refused = writer_problem(
        payload.type, sealed.header.kind, sealed.author, run.document, run.devices
    )
    if refused is not None:
        report.refused += 1
        report.problems.append((sealed.id, refused))
        return
    if signature == "invalid":
        return  # counted and reported above; it never changes a case
    received = int(item.get("received_at", 0) or 0)
    stored = _store(run, _Arrival(sealed, payload, received, signature, chain, problem), touched)
    if stored:
        report.stored += 1
        if signature == "valid" and (payload.type in RECEIPTED or payload.type == "withdrawal"):
            run.receipts.setdefault(sealed.author, []).append(sealed.id)
    elif stored is False:
        report.duplicates += 1


def _store(run: _Round, arrival: _Arrival, touched: dict[str, Record]) -> bool | None:
    """Store one verified payload: True if stored, False if a duplicate, None if refused."""
    vault, sealed, payload, received = run.vault, arrival.sealed, arrival.payload, arrival.received
    if payload.type in ("incident", "note"):
        return _store_revision(run, arrival, touched)
    if payload.type == "case_event":
        record = case_event_record(sealed, payload, received)
        existing = _current(vault, touched, record.id)
        if existing is not None and existing.data.get("created") != record.data["created"]:
            existing.data["created"] = record.data["created"]  # our own, as others sort it
            touched[record.id] = existing
        return _store_simple(vault, touched, record) if existing is None else False
    if payload.type == "roster":
        before = len(touched)
        refused = store_shared_entry(
            vault, payload.record, sealed.author, sealed.header.created, touched
        )
        if refused is not None:
            run.report.problems.append((sealed.id, refused))
        return True if len(touched) > before else None
    if payload.type in ("alert", "checkin"):
        seen = int(run.now) if run.now else None
        stored = store_alert(vault, sealed, payload, received, touched, seen=seen)
        if stored is None:
            run.report.problems.append((sealed.id, "bad_alert"))
        return stored
    if payload.type == "alarm_key":
        stored = locked_alarms.store_announcement(vault, sealed, payload, touched)
        if stored is None:
            run.report.problems.append((sealed.id, "bad_alarm_key"))
        return stored
    if payload.type in ("reply", "message"):
        return _store_simple(vault, touched, message_record(sealed, payload))
    if payload.type == "withdrawal":
        return _store_withdrawal(run, sealed, payload, touched)
    return None


def _store_withdrawal(
    run: _Round, sealed: envelope.Envelope, payload: Payload, touched: dict[str, Record]
) -> bool | None:
    """A documenter withdrew consent about their own report: noted on the case, for good.

    Counts only when signed by the device that wrote the case (`sync.trust`); one about a case
    this vault does not hold, or naming no known purpose, is refused and reported."""
    case = _current(run.vault, touched, str(payload.record.get("case_id", "")))
    try:
        purposes = consent.purposes_of(payload.record.get("purposes"))
    except ValueError:
        purposes = frozenset()
    refused = (
        "withdrawal_unknown_case"
        if case is None or case.kind != Kind.CASE
        else case_author_problem(str(case.data.get("author")), sealed.author)
        or (None if purposes else "withdrawal_without_purpose")
    )
    if refused is not None or case is None:
        run.report.refused += 1
        run.report.problems.append((sealed.id, refused or "withdrawal_unknown_case"))
        return None
    withdrawals = case.data.setdefault("withdrawals", [])
    if any(w.get("envelope_id") == sealed.id for w in withdrawals):
        return False
    withdrawals.append(
        {
            "envelope_id": sealed.id,
            "author": sealed.author,
            "created": sealed.header.created,
            "purposes": sorted(purposes),
        }
    )
    touched[case.id] = case
    return True


def _current(vault: VaultPort, touched: dict[str, Record], record_id: str) -> Record | None:
    return touched.get(record_id) or get_or_none(vault, record_id)


def _store_simple(vault: VaultPort, touched: dict[str, Record], record: Record) -> bool:
    if _current(vault, touched, record.id) is not None:
        return False
    touched[record.id] = record
    return True


def _store_revision(run: _Round, arrival: _Arrival, touched: dict[str, Record]) -> bool | None:
    sealed, payload, received = arrival.sealed, arrival.payload, arrival.received
    chain, problem = arrival.chain, arrival.problem
    field_record = payload.record
    case_id = str(field_record.get("id") or sealed.id)
    existing = _current(run.vault, touched, case_id)
    if existing is not None and existing.kind != Kind.CASE:
        return False
    if existing is not None:
        refused = case_author_problem(str(existing.data.get("author")), sealed.author)
        if refused is not None:
            run.report.refused += 1
            run.report.problems.append((sealed.id, refused))
            return None
    else:
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
    run.new_blobs.extend(
        [b.id, sealed.author, b.sha256, b.size, case_id, int(run.now)] for b in payload.blobs
    )
    if _CHAIN_RANK[chain] > _CHAIN_RANK.get(custody["chain"], 0):
        custody["chain"] = chain
    if problem:
        custody["problems"].append(problem)
    touched[case_id] = existing
    return True


def _check_blobs(run: _Round, client: Client) -> None:
    """Download each pending attachment as a stream and check it against its signed hash."""
    vault = run.vault
    state = load_state(vault)
    still: list[list[Any]] = []
    verified: dict[str, list[str]] = {}
    altered: dict[str, list[str]] = {}
    for entry in state.pending_blobs:
        blob_id, author, sha256, size = str(entry[0]), str(entry[1]), str(entry[2]), int(entry[3])
        digest, length = hashlib.sha256(), 0
        try:
            try:
                status = client.blob_status(blob_id)
            except ServerRefused as exc:
                if exc.reason not in ("not_found", "invalid_request"):
                    raise
                status = {"complete": False}  # not even begun, or no id the server takes
            if not status.get("complete"):
                since = int(entry[5]) if len(entry) > 5 else int(run.now)
                if run.now - since < PENDING_BLOB_DAYS * 86400:
                    still.append(entry)
                else:
                    run.report.problems.append((blob_id, "attachment_never_arrived"))
                continue
            if status.get("size") == size:  # otherwise altered, without reading any of it
                for chunk in client.blob_chunks(blob_id, limit=size):
                    digest.update(chunk)
                    length += len(chunk)
        except BlobTooLarge:
            length = size + 1
        except SyncError:
            still.append(entry)
            continue
        ref = {"sha256": sha256, "size": size}
        if blob_problem(digest.hexdigest(), length, ref) is None:
            verified.setdefault(author, []).append(blob_id)
            run.report.attachments_checked += 1
        else:
            case_id = str(entry[4]) if len(entry) > 4 else ""
            altered.setdefault(case_id, []).append(blob_id)
            run.report.problems.append((blob_id, "attachment_altered"))
    with vault.unit() as uow:
        for case_id, blob_ids in altered.items():
            case = get_or_none(uow, case_id) if case_id else None
            if case is not None and case.kind == Kind.CASE:
                for blob_id in blob_ids:
                    case.data["custody"]["problems"].append(
                        f"attachment {blob_id[:8]}: its bytes are not the ones the device signed"
                    )
                uow.put(case)
        state = load_state(uow)
        state.pending_blobs = still
        uow.put(state.to_record())
    for author, blob_ids in verified.items():
        run.report.receipts_sent += queue_receipt(
            vault, author, run.receipts.pop(author, []), blob_ids
        )
