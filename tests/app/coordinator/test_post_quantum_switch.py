"""A classic organisation switches to post-quantum keys: every coordinator prepares hybrid keys,
the root holder publishes the switch with their signed key updates, phones seal post-quantum
from their next sync, and nothing sealed before is lost. Against the real server."""

from __future__ import annotations

import pytest

from app.services.coordinator_types import CoordinatorError
from core.crypto.signing import SigningKey
from sync import age
from sync.coordinator import pq_switch
from sync.encoding import b64u_decode, b64u_encode, canonical_json, parse_json_strict
from tests.app.coordinator.worlds import PASSPHRASE, RealWorld

BACKUP_PASSPHRASE = "a long backup passphrase"
HYBRID = {"mlkem768x25519"}
CLASSIC = {"X25519"}


@pytest.fixture
def world(tmp_path):
    w = RealWorld(tmp_path)
    try:
        w.setup()
        second = w.second_service(tmp_path)
        second.setup_join(
            passphrase=PASSPHRASE,
            server_url=w.service.info().server_url,
            backup=w.service.backup_root(BACKUP_PASSPHRASE),
            backup_passphrase=BACKUP_PASSPHRASE,
            coordinator_name="Бек",
        )
        w.service.add_coordinator(second.join_request())
        w.second = second
        yield w
    finally:
        w.close()


def _fields(code: str) -> dict:
    return parse_json_strict(b64u_decode(code[len(pq_switch.KEY_UPDATE_PREFIX) :]))


def _recode(fields: dict) -> str:
    return pq_switch.KEY_UPDATE_PREFIX + b64u_encode(canonical_json(fields))


def test_a_classic_organisation_switches_and_reads_reports_from_before_and_after(world) -> None:
    first, second = world.service, world.second
    device = world.enrol_device("Osh phone")
    before = world.report(device, {"description": "до перехода"})
    assert first.pull().cases == 1 and second.pull().cases == 1
    assert set(first.case(before).custody.recipients) == CLASSIC
    assert first.info().post_quantum is False

    in_transit = world.report(device, {"description": "в пути"})  # sealed classic, not pulled
    code = second.prepare_post_quantum()
    assert second.prepare_post_quantum() == code  # once: the same keys again
    version = first.switch_to_post_quantum([code])
    assert first.info().post_quantum and first.info().org_version == version

    world.sync(device)  # the phone learns the new document
    after = world.report(device, {"description": "после перехода"})
    for coordinator in (first, second):
        coordinator.pull()
        assert coordinator.info().post_quantum
        assert set(coordinator.case(after).custody.recipients) == HYBRID
        assert set(coordinator.case(before).custody.recipients) == CLASSIC  # still opens
        assert any(f.value == "после перехода" for f in coordinator.case(after).fields)
        assert any(f.value == "до перехода" for f in coordinator.case(before).fields)
        assert set(coordinator.case(in_transit).custody.recipients) == CLASSIC
        assert any(f.value == "в пути" for f in coordinator.case(in_transit).fields)


def test_the_switch_waits_for_every_coordinator_and_names_who_is_missing(world) -> None:
    version = world.service.info().org_version
    with pytest.raises(CoordinatorError) as missing:
        world.service.switch_to_post_quantum([])
    assert missing.value.reason == "missing_key_updates" and "Бек" in missing.value.detail
    assert world.service.info().org_version == version and not world.service.info().post_quantum


def test_a_key_update_not_signed_by_that_coordinator_is_refused(world) -> None:
    genuine = world.second.prepare_post_quantum()
    fields = _fields(genuine)
    forged_recipient = age.generate_identity(pq=True)[1]
    swapped = _recode({**fields, "recipient": forged_recipient})  # a relay swaps the key
    stranger = SigningKey.generate()
    message = pq_switch.KEY_UPDATE_CONTEXT + canonical_json(
        {"id": fields["id"], "recipient": forged_recipient}
    )
    resigned = _recode(
        {**fields, "recipient": forged_recipient, "sig": b64u_encode(stranger.sign(message))}
    )
    for code, reason in [
        (swapped, "bad_signature"),
        (resigned, "bad_signature"),
        ("FVK1-not-a-code", "invalid_key_update"),
        (_recode({**fields, "id": "0" * 16}), "unknown_coordinator"),
    ]:
        with pytest.raises(CoordinatorError) as refused:
            world.service.switch_to_post_quantum([code])
        assert refused.value.reason == reason, code
    assert not world.service.info().post_quantum


def test_a_classic_key_update_cannot_pass_for_a_post_quantum_one(world) -> None:
    from sync.coordinator.identity import load_identity

    identity = load_identity(world.second.vault)  # before prepare: still classic
    classic = pq_switch.encode_key_update(identity)
    with pytest.raises(CoordinatorError) as refused:
        world.service.switch_to_post_quantum([classic])
    assert refused.value.reason == "not_post_quantum"


def test_a_switched_organisation_cannot_switch_again(world) -> None:
    world.service.switch_to_post_quantum([world.second.prepare_post_quantum()])
    with pytest.raises(CoordinatorError) as again:
        world.service.switch_to_post_quantum([])
    assert again.value.reason == "already_post_quantum"


def test_the_exported_identity_opens_exports_made_before_and_after_the_switch(world) -> None:
    world.report(world.enrol_device(), {"description": "задержание"})
    first = world.service
    first.pull()
    old_export = first.export("csv", identifying=True).data
    first.switch_to_post_quantum([world.second.prepare_post_quantum()])
    new_export = first.export("csv", identifying=True).data
    assert set(age.stanza_types(new_export)) == HYBRID
    assert set(age.stanza_types(old_export)) == CLASSIC
    identity_file = first.export_identity(plain=True).decode()
    keys = age.parse_identity_file(identity_file)
    assert len(keys) == 2
    for sealed in (old_export, new_export):
        assert "задержание" in age.decrypt(sealed, keys).decode("utf-8")
