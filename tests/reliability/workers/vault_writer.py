"""Write records into a vault forever, printing each id only after the vault acknowledged it.

    python -m tests.reliability.workers.vault_writer DATA_DIR SEED

Mixes single puts, atomic `put_many` batches, overwrites of earlier records and compactions, so
a SIGKILL lands in any of them. Every record's data carries its own id and a digest of its
payload, so the parent can tell intact from damaged. Lines on stdout:

    intent <id> [<id>...]   about to save these records in one operation
    ack <id> <version>      the record (or every record of a batch) is saved
    compacted               a compaction finished
"""

from __future__ import annotations

import hashlib
import random
import sys
from pathlib import Path

from core.records import Kind, Record

PASSPHRASE = "crash test passphrase"
MAX_RECORDS = 3000  # beyond this, only overwrites: later kills stay as fast as early ones


def body(record_id: str, version: int, rng: random.Random) -> dict[str, object]:
    filler = rng.randbytes(rng.choice([16, 200, 3000])).hex()
    digest = hashlib.sha256(f"{record_id}:{version}:{filler}".encode()).hexdigest()
    return {"id_echo": record_id, "v": version, "filler": filler, "digest": digest}


def main(data_dir: str, seed: int) -> None:
    from storage import Vault

    path = Path(data_dir)
    rng = random.Random(seed)
    if Vault.exists(path):
        vault = Vault.open(path, PASSPHRASE)
    else:
        vault = Vault.create(path, PASSPHRASE, kdf_log_n=15)
    versions = {r.id: r.data["v"] for r in vault.list(kind=Kind.NOTE)}
    out = sys.stdout
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        roll = rng.random()
        if roll < 0.1 and hasattr(vault, "compact"):
            vault.compact()
            print("compacted", file=out, flush=True)
            continue
        if versions and (roll < 0.3 or len(versions) >= MAX_RECORDS):
            record_id = rng.choice(sorted(versions))
            version = versions[record_id] + 1
            records = [Record(id=record_id, kind=Kind.NOTE, data=body(record_id, version, rng))]
        else:
            count = 1 if roll < 0.7 else rng.randint(2, 8)
            records = []
            for _ in range(count):
                record_id = f"{seed}-{n}-{len(records)}"
                records.append(Record(id=record_id, kind=Kind.NOTE, data=body(record_id, 1, rng)))
        print("intent " + " ".join(r.id for r in records), file=out, flush=True)
        if len(records) == 1:
            vault.put(records[0])
        else:
            vault.put_many(records)
        for record in records:
            versions[record.id] = record.data["v"]
            print(f"ack {record.id} {record.data['v']}", file=out, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
