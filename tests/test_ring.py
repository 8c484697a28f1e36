"""The descriptor prefetcher on its own, against a host-memory peer that answers reads after
random delays with random gaps, and a consumer that takes descriptors at random: descriptors
come out in ring order from head to tail, no read passes the tail or the ring's end, and a read
in flight when the ring is turned off is dropped."""

import random

import pytest

from hw.ring import DescriptorPrefetch

from peers import ReadMemory, simulate

BASE = 0x10_0000


def descriptor(i):
    """Descriptor ``i``'s 16 bytes as two 64-bit beats: its index and a marker."""
    return [0xD0D0_0000_0000_0000 | i, 0x5EC0_0000_0000_0000 | i]


def run(count, head, tail, *, seed, tail_later=None, cycles=3000, switch_off=None):
    """Take descriptors for ``cycles`` cycles; ``tail_later`` = (cycle, tail) moves the tail,
    ``switch_off`` = (cycle, cycles off, new head) turns the ring off and on again. Returns the
    indices taken and the reads issued as (first index, descriptors)."""
    dut = DescriptorPrefetch(depth=16, burst=8)
    rng = random.Random(seed)
    taken, reads = [], []

    def read(address):
        index, beat = divmod(address - BASE, 16)
        return descriptor(index)[beat // 8]
    memory = ReadMemory(dut.dma, read, rng, ring=BASE)

    async def driver(ctx):
        ctx.set(dut.ring.count, count)
        ctx.set(dut.ring.head, head)
        ctx.set(dut.ring.tail, tail)
        ctx.set(dut.ring.enable, 1)
        was_on = True
        for cycle in range(cycles):
            if tail_later and cycle == tail_later[0]:
                ctx.set(dut.ring.tail, tail_later[1])
            if switch_off and cycle == switch_off[0]:
                ctx.set(dut.ring.enable, 0)
            if switch_off and cycle == switch_off[0] + switch_off[1]:
                ctx.set(dut.ring.head, switch_off[2])
                ctx.set(dut.ring.enable, 1)
            # As the engines do: take only while the ring was on in the cycle before.
            ready = was_on and rng.random() < 0.5
            ctx.set(dut.descs.ready, ready)
            memory.drive(ctx)
            memory.observe(ctx)
            assert ctx.get(dut.dma.rd_data.ready)       # beats are always taken
            if ready and ctx.get(dut.descs.valid):
                value = ctx.get(dut.descs.payload)
                low, high = value & (2**64 - 1), value >> 64
                assert high & 0xFFFF == low & 0xFFFF and low >> 48 == 0xD0D0
                taken.append(low & 0xFFFF)
            if switch_off and cycle == switch_off[0]:
                taken.append("off")
            was_on = ctx.get(dut.ring.enable)
            await ctx.tick()

    simulate(dut, driver)
    for address, beats in memory.commands:
        assert address % 16 == 0 and beats % 2 == 0
        reads.append(((address - BASE) // 16, beats // 2))
    return taken, reads


def owned(count, head, tail):
    """The indices from head up to, not including, tail, in ring order."""
    return [(head + k) % count for k in range((tail - head) % count)]


def check_reads(reads, count, allowed):
    for first, n in reads:
        assert 1 <= n <= 8
        assert first + n <= count, f"read of {n} from {first} passes the end of {count}"
        assert all(i in allowed for i in range(first, first + n)), (first, n, allowed)


@pytest.mark.parametrize("count, head, tail, seed", [
    (16, 0, 15, 1), (13, 5, 3, 2), (13, 12, 11, 3), (40, 7, 39, 4), (8, 3, 3, 5)])
def test_descriptors_come_in_ring_order_from_head_to_tail(count, head, tail, seed):
    taken, reads = run(count, head, tail, seed=seed)
    assert taken == owned(count, head, tail)
    check_reads(reads, count, set(taken))


def test_a_tail_moved_on_brings_the_rest_and_no_more():
    taken, reads = run(24, 20, 2, seed=7, tail_later=(600, 19))
    assert taken == owned(24, 20, 19)
    check_reads(reads, 24, set(taken))


def test_a_nonsensical_ring_is_never_read():
    for count, head, tail in ((0, 0, 0), (8, 9, 2), (8, 1, 12)):
        taken, reads = run(count, head, tail, seed=8, cycles=400)
        assert taken == [] and reads == []


def test_turning_the_ring_off_drops_what_is_queued_and_in_flight():
    """Off while reads are in flight and descriptors queued: none of them comes out after, and
    fetching starts again from the new head."""
    dropped = 0
    for seed in range(6):
        taken, reads = run(64, 0, 63, seed=seed, cycles=2500, switch_off=(60, 30, 40))
        before = taken[:taken.index("off")]
        after = taken[taken.index("off") + 1:]
        assert before == list(range(len(before)))
        assert after == list(range(40, 63)), (seed, before, after)
        # Descriptors read before the ring went off that never came out: queued or in flight.
        fetched = {i for first, n in reads if first < 40 for i in range(first, first + n)}
        dropped += len(fetched - set(before))
    assert dropped > 0
