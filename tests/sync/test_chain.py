"""Chains: gaps, forks, replays and reorderings are detected as envelopes arrive one by one."""

from __future__ import annotations

from core.crypto.hashing import sha256_hex
from core.crypto.signing import SigningKey
from sync import envelope as env
from sync.chain import ChainHead, ChainVerifier, Verdict, follows
from sync.keys import key_id

DEVICE = SigningKey.from_bytes(bytes([11]) * 32)
OTHER = SigningKey.from_bytes(bytes([12]) * 32)
DEVICE_ID = key_id(DEVICE.public_bytes())
OTHER_ID = key_id(OTHER.public_bytes())


def chain(n: int, signer: SigningKey = DEVICE, tag: bytes = b"") -> list[env.Envelope]:
    out: list[env.Envelope] = []
    prev = env.ZERO_HASH
    for seq in range(1, n + 1):
        envelope = env.sign_ciphertext(
            b"ciphertext %d" % seq + tag,
            signer=signer,
            seq=seq,
            prev=prev,
            kind="report",
            now=1_763_700_000 + seq,
            envelope_id=sha256_hex(tag + bytes([seq]))[:32],
        )
        out.append(envelope)
        prev = env.envelope_hash(envelope)
    return out


def statuses(verifier: ChainVerifier, envelopes: list[env.Envelope]) -> list[str]:
    return [verifier.check(e).status.value for e in envelopes]


def test_an_unbroken_chain_is_ok_and_advances_the_head() -> None:
    envelopes = chain(4)
    verifier = ChainVerifier()
    assert statuses(verifier, envelopes) == ["ok"] * 4
    assert verifier.head(DEVICE_ID) == ChainHead(4, env.envelope_hash(envelopes[-1]))


def test_the_same_envelope_twice_is_a_duplicate_and_stored_once() -> None:
    first, second = chain(2)
    verifier = ChainVerifier()
    statuses(verifier, [first, second])
    verdict = verifier.check(first)
    assert verdict.status is Verdict.DUPLICATE
    assert not verdict.store
    assert verifier.check(second).status is Verdict.DUPLICATE


def test_a_skipped_sequence_number_is_a_gap_naming_what_is_missing() -> None:
    envelopes = chain(5)
    verifier = ChainVerifier()
    statuses(verifier, envelopes[:2])
    verdict = verifier.check(envelopes[4])
    assert (verdict.status, verdict.reason, verdict.missing) == (Verdict.GAP, "seq_gap", (3, 4))
    assert verdict.store


def test_a_first_envelope_that_is_not_seq_1_is_a_gap() -> None:
    verdict = ChainVerifier().check(chain(3)[2])
    assert (verdict.status, verdict.missing) == (Verdict.GAP, (1, 2))


def test_a_prev_that_does_not_match_the_head_is_a_gap() -> None:
    mine = chain(2)
    theirs = chain(3, tag=b"other history")
    verifier = ChainVerifier()
    statuses(verifier, mine)
    verdict = verifier.check(theirs[2])
    assert (verdict.status, verdict.reason) == (Verdict.GAP, "prev_mismatch")


def test_a_different_envelope_at_a_seen_position_is_a_fork() -> None:
    mine = chain(3)
    theirs = chain(2, tag=b"forked")
    verifier = ChainVerifier()
    statuses(verifier, mine)
    verdict = verifier.check(theirs[1])
    assert verdict.status is Verdict.FORK
    assert not verdict.store
    assert verifier.head(DEVICE_ID) == ChainHead(3, env.envelope_hash(mine[2]))


def test_a_different_envelope_at_a_restored_head_is_a_fork() -> None:
    mine = chain(3)
    theirs = chain(3, tag=b"forked")
    verifier = ChainVerifier({DEVICE_ID: ChainHead(3, env.envelope_hash(mine[2]))})
    assert verifier.check(mine[2]).status is Verdict.DUPLICATE
    assert verifier.check(theirs[2]).status is Verdict.FORK


def test_an_old_position_below_a_restored_head_is_a_replay() -> None:
    envelopes = chain(5)
    verifier = ChainVerifier({DEVICE_ID: ChainHead(5, env.envelope_hash(envelopes[4]))})
    verdict = verifier.check(envelopes[1])
    assert verdict.status is Verdict.REPLAY
    assert not verdict.store


def test_a_late_envelope_filling_a_gap_is_out_of_order_and_closes_it() -> None:
    envelopes = chain(5)
    verifier = ChainVerifier()
    assert statuses(verifier, [envelopes[0], envelopes[3], envelopes[2], envelopes[1]]) == [
        "ok",
        "gap",
        "out_of_order",
        "out_of_order",
    ]
    assert verifier.check(envelopes[1]).status is Verdict.DUPLICATE  # the hole is closed
    assert verifier.check(envelopes[4]).status is Verdict.OK
    assert verifier.head(DEVICE_ID) == ChainHead(5, env.envelope_hash(envelopes[4]))


def test_authors_are_tracked_independently_and_heads_can_be_saved() -> None:
    verifier = ChainVerifier()
    assert statuses(verifier, [*chain(2), *chain(3, signer=OTHER)]) == ["ok"] * 5
    heads = verifier.heads()
    assert {a: h.seq for a, h in heads.items()} == {DEVICE_ID: 2, OTHER_ID: 3}
    restored = ChainVerifier(heads)
    assert restored.check(chain(3)[2]).status is Verdict.OK


def test_follows_says_how_each_envelope_of_a_sorted_list_follows_the_one_before() -> None:
    first, second, third = chain(3)
    substitute = chain(2, tag=b"substitute")[1]
    assert [follows(None, first), follows(first, second), follows(None, third)] == ["ok"] * 3
    assert follows(first, third) == "skipped"
    assert follows(second, first) == "reordered"
    assert follows(first, substitute) == "broken"
