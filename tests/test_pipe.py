"""Stream register slices and queues: nothing lost or reordered, full throughput, and what each
one cuts."""

import random

from amaranth.sim import Simulator

from hw.pipe import HalfRateRegister, Queue, StreamRegister


def simulate(dut, testbench, *background):
    """Run ``await testbench(ctx)`` against ``dut`` with a clock, and the ``background``
    testbenches beside it; returns its result."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for other in background:
        sim.add_testbench(other, background=True)
    result = {}

    async def main(ctx):
        result["value"] = await testbench(ctx)
    sim.add_testbench(main)
    sim.run()
    return result["value"]


def run(dut, items, ready_pattern):
    """Push ``items`` through ``dut`` with gaps on the input side and ``ready_pattern(cycle)`` on
    the output side; returns (what came out, cycles taken)."""
    out = []

    async def producer(ctx):
        rng = random.Random(1)
        for item in items:
            while rng.random() < 0.3:
                ctx.set(dut.i.valid, 0)
                await ctx.tick()
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, item)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    async def consumer(ctx):
        cycle = 0
        while len(out) < len(items):
            ready = ready_pattern(cycle)
            ctx.set(dut.o.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if valid and ready:
                out.append(payload)
            cycle += 1
        return cycle

    return out, simulate(dut, consumer, producer)


def test_nothing_lost_or_reordered_under_back_pressure():
    items = list(range(1, 200))
    rng = random.Random(2)
    stalls = [rng.random() < 0.4 for _ in range(10_000)]
    for dut in (StreamRegister(8), StreamRegister(8, ram_output=True), Queue(8, ram_depth=2),
                HalfRateRegister(8)):
        out, _ = run(dut, items, lambda cycle: not stalls[cycle])
        assert out == items, type(dut).__name__


def test_full_throughput():
    async def tb(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.i.valid, 1)
        seen = []
        for n in range(20):
            ctx.set(dut.i.payload, n)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if valid:
                seen.append(payload)
        return seen

    # A register: one cycle of latency, then one payload per cycle. A queue: two.
    for dut, latency in ((StreamRegister(8), 1), (StreamRegister(8, ram_output=True), 1),
                         (Queue(8, ram_depth=2), 2)):
        seen = simulate(dut, tb)
        assert seen == list(range(20 - latency)), type(dut).__name__


def test_a_slice_after_a_ram_holds_only_what_it_took():
    # Its payload register loads only with a handshake (so that it can be the block RAM's
    # output register, one enable and no reset); a plain slice's loads whenever it is ready.
    def payloads(dut):
        async def tb(ctx):
            ctx.set(dut.o.ready, 1)
            seen = []
            for valid, payload in ((1, 5), (0, 6), (0, 7), (1, 8), (0, 9)):
                ctx.set(dut.i.valid, valid)
                ctx.set(dut.i.payload, payload)
                _, _, out_valid, out = await ctx.tick().sample(dut.o.valid, dut.o.payload)
                seen.append((out_valid, out))
            return seen
        return simulate(dut, tb)

    # Sampled at each edge: what the slice shows in the cycle a payload is offered.
    assert payloads(StreamRegister(8, ram_output=True)) == [(0, 0), (1, 5), (0, 5), (0, 5),
                                                             (1, 8)]
    assert payloads(StreamRegister(8)) == [(0, 0), (1, 5), (0, 6), (0, 7), (1, 8)]


def input_ready(ctx, dut):
    """``dut.i.ready`` in this cycle, checked to be the same with ``dut.o.ready`` high and low
    (it does not follow the output's ready combinationally); leaves ``o.ready`` low."""
    ctx.set(dut.o.ready, 1)
    first = ctx.get(dut.i.ready)
    ctx.set(dut.o.ready, 0)
    assert ctx.get(dut.i.ready) == first
    return first


def test_a_small_queue_ready_does_not_follow_the_output_in_the_same_cycle():
    # What the transmit engine uses one for: its ready comes from its level, whatever the
    # output's ready does in the cycle.
    dut = Queue(8, ram_depth=2)

    async def tb(ctx):
        ctx.set(dut.o.ready, 0)
        ctx.set(dut.i.valid, 1)
        readies = []
        for n in range(4):
            ctx.set(dut.i.payload, n)
            readies.append(input_ready(ctx, dut))
            await ctx.tick()
        return readies

    # Three entries (two in RAM, one in the output register), then full.
    assert simulate(dut, tb) == [1, 1, 1, 0]


def test_a_typed_queue_gives_back_what_it_took_as_views():
    from amaranth.lib import data

    class Entry(data.Struct):
        a: 5
        b: 3

    items = [{"a": n % 32, "b": n % 8} for n in range(1, 120)]
    rng = random.Random(3)
    stalls = [rng.random() < 0.5 for _ in range(10_000)]
    out, _ = run(Queue(Entry, ram_depth=4), items, lambda cycle: not stalls[cycle])
    assert [{"a": p.a, "b": p.b} for p in out] == items


def test_a_typed_queue_holds_its_ram_and_its_output_register():
    dut = Queue(8, ram_depth=4)

    async def tb(ctx):
        ctx.set(dut.o.ready, 0)
        ctx.set(dut.i.valid, 1)
        taken = 0
        for n in range(10):
            ctx.set(dut.i.payload, n)
            if ctx.get(dut.i.ready):
                taken += 1
            await ctx.tick()
        return taken

    assert simulate(dut, tb) == 5


def test_a_half_rate_register_cuts_both_ways_at_half_throughput():
    dut = HalfRateRegister(8)

    async def tb(ctx):
        ctx.set(dut.i.valid, 1)
        seen, readies = [], []
        for n in range(12):
            ctx.set(dut.i.payload, n)
            readies.append(input_ready(ctx, dut))
            ctx.set(dut.o.ready, 1)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if valid:
                seen.append(payload)
        return seen, readies

    # Taken every second cycle: what is offered in a cycle with ``ready`` comes out in the next.
    seen, readies = simulate(dut, tb)
    assert readies == [1, 0] * 6
    assert seen == [0, 2, 4, 6, 8, 10]
