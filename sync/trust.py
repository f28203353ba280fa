"""The trust rules, in one place: what a device or coordinator may believe, and from whom.

The server is never the source of trust. Everything acted on is checked here against something
the root or a coordinator signed, or against the author's own signed chain:

- `accept_org_document(wire, pinned, min_version=..., now=...)`: the one acceptance of an org
  document (pinned root, root signature, version floor, expiry), for devices and coordinators.
- `writer_problem(payload_type, kind, author, document, devices)`: who may write what. Reports
  (incidents and notes), alarms and check-ins (`sync.alerts`) and replies come only from
  devices in the roster; case events, roster
  entries, messages and receipts only from coordinators listed in the org document; and the
  envelope's `kind` must be the one its payload type travels under.
- `case_author_problem(case_author, author)`: a case's revisions, and a withdrawal of consent
  about it, come only from the device that wrote it first (a coordinator withdraws through a
  case event instead, which only listed coordinators may write).
- `merge_time(created, received_at)`: the time a case event sorts by. An author's clock can
  place an event earlier than the server received it, never later, so a clock set to 2100
  cannot win a last-writer-wins merge.
- `blob_problem(data_sha256, data_size, ref)`: an attachment's bytes against what its author
  signed.

Each function returns `None` or raises nothing for what passes, and a machine-readable reason
(or a `sync.errors` exception for org documents) for what does not. Callers: the sync engine,
the coordinator pull, the coordinator's attachment fetch and the evidence bundle check.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any

from sync import orgdoc, orgseal
from sync.errors import OrgDocumentExpired, ServerKeyChanged, UntrustedDocument
from sync.payload import KIND_FOR_TYPE, BlobRef

DEVICE_TYPES = frozenset(
    {"incident", "note", "reply", "withdrawal", "alert", "checkin", "alarm_key"}
)
COORDINATOR_TYPES = frozenset({"case_event", "roster", "message", "receipt"})


def accept_org_document(
    wire: Any,
    pinned_fingerprint: str,
    *,
    min_version: int,
    now: float | None,
    identities: Sequence[str] = (),
    held: Any = None,
) -> tuple[orgdoc.SignedOrgDocument, orgdoc.OrgDocument]:
    """Parse and verify an org document from the server; raise a `SyncError` if refused.

    A sealed container (`sync.orgseal`) is opened with `identities` first. `ServerKeyChanged`
    if another root signed it, `UntrustedDocument` if it is malformed, unreadable, badly signed
    or older than `min_version`, `OrgDocumentExpired` if it has lapsed at `now` (`None` for
    coordinators, who read with any document and renew it themselves). `held`, the wire of the
    document accepted before: one of the same version must be that very document (two
    different documents under one version mean a second root holder was kept on an old one).
    """
    try:
        if orgseal.is_container(wire):
            # Root-signed before anything is decrypted: nobody else gets ciphertexts opened
            # by our keys (pure-Python post-quantum opening is not constant-time).
            orgseal.server_view(wire, pinned_fingerprint)
            wire = orgseal.open_(wire, [i for i in identities if i])
        signed = orgdoc.from_wire(wire)
        doc = orgdoc.verify_org_document(signed, pinned_fingerprint, min_version=min_version)
    except orgdoc.UntrustedRoot:
        raise ServerKeyChanged("the org document is not signed by the pinned root") from None
    except orgdoc.OrgDocumentError as exc:
        raise UntrustedDocument(f"org document refused ({exc.reason})") from None
    if held is not None:
        previous = orgdoc.from_wire(held).doc
        if previous.version == doc.version and previous.canonical() != doc.canonical():
            raise UntrustedDocument(f"two different org documents claim version {doc.version}")
    if now is not None and orgdoc.is_expired(doc, now):
        raise OrgDocumentExpired(f"org document version {doc.version} has expired")
    return signed, doc


def writer_problem(
    payload_type: str,
    kind: str,
    author: str,
    document: orgdoc.OrgDocument,
    devices: Container[str],
) -> str | None:
    """Why `author` may not send a `payload_type` payload in a `kind` envelope, or None."""
    if KIND_FOR_TYPE.get(payload_type) != kind:
        return "kind_mismatch"
    if payload_type in DEVICE_TYPES:
        return None if author in devices else "not_a_device"
    if payload_type in COORDINATOR_TYPES:
        return None if document.coordinator(author) is not None else "not_a_coordinator"
    return "unknown_type"


def case_author_problem(case_author: str, author: str) -> str | None:
    """Why `author` may not add a revision to a case first written by `case_author`."""
    return None if case_author == author else "not_the_author"


def merge_time(created: int, received_at: int) -> int:
    """The time an event sorts by: its author's claim, capped at when the server got it."""
    return min(created, received_at) if received_at > 0 else created


def blob_problem(data_sha256: str, data_size: int, ref: BlobRef | dict[str, Any]) -> str | None:
    """Why downloaded bytes are not the attachment its author signed, or None."""
    expected = ref.to_dict() if isinstance(ref, BlobRef) else ref
    if data_size != int(expected.get("size", -1)) or data_sha256 != expected.get("sha256"):
        return "attachment_altered"
    return None
