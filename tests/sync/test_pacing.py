"""The chunk pacer: chunks that take about the target time on the link as measured."""

from __future__ import annotations

import pytest

from sync.pacing import ChunkPacer

KIB = 1024
MIB = 1024 * KIB


def test_the_first_chunk_is_small_and_a_fast_link_reaches_the_largest_within_a_few_chunks() -> None:
    pacer = ChunkPacer(largest=16 * MIB)
    assert pacer.size == 256 * KIB
    sizes = []
    for _ in range(4):
        pacer.sent(pacer.size, 0.01)  # loopback: far faster than the target
        sizes.append(pacer.size)
    assert sizes == [1 * MIB, 4 * MIB, 16 * MIB, 16 * MIB]


def test_a_slow_link_settles_on_chunks_that_take_about_the_target_time() -> None:
    pacer = ChunkPacer(target_seconds=2.0)
    rate = 200 * KIB
    for _ in range(6):
        pacer.sent(pacer.size, pacer.size / rate)
    assert pacer.size == 400 * KIB


def test_a_cut_halves_the_chunk_but_never_below_the_smallest() -> None:
    pacer = ChunkPacer(first=256 * KIB, smallest=64 * KIB)
    pacer.cut()
    assert pacer.size == 128 * KIB
    pacer.cut()
    pacer.cut()
    assert pacer.size == 64 * KIB


def test_a_server_that_refuses_large_bodies_caps_every_later_chunk() -> None:
    pacer = ChunkPacer(largest=16 * MIB, first=16 * MIB)
    pacer.limit(4 * MIB)
    assert pacer.size == 4 * MIB
    pacer.sent(4 * MIB, 0.001)
    assert pacer.size == 4 * MIB


def test_nonsense_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        ChunkPacer(largest=0)
    with pytest.raises(ValueError):
        ChunkPacer(target_seconds=0)


def test_the_ceiling_is_the_largest_size_the_next_report_can_lead_to() -> None:
    for seconds in (0.001, 0.01, 2.0, 30.0):
        pacer = ChunkPacer(largest=16 * MIB)
        ceiling = pacer.ceiling
        pacer.sent(pacer.size, seconds)
        assert pacer.size <= ceiling
    pacer = ChunkPacer(largest=16 * MIB)
    pacer.sent(pacer.size, 0.001)
    assert pacer.ceiling == 4 * pacer.size
    while pacer.size < 16 * MIB:
        pacer.sent(pacer.size, 0.001)
    assert pacer.ceiling == 16 * MIB
