"""Attachments on the coordinator's side: downloaded, checked against what the author signed,
then decrypted in memory.

`fetch_blob(vault, blob_id)` finds the attachment's signed reference (`BlobRef`: SHA-256 and
size) in the stored case that names it, downloads the ciphertext, refuses it with
`AttachmentAltered` if the bytes differ (a server that swapped a blob for another age file to
the same recipients is caught here, before decryption), and only then decrypts.
"""

from __future__ import annotations

from typing import Any

from core.crypto.hashing import sha256_hex
from core.records import Kind
from core.vault_port import VaultPort
from sync import age
from sync.coordinator.identity import connect
from sync.errors import AttachmentAltered, UntrustedDocument
from sync.trust import blob_problem


def signed_reference(
    vault: VaultPort, blob_id: str, case_id: str | None = None
) -> dict[str, Any] | None:
    """The blob reference the author of case `case_id` signed for `blob_id`. Without a case,
    the one every stored case that names the blob agrees on (None if they disagree: a device
    may name another device's attachment with a hash of its own choosing)."""
    found: list[dict[str, Any]] = []
    for case in vault.list(kind=Kind.CASE):
        if case_id is not None and case.id != case_id:
            continue
        for revision in case.data.get("revisions", []):
            found += [dict(ref) for ref in revision.get("blobs", []) if ref.get("id") == blob_id]
    signed = {(str(r.get("sha256")), int(r.get("size", -1))) for r in found}
    return found[0] if len(signed) == 1 else None


def fetch_blob(
    vault: VaultPort,
    blob_id: str,
    *,
    case_id: str | None = None,
    ref: dict[str, Any] | None = None,
) -> bytes:
    """Download a complete blob, check it against its signed reference, decrypt it in memory.

    Give `case_id`, the case whose attachment it is. Raises `UntrustedDocument` if that case
    does not name the blob or it is not addressed to this coordinator, `AttachmentAltered` if
    its bytes are not the signed ones (reading stops at the signed size).
    """
    ref = ref or signed_reference(vault, blob_id, case_id)
    if ref is None:
        raise UntrustedDocument("no signed report names this attachment")
    identity, client = connect(vault)
    with client:
        ciphertext = b"".join(client.blob_chunks(blob_id, limit=int(ref.get("size", 0))))
    if blob_problem(sha256_hex(ciphertext), len(ciphertext), ref) is not None:
        raise AttachmentAltered("the attachment's bytes are not the ones its author signed")
    try:
        return age.decrypt(ciphertext, identity.age_identities)
    except age.NoIdentityMatch:
        raise UntrustedDocument("this attachment is not addressed to this coordinator") from None
    except age.AgeError:
        raise UntrustedDocument("the attachment is damaged or altered") from None
