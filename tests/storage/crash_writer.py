"""Child process for the crash tests: writes to a vault and prints what was acknowledged.

`python crash_writer.py PATH PASSPHRASE SEED` opens the vault, prints `ready`, then loops:
saves new records (alone or with put_many), updates earlier ones and now and then compacts,
printing `P <id>` / `U <id> <version>` only after the call returned. The parent kills it with
SIGKILL at a random moment.
"""

from __future__ import annotations

import random
import sys

from core.records import Record
from storage import Vault


def main(path: str, passphrase: str, seed: int) -> None:
    rng = random.Random(seed)
    vault = Vault.open(path, passphrase)
    print("ready", flush=True)
    saved: list[Record] = []
    step = 0
    while True:
        step += 1
        choice = rng.random()
        if choice < 0.5 or not saved:
            record = vault.put(Record(kind="note", data={"text": "x" * rng.randrange(2000)}))
            print(f"P {record.id}", flush=True)
            saved.append(record)
        elif choice < 0.7:
            batch = vault.put_many(
                [Record(kind="incident", data={"n": i}) for i in range(rng.randrange(1, 6))]
            )
            print("\n".join(f"P {r.id}" for r in batch), flush=True)
            saved.extend(batch)
        elif choice < 0.97:
            index = rng.randrange(len(saved))
            updated = vault.put(saved[index])
            saved[index] = updated
            print(f"U {updated.id} {updated.version}", flush=True)
        else:
            vault.compact()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
