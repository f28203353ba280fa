"""The public surface others code against: names exported, and `MemoryVault` matching `Vault`."""

from __future__ import annotations

import inspect

import storage
from storage import Vault
from storage.memory import MemoryVault

FACADE = {
    "create", "open", "exists", "put", "put_many", "unit", "get", "list", "delete", "delete_many",
    "compact", "attach", "read_attachment", "open_attachment", "attachment_info", "attachments",
    "delete_attachment", "spool_writer", "spool_reader", "spool_size", "spool_delete",
    "spool_names", "change_passphrase", "set_duress_passphrase", "lock", "close", "wipe",
}  # fmt: skip
PROPERTIES = {"key_generation", "locked"}


def test_storage_exports_the_facade_and_every_error() -> None:
    expected = {
        "Vault", "wipe_directory", "Attachment", "WipeReport", "VaultError", "WrongPassphrase",
        "VaultInUse", "VaultCorrupt", "VaultNotFound", "VaultExists", "VaultLocked",
        "RecordNotFound", "AttachmentNotFound", "AttachmentCorrupt", "SpoolNotFound",
        "MetadataStripFailed", "StorageFull", "VaultRolledBack",
    }  # fmt: skip
    assert expected <= set(storage.__all__)
    for name in storage.__all__:
        assert hasattr(storage, name), name
    for name in expected - {"Vault", "wipe_directory", "Attachment", "WipeReport"}:
        assert issubclass(getattr(storage, name), storage.VaultError), name


def test_vault_has_the_documented_methods_and_create_signature() -> None:
    assert set(dir(Vault)) >= FACADE
    create = inspect.signature(Vault.create)
    assert list(create.parameters)[:3] == ["path", "passphrase", "duress_passphrase"]
    assert {"kdf_log_n", "wipe_threshold", "extra_dirs"} <= set(create.parameters)
    attach = inspect.signature(Vault.attach).parameters
    assert {"media_type", "name", "keep_metadata", "remove_source"} <= set(attach)


def test_memory_vault_offers_every_instance_method_with_the_same_parameters() -> None:
    for name in FACADE - {"open", "exists"}:
        real = inspect.signature(getattr(Vault, name))
        fake = inspect.signature(getattr(MemoryVault, name))
        real_params = [p for p in real.parameters if p not in ("self", "cls")]
        fake_params = [p for p in fake.parameters if p not in ("self", "cls")]
        assert fake_params == real_params, name


def test_vault_and_memory_vault_share_the_documented_properties() -> None:
    for name in PROPERTIES:
        assert isinstance(inspect.getattr_static(Vault, name), property), name
        assert isinstance(inspect.getattr_static(MemoryVault, name), property), name
