"""Fixtures for the vault tests: fast scrypt (the floor, N=2^15) and helpers to inspect disks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage import Vault
from storage.memory import MemoryVault

PASSPHRASE = "correct horse battery staple"
DURESS = "sunny day in Bishkek"
FAST_LOG_N = 15


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def make_vault(vault_path: Path) -> Iterator[Callable[..., Vault]]:
    opened: list[Vault] = []

    def make(**kwargs: object) -> Vault:
        kwargs.setdefault("kdf_log_n", FAST_LOG_N)
        duress = kwargs.pop("duress_passphrase", None)
        vault = Vault.create(vault_path, PASSPHRASE, duress, **kwargs)  # type: ignore[arg-type]
        opened.append(vault)
        return vault

    yield make
    for vault in opened:
        vault.lock()


@pytest.fixture(params=["encrypted", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The vault contract's subject: the encrypted `Vault` and the in-memory `MemoryVault`."""
    if request.param == "encrypted":
        vault: Any = Vault.create(tmp_path / "v", PASSPHRASE, kdf_log_n=FAST_LOG_N)
    else:
        vault = MemoryVault(PASSPHRASE)
    yield vault
    vault.lock()


@pytest.fixture
def vault(make_vault: Callable[..., Vault]) -> Vault:
    return make_vault()


def all_files(root: Path) -> list[Path]:
    """Every regular file under `root`."""
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            found.append(Path(directory) / name)
    return found


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Relative path -> bytes of every file under `root` (except names in `skip`)."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in all_files(root)
        if path.name not in skip
    }
