"""The record store as the layers above storage see it: a typed port, free of I/O.

`storage.Vault` (encrypted, on disk) and `storage.memory.MemoryVault` (tests) both satisfy
`VaultPort`; sync and services are typed against it so mypy sees every call into storage.
Read-modify-write cycles on shared records run under `sync.device.state_lock(vault)` and end in
one `put_many`, which the vault writes all or nothing.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any, Protocol

from core.records import Record


class VaultPort(Protocol):
    def get(self, record_id: str) -> Record: ...
    def put(self, record: Record) -> Record: ...
    def put_many(self, records: Iterable[Record]) -> builtins.list[Record]: ...
    def list(self, kind: str | None = None, where: Any = None) -> builtins.list[Record]: ...
    def delete(self, record_id: str) -> None: ...
    def delete_many(self, record_ids: Iterable[str]) -> None: ...
