"""Bootstrap, the org document, invites, enrolment, revocation and remote wipe."""

from __future__ import annotations

from typing import Any

from sync import commands as sync_commands
from tests.server.conftest import Server
from tests.server.helpers import Actor, Org


def test_bootstrap_with_a_wrong_token_is_refused_and_nothing_stored(server: Server) -> None:
    answer = server.api.call(
        "POST", "/v1/bootstrap", json={"token": "nope", "org_document": server.org.document()}
    )
    assert answer.status_code == 403
    assert answer.json()["error"] == "bad_token"
    assert server.repo.org_document() is None


def test_bootstrap_registers_the_root_once(server: Server) -> None:
    body = {"token": server.token, "org_document": server.org.document()}
    first = server.api.call("POST", "/v1/bootstrap", json=body)
    assert first.status_code == 201
    assert first.json() == {"root": server.org.fingerprint}
    again = server.api.call("POST", "/v1/bootstrap", json=body)
    assert again.status_code == 409
    assert again.json()["error"] == "already_bootstrapped"


def test_bootstrap_refuses_a_document_with_a_bad_signature(server: Server) -> None:
    document = server.org.document()
    document["doc"]["org"] = "Someone else"
    answer = server.api.call(
        "POST", "/v1/bootstrap", json={"token": server.token, "org_document": document}
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "bad_document"
    assert server.repo.org_document() is None


def test_device_reads_the_org_document_exactly_as_signed(org_server: Server, device: Actor) -> None:
    answer = org_server.api.call("GET", "/v1/org-document", device)
    assert answer.status_code == 200
    assert answer.json() == org_server.org.document()


def test_newer_org_document_replaces_coordinators(org_server: Server, device: Actor) -> None:
    org = org_server.org
    newcomer = Actor.new()
    document = org.document(version=2, coordinators=[newcomer])
    answer = org_server.api.call("PUT", "/v1/org-document", org.coordinator, json=document)
    assert answer.status_code == 200, answer.text
    assert org_server.api.call("GET", "/v1/devices", newcomer).status_code == 200
    refused = org_server.api.call("GET", "/v1/devices", org.coordinator)
    assert refused.status_code == 403


def test_org_document_of_the_same_version_is_stale(org_server: Server) -> None:
    org = org_server.org
    answer = org_server.api.call("PUT", "/v1/org-document", org.coordinator, json=org.document())
    assert answer.status_code == 409
    assert answer.json()["error"] == "stale_version"


def test_org_document_under_another_root_is_refused(org_server: Server) -> None:
    impostor = Org.new()
    impostor.coordinator = org_server.org.coordinator
    answer = org_server.api.call(
        "PUT", "/v1/org-document", org_server.org.coordinator, json=impostor.document(version=5)
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "bad_document"
    assert org_server.repo.org_document().version == 1  # type: ignore[union-attr]


def test_invite_is_single_use(org_server: Server) -> None:
    api = org_server.api
    token = api.call(
        "POST", "/v1/invites", org_server.org.coordinator, json={"expires_in": 60}
    ).json()["token"]
    first, second = Actor.new(), Actor.new()
    body = {"token": token, "recipient": first.recipient}
    assert api.call("POST", "/v1/enrol", first, json=body).status_code == 201
    answer = api.call("POST", "/v1/enrol", second, json={**body, "recipient": second.recipient})
    assert answer.status_code == 403
    assert answer.json()["error"] == "invalid_token"
    assert org_server.repo.device(second.id) is None


def test_expired_invite_is_refused(org_server: Server) -> None:
    api = org_server.api
    token = api.call(
        "POST", "/v1/invites", org_server.org.coordinator, json={"expires_in": 60}
    ).json()["token"]
    org_server.clock.now += 61
    newcomer = Actor.new()
    answer = api.call(
        "POST", "/v1/enrol", newcomer, json={"token": token, "recipient": newcomer.recipient}
    )
    assert answer.status_code == 403
    assert answer.json()["error"] == "invalid_token"


def test_invite_token_is_stored_only_as_a_hash(org_server: Server) -> None:
    token = org_server.api.call(
        "POST", "/v1/invites", org_server.org.coordinator, json={"expires_in": 60}
    ).json()["token"]
    db = org_server.config.data_dir / "server.sqlite3"
    if db.exists():
        for path in db.parent.glob("server.sqlite3*"):
            assert token.encode() not in path.read_bytes()


def test_enrolling_the_same_key_twice_is_refused(org_server: Server, device: Actor) -> None:
    token = org_server.api.call(
        "POST", "/v1/invites", org_server.org.coordinator, json={"expires_in": 60}
    ).json()["token"]
    answer = org_server.api.call(
        "POST", "/v1/enrol", device, json={"token": token, "recipient": device.recipient}
    )
    assert answer.status_code == 409
    assert answer.json()["error"] == "already_enrolled"


def test_enrolment_refuses_a_recipient_that_is_not_age(org_server: Server) -> None:
    token = org_server.api.call(
        "POST", "/v1/invites", org_server.org.coordinator, json={"expires_in": 60}
    ).json()["token"]
    newcomer = Actor.new()
    answer = org_server.api.call(
        "POST", "/v1/enrol", newcomer, json={"token": token, "recipient": "ssh-ed25519 AAAA"}
    )
    assert answer.status_code == 422
    assert org_server.repo.device(newcomer.id) is None


def test_device_list_shows_what_coordinators_need(org_server: Server, device: Actor) -> None:
    org_server.api.push(device, [device.envelope(), device.envelope()])
    devices = org_server.api.call("GET", "/v1/devices", org_server.org.coordinator).json()[
        "devices"
    ]
    assert len(devices) == 1
    entry = devices[0]
    assert entry["id"] == device.id
    assert entry["label"] == "phone"
    assert entry["signing_key"] == device.public
    assert entry["recipient"] == device.recipient
    assert (entry["envelopes"], entry["last_seq"], entry["chain"]) == (2, 2, "ok")
    assert (entry["revoked"], entry["wipe"]) == (False, "none")


def test_revoking_an_unknown_device_is_not_found(org_server: Server) -> None:
    answer = org_server.api.call(
        "POST", f"/v1/devices/{'d' * 32}/revoke", org_server.org.coordinator
    )
    assert answer.status_code == 404


def _wipe(server: Server, device: Actor, signer: Actor | None = None) -> dict[str, Any]:
    coordinator = signer or server.org.coordinator
    signed = sync_commands.sign_command(
        device.id, "wipe", coordinator_key=coordinator.key, now=server.clock()
    )
    return sync_commands.to_wire(signed)


def test_remote_wipe_is_delivered_acknowledged_and_shown(org_server: Server, device: Actor) -> None:
    api, coordinator = org_server.api, org_server.org.coordinator
    command = _wipe(org_server, device)
    assert api.call("POST", "/v1/commands", coordinator, json=command).status_code == 201
    listing = api.call("GET", "/v1/devices", coordinator).json()["devices"]
    assert listing[0]["wipe"] == "pending"
    pending = api.call("GET", "/v1/commands", device).json()["commands"]
    assert pending == [command]
    ack = api.call("POST", f"/v1/commands/{command['cmd']['id']}/ack", device)
    assert ack.status_code == 200
    assert api.call("GET", "/v1/commands", device).json()["commands"] == []
    assert api.call("GET", "/v1/devices", coordinator).json()["devices"][0]["wipe"] == "done"


def test_revoked_device_still_receives_its_wipe(org_server: Server, device: Actor) -> None:
    api, coordinator = org_server.api, org_server.org.coordinator
    api.call("POST", f"/v1/devices/{device.id}/revoke", coordinator)
    command = _wipe(org_server, device)
    assert api.call("POST", "/v1/commands", coordinator, json=command).status_code == 201
    # It can verify the command against the org document, and fetch and acknowledge it.
    assert api.call("GET", "/v1/org-document", device).status_code == 200
    assert api.call("GET", "/v1/commands", device).json()["commands"] == [command]
    assert api.call("POST", f"/v1/commands/{command['cmd']['id']}/ack", device).status_code == 200


def test_command_signed_by_someone_else_is_refused(org_server: Server, device: Actor) -> None:
    stranger = Actor.new()
    answer = org_server.api.call(
        "POST", "/v1/commands", org_server.org.coordinator, json=_wipe(org_server, device, stranger)
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "bad_command"
    assert org_server.repo.row_counts()["commands"] == 0


def test_device_cannot_acknowledge_another_devices_command(
    org_server: Server, device: Actor
) -> None:
    other = org_server.api.enrol(org_server.org, "other")
    command = _wipe(org_server, device)
    org_server.api.call("POST", "/v1/commands", org_server.org.coordinator, json=command)
    answer = org_server.api.call("POST", f"/v1/commands/{command['cmd']['id']}/ack", other)
    assert answer.status_code == 404
    assert org_server.api.call("GET", "/v1/commands", device).json()["commands"] == [command]


def test_command_for_an_unknown_device_is_not_found(org_server: Server) -> None:
    ghost = Actor.new()
    answer = org_server.api.call(
        "POST", "/v1/commands", org_server.org.coordinator, json=_wipe(org_server, ghost)
    )
    assert answer.status_code == 404


def test_an_unchanged_org_document_is_answered_not_modified_without_a_body(
    org_server: Server, device: Actor
) -> None:
    first = org_server.api.call("GET", "/v1/org-document", device)
    etag = first.headers["ETag"]
    again = org_server.api.call("GET", "/v1/org-document", device, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    stale = org_server.api.call(
        "GET", "/v1/org-document", device, headers={"If-None-Match": '"0123456789abcdef"'}
    )
    assert stale.status_code == 200 and stale.json() == org_server.org.document()


def test_a_device_is_told_whether_commands_or_messages_wait(
    org_server: Server, device: Actor
) -> None:
    answer = org_server.api.call("GET", "/v1/org-document", device, query="messages_after=0")
    assert answer.headers["X-FieldVault-Commands"] == "0"
    assert answer.headers["X-FieldVault-Messages"] == "0"
    coordinator = org_server.api.call(
        "GET", "/v1/org-document", org_server.org.coordinator, query="messages_after=0"
    )
    assert "X-FieldVault-Commands" not in coordinator.headers
