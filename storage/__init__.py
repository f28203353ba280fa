"""Everything FieldVault writes to a device's (or coordinator's) disk: the encrypted vault.

Use `Vault` (create, open, put/get/list/delete, `unit()` for an atomic read-modify-write,
attach/read_attachment/open_attachment, spool_*, change_passphrase, set_duress_passphrase,
settings, lock, wipe) and, without any key,
`wipe_directory(path, extra_dirs=())` for a panic or remote wipe of a locked vault. Unit tests
of other parts use `storage.memory.MemoryVault`, which has the same interface.

Map:
- `vault`: the facade.             - `keyfile`: master key in fixed-size passphrase slots.
- `keystate`: the journal key and rollback counter, sealed into the key file, rewritten in place.
- `journal`: encrypted append-only record log with atomic compaction.
- `table`: decrypted records in memory, queried through TinyDB.
- `codec`: sub-keys and record sealing.  - `blobs`: streaming-encrypted attachments.
- `unit`: the unit of work `vault.unit()` hands out (staged puts and deletes, one entry).
- `photos`: metadata removal.      - `spool`: staging for others' ciphertext.
- `attempts`: failed-unlock counter.  - `wipe`: the panic wipe.  - `lock`, `files`, `layout`.
- `launch`: the pre-unlock launch file beside the directory (language only; none when disguised).
Formats byte by byte: docs/formats/vault.md.

Errors (`storage.errors`):

```
VaultError
├── WrongPassphrase(attempts_left)   ├── VaultInUse        ├── VaultCorrupt(what)
├── VaultNotFound                    ├── VaultExists       │   └── VaultRolledBack(what)
├── VaultLocked
├── RecordNotFound(record_id)        ├── AttachmentNotFound(attachment_id)
├── AttachmentCorrupt(attachment_id) ├── SpoolNotFound(name)
├── MetadataStripFailed              ├── StorageFull
└── VaultFormatTooNew(what, version)  a file from a newer release: refused, nothing touched
```

Danger: opening with the duress passphrase, or a wrong passphrase at the threshold, wipes the
vault; `wipe()` and `wipe_directory()` are irreversible. Nothing outside this package may open
files in a data directory.
"""

from typing import TYPE_CHECKING

from storage.blobs import Attachment
from storage.errors import (
    AttachmentCorrupt,
    AttachmentNotFound,
    MetadataStripFailed,
    RecordNotFound,
    SpoolNotFound,
    StorageFull,
    VaultCorrupt,
    VaultError,
    VaultExists,
    VaultFormatTooNew,
    VaultInUse,
    VaultLocked,
    VaultNotFound,
    VaultRolledBack,
    WrongPassphrase,
)
from storage.keyfile import KdfParams
from storage.vault import OpenReport, Vault, VaultSettings
from storage.wipe import WipeReport, wipe_directory

if TYPE_CHECKING:  # both stores keep the promise sync and the services are typed against
    from core.vault_port import DeviceVaultPort
    from storage.memory import MemoryVault

    _STORES: tuple[type[DeviceVaultPort], ...] = (Vault, MemoryVault)

__all__ = [
    "Attachment",
    "AttachmentCorrupt",
    "AttachmentNotFound",
    "KdfParams",
    "MetadataStripFailed",
    "OpenReport",
    "RecordNotFound",
    "SpoolNotFound",
    "StorageFull",
    "Vault",
    "VaultCorrupt",
    "VaultError",
    "VaultExists",
    "VaultFormatTooNew",
    "VaultInUse",
    "VaultLocked",
    "VaultNotFound",
    "VaultRolledBack",
    "VaultSettings",
    "WipeReport",
    "WrongPassphrase",
    "wipe_directory",
]
