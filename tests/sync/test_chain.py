"""Chains: gaps, forks, replays and reorderings are detected, one by one and for whole lists."""

from __future__ import annotations

import dataclasses

import pytest

from core.crypto.hashing import sha256_hex
from core.crypto.signing import SigningKey
from sync import envelope as env
from sync.chain import ChainHead, ChainVerifier, Verdict, verify_chain
from sync.keys import key_id

DEVICE = SigningKey.from_bytes(bytes([11]) * 32)
OTHER = SigningKey.from_bytes(bytes([12]) * 32)
DEVICE_ID = key_id(DEVICE.public_bytes())
OTHER_ID = key_id(OTHER.public_bytes())
KEYS = {DEVICE_ID: DEVICE.public_bytes(), OTHER_ID: OTHER.public_bytes()}


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
    assert verdict.error() is None
    assert verifier.check(second).status is Verdict.DUPLICATE


def test_a_skipped_sequence_number_is_a_gap_naming_what_is_missing() -> None:
    envelopes = chain(5)
    verifier = ChainVerifier()
    statuses(verifier, envelopes[:2])
    verdict = verifier.check(envelopes[4])
    assert (verdict.status, verdict.reason, verdict.missing) == (Verdict.GAP, "seq_gap", (3, 4))
    assert verdict.store
    with pytest.raises(env.ChainGap) as caught:
        verdict.raise_for_status("some-id")
    assert caught.value.reason == "seq_gap"
    assert caught.value.envelope_id == "some-id"


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
    assert isinstance(verdict.error(), env.ChainFork)
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
    with pytest.raises(env.ReplayedEnvelope):
        verdict.raise_for_status()


def test_a_late_envelope_filling_a_gap_is_out_of_order_and_closes_it() -> None:
    envelopes = chain(5)
    verifier = ChainVerifier()
    assert statuses(verifier, [envelopes[0], envelopes[3], envelopes[2], envelopes[1]]) == [
        "ok",
        "gap",
        "out_of_order",
        "out_of_order",
    ]
    assert isinstance(verifier.check(envelopes[1]).error(), type(None))  # now a duplicate
    assert verifier.check(envelopes[4]).status is Verdict.OK
    assert verifier.head(DEVICE_ID) == ChainHead(5, env.envelope_hash(envelopes[4]))


def test_authors_are_tracked_independently_and_heads_can_be_saved() -> None:
    verifier = ChainVerifier()
    assert statuses(verifier, [*chain(2), *chain(3, signer=OTHER)]) == ["ok"] * 5
    heads = verifier.heads()
    assert {a: h.seq for a, h in heads.items()} == {DEVICE_ID: 2, OTHER_ID: 3}
    restored = ChainVerifier(heads)
    assert restored.check(chain(3)[2]).status is Verdict.OK


def test_verify_chain_of_a_clean_list_is_ok() -> None:
    report = verify_chain([*chain(3), *chain(2, signer=OTHER)], KEYS)
    assert report.ok
    assert report.authors[DEVICE_ID].status == "ok"
    assert report.authors[DEVICE_ID].problems == []
    assert (report.authors[OTHER_ID].first_seq, report.authors[OTHER_ID].last_seq) == (1, 2)


def test_verify_chain_reports_a_removed_envelope_as_a_gap() -> None:
    envelopes = chain(6)
    report = verify_chain([envelopes[0], envelopes[1], envelopes[4], envelopes[5]], KEYS)
    device = report.authors[DEVICE_ID]
    assert not report.ok
    assert device.gaps == ((3, 4),)
    assert device.status == "gap"
    assert device.problems == ["gap:3-4"]


def test_verify_chain_reports_a_missing_beginning() -> None:
    assert verify_chain(chain(3)[1:]).authors[DEVICE_ID].gaps == ((1, 1),)


def test_verify_chain_reports_reordering_without_calling_it_broken() -> None:
    a, b, c = chain(3)
    device = verify_chain([a, c, b], KEYS).authors[DEVICE_ID]
    assert device.reordered == (2,)
    assert device.ok
    assert "reordered:2" in device.problems


def test_verify_chain_reports_forks_and_duplicates() -> None:
    mine = chain(3)
    theirs = chain(3, tag=b"fork")
    device = verify_chain([*mine, theirs[2], mine[0]], KEYS).authors[DEVICE_ID]
    assert device.forks == (3,)
    assert device.duplicates == (1,)
    assert device.status == "fork"


def test_verify_chain_reports_an_altered_envelope_and_the_hole_it_leaves() -> None:
    envelopes = chain(4)
    header = envelopes[1].header
    altered = dataclasses.replace(
        envelopes[1], header=dataclasses.replace(header, created=header.created + 3600)
    )
    device = verify_chain([envelopes[0], altered, *envelopes[2:]], KEYS).authors[DEVICE_ID]
    assert device.altered == ((header.id, "bad_signature"),)
    assert device.gaps == ((2, 2),)
    assert device.status == "altered"


def test_verify_chain_without_keys_still_catches_a_re_signed_substitute() -> None:
    envelopes = chain(3)
    substitute = chain(2, tag=b"substitute")[1]
    device = verify_chain([envelopes[0], substitute, envelopes[2]]).authors[DEVICE_ID]
    # the substitute names the wrong predecessor, and its successor names the original
    assert device.broken_links == (2, 3)
    assert device.status == "gap"


def test_verify_chain_flags_envelopes_from_unknown_authors() -> None:
    report = verify_chain(chain(1), {OTHER_ID: OTHER.public_bytes()})
    assert report.authors[DEVICE_ID].altered[0][1] == "unknown_author"
