"""Device identity and sync state: kept in the vault, in separate records, secrets never shown."""

from __future__ import annotations

from storage.memory import MemoryVault
from sync import age
from sync.device import (
    CHAIN_ID,
    IDENTITY_ID,
    SYNC_STATE_ID,
    ChainState,
    DeviceIdentity,
    SyncState,
    create_identity,
    load_chain,
    load_settings,
    load_sync_state,
    save_sync_state,
)
from sync.keys import key_id


def test_an_identity_survives_a_round_trip_through_the_vault() -> None:
    vault = MemoryVault()
    created = create_identity(
        vault,
        server_url="https://org.example",
        root_fingerprint="ab" * 16,
        invite_token="tok",
        tls_pin="cd" * 32,
        proxy="socks5h://127.0.0.1:9050",
        label="phone",
    )
    loaded = DeviceIdentity.load(vault)
    assert loaded is not None
    assert loaded.device_id == created.device_id == key_id(created.signing_key.public_bytes())
    assert loaded.recipient == age.recipient_of(created.age_identity)
    assert (loaded.tls_pin, loaded.proxy, loaded.invite_token) == (
        "cd" * 32,
        "socks5h://127.0.0.1:9050",
        "tok",
    )
    assert not loaded.enrolled


def test_secrets_do_not_appear_in_the_identitys_text_form() -> None:
    identity = create_identity(
        MemoryVault(), server_url="https://o.example", root_fingerprint="ab" * 16, invite_token="t"
    )
    text = repr(identity)
    assert identity.age_identity not in text
    assert "SigningKey(<secret>)" in text


def test_chain_sync_state_and_identity_are_separate_records() -> None:
    vault = MemoryVault()
    create_identity(
        vault, server_url="https://o.example", root_fingerprint="ab" * 16, invite_token="t"
    )
    vault.put(ChainState(seq=4, last_hash="f" * 64).to_record())
    save_sync_state(vault, SyncState(message_cursor=9, executed_commands=["x"]))
    assert len({IDENTITY_ID, CHAIN_ID, SYNC_STATE_ID}) == 3
    assert load_chain(vault) == ChainState(4, "f" * 64)
    assert load_sync_state(vault).message_cursor == 9
    assert vault.get(CHAIN_ID).data == {"seq": 4, "last_hash": "f" * 64}


def test_a_fresh_vault_has_defaults_and_send_and_forget_is_on() -> None:
    vault = MemoryVault()
    assert DeviceIdentity.load(vault) is None
    assert load_chain(vault).seq == 0
    assert load_sync_state(vault).org_document is None
    assert load_settings(vault).send_and_forget is True
