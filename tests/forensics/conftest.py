"""Fixtures for the forensic suite: a vault on the fastest allowed scrypt, markers, scanners."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage import Vault
from tests.forensics import examiner

PASSPHRASE = "walnut orchard lantern 1987 Naryn"
DURESS = "sunny morning in Karakol"
FAST_LOG_N = 15
MARKER = "QXFORENSIC-жертва-5521"


def forms(marker: str = MARKER) -> list[bytes]:
    """The ways the marker could appear in bytes: UTF-8, UTF-16, JSON-escaped, its parts."""
    return [
        marker.encode("utf-8"),
        marker.encode("utf-16-le"),
        json.dumps(marker).encode("ascii"),
        marker.split("-")[0].encode("ascii"),
        marker.split("-")[1].encode("utf-8"),
    ]


def hits(data: bytes, marker: str = MARKER) -> int:
    return sum(data.count(form) for form in forms(marker))


def disk_hits(root: Path, marker: str = MARKER) -> list[str]:
    """Files under `root` whose raw bytes hold the marker in any form."""
    return [
        str(path.relative_to(root))
        for path, data in examiner.files_under(root).items()
        if hits(data, marker)
    ]


def decoded_hits(root: Path, passphrase: str, *extra_journals: bytes) -> int:
    """Marker hits in everything the passphrase decodes from the directory's key file, applied
    to every journal-shaped file in it and to `extra_journals` (copies an examiner recovered)."""
    files = examiner.files_under(root)
    key_file = files.get(root / "key", b"")
    journals = [*examiner.journal_shaped(files), *extra_journals]
    return hits(examiner.everything_readable(key_file, passphrase, journals))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "phone" / "vault"


@pytest.fixture
def make_vault(data_dir: Path) -> Iterator[Callable[..., Vault]]:
    opened: list[Vault] = []

    def make(**kwargs: object) -> Vault:
        kwargs.setdefault("kdf_log_n", FAST_LOG_N)
        duress = kwargs.pop("duress_passphrase", None)
        vault = Vault.create(data_dir, PASSPHRASE, duress, **kwargs)  # type: ignore[arg-type]
        opened.append(vault)
        return vault

    yield make
    for vault in opened:
        vault.lock()


def reopen(data_dir: Path, passphrase: str = PASSPHRASE) -> Vault:
    return Vault.open(data_dir, passphrase)
