"""A minimal organisation on a live server, built from the protocol library (no vaults, no UI).

    org = Organisation.bootstrap(server.url, server.bootstrap_token)
    device = org.enrol("device-1")
    envelopes = device.seal_many(100)              # signed, chained, age-encrypted
    device.client.push_envelopes([...])
    feed = org.feed()                              # every stored envelope, in cursor order

For the load, chaos and crash tests, which need many devices quickly and must count exactly what
the server stored. Everything goes through the real client, signatures and age encryption.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

from core.crypto.signing import SigningKey
from sync import age, envelope, orgdoc
from sync.client import Client
from sync.keys import key_id

NOW = int(time.time())


@dataclasses.dataclass
class Device:
    id: str
    key: SigningKey
    client: Client
    recipients: tuple[str, ...]
    seq: int = 0
    prev: str = "0" * 64

    def seal(self, payload: bytes | None = None) -> envelope.Envelope:
        """The next envelope of this device's chain (advances the chain)."""
        self.seq += 1
        body = payload if payload is not None else f'{{"n":{self.seq}}}'.encode()
        env = envelope.seal(
            body,
            signer=self.key,
            recipients=list(self.recipients),
            seq=self.seq,
            prev=self.prev,
            kind="report",
            now=int(time.time()),
        )
        self.prev = envelope.envelope_hash(env)
        return env

    def seal_many(self, count: int, size: int = 0) -> list[envelope.Envelope]:
        filler = b"x" * size
        return [self.seal(b'{"pad":"' + filler + b'"}' if size else None) for _ in range(count)]


@dataclasses.dataclass
class Organisation:
    url: str
    root: SigningKey
    coordinator_key: SigningKey
    identity: str
    recipient: str
    client: Client

    @classmethod
    def bootstrap(cls, url: str, bootstrap_token: str, **client_args: Any) -> Organisation:
        root, coordinator_key = SigningKey.generate(), SigningKey.generate()
        identity, recipient = age.generate_identity()
        doc = orgdoc.OrgDocument(
            v=1,
            org="Reliability Test Org",
            version=1,
            issued=NOW,
            root=root.public_bytes(),
            coordinators=(
                orgdoc.Coordinator(
                    id=key_id(coordinator_key.public_bytes()),
                    name="Coordinator",
                    signing_key=coordinator_key.public_bytes(),
                    recipient=recipient,
                ),
            ),
            recipients=(recipient,),
            forms=(),
            settings={},
        )
        signed = orgdoc.to_wire(orgdoc.sign_org_document(doc, root))
        Client(url, **client_args).bootstrap(bootstrap_token, signed)
        client = Client(url, signing_key=coordinator_key, **client_args)
        return cls(url, root, coordinator_key, identity, recipient, client)

    def enrol(self, label: str | None = None, **client_args: Any) -> Device:
        token = self.client.create_invite(expires_in=3600, label=label)["token"]
        key = SigningKey.generate()
        _, device_recipient = age.generate_identity()
        client = Client(self.url, signing_key=key, **client_args)
        answer = client.enrol(token, device_recipient, label=label or uuid.uuid4().hex[:8])
        assert answer["device_id"] == key_id(key.public_bytes())
        return Device(answer["device_id"], key, client, (self.recipient,))

    def feed(self, page: int = 100) -> list[dict[str, Any]]:
        """Every envelope the server stored, as wire dicts, in cursor order."""
        items, after = [], 0
        while True:
            answer = self.client.envelopes(after, page)
            batch = answer["items"]
            items += [item["envelope"] for item in batch]
            if not batch:
                return items
            after = answer["next"]
