"""The outside world of a coordinator, for the contract suite: fake, or a real server and device.

`FakeWorld` drives `FakeCoordinatorService`'s helpers; `RealWorld` runs the real server in a
subprocess, a real `VaultCoordinatorService` on disk, and a real field device (a `MemoryVault`
driven through `sync.outbox` and `sync.engine.SyncEngine`, exactly as the field app does).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from app.services.coordinator import VaultCoordinatorService
from app.services.coordinator_api import CoordinatorService
from app.services.coordinator_fake import FakeCoordinatorService
from core.crypto.hashing import sha256_hex
from core.crypto.random import random_bytes
from core.records import Kind, Record, Status
from tests.app.coordinator import factory

PASSPHRASE = "correct horse battery staple"
FORM_ID = "default-incident"


class FakeWorld:
    def __init__(self, tmp_path: Path) -> None:
        self.service: CoordinatorService = FakeCoordinatorService()
        self.fake: FakeCoordinatorService = self.service  # type: ignore[assignment]
        self.devices: dict[str, factory.Device] = {}
        self.outbox: dict[str, list[str]] = {}

    def close(self) -> None:
        pass

    def second_service(self, tmp_path: Path) -> CoordinatorService:
        return FakeCoordinatorService()

    def setup(self, tls_pin: str = "") -> None:
        self.service.setup_new(
            passphrase=PASSPHRASE,
            server_url="http://127.0.0.1:9",
            bootstrap_token="token",
            org_name="Правозащитная сеть",
            coordinator_name="Айгүл",
            tls_pin=tls_pin,
        )

    def enrol_device(self, label: str = "phone") -> str:
        self.service.create_invite(3600, label)
        device = factory.Device()
        device_id = self.fake.add_device(label, key=device.key.public_bytes())
        self.devices[device_id] = device
        return device_id

    def report(self, device_id: str, answers: dict[str, Any], photo: bytes = b"") -> str:
        device = self.devices[device_id]
        blobs = []
        if photo:
            blob_id = random_bytes(16).hex()
            self.fake.add_blob(blob_id, photo)
            blobs = [
                {
                    "id": blob_id,
                    "sha256": sha256_hex(photo),
                    "size": len(photo),
                    "media_type": "image/png",
                    "name": "photo.png",
                }
            ]
        data = factory.case_data(device, answers, blobs=blobs)
        for rev in data["revisions"]:
            rev["record"]["data"]["form"] = FORM_ID
        self.fake.receive_case(data)
        return str(data["case_id"])

    def withdraw(self, device_id: str, case_id: str, purposes: list[str]) -> None:
        self.fake.receive_withdrawal(case_id, device_id, purposes)

    def device_messages(self, device_id: str) -> list[str]:
        return [
            m.text
            for cid in self.service.index().ids()
            for m in self.service.messages(cid)
            if m.direction == "out" and m.device == device_id
        ]

    def reply(self, device_id: str, case_id: str, text: str) -> None:
        self.fake.receive_reply(case_id, text, device_id)

    def device_state(self, device_id: str) -> dict[str, Any]:
        d = next(d for d in self.service.devices() if d.id == device_id)
        return {"revoked": d.revoked, "wipe": d.wipe}


class RealWorld:
    def __init__(self, tmp_path: Path) -> None:
        from tests.support.live_server import start_live_server

        self._stack = contextlib.ExitStack()
        self.server = self._stack.enter_context(start_live_server(tmp_path / "server"))
        self.service = VaultCoordinatorService(tmp_path / "coordinator")
        self.devices: dict[str, Any] = {}
        self._others: list[VaultCoordinatorService] = []

    def close(self) -> None:
        for service in (self.service, *self._others):
            service.lock()
        self._stack.close()

    def second_service(self, tmp_path: Path) -> CoordinatorService:
        service = VaultCoordinatorService(tmp_path / "second-coordinator")
        self._others.append(service)
        return service

    def setup(self, tls_pin: str = "") -> None:
        self.service.setup_new(
            passphrase=PASSPHRASE,
            server_url=self.server.url,
            bootstrap_token=self.server.bootstrap_token,
            org_name="Правозащитная сеть",
            coordinator_name="Айгүл",
            tls_pin=tls_pin,
        )

    def enrol_device(self, label: str = "phone") -> str:
        from storage.memory import MemoryVault
        from sync.device import identity_from_invite
        from sync.engine import SyncEngine
        from sync.invite import Invite

        invite = Invite.parse(self.service.create_invite(3600, label).code)
        vault = MemoryVault()
        identity = identity_from_invite(
            vault,
            invite,
            label=label,
        )
        engine = SyncEngine(vault)
        engine.run_once()
        self.devices[identity.device_id] = (vault, engine)
        return identity.device_id

    def sync(self, device_id: str) -> Any:
        _, engine = self.devices[device_id]
        return engine.run_once()

    def report(self, device_id: str, answers: dict[str, Any], photo: bytes = b"") -> str:
        from sync.outbox import queue_record

        vault, _ = self.devices[device_id]
        attachments = []
        if photo:
            att = vault.attach(io.BytesIO(photo), media_type="image/png", name="photo.png")
            attachments.append({"id": att.id, "media_type": "image/png", "name": "photo.png"})
        record = Record(
            kind=Kind.INCIDENT,
            data={
                "form": FORM_ID,
                "form_version": 1,
                "answers": answers,
                "attachments": attachments,
            },
            status=Status.READY,
        )
        queue_record(vault, record)
        self.sync(device_id)
        return record.id

    def withdraw(self, device_id: str, case_id: str, purposes: list[str]) -> None:
        """The documenter withdraws consent from the phone: a signed envelope, synced."""
        from sync.outbox import queue_withdrawal

        vault, _ = self.devices[device_id]
        queue_withdrawal(vault, case_id, purposes)
        self.sync(device_id)

    def device_messages(self, device_id: str) -> list[str]:
        vault, _ = self.devices[device_id]
        self.sync(device_id)
        return [str(r.data.get("text")) for r in vault.list(kind=Kind.MESSAGE)]

    def reply(self, device_id: str, case_id: str, text: str) -> None:
        from sync.outbox import queue_reply

        vault, _ = self.devices[device_id]
        last = [r for r in vault.list(kind=Kind.MESSAGE) if r.data.get("case_id") == case_id]
        queue_reply(vault, case_id, text, last[-1].id if last else "")
        self.sync(device_id)

    def device_state(self, device_id: str) -> dict[str, Any]:
        d = next(d for d in self.service.devices() if d.id == device_id)
        return {"revoked": d.revoked, "wipe": d.wipe}
