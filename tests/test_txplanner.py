"""The transmit fetcher's read planner on its own: the size of each read for every alignment,
three cycles of settling after each change, and the word queue's room reserved and given back."""

import pytest

from hw.txdma import MAX_BURST, SPARE, TxReadPlanner

from peers import simulate


def _plans(left, first, *, space=2048):
    """The reads the planner plans for a descriptor of ``left`` bytes starting at ``first`` in
    its first beat, issuing each as soon as it may: (beats, nbytes, lead, last) each, and the
    cycles from each change to ``settled``."""
    dut = TxReadPlanner(space=space)
    reads, waits = [], []

    async def bench(ctx):
        ctx.set(dut.slots, 1)
        at_first, remaining = first, left
        ctx.set(dut.left, remaining)
        ctx.set(dut.first, at_first)
        ctx.set(dut.restart, 1)
        await ctx.tick()
        ctx.set(dut.restart, 0)
        while True:
            waited = 0
            while not ctx.get(dut.settled):
                await ctx.tick()
                waited += 1
                assert waited < 10
            waits.append(waited)
            plan = ctx.get(dut.plan)
            assert ctx.get(dut.fits)
            reads.append((plan.beats, plan.nbytes, plan.lead, plan.last))
            ctx.set(dut.issue, 1)
            await ctx.tick()
            ctx.set(dut.issue, 0)
            if plan.last:
                return
            remaining -= plan.nbytes
            at_first = 0
            ctx.set(dut.left, remaining)
            ctx.set(dut.first, at_first)

    simulate(dut, bench)
    return reads, waits


@pytest.mark.parametrize("first", range(8))
@pytest.mark.parametrize("left", [1, 7, 8, 9, 100, 248, 249, 255, 256, 257, 1500, 4096, 9000])
def test_reads_cover_the_buffer_in_bursts(left, first):
    reads, waits = _plans(left, first)
    burst = MAX_BURST * 8
    expected = []
    offset, remaining = first, left
    while True:
        last = offset + remaining <= burst
        nbytes = remaining if last else burst - offset
        beats = -(-(offset + nbytes) // 8)
        expected.append((beats, nbytes, min(nbytes, 8 - offset), int(last)))
        if last:
            break
        remaining -= nbytes
        offset = 0
    assert reads == expected
    assert sum(r[1] for r in reads) == left
    # Settled three cycles after the descriptor was taken, and after each read.
    assert waits == [3] * len(reads)


def test_a_cut_descriptor_never_settles():
    dut = TxReadPlanner(space=64)

    async def bench(ctx):
        ctx.set(dut.left, 100)
        ctx.set(dut.slots, 1)
        ctx.set(dut.cut, 1)
        ctx.set(dut.restart, 1)
        await ctx.tick()
        ctx.set(dut.restart, 0)
        for _ in range(10):
            await ctx.tick()
            assert not ctx.get(dut.settled)

    simulate(dut, bench)


def test_room_is_reserved_by_reads_and_given_back_by_words_taken():
    space = 40
    dut = TxReadPlanner(space=space)
    seen = {}

    async def bench(ctx):
        ctx.set(dut.slots, 1)
        ctx.set(dut.left, 256)              # 32 beats a read
        await ctx.tick()
        await ctx.tick()
        await ctx.tick()
        seen["spare_at_first"] = ctx.get(dut.spare)
        assert ctx.get(dut.fits) and not ctx.get(dut.no_room)
        ctx.set(dut.issue, 1)
        await ctx.tick()
        ctx.set(dut.issue, 0)
        for _ in range(4):
            await ctx.tick()
        # 8 entries left: a second read of 32 beats does not fit.
        seen["after_one"] = (ctx.get(dut.fits), ctx.get(dut.no_room), ctx.get(dut.spare))
        ctx.set(dut.dequeued, 1)            # the MAC takes 24 words
        for _ in range(24):
            await ctx.tick()
        ctx.set(dut.dequeued, 0)
        for _ in range(4):
            await ctx.tick()
        seen["after_24"] = (ctx.get(dut.fits), ctx.get(dut.no_room))
        ctx.set(dut.extra, 1)               # a word no read reserved
        await ctx.tick()
        ctx.set(dut.extra, 0)
        for _ in range(4):
            await ctx.tick()
        seen["after_extra"] = (ctx.get(dut.fits), ctx.get(dut.no_room))
        ctx.set(dut.slots, 0)               # no room for the tag: no read either
        await ctx.tick()
        await ctx.tick()
        seen["no_slots"] = ctx.get(dut.fits)

    simulate(dut, bench)
    assert seen["spare_at_first"] == (space > SPARE)
    assert seen["after_one"] == (0, 1, 0)
    assert seen["after_24"] == (1, 0)
    assert seen["after_extra"] == (0, 1)
    assert seen["no_slots"] == 0
