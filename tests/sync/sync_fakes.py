"""Helpers for sync unit tests: an organisation in memory and a fake server with the real contract.

`FakeServer` keeps what the real server keeps (envelopes by id, blobs with offsets, commands,
messages) and answers like it (`stored`/`duplicate`, `offset_mismatch` with the offset). Unit
tests use it with `storage.memory.MemoryVault`; the end-to-end tests in tests/integration use the
real server and real vaults.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any

from core.crypto.signing import SigningKey
from storage.memory import MemoryVault
from sync import age, orgdoc
from sync.client import OrgDocumentAnswer, SpoolSlice
from sync.device import DeviceIdentity, SyncState, create_identity
from sync.errors import DeviceRevoked, OffsetMismatch, ServerRefused
from sync.keys import key_id
from sync.pacing import SERVER_CHUNK_LIMIT


@dataclasses.dataclass
class FakeOrg:
    root: SigningKey
    coordinator_key: SigningKey
    coordinator_identity: str
    signed: orgdoc.SignedOrgDocument

    @classmethod
    def create(cls, version: int = 1, settings: dict[str, Any] | None = None) -> FakeOrg:
        root, key = SigningKey.generate(), SigningKey.generate()
        identity, recipient = age.generate_identity()
        doc = orgdoc.OrgDocument(
            v=1,
            org="Org",
            version=version,
            issued=int(time.time()),
            root=root.public_bytes(),
            coordinators=(
                orgdoc.Coordinator(key_id(key.public_bytes()), "C", key.public_bytes(), recipient),
            ),
            recipients=(recipient,),
            forms=(),
            settings=dict(settings or {}),
        )
        return cls(root, key, identity, orgdoc.sign_org_document(doc, root))

    @property
    def fingerprint(self) -> str:
        return key_id(self.root.public_bytes())

    def wire(self) -> dict[str, Any]:
        return orgdoc.to_wire(self.signed)


def enrolled_device(org: FakeOrg, *, knows_org: bool = True) -> MemoryVault:
    """A device vault with keys, marked enrolled, optionally already holding the org document."""
    vault = MemoryVault()
    identity = create_identity(
        vault, server_url="http://127.0.0.1:1", root_fingerprint=org.fingerprint, invite_token="t"
    )
    identity.enrolled = True
    identity.invite_token = None
    identity.save(vault)
    if knows_org:
        vault.put(SyncState(org_document=org.wire(), org_version=1).to_record())
    return vault


class FakeServer:
    def __init__(self, org: FakeOrg) -> None:
        self.org = org
        self.envelopes: dict[str, dict[str, Any]] = {}
        self.batches: list[list[int]] = []
        self.blobs: dict[str, dict[str, Any]] = {}
        self.chunks: list[tuple[str, int, int]] = []
        self.commands: list[dict[str, Any]] = []
        self.acked: list[str] = []
        self.messages: list[dict[str, Any]] = []
        self.reject: dict[str, str] = {}
        self.hash_mismatch_once: set[str] = set()
        self.no_upload_digests = False  # a server from before chunks signed over upload digests
        self.chunk_limit = SERVER_CHUNK_LIMIT  # the largest chunk it takes
        self.streamed: list[int] = []  # lengths of the chunks read from the spool while sent
        self.revoked = False  # like the real server: org document and commands still answered
        self.calls: list[str] = []

    def client(self, identity: DeviceIdentity) -> FakeClient:
        return FakeClient(self, identity)


class FakeClient:
    """Implements the `sync.client.Client` verbs the engine uses, against a `FakeServer`."""

    def __init__(self, server: FakeServer, identity: DeviceIdentity) -> None:
        self.server = server
        self.identity = identity
        self.timeout = (1.0, 1.0)
        self.chunk_limit = server.chunk_limit

    def close(self) -> None:
        pass

    def enrol(self, token: str, recipient: str, label: str | None = None) -> dict[str, Any]:
        return {"device_id": self.identity.device_id, "enrolled_at": 0}

    def org_document(self) -> dict[str, Any]:
        self.server.calls.append("org_document")
        return self.server.org.wire()

    def org_document_if_changed(
        self, etag: str | None, *, messages_after: int | None = None
    ) -> OrgDocumentAnswer:
        """Always the whole document and no hints, like a server from before entity tags."""
        return OrgDocumentAnswer(self.org_document(), "", None, None)

    def commands(self) -> list[dict[str, Any]]:
        self.server.calls.append("commands")
        return list(self.server.commands)

    def ack_command(self, command_id: str) -> None:
        self.server.calls.append("ack_command")
        self.server.acked.append(command_id)

    def push_envelopes(self, envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.server.calls.append("push_envelopes")
        if self.server.revoked:
            raise DeviceRevoked()
        self.server.batches.append([e["header"]["seq"] for e in envelopes])
        results = []
        for wire in envelopes:
            eid = wire["header"]["id"]
            if eid in self.server.reject:
                results.append({"id": eid, "status": "rejected", "reason": self.server.reject[eid]})
            elif eid in self.server.envelopes:
                results.append({"id": eid, "status": "duplicate"})
            else:
                self.server.envelopes[eid] = wire
                results.append({"id": eid, "status": "stored"})
        return results

    def blob_begin(self, blob_id: str, size: int, sha256: str) -> int:
        blob = self.server.blobs.setdefault(blob_id, {"size": size, "sha256": sha256, "data": b""})
        return len(blob["data"])

    def blob_status(self, blob_id: str) -> dict[str, Any]:
        blob = self.server.blobs[blob_id]
        done = len(blob["data"]) == blob["size"]
        return {"offset": len(blob["data"]), "size": blob["size"], "complete": done}

    def blob_chunk(
        self,
        blob_id: str,
        offset: int,
        data: bytes | SpoolSlice,
        *,
        sha256: str | None = None,
        upload_sha256: str | None = None,
    ) -> tuple[int, bool]:
        if isinstance(data, SpoolSlice):  # read as the real client sends it
            assert upload_sha256 is not None
            self.server.streamed.append(len(data))
            data = b"".join(bytes(piece) for piece in data)
        if len(data) > self.server.chunk_limit:
            raise ServerRefused("body_too_large", status=413)  # what the real server answers
        if sha256 is not None and sha256 != hashlib.sha256(data).hexdigest():
            raise ServerRefused("bad_signature", status=401)  # what the real server answers
        if upload_sha256 is not None and self.server.no_upload_digests:
            raise ServerRefused("bad_signature", status=401)  # a server from before them
        blob = self.server.blobs[blob_id]
        self.server.chunks.append((blob_id, offset, len(data)))
        if offset != len(blob["data"]):
            raise OffsetMismatch(len(blob["data"]))
        through = hashlib.sha256(blob["data"] + data).hexdigest()
        if upload_sha256 is not None and upload_sha256 != through:
            blob["data"] = b""
            raise ServerRefused("hash_mismatch", status=422)  # what the real server answers
        blob["data"] += data
        if len(blob["data"]) == blob["size"]:
            if blob_id in self.server.hash_mismatch_once:
                self.server.hash_mismatch_once.discard(blob_id)
                blob["data"] = b""
                raise ServerRefused("hash_mismatch", status=422)
            assert hashlib.sha256(blob["data"]).hexdigest() == blob["sha256"]
            return len(blob["data"]), True
        return len(blob["data"]), False

    def messages(self, after: int, limit: int) -> dict[str, Any]:
        self.server.calls.append("messages")
        if self.server.revoked:
            raise DeviceRevoked()
        items = [m for m in self.server.messages if m["cursor"] > after][:limit]
        return {"items": items, "next": items[-1]["cursor"] if items else after}
