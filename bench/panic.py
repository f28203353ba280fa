"""Field app panic benchmark: how long the owner's panic wipe takes through the app's service.

    python -m bench.panic [--quick]        prints JSON

`bench.vault`'s `wipe` measures the vault alone. This one measures what the panic control
calls, `VaultFieldService.wipe()`, on a phone's worth of data: 5,000 notes, 200 drafts, 10
attachments of 5 MB (2 with --quick) and a cache directory holding 20 plaintext files of 2 MB
(the picker's and the camera's copies), both unlocked (the red button in the app) and locked
(the lock screen and the calculator, where the keys are not in memory). Budget: under 1 s
(docs/field-app.md, "The panic wipe"); `left` lists any file the wipe left (none expected).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.services.field import VaultFieldService
from core.records import Kind, Record, Status

PASSPHRASE = "bench panic passphrase 42"  # noqa: S105 - a throw-away benchmark vault
LOG_N = 15  # the scrypt floor: unlock time is not what is measured


def _phone(root: Path, quick: bool) -> VaultFieldService:
    cache = root / "cache"
    cache.mkdir()
    for n in range(20):
        (cache / f"copy-{n}.jpg").write_bytes(os.urandom(2_000_000))
    service = VaultFieldService(root / "data", kdf_log_n=LOG_N, extra_dirs=(cache,))
    service.create(PASSPHRASE, language="kk")
    notes = [
        Record(kind=Kind.NOTE, data={"text": "x" * 500}, status=Status.LOCAL) for _ in range(5000)
    ]
    service._v().put_many(notes)
    for _ in range(200):
        service.save_draft(None, "incident", "", {"answers": {"description": "жоба " * 100}})
    for n in range(2 if quick else 10):
        service.attach_bytes(os.urandom(5_000_000), name=f"video-{n}.bin")
    return service


def bench_panic(quick: bool) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for locked in (False, True):
        with tempfile.TemporaryDirectory(prefix="fieldvault-bench-panic-") as tmp:
            root = Path(tmp)
            service = _phone(root, quick)
            if locked:
                service.lock()
            os.sync()
            started = time.perf_counter()
            service.wipe()
            elapsed = time.perf_counter() - started
            left = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
            result["locked" if locked else "unlocked"] = {"ms": elapsed * 1000, "left": left}
    return result


if __name__ == "__main__":
    print(json.dumps(bench_panic(quick="--quick" in sys.argv[1:]), indent=2))
