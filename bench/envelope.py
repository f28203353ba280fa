"""Envelope throughput for a 2 KB record: seal+sign, verify only (server), verify+open.

`python -m bench.envelope [--quick]` prints JSON; `run(quick)` returns the same dict.
"""

from __future__ import annotations

import json
import sys
import time

from core.crypto.random import random_bytes
from core.crypto.signing import SigningKey
from sync import age
from sync import envelope as env
from sync.age.keys import parse_identity
from sync.payload import build_payload

RECORD_BYTES = 2048


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def run(quick: bool = False) -> dict[str, object]:
    count = 200 if quick else 2000
    signer = SigningKey.generate()
    public = signer.public_bytes()
    identity, recipient = age.generate_identity()
    filler = random_bytes(RECORD_BYTES // 2).hex()
    payload = build_payload("incident", {"text": filler})[:RECORD_BYTES]

    started = time.perf_counter()
    sealed = []
    prev = env.ZERO_HASH
    for seq in range(1, count + 1):
        envelope = env.seal(
            payload,
            signer=signer,
            recipients=[recipient],
            seq=seq,
            prev=prev,
            kind="report",
            now=1_763_700_000,
        )
        prev = env.envelope_hash(envelope)
        sealed.append(envelope)
    seal_seconds = time.perf_counter() - started

    wire = [env.to_bytes(e) for e in sealed]
    started = time.perf_counter()
    for data in wire:
        env.verify(env.from_bytes(data), public)
    verify_seconds = time.perf_counter() - started

    parsed = [parse_identity(identity)]  # as a coordinator does: parse once, open many
    started = time.perf_counter()
    for data in wire:
        envelope = env.from_bytes(data)
        env.verify(envelope, public)
        env.open_(envelope, parsed)
    open_seconds = time.perf_counter() - started

    return {
        "name": "envelope",
        "record_bytes": len(payload),
        "envelopes": count,
        "seal_sign_per_second": _rate(count, seal_seconds),
        "parse_verify_per_second": _rate(count, verify_seconds),
        "parse_verify_open_per_second": _rate(count, open_seconds),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
