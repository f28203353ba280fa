"""Chains: each author's envelopes are numbered 1, 2, 3… and each names its predecessor's hash.

- `ChainVerifier` checks envelopes one at a time as they arrive (the coordinator's pull). It
  remembers, per author, the head (last seq and hash) and what it has seen, and returns a
  `ChainVerdict`: ok, duplicate, gap, fork, replay or out_of_order. Restore persisted heads with
  `ChainVerifier(heads)`; save them with `verifier.heads()`.
- `follows(before, envelope)` is the same link rule for a list sorted by seq (the evidence
  bundle's check).

The server keeps its own chain heads in its database (`server.db`) and does not use this module.

Danger: neither checks signatures. `ChainVerifier.check` trusts that the caller ran
`sync.envelope.verify` first; an unverified envelope can poison the head.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum

from sync.envelope import ZERO_HASH, Envelope, envelope_hash


class Verdict(StrEnum):
    OK = "ok"
    DUPLICATE = "duplicate"
    GAP = "gap"
    FORK = "fork"
    REPLAY = "replay"
    OUT_OF_ORDER = "out_of_order"


@dataclasses.dataclass(frozen=True, slots=True)
class ChainHead:
    """The last envelope accepted from one author."""

    seq: int
    hash: str


@dataclasses.dataclass(frozen=True, slots=True)
class ChainVerdict:
    """Where one envelope falls in its author's chain.

    `reason` refines `status`: `seq_gap` or `prev_mismatch` for a gap, `fills_gap` for a late
    arrival. `missing` is the inclusive range of sequence numbers not seen, for a `seq_gap`.
    """

    status: Verdict
    reason: str
    author: str
    seq: int
    hash: str
    missing: tuple[int, int] | None = None

    @property
    def store(self) -> bool:
        """Whether the envelope belongs in the store (a gap is stored and shown as broken)."""
        return self.status in (Verdict.OK, Verdict.GAP, Verdict.OUT_OF_ORDER)


@dataclasses.dataclass(slots=True)
class _Author:
    head: ChainHead
    seen: dict[int, str] = dataclasses.field(default_factory=dict)
    holes: list[tuple[int, int]] = dataclasses.field(default_factory=list)

    def take_hole(self, seq: int) -> bool:
        for index, (first, last) in enumerate(self.holes):
            if first <= seq <= last:
                parts = [(first, seq - 1), (seq + 1, last)]
                self.holes[index : index + 1] = [(a, b) for a, b in parts if a <= b]
                return True
        return False


class ChainVerifier:
    """Check envelopes one by one against each author's chain. Not thread-safe."""

    def __init__(self, heads: Mapping[str, ChainHead] | None = None) -> None:
        self._authors: dict[str, _Author] = {
            author: _Author(head) for author, head in (heads or {}).items()
        }

    def head(self, author: str) -> ChainHead | None:
        state = self._authors.get(author)
        return None if state is None else state.head

    def heads(self) -> dict[str, ChainHead]:
        return {author: state.head for author, state in self._authors.items()}

    def check(self, envelope: Envelope) -> ChainVerdict:
        """Place a verified envelope in its author's chain and advance the head when it fits."""
        header = envelope.header
        digest = envelope_hash(envelope)
        state = self._authors.setdefault(header.author, _Author(ChainHead(0, ZERO_HASH)))
        seq, head = header.seq, state.head

        def verdict(
            status: Verdict, reason: str, missing: tuple[int, int] | None = None
        ) -> ChainVerdict:
            return ChainVerdict(status, reason, header.author, seq, digest, missing)

        known = state.seen.get(seq)
        if known is None and seq == head.seq and head.seq > 0:
            known = head.hash
        if known is not None:
            if known == digest:
                return verdict(Verdict.DUPLICATE, "duplicate")
            return verdict(Verdict.FORK, "fork")
        if seq < head.seq:
            if state.take_hole(seq):
                state.seen[seq] = digest
                return verdict(Verdict.OUT_OF_ORDER, "fills_gap")
            return verdict(Verdict.REPLAY, "replay")
        state.seen[seq] = digest
        state.head = ChainHead(seq, digest)
        if seq > head.seq + 1:
            missing = (head.seq + 1, seq - 1)
            state.holes.append(missing)
            return verdict(Verdict.GAP, "seq_gap", missing)
        if header.prev != head.hash:
            return verdict(Verdict.GAP, "prev_mismatch")
        return verdict(Verdict.OK, "ok")


def follows(before: Envelope | None, envelope: Envelope) -> str:
    """How `envelope` follows `before`, the same author's last envelope seen in a list sorted
    by seq (None if it is the first): `ok`, `reordered` (not after it), `broken` (the next seq
    but `prev` names another envelope, or seq 1 names one at all) or `skipped` (later seqs are
    missing from the list, which a partial export expects). The rule the evidence bundle check
    shares with `ChainVerifier`."""
    if before is None:
        if envelope.seq == 1 and envelope.header.prev != ZERO_HASH:
            return "broken"
        return "ok"
    if envelope.seq <= before.seq:
        return "reordered"
    if envelope.seq > before.seq + 1:
        return "skipped"
    return "ok" if envelope.header.prev == envelope_hash(before) else "broken"
