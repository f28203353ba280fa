"""Chains: each author's envelopes are numbered 1, 2, 3… and each names its predecessor's hash.

Two tools, for two situations:

- `ChainVerifier` checks envelopes one at a time as they arrive (server ingest, coordinator
  pull). It remembers, per author, the head (last seq and hash) and what it has seen, and returns
  a `ChainVerdict`: ok, duplicate, gap, fork, replay or out_of_order. Restore persisted heads
  with `ChainVerifier(heads)`; save them with `verifier.heads()`.
- `verify_chain(envelopes, public_keys)` analyses a complete list at once (custody check,
  evidence bundle): per author, every gap, fork, broken link, reordering and altered envelope.

Danger: neither checks signatures unless given keys. `ChainVerifier.check` trusts that the caller
ran `sync.envelope.verify` first; an unverified envelope can poison the head.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from enum import StrEnum

from sync.envelope import (
    ZERO_HASH,
    ChainError,
    ChainFork,
    ChainGap,
    Envelope,
    EnvelopeError,
    OutOfOrder,
    ReplayedEnvelope,
    envelope_hash,
    verify,
)


class Verdict(StrEnum):
    OK = "ok"
    DUPLICATE = "duplicate"
    GAP = "gap"
    FORK = "fork"
    REPLAY = "replay"
    OUT_OF_ORDER = "out_of_order"


_ERRORS: dict[Verdict, type[ChainError]] = {
    Verdict.GAP: ChainGap,
    Verdict.FORK: ChainFork,
    Verdict.REPLAY: ReplayedEnvelope,
    Verdict.OUT_OF_ORDER: OutOfOrder,
}


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

    def error(self, envelope_id: str | None = None) -> ChainError | None:
        """The typed error for this verdict, or None for ok and duplicate."""
        cls = _ERRORS.get(self.status)
        return None if cls is None else cls(self.reason, envelope_id=envelope_id)

    def raise_for_status(self, envelope_id: str | None = None) -> None:
        error = self.error(envelope_id)
        if error is not None:
            raise error


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


# --- whole-list analysis ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class AuthorChain:
    """What `verify_chain` found for one author. Sequence numbers are inclusive ranges."""

    author: str
    count: int
    first_seq: int | None
    last_seq: int | None
    gaps: tuple[tuple[int, int], ...]
    forks: tuple[int, ...]
    broken_links: tuple[int, ...]
    reordered: tuple[int, ...]
    duplicates: tuple[int, ...]
    altered: tuple[tuple[str, str], ...]

    @property
    def status(self) -> str:
        """`fork`, `altered`, `gap` or `ok` (the worst problem found)."""
        if self.forks:
            return "fork"
        if self.altered:
            return "altered"
        if self.gaps or self.broken_links:
            return "gap"
        return "ok"

    @property
    def ok(self) -> bool:
        """No gap, fork, broken link or alteration. Reordering and duplicates are harmless."""
        return self.status == "ok"

    @property
    def problems(self) -> list[str]:
        """Machine-readable problem strings, e.g. `gap:3-4`, `fork:5`, `altered:<id>:<reason>`."""
        out = [f"gap:{a}-{b}" for a, b in self.gaps]
        out += [f"fork:{s}" for s in self.forks]
        out += [f"broken_link:{s}" for s in self.broken_links]
        out += [f"altered:{eid}:{reason}" for eid, reason in self.altered]
        out += [f"reordered:{s}" for s in self.reordered]
        out += [f"duplicate:{s}" for s in self.duplicates]
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class ChainReport:
    authors: dict[str, AuthorChain]

    @property
    def ok(self) -> bool:
        return all(chain.ok for chain in self.authors.values())


def verify_chain(
    envelopes: Iterable[Envelope], public_keys: Mapping[str, bytes] | None = None
) -> ChainReport:
    """Analyse envelopes in the order they were received, per author.

    With `public_keys` (author key id -> Ed25519 public key), every envelope's signature and
    payload are verified; one that fails is reported as altered (reason `bad_signature`,
    `payload_mismatch`, `unknown_author`, ...) and left out of the chain, so its position also
    shows as a gap. Without keys, only the links are checked.
    """
    by_author: dict[str, list[Envelope]] = {}
    for envelope in envelopes:
        by_author.setdefault(envelope.header.author, []).append(envelope)
    return ChainReport(
        {author: _analyse(author, items, public_keys) for author, items in by_author.items()}
    )


def _analyse(
    author: str, envelopes: list[Envelope], public_keys: Mapping[str, bytes] | None
) -> AuthorChain:
    altered: list[tuple[str, str]] = []
    hashes: dict[int, list[str]] = {}
    prevs: dict[str, str] = {}
    reordered: list[int] = []
    duplicates: list[int] = []
    highest = 0
    for envelope in envelopes:
        header = envelope.header
        if public_keys is not None:
            key = public_keys.get(author)
            if key is None:
                altered.append((header.id, "unknown_author"))
                continue
            try:
                verify(envelope, key)
            except EnvelopeError as exc:
                altered.append((header.id, exc.reason))
                continue
        digest = envelope_hash(envelope)
        at_seq = hashes.setdefault(header.seq, [])
        if digest in at_seq:
            duplicates.append(header.seq)
            continue
        at_seq.append(digest)
        prevs[digest] = header.prev
        if header.seq < highest:
            reordered.append(header.seq)
        highest = max(highest, header.seq)

    seqs = sorted(hashes)
    gaps: list[tuple[int, int]] = []
    expected = 1
    for seq in seqs:
        if seq > expected:
            gaps.append((expected, seq - 1))
        expected = seq + 1
    broken: list[int] = []
    for seq in seqs:
        before = hashes.get(seq - 1, [ZERO_HASH] if seq == 1 else [])
        if len(hashes[seq]) == 1 and len(before) == 1 and prevs[hashes[seq][0]] != before[0]:
            broken.append(seq)
    return AuthorChain(
        author=author,
        count=len(envelopes),
        first_seq=seqs[0] if seqs else None,
        last_seq=seqs[-1] if seqs else None,
        gaps=tuple(gaps),
        forks=tuple(s for s in seqs if len(hashes[s]) > 1),
        broken_links=tuple(broken),
        reordered=tuple(reordered),
        duplicates=tuple(duplicates),
        altered=tuple(altered),
    )
