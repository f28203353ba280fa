"""Test actors for the server: an organisation, its coordinators and devices, signed calls.

`Harness` wraps either FastAPI's TestClient (in-process) or a `requests` session against a live
server, and signs each call with the actor's key exactly as a real client does.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import requests
from fastapi.testclient import TestClient

from core.crypto.random import random_bytes
from core.crypto.signing import SigningKey
from sync import age, orgdoc
from sync import envelope as sync_envelope
from sync.auth import sign_request
from sync.encoding import b64u_encode, canonical_json
from sync.keys import key_id

START = 1_763_700_000


class Clock:
    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclasses.dataclass
class Actor:
    """A device or coordinator: a signing key, an age identity, and its envelope chain."""

    key: SigningKey
    identity: str
    recipient: str
    seq: int = 0
    prev: str = sync_envelope.ZERO_HASH

    @classmethod
    def new(cls) -> Actor:
        identity, recipient = age.generate_identity()
        return cls(SigningKey.generate(), identity, recipient)

    @property
    def id(self) -> str:
        return key_id(self.key.public_bytes())

    @property
    def public(self) -> str:
        return b64u_encode(self.key.public_bytes())

    def envelope(
        self,
        *,
        kind: str = "report",
        ciphertext: bytes | None = None,
        plaintext: bytes | None = None,
        recipients: list[str] | None = None,
        to: str | None = None,
        now: int = START,
        seq: int | None = None,
        prev: str | None = None,
        advance: bool = True,
    ) -> dict[str, Any]:
        """The next envelope of this actor's chain (or one at an explicit seq/prev)."""
        if plaintext is not None:
            ciphertext = age.encrypt(plaintext, recipients or [self.recipient])
        elif ciphertext is None:
            ciphertext = random_bytes(200)
        env = sync_envelope.sign_ciphertext(
            ciphertext,
            signer=self.key,
            seq=self.seq + 1 if seq is None else seq,
            prev=self.prev if prev is None else prev,
            kind=kind,
            to=to,
            now=now,
            envelope_id=uuid.uuid4().hex,
        )
        if advance:
            self.seq = env.seq
            self.prev = sync_envelope.envelope_hash(env)
        return sync_envelope.to_wire(env)


@dataclasses.dataclass
class Org:
    root: SigningKey
    coordinator: Actor
    version: int = 1

    @classmethod
    def new(cls) -> Org:
        return cls(SigningKey.generate(), Actor.new())

    @property
    def fingerprint(self) -> str:
        return key_id(self.root.public_bytes())

    def document(
        self, *, version: int | None = None, coordinators: list[Actor] | None = None
    ) -> dict[str, Any]:
        people = coordinators or [self.coordinator]
        doc = orgdoc.OrgDocument(
            v=1,
            org="Test organisation",
            version=self.version if version is None else version,
            issued=START,
            root=self.root.public_bytes(),
            coordinators=tuple(
                orgdoc.Coordinator(
                    id=c.id,
                    name="Coordinator",
                    signing_key=c.key.public_bytes(),
                    recipient=c.recipient,
                )
                for c in people
            ),
            recipients=tuple(c.recipient for c in people),
            forms=(),
            settings={},
        )
        return orgdoc.to_wire(orgdoc.sign_org_document(doc, self.root))


class Harness:
    """Signed calls to one server, in-process (TestClient) or live (requests)."""

    def __init__(self, client: TestClient | requests.Session, base: str, clock: Clock) -> None:
        self.client = client
        self.base = base
        self.clock = clock

    def call(
        self,
        method: str,
        path: str,
        actor: Actor | None = None,
        *,
        json: Any = None,
        body: bytes | None = None,
        query: str = "",
        headers: dict[str, str] | None = None,
        now: int | None = None,
    ) -> Any:
        target = path + (f"?{query}" if query else "")
        data = canonical_json(json) if json is not None else (body or b"")
        sent = dict(headers or {})
        if json is not None:
            sent["Content-Type"] = "application/json"
        if actor is not None:
            when = self.clock() if now is None else now
            sent.update(sign_request(actor.key, method, target, data, now=when))
        if isinstance(self.client, TestClient):
            return self.client.request(method, self.base + target, content=data, headers=sent)
        session: requests.Session = self.client
        return session.request(method, self.base + target, data=data, headers=sent, timeout=30)

    # -- conveniences --------------------------------------------------------------------------
    def bootstrap(self, org: Org, token: str) -> None:
        answer = self.call(
            "POST", "/v1/bootstrap", json={"token": token, "org_document": org.document()}
        )
        assert answer.status_code == 201, answer.text

    def enrol(self, org: Org, label: str = "phone") -> Actor:
        invite = self.call("POST", "/v1/invites", org.coordinator, json={"expires_in": 3600})
        assert invite.status_code == 201, invite.text
        device = Actor.new()
        answer = self.call(
            "POST",
            "/v1/enrol",
            device,
            json={"token": invite.json()["token"], "recipient": device.recipient, "label": label},
        )
        assert answer.status_code == 201, answer.text
        return device

    def push(self, actor: Actor, envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answer = self.call("POST", "/v1/envelopes", actor, json={"envelopes": envelopes})
        assert answer.status_code == 200, answer.text
        results: list[dict[str, Any]] = answer.json()["results"]
        return results
