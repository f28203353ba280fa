"""The check key on the server (SQLite and PostgreSQL): a device registers it, and the key then
fetches that device's pending commands with the org document, and nothing else."""

from __future__ import annotations

import json
from typing import Any

from sync import checkkey
from sync import commands as sync_commands
from sync.auth import sign_request
from sync.encoding import b64u_encode
from tests.server.conftest import Server
from tests.server.helpers import Actor


def _register(server: Server, device: Actor, check: Actor, *, proof_for: str | None = None) -> Any:
    body = {
        "check_key": check.public,
        "proof": b64u_encode(checkkey.proof(check.key, proof_for or device.id)),
    }
    return server.api.call("PUT", "/v1/devices/me/check-key", device, json=body)


def _wipe(server: Server, device: Actor) -> dict[str, Any]:
    signed = sync_commands.sign_command(
        device.id, "wipe", coordinator_key=server.org.coordinator.key, now=server.clock()
    )
    wire = sync_commands.to_wire(signed)
    answer = server.api.call("POST", "/v1/commands", server.org.coordinator, json=wire)
    assert answer.status_code == 201, answer.text
    return wire


def test_a_check_key_fetches_its_devices_commands_and_the_org_document(
    org_server: Server, device: Actor
) -> None:
    check = Actor.new()
    assert _register(org_server, device, check).status_code == 200
    wire = _wipe(org_server, device)
    answer = org_server.api.call("GET", "/v1/commands/pending", check)
    assert answer.status_code == 200, answer.text
    stored = org_server.repo.org_document()
    assert stored is not None
    assert answer.json() == {"commands": [wire], "org_document": json.loads(stored.document)}


def test_a_revoked_devices_check_key_still_fetches_its_wipe(
    org_server: Server, device: Actor
) -> None:
    check = Actor.new()
    assert _register(org_server, device, check).status_code == 200
    org_server.api.call("POST", f"/v1/devices/{device.id}/revoke", org_server.org.coordinator)
    wire = _wipe(org_server, device)
    answer = org_server.api.call("GET", "/v1/commands/pending", check)
    assert answer.json()["commands"] == [wire]


def test_the_check_key_is_refused_everywhere_else(org_server: Server, device: Actor) -> None:
    api = org_server.api
    check = Actor.new()
    assert _register(org_server, device, check).status_code == 200
    wire = _wipe(org_server, device)
    command_id = wire["cmd"]["id"]
    envelope = check.envelope(kind="report")
    attempts = [
        ("GET", "/v1/commands", None),
        ("POST", f"/v1/commands/{command_id}/ack", None),
        ("POST", "/v1/envelopes", {"envelopes": [envelope]}),
        ("GET", "/v1/envelopes", None),
        ("GET", "/v1/messages", None),
        ("GET", "/v1/org-document", None),
        ("GET", "/v1/devices", None),
        ("POST", "/v1/invites", {"expires_in": 60}),
        ("PUT", "/v1/devices/me/check-key", {"check_key": check.public, "proof": "A" * 86}),
        ("POST", "/v1/blobs", {"id": "0" * 32, "size": 1, "sha256": "0" * 64}),
    ]
    for method, path, body in attempts:
        answer = api.call(method, path, check, json=body)
        assert answer.status_code in (401, 403, 422), (method, path, answer.text)
        assert answer.status_code != 422 or path == "/v1/devices/me/check-key", (path, answer.text)
    # The command is still pending: nothing the check key sent acknowledged it.
    assert api.call("GET", "/v1/commands", device).json()["commands"] == [wire]
    assert org_server.repo.row_counts()["envelopes"] == 0


def test_a_check_key_cannot_enrol_even_with_a_valid_invite(
    org_server: Server, device: Actor
) -> None:
    api = org_server.api
    check = Actor.new()
    assert _register(org_server, device, check).status_code == 200
    invite = api.call("POST", "/v1/invites", org_server.org.coordinator, json={"expires_in": 60})
    body = {"token": invite.json()["token"], "recipient": check.recipient}
    answer = api.call("POST", "/v1/enrol", check, json=body)
    assert answer.status_code == 403
    assert answer.json()["error"] == "check_key_only"


def test_a_check_key_without_proof_of_possession_is_refused(
    org_server: Server, device: Actor
) -> None:
    check = Actor.new()
    answer = _register(org_server, device, check, proof_for="f" * 32)
    assert answer.status_code == 422
    assert answer.json()["error"] == "bad_check_key"
    assert org_server.api.call("GET", "/v1/commands/pending", check).status_code == 403


def test_another_devices_check_key_or_signing_key_cannot_be_registered(
    org_server: Server, device: Actor
) -> None:
    other = org_server.api.enrol(org_server.org, "second")
    check = Actor.new()
    assert _register(org_server, device, check).status_code == 200
    taken = _register(org_server, other, check, proof_for=other.id)
    assert taken.status_code == 409
    assert taken.json()["error"] == "check_key_taken"
    own_key = _register(org_server, device, other, proof_for=device.id)
    assert own_key.status_code == 409


def test_registering_again_replaces_the_old_check_key(org_server: Server, device: Actor) -> None:
    first, second = Actor.new(), Actor.new()
    assert _register(org_server, device, first).status_code == 200
    assert _register(org_server, device, second).status_code == 200
    assert org_server.api.call("GET", "/v1/commands/pending", first).status_code == 403
    assert org_server.api.call("GET", "/v1/commands/pending", second).status_code == 200


def test_only_an_enrolled_unrevoked_device_registers_a_check_key(
    org_server: Server, device: Actor
) -> None:
    outsider = Actor.new()
    assert _register(org_server, outsider, Actor.new()).status_code == 403
    org_server.api.call("POST", f"/v1/devices/{device.id}/revoke", org_server.org.coordinator)
    answer = _register(org_server, device, Actor.new())
    assert answer.status_code == 403
    assert answer.json()["error"] == "device_revoked"


def test_a_replayed_check_request_is_refused(org_server: Server, device: Actor) -> None:
    check = Actor.new()
    assert _register(org_server, device, check).status_code == 200
    headers = sign_request(check.key, "GET", "/v1/commands/pending", b"", now=org_server.clock())
    first = org_server.api.call("GET", "/v1/commands/pending", headers=headers)
    again = org_server.api.call("GET", "/v1/commands/pending", headers=headers)
    assert first.status_code == 200
    assert again.status_code == 401
    assert again.json()["error"] == "replayed_request"
