"""Vault benchmark: saving, opening, attachments and the panic wipe, beside stock TinyDB.

    python -m bench.vault [--quick]        prints JSON

Measures, in one run on one machine:
- `save`: latency of saving one record (each fsync'd) into vaults holding 100, 1,000 and
  10,000 records, p50/p95, beside stock TinyDB's `JSONStorage` (unencrypted, no fsync) at the
  same sizes; `ratio_10000_vs_100` (ours, p50; budget <= 1.5) and `speedup_vs_tinydb_10000`
  (TinyDB p50 / ours p50; budget >= 20).
- `open_list_10000_s`: open a vault of 10,000 records and list them all, minus the scrypt time
  measured separately with the same parameters (budget <= 1 s); then a filtered list, the first
  one (which decodes every record for TinyDB) and a second one (a TinyDB `Query`).
- `attachment`: encrypt (attach from a file) and decrypt (stream to nowhere) throughput in MB/s
  for 200 MB (32 MB with --quick), and the peak Python heap growth (tracemalloc) of each.
- `wipe`: key destroyed / everything gone in ms, with 10,000 records and 500 MB of attachments
  (64 MB with --quick) (budgets 50 ms / 1,000 ms).
- `forget`: what forgetting costs at 100 and 10,000 records: `compact()` (new journal under a
  fresh key, old journal overwritten, old key destroyed; what the sync engine calls after it
  forgets a report), `delete()` of one record and `delete_attachment()` of a 200 KB one
  (each of which compacts), p50/p95.
The scrypt cost is the floor (N=2^15) everywhere: unlock time is not what is measured here.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB

from bench.harness import elapsed, sample_times
from core.records import Record
from storage import Vault
from storage.keyfile import derive_kek

MB = 1_000_000
PASSPHRASE = "benchmark passphrase"  # noqa: S105 - a throw-away benchmark vault
LOG_N = 15


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(p: float) -> float:
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1] * 1000

    return {"n": len(ordered), "p50_ms": pick(50), "p95_ms": pick(95)}


def _incident(i: int) -> Record:
    return Record(
        kind="incident",
        data={
            "title": f"Detention near the bazaar #{i}",
            "region": ["Chui", "Osh", "Naryn", "Talas"][i % 4],
            "description": "Officers stopped two people, took their phones, demanded money. " * 5,
            "victims": [{"label": f"V{i}", "age": 20 + i % 30}],
            "perpetrators": ["police"],
            "consent": {"share": True, "publish": False},
        },
    )


def _fill(vault: Vault, count: int) -> None:
    for start in range(0, count, 1000):
        vault.put_many([_incident(i) for i in range(start, min(count, start + 1000))])


def _save_latencies(root: Path, sizes: tuple[int, ...], quick: bool) -> dict[int, list[float]]:
    """Save latencies (seconds) of our vault at each size, measured round-robin across the
    sizes so that load from anything else on the machine hits every size alike."""
    samples = 50 if quick else 300
    vaults = {}
    for size in sizes:
        vaults[size] = Vault.create(root / f"save-{size}", PASSPHRASE, kdf_log_n=LOG_N)
        _fill(vaults[size], size)
    times: dict[int, list[float]] = {size: [] for size in sizes}
    for i in range(samples):
        for size, vault in vaults.items():
            times[size].append(elapsed(functools.partial(vault.put, _incident(size + i))))
    for vault in vaults.values():
        vault.lock()
    return times


def _stock_latencies(root: Path, size: int, quick: bool) -> list[float]:
    """Insert latencies (seconds) of stock TinyDB (JSONStorage) holding `size` documents."""
    samples = {100: 50, 1000: 10 if quick else 30, 10_000: 5 if quick else 20}[size]
    db = TinyDB(root / f"tinydb-{size}.json")
    db.insert_multiple(_incident(i).to_dict() for i in range(size))
    stock = sample_times(lambda: db.insert(_incident(0).to_dict()), samples)
    db.close()
    return stock


def bench_save(root: Path, quick: bool) -> dict[str, Any]:
    sizes = (100, 1000, 10_000)
    result: dict[str, Any] = {"sizes": list(sizes)}
    ours = _save_latencies(root, sizes, quick)
    for size in sizes:
        result[f"ours_{size}"] = _percentiles(ours[size])
        result[f"tinydb_{size}"] = _percentiles(_stock_latencies(root, size, quick))
    result["ratio_10000_vs_100"] = result["ours_10000"]["p50_ms"] / result["ours_100"]["p50_ms"]
    result["ratio_10000_vs_100_p95"] = result["ours_10000"]["p95_ms"] / result["ours_100"]["p95_ms"]
    result["speedup_vs_tinydb_10000"] = (
        result["tinydb_10000"]["p50_ms"] / result["ours_10000"]["p50_ms"]
    )
    result["note"] = "ours: encrypted and fsync'd per save; stock TinyDB: plaintext, no fsync"
    return result


def bench_open_list(root: Path) -> dict[str, Any]:
    path = root / "open-list"
    vault = Vault.create(path, PASSPHRASE, kdf_log_n=LOG_N)
    _fill(vault, 10_000)
    params, salt = vault.settings.kdf, vault._keyfile.salt
    vault.lock()
    started = time.perf_counter()
    derive_kek(PASSPHRASE, salt, params)
    kdf = time.perf_counter() - started
    started = time.perf_counter()
    vault = Vault.open(path, PASSPHRASE)
    records = vault.list()
    total = time.perf_counter() - started
    started = time.perf_counter()
    osh = vault.list(kind="incident", where=lambda doc: doc["data"]["region"] == "Osh")
    first_query = time.perf_counter() - started
    started = time.perf_counter()
    naryn = vault.list(kind="incident", where=Query().data.region == "Naryn")
    query = time.perf_counter() - started
    vault.lock()
    assert len(records) == 10_000 and len(osh) == len(naryn) == 2500
    return {
        "open_list_10000_s": total - kdf,
        "open_list_with_kdf_s": total,
        "kdf_s": kdf,
        "first_query_10000_ms": first_query * 1000,
        "query_10000_ms": query * 1000,
    }


def _write_random(path: Path, size: int) -> None:
    block = os.urandom(4 * 1024 * 1024)
    with open(path, "wb") as out:
        left = size
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= len(block)


def _drain(vault: Vault, attachment_id: str) -> int:
    total = 0
    with vault.open_attachment(attachment_id) as stream:
        while chunk := stream.read(1024 * 1024):
            total += len(chunk)
    return total


def bench_attachment(root: Path, quick: bool) -> dict[str, Any]:
    size = (32 if quick else 200) * MB
    source = root / "source.bin"
    _write_random(source, size)
    vault = Vault.create(root / "attach", PASSPHRASE, kdf_log_n=LOG_N)
    started = time.perf_counter()
    info = vault.attach(source, media_type="video/mp4")
    encrypt = time.perf_counter() - started
    started = time.perf_counter()
    assert _drain(vault, info.id) == size
    decrypt = time.perf_counter() - started
    tracemalloc.start()
    vault.attach(source, media_type="video/mp4")
    _, encrypt_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    _drain(vault, info.id)
    _, decrypt_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    vault.lock()
    return {
        "size_mb": size / MB,
        "encrypt_mb_per_s": size / MB / encrypt,
        "decrypt_mb_per_s": size / MB / decrypt,
        "encrypt_peak_heap_mb": encrypt_peak / MB,
        "decrypt_peak_heap_mb": decrypt_peak / MB,
        "note": "encrypt includes reading the source and fsync; quick mode uses 32 MB"
        if quick
        else "encrypt includes reading the source and fsync",
    }


def bench_wipe(root: Path, quick: bool) -> dict[str, Any]:
    blob_total = (64 if quick else 500) * MB
    path = root / "wipe"
    vault = Vault.create(path, PASSPHRASE, kdf_log_n=LOG_N)
    _fill(vault, 10_000)
    piece = 50 * MB if not quick else 16 * MB
    source = root / "piece.bin"
    _write_random(source, piece)
    for _ in range(blob_total // piece):
        vault.attach(source, media_type="video/mp4")
    source.unlink()
    os.sync()
    report = vault.wipe()
    assert not path.exists()
    return {
        "records": 10_000,
        "attachments_mb": blob_total / MB,
        "key_destroyed_ms": report.key_destroyed_s * 1000,
        "all_gone_ms": report.total_s * 1000,
    }


def _delete_latencies(vault: Vault, ids: list[str], *, attachments: bool = False) -> list[float]:
    delete = vault.delete_attachment if attachments else vault.delete
    return [elapsed(functools.partial(delete, item)) for item in ids]


def bench_forget(root: Path, quick: bool) -> dict[str, Any]:
    samples = 10 if quick else 30
    result: dict[str, Any] = {}
    for size in (100, 10_000):
        vault = Vault.create(root / f"forget-{size}", PASSPHRASE, kdf_log_n=LOG_N)
        _fill(vault, size)
        result[f"compact_{size}"] = _percentiles(sample_times(vault.compact, samples))
        doomed = [vault.put(_incident(size + i)).id for i in range(samples)]
        result[f"delete_{size}"] = _percentiles(_delete_latencies(vault, doomed))
        photos = [vault.attach(os.urandom(200_000), media_type="image/jpeg").id for _ in doomed]
        result[f"delete_attachment_{size}"] = _percentiles(
            _delete_latencies(vault, photos, attachments=True)
        )
        result[f"journal_bytes_{size}"] = (root / f"forget-{size}" / "journal").stat().st_size
        vault.lock()
    return result


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fieldvault-bench-vault-") as tmp:
        root = Path(tmp)
        result: dict[str, Any] = {"quick": quick, "scrypt_log_n": LOG_N}
        result["save"] = bench_save(root, quick)
        result.update(bench_open_list(root))
        result["attachment"] = bench_attachment(root, quick)
        result["wipe"] = bench_wipe(root, quick)
        result["forget"] = bench_forget(root, quick)
        return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
