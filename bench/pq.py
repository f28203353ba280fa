"""Post-quantum envelope benchmark: seal and open one envelope to hybrid (mlkem768x25519)
recipients on the pure-Python ML-KEM that phones use (cryptography 43.0.1 has none).

    python -m bench.pq [--quick]        prints JSON

Run it with the cryptography a phone has (43.0.1) to measure the phone's path; with a newer
one the Python backend is forced for the same figures and `cryptography`'s own ML-KEM is
measured beside it. Per envelope (2 KB record, Ed25519 signature, chain hash included), p50
and p95 over `samples` runs, for 1 and 3 coordinator recipients:
- `seal`: what a phone does for every report;
- `open`: verify + open with a parsed identity that matches the last stanza (the worst
  case: every stanza before it costs a full decapsulation);
- the ML-KEM-768 steps alone (`keygen`, `encaps`, `decaps`), and the same envelope
  to X25519 recipients (`classic`) for scale.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from unittest import mock

import cryptography

from bench.harness import sample_times, summarize
from core.crypto import mlkem, pq
from core.crypto.random import random_bytes
from core.crypto.signing import SigningKey
from sync import age
from sync import envelope as env
from sync.age.keys import parse_identity
from sync.payload import build_payload

RECORD_BYTES = 2048
RECIPIENT_COUNTS = (1, 3)


def _envelopes(pq_keys: bool, samples: int) -> dict[str, Any]:
    signer = SigningKey.generate()
    public = signer.public_bytes()
    filler = random_bytes(RECORD_BYTES // 2).hex()
    payload = build_payload("incident", {"text": filler})[:RECORD_BYTES]
    result: dict[str, Any] = {}
    for count in RECIPIENT_COUNTS:
        keys = [age.generate_identity(pq=pq_keys) for _ in range(count)]
        recipients = [recipient for _, recipient in keys]
        identity = parse_identity(keys[-1][0])  # the last stanza: the most work to find

        def seal(recipients: list[str] = recipients) -> env.Envelope:
            return env.seal(
                payload,
                signer=signer,
                recipients=recipients,
                seq=1,
                prev=env.ZERO_HASH,
                kind="report",
                now=1_763_700_000,
            )

        wire = env.to_bytes(seal())

        def open_(wire: bytes = wire, identity: Any = identity) -> bytes:
            envelope = env.from_bytes(wire)
            env.verify(envelope, public)
            return env.open_(envelope, [identity])

        assert open_() == payload
        result[f"recipients_{count}"] = {
            "seal": summarize(sample_times(seal, samples)),
            "open": summarize(sample_times(open_, samples)),
            "envelope_bytes": len(wire),
        }
    return result


def _mlkem(samples: int) -> dict[str, Any]:
    seed = random_bytes(mlkem.SEED_SIZE)
    ek, dk = mlkem.keygen(seed)
    _, ciphertext = mlkem.encaps(ek)
    return {
        "keygen": summarize(sample_times(lambda: mlkem.keygen(seed), samples)),
        "encaps": summarize(sample_times(lambda: mlkem.encaps(ek), samples)),
        "decaps": summarize(sample_times(lambda: mlkem.decaps(dk, ciphertext), samples)),
    }


def run(quick: bool = False) -> dict[str, Any]:
    samples = 10 if quick else 50
    result: dict[str, Any] = {
        "name": "pq",
        "cryptography": cryptography.__version__,
        "native_ml_kem": pq.native_available(),
        "record_bytes": RECORD_BYTES,
        "samples": samples,
    }
    with mock.patch.object(pq, "native_available", return_value=False):  # the phone's path
        result["python"] = {"mlkem768": _mlkem(samples), **_envelopes(True, samples)}
    if pq.native_available():
        result["native"] = _envelopes(True, samples)
    result["classic"] = _envelopes(False, samples)
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
