"""End to end against the real server: real vaults on disk, real age, real HTTP on loopback."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest

from core.crypto.signing import SigningKey
from core.records import Kind, Record, Status
from sync import commands, coordinator, orgdoc, orgseal
from sync.client import Client, OrgDocumentAnswer
from sync.device import DeviceIdentity, SyncSettings, load_sync_state, save_settings
from sync.engine import SyncEngine, default_client_factory
from sync.errors import DeviceRevoked, Offline, ServerKeyChanged, UntrustedDocument
from sync.outbox import queue_record, queue_reply
from tests.integration.conftest import Org
from tests.support.fault_proxy import Fault, FaultProxy

MARKER = "ZEBRA-7c1f-unique-plaintext-marker"


def _incident(vault: Any, title: str = MARKER, attachment: bytes | None = None) -> Record:
    data: dict[str, Any] = {"title": title, "values": {"summary": title}}
    if attachment is not None:
        stored = vault.attach(io.BytesIO(attachment), media_type="image/jpeg", name="p.jpg")
        data["attachments"] = [{"id": stored.id, "media_type": "image/jpeg", "name": "p.jpg"}]
    return queue_record(vault, Record(kind=Kind.INCIDENT, data=data))


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_an_incident_with_a_photo_reaches_the_coordinator_intact_and_is_forgotten(
    org: Org,
) -> None:
    device = org.new_device()
    photo = MARKER.encode() * 5000
    saved = _incident(device, attachment=photo)
    assert saved.status == Status.QUEUED

    report = SyncEngine(device).run_once()
    assert (report.envelopes_sent, report.blobs_sent, report.forgotten) == (1, 1, 1)

    stub = device.get(saved.id)
    assert stub.kind == Kind.STUB and stub.status == Status.SENT
    assert "title" not in stub.data and device.attachments() == []
    assert len(device.list(kind=Kind.OUTBOX)) == 2  # sealed copies, until a receipt
    assert MARKER.encode() not in _all_bytes(device.path)
    assert MARKER.encode() not in _all_bytes(org.server.data_dir)

    pulled = coordinator.pull(org.coordinator)
    assert (pulled.stored, pulled.forged, pulled.chain_problems) == (1, 0, 0)
    case = org.coordinator.get(saved.id)
    assert case.kind == Kind.CASE
    assert case.data["latest"]["title"] == MARKER
    assert case.data["custody"] == {"signature": "valid", "chain": "ok", "problems": []}
    assert case.data["author"] == DeviceIdentity.load(device).device_id  # type: ignore[union-attr]
    blob = case.data["revisions"][0]["blobs"][0]
    assert coordinator.fetch_blob(org.coordinator, blob["id"]) == photo
    assert SyncEngine(device).run_once().confirmed == 2
    assert device.list(kind=Kind.OUTBOX) == [] and device.spool_names() == []


def test_an_edit_after_sending_becomes_a_second_revision_not_an_overwrite(org: Org) -> None:
    device = org.new_device()
    save_settings(device, SyncSettings(send_and_forget=False))
    saved = _incident(device, title="first")
    SyncEngine(device).run_once()
    edited = device.get(saved.id)
    assert edited.status == Status.SENT
    edited.data["title"] = "second"
    queue_record(device, edited)
    SyncEngine(device).run_once()

    coordinator.pull(org.coordinator)
    case = org.coordinator.get(saved.id)
    titles = [r["record"]["data"]["title"] for r in case.data["revisions"]]
    assert titles == ["first", "second"]
    assert [r["seq"] for r in case.data["revisions"]] == [1, 2]
    assert case.data["latest"]["title"] == "second"


def test_a_lost_acknowledgement_resends_and_the_server_stores_once(org: Org) -> None:
    device = org.new_device()
    for i in range(3):
        _incident(device, title=f"r{i}")
    lost = {"done": False}

    def plan(info: Any) -> Fault:
        if info.path == "/v1/envelopes" and info.method == "POST" and not lost["done"]:
            lost["done"] = True
            return Fault.LOSE_RESPONSE
        return Fault.PASS

    host, port = org.server.url.removeprefix("http://").split(":")
    with FaultProxy((host, int(port)), plan=plan) as proxy:

        def through_proxy(identity: DeviceIdentity) -> Client:
            return Client(proxy.url, signing_key=identity.signing_key)

        with pytest.raises(Offline):
            SyncEngine(device, client_factory=through_proxy).run_once()
        assert all(e.status == Status.QUEUED for e in device.list(kind=Kind.OUTBOX))
        report = SyncEngine(device, client_factory=through_proxy).run_once()
    assert report.envelopes_duplicate == 3 and report.envelopes_sent == 0
    pulled = coordinator.pull(org.coordinator)
    assert pulled.stored == 3 and pulled.chain_problems == 0


def test_a_revoked_device_stops_and_keeps_saying_so(org: Org) -> None:
    device = org.new_device()
    device_id = DeviceIdentity.load(device).device_id  # type: ignore[union-attr]
    coordinator.revoke_device(org.coordinator, device_id)
    _incident(device)
    with pytest.raises(DeviceRevoked):
        SyncEngine(device).run_once()
    assert load_sync_state(device).revoked
    org.server.stop()  # no network needed to know it
    with pytest.raises(DeviceRevoked):
        SyncEngine(device).run_once()


def test_a_wipe_ordered_after_revocation_still_wipes_the_revoked_device(org: Org) -> None:
    device = org.new_device()
    _incident(device)
    path = device.path
    device_id = DeviceIdentity.load(device).device_id  # type: ignore[union-attr]
    coordinator.revoke_device(org.coordinator, device_id)
    with pytest.raises(DeviceRevoked):
        SyncEngine(device).run_once()  # learns it is revoked; nothing pushed
    assert load_sync_state(device).revoked
    command_id = coordinator.order_wipe(org.coordinator, device_id)
    report = SyncEngine(device).run_once()
    assert report.wiped and report.commands_executed == [command_id]
    assert report.envelopes_sent == 0
    assert not path.exists()
    wipes = {d["id"]: d["wipe"] for d in coordinator.list_devices(org.coordinator)}
    assert wipes[device_id] == "done"


def test_revocation_and_wipe_found_in_the_same_round_wipe_the_device(org: Org) -> None:
    device = org.new_device()
    _incident(device)
    path = device.path
    device_id = DeviceIdentity.load(device).device_id  # type: ignore[union-attr]
    coordinator.revoke_device(org.coordinator, device_id)
    command_id = coordinator.order_wipe(org.coordinator, device_id)
    report = SyncEngine(device).run_once()
    assert report.wiped and report.commands_executed == [command_id]
    assert not path.exists()


def test_a_remote_wipe_destroys_the_device_vault(org: Org) -> None:
    device = org.new_device()
    _incident(device)
    path = device.path
    device_id = DeviceIdentity.load(device).device_id  # type: ignore[union-attr]
    command_id = coordinator.order_wipe(org.coordinator, device_id)
    report = SyncEngine(device).run_once()
    assert report.wiped and report.commands_executed == [command_id]
    assert not path.exists()
    wipes = {d["id"]: d["wipe"] for d in coordinator.list_devices(org.coordinator)}
    assert wipes[device_id] == "done"


def test_messages_reach_only_their_device_and_replies_come_back(org: Org) -> None:
    alice, bob = org.new_device("alice"), org.new_device("bob")
    alice_id = DeviceIdentity.load(alice).device_id  # type: ignore[union-attr]
    sent = coordinator.send_message(org.coordinator, alice_id, "case-1", "badge number?")
    assert SyncEngine(alice).run_once().messages_received == 1
    assert SyncEngine(bob).run_once().messages_received == 0
    (message,) = alice.list(kind=Kind.MESSAGE)
    assert message.id == sent and message.data["text"] == "badge number?"
    assert SyncEngine(alice).run_once().messages_received == 0  # cursor kept

    queue_reply(alice, "case-1", "4471", sent)
    SyncEngine(alice).run_once()
    coordinator.pull(org.coordinator)
    replies = [
        m.data for m in org.coordinator.list(kind=Kind.MESSAGE) if m.data["direction"] == "in"
    ]
    assert replies == [
        {
            "case_id": "case-1",
            "device": alice_id,
            "direction": "in",
            "text": "4471",
            "created": replies[0]["created"],
            "envelope_id": replies[0]["envelope_id"],
        }
    ]


def test_case_events_are_shared_among_coordinators_exactly_once(org: Org) -> None:
    event_id = coordinator.push_case_event(
        org.coordinator, "case-9", {"type": "status", "status": "referred"}
    )
    assert org.coordinator.get(event_id).data["event"]["status"] == "referred"
    report = coordinator.pull(org.coordinator)
    assert report.stored == 0 and report.duplicates == 1
    assert len(org.coordinator.list(kind=Kind.CASE_EVENT)) == 1


def test_the_proxy_setting_is_honoured_for_every_request(org: Org) -> None:
    with FaultProxy(forward=True) as proxy:
        device = org.new_device(proxy=proxy.url)
        _incident(device)
        SyncEngine(device).run_once()
    paths = {path.split("?")[0] for _, path in proxy.requests_seen}
    # commands and messages are asked for only when the org document's answer says some wait
    assert {"/v1/enrol", "/v1/org-document", "/v1/envelopes"} <= paths


class _Hostile(Client):
    """The real client, but the server it talks to lies about one thing."""

    def __init__(self, *args: Any, lie: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lie = lie

    def org_document(self) -> dict[str, Any]:
        if "org_document" in self.lie:
            return self.lie["org_document"]
        return super().org_document()

    def commands(self) -> list[dict[str, Any]]:
        if "commands" in self.lie:
            return self.lie["commands"]
        return super().commands()

    def org_document_if_changed(
        self, etag: str | None, *, messages_after: int | None = None
    ) -> OrgDocumentAnswer:
        lying = "org_document" in self.lie
        answer = super().org_document_if_changed(
            None if lying else etag, messages_after=messages_after
        )
        if lying:
            answer = dataclasses.replace(answer, document=self.lie["org_document"])
        if "commands" in self.lie:
            answer = dataclasses.replace(answer, commands=None)  # so the lie is fetched
        return answer


def _hostile(lie: dict[str, Any]):
    def factory(identity: DeviceIdentity) -> Client:
        return _Hostile(identity.server_url, signing_key=identity.signing_key, lie=lie)

    return factory


def _real_doc(org: Org) -> orgdoc.SignedOrgDocument:
    """The root-signed document inside the sealed container the server holds."""
    identity = coordinator.load_identity(org.coordinator)
    with coordinator.client_for(identity) as client:
        return orgdoc.from_wire(orgseal.open_(client.org_document(), [identity.age_identity]))


def test_a_server_that_swaps_the_root_key_is_refused(org: Org) -> None:
    device = org.new_device()
    signed = _real_doc(org)
    fake_root = SigningKey.generate()
    doc = dataclasses.replace(signed.doc, root=fake_root.public_bytes(), version=99)
    lie = {"org_document": orgdoc.to_wire(orgdoc.sign_org_document(doc, fake_root))}
    with pytest.raises(ServerKeyChanged):
        SyncEngine(device, client_factory=_hostile(lie)).run_once()
    assert load_sync_state(device).org_version == 1


def test_a_form_the_root_did_not_sign_is_refused(org: Org) -> None:
    device = org.new_device()
    signed = _real_doc(org)
    wire = orgdoc.to_wire(signed)
    wire["doc"]["forms"] = [{"id": "evil", "fields": []}]
    with pytest.raises(UntrustedDocument):
        SyncEngine(device, client_factory=_hostile({"org_document": wire})).run_once()


def test_an_older_org_document_is_refused_as_a_rollback(org: Org) -> None:
    device = org.new_device()
    old = orgdoc.to_wire(_real_doc(org))
    coordinator.publish_org_document(org.coordinator, forms=[{"id": "v2"}])
    SyncEngine(device).run_once()
    assert load_sync_state(device).org_version == 2
    with pytest.raises(UntrustedDocument):
        SyncEngine(device, client_factory=_hostile({"org_document": old})).run_once()


def test_forged_and_replayed_wipe_commands_are_refused(org: Org) -> None:
    device = org.new_device()
    identity = DeviceIdentity.load(device)
    assert identity is not None
    forged = commands.sign_command(
        identity.device_id, "wipe", coordinator_key=SigningKey.generate(), now=1
    )
    me = coordinator.load_identity(org.coordinator)
    other_device = commands.sign_command("ab" * 16, "wipe", coordinator_key=me.signing_key, now=1)
    genuine = commands.sign_command(
        identity.device_id, "wipe", coordinator_key=me.signing_key, now=1
    )
    state = load_sync_state(device)
    state.executed_commands.append(genuine.cmd.id)
    device.put(state.to_record())
    lie = {"commands": [commands.to_wire(c) for c in (forged, other_device, genuine)]}
    report = SyncEngine(device, client_factory=_hostile(lie)).run_once()
    assert not report.wiped and report.commands_refused == 3
    reasons = sorted(reason for _, reason in report.problems)
    assert reasons == ["bad_signature", "replayed_command", "wrong_device"] or reasons == [
        "replayed_command",
        "unknown_coordinator",
        "wrong_device",
    ]
    assert device.path.exists()
    SyncEngine(device, client_factory=default_client_factory).run_once()
