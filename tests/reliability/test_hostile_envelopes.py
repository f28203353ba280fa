"""Forged, replayed, truncated and forked envelopes against the real server: refused, stored once.

One device pushes a batch mixing its honest envelopes with hostile variants of them: a flipped
bit in the payload, a signature by another key, a truncated payload, a header edited after
signing, an exact replay, another device's envelope (not the signer's), and a re-signed envelope
at a position already taken (a fork). Each hostile one must come back `rejected` (or, for the
replay, `duplicate`), and the coordinator's feed must hold exactly the honest envelopes, once
each, byte for byte.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from core.crypto.signing import SigningKey
from sync import envelope
from sync.client import Client
from sync.errors import ServerRefused
from tests.reliability.org import Organisation
from tests.support.live_server import start_live_server

pytestmark = pytest.mark.slow


def _flip_payload(wire: dict[str, Any]) -> dict[str, Any]:
    env = envelope.from_wire(wire)
    raw = bytearray(env.payload)
    raw[len(raw) // 2] ^= 0x01
    return envelope.to_wire(envelope.Envelope(env.header, env.sig, bytes(raw)))


def _truncate_payload(wire: dict[str, Any]) -> dict[str, Any]:
    bad = copy.deepcopy(wire)
    bad["payload"] = bad["payload"][: len(bad["payload"]) // 2]
    return bad


def _edit_header(wire: dict[str, Any]) -> dict[str, Any]:
    bad = copy.deepcopy(wire)
    bad["header"]["created"] += 3600  # back-dating or post-dating after signing
    return bad


def _other_signature(wire: dict[str, Any]) -> dict[str, Any]:
    env = envelope.from_wire(wire)
    forger = SigningKey.generate()
    forged = envelope.sign_ciphertext(
        env.payload,
        signer=forger,
        seq=env.header.seq,
        prev=env.header.prev,
        kind=env.header.kind,
        now=env.header.created,
        envelope_id=env.header.id,
    )
    bad = envelope.to_wire(forged)
    bad["header"]["author"] = wire["header"]["author"]  # claim to be the device
    return bad


def test_hostile_envelopes_are_refused_and_only_honest_ones_are_stored(tmp_path: Path) -> None:
    with start_live_server(tmp_path / "server") as server:
        org = Organisation.bootstrap(server.url, server.bootstrap_token)
        device, other = org.enrol("honest"), org.enrol("other")
        honest = [envelope.to_wire(e) for e in device.seal_many(4)]
        device.client.push_envelopes(honest[:2])
        foreign = envelope.to_wire(other.seal())
        fifth = envelope.to_wire(device.seal())  # seq 5 of the device's chain ...
        device.seq, device.prev = 1, envelope.envelope_hash(envelope.from_wire(honest[0]))
        fork_at_2 = envelope.to_wire(device.seal())  # ... and a different envelope at seq 2

        hostile = {
            "flipped payload": _flip_payload(honest[2]),
            "truncated payload": _truncate_payload(honest[2]),
            "header edited after signing": _edit_header(honest[2]),
            "signed by another key": _other_signature(honest[2]),
            "another device's envelope": foreign,
            "fork at a taken position": fork_at_2,
        }
        for what, wire in hostile.items():
            try:
                (result,) = device.client.push_envelopes([wire])
            except ServerRefused:
                continue  # refused as a whole request: nothing stored either
            assert result["status"] == "rejected", what

        replay = device.client.push_envelopes(honest[:2])
        assert [r["status"] for r in replay] == ["duplicate", "duplicate"]
        results = device.client.push_envelopes([*honest[2:], fifth])
        assert [r["status"] for r in results] == ["stored", "stored", "stored"]

        feed = org.feed()
        assert feed == [*honest, fifth]
        devices = {d["id"]: d for d in org.client.devices()}
        assert devices[device.id]["chain"] == "fork"  # the attempt is shown to coordinators
        with Client(server.url, signing_key=other.key) as client, pytest.raises(ServerRefused):
            client.envelopes(0, 10)  # and a device cannot read the feed
