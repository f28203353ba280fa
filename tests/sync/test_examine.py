"""Examining pulled envelopes: the same answers in worker processes and in this thread, and no
fork while another thread runs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from core.crypto.signing import SigningKey
from sync import envelope, examine
from sync.age.keys import generate_identity
from sync.keys import key_id
from sync.payload import build_payload

IDENTITY, RECIPIENT = generate_identity()
AUTHOR = SigningKey.generate()


def _items(count: int) -> list[dict[str, Any]]:
    prev, items = envelope.ZERO_HASH, []
    for seq in range(1, count + 1):
        record = {"id": f"{seq:032x}", "kind": "note", "data": {"text": f"note {seq}"}}
        sealed = envelope.seal(
            build_payload("note", record),
            signer=AUTHOR,
            recipients=[RECIPIENT],
            seq=seq,
            prev=prev,
            kind="report",
            now=1_700_000_000,
        )
        prev = envelope.envelope_hash(sealed)
        items.append({"envelope": envelope.to_wire(sealed), "cursor": seq})
    return items


KEYS = {key_id(AUTHOR.public_bytes()): AUTHOR.public_bytes()}
ITEMS = _items(examine.PARALLEL_MIN)


def _texts(results: list[examine.Examined]) -> list[str]:
    return [r.payload.record["data"]["text"] for r in results if r.payload is not None]


_IN_A_FRESH_PROCESS = """
import sys
from tests.sync import test_examine as t
from sync import examine
assert examine.fork_is_safe()
with examine.Examiner(t.IDENTITY, t.KEYS) as examiner:
    results = examiner.submit(t.ITEMS)()
    used_pool = examiner._pool is not None
assert [r.signature for r in results] == ["valid"] * len(t.ITEMS)
assert t._texts(results) == [f"note {i}" for i in range(1, len(t.ITEMS) + 1)]
print("pool" if used_pool else "no pool")
"""


def test_a_single_threaded_process_examines_a_full_page_in_worker_processes() -> None:
    # A fresh interpreter: this test process may run other threads (left by other tests).
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _IN_A_FRESH_PROCESS],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "pool"


def test_no_worker_process_is_forked_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not examine.fork_is_safe()
        with examine.Examiner(IDENTITY, KEYS) as examiner:
            results = examiner.submit(ITEMS)()
            assert examiner._pool is None
            later = examiner.submit(ITEMS[:10])()
    finally:
        stop.set()
        other.join()
    assert _texts(results) == [f"note {i}" for i in range(1, len(ITEMS) + 1)]
    assert [r.signature for r in later] == ["valid"] * 10


def test_a_forged_envelope_is_reported_invalid_in_either_mode() -> None:
    forged = dict(ITEMS[0]["envelope"])
    forged["sig"] = forged["sig"][::-1]
    items = [{"envelope": forged, "cursor": 1}]
    with examine.Examiner(IDENTITY, KEYS, parallel=False) as examiner:
        (result,) = examiner.submit(items)()
    assert result.signature == "invalid"
