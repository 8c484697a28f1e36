"""Statistics counters: increments, saturation, clear on read, 64-bit pairs, device reset."""

from amaranth.hdl import ResetInserter
from amaranth.sim import Simulator

from hw.regmap import reg
from hw.rxdma import RxDeliveryStats
from hw.rxmac import RxFrameStats, RxOutcome
from hw.stats import COUNTERS, Statistics, StatsEvents
from hw.txmac import TxFrameStats


def run(testbench):
    dut = Statistics()
    # As in the core: the device reset that sweeps the rows also holds the block's registers.
    sim = Simulator(ResetInserter(dut.clear)(dut))
    sim.add_clock(8e-9)
    result = {}

    async def tb(ctx):
        async def read(register):
            # As the MMIO target does it: the address goes on the bus two cycles before the
            # strobe, with ``soon``.
            ctx.set(dut.bus.addr, register.index)
            ctx.set(dut.bus.soon, 1)
            await ctx.tick().repeat(2)
            ctx.set(dut.bus.soon, 0)
            ctx.set(dut.bus.r_stb, 1)
            await ctx.tick()
            ctx.set(dut.bus.r_stb, 0)
            await ctx.tick()
            return ctx.get(dut.bus.r_data)     # due in the second cycle after the strobe

        async def inc(name, amount=1):
            ctx.set(dut.inc.payload, {"row": COUNTERS[name], "amount": amount})
            ctx.set(dut.inc.valid, 1)
            await ctx.tick().until(dut.inc.ready)
            ctx.set(dut.inc.valid, 0)

        result["value"] = await testbench(ctx, dut, read, inc)
    sim.add_testbench(tb)
    sim.run()
    return result["value"]


def test_counts_and_clears_on_read():
    async def tb(ctx, dut, read, inc):
        for _ in range(3):
            await inc("GPRC")
        await inc("PRC64", 5)
        await ctx.tick().repeat(3)
        return [await read(reg.GPRC), await read(reg.GPRC), await read(reg.PRC64),
                await read(reg.PRC64)]
    assert run(tb) == [3, 0, 5, 0]


def test_saturates_at_all_ones():
    async def tb(ctx, dut, read, inc):
        ctx.set(dut.counters.data[COUNTERS["CRCERRS"]], 0xFFFFFFF0)
        await inc("CRCERRS", 0x0F)
        await ctx.tick().repeat(2)
        exact = await read(reg.CRCERRS)
        await ctx.tick().repeat(2)         # the read's clear lands (registered, then written)
        ctx.set(dut.counters.data[COUNTERS["CRCERRS"]], 0xFFFFFFF0)
        await inc("CRCERRS", 0x10)
        await inc("CRCERRS", 0xFFFF)
        await ctx.tick().repeat(2)
        saturated = await read(reg.CRCERRS)
        # The read cleared the row, saturation included: it counts from zero again.
        await ctx.tick().repeat(2)
        await inc("CRCERRS", 3)
        await ctx.tick().repeat(2)
        return exact, saturated, await read(reg.CRCERRS)
    assert run(tb) == (0xFFFFFFFF, 0xFFFFFFFF, 3)


def test_octet_counter_carries_and_high_read_clears_both():
    async def tb(ctx, dut, read, inc):
        row = COUNTERS["GORC"]
        ctx.set(dut.counters.data[row], 0xFFFFFF00)
        ctx.set(dut.counters.data[row + 1], 0x00000002)
        # Back-to-back increments: the carry into the high half must not lose either of them.
        ctx.set(dut.inc.valid, 1)
        for amount in (0x80, 0x90, 0x05):
            ctx.set(dut.inc.payload, {"row": row, "amount": amount})
            await ctx.tick().until(dut.inc.ready)
        ctx.set(dut.inc.valid, 0)
        await ctx.tick().repeat(3)
        low = await read(reg.GORCL)        # reading the low half clears nothing
        again = await read(reg.GORCL)
        high = await read(reg.GORCH)       # reading the high half clears both
        await ctx.tick().repeat(2)
        return low, again, high, await read(reg.GORCL), await read(reg.GORCH)
    total = 0x2_FFFFFF00 + 0x80 + 0x90 + 0x05
    assert run(tb) == (total & 0xFFFFFFFF, total & 0xFFFFFFFF, total >> 32, 0, 0)


def test_clear_sweep_zeroes_rows():
    async def tb(ctx, dut, read, inc):
        await inc("TPT", 7)
        await inc("MPC", 9)
        await ctx.tick().repeat(2)
        ctx.set(dut.clear, 1)
        for row in range(64):
            ctx.set(dut.clear_row, row)
            await ctx.tick()
        ctx.set(dut.clear, 0)
        return await read(reg.TPT), await read(reg.MPC)
    assert run(tb) == (0, 0)


def test_back_to_back_operations_on_one_row():
    # Each operation takes the value the one ahead of it wrote, not the RAM's stale row: an
    # increment goes in from the second cycle it is offered, once stage 1 is empty and the
    # operation in stage 2 is on another row, so increments offered every cycle are taken every
    # third cycle, on one row or another; a read comes right after the last of them, then an
    # increment offered as the read's data comes waits for the read's clear.
    async def tb(ctx, dut, read, inc):
        taken = []
        ctx.set(dut.inc.valid, 1)
        for cycle in range(40):
            amount = len(taken) + 1
            row = "TPT" if amount <= 10 else "TPR"
            ctx.set(dut.inc.payload, {"row": COUNTERS[row], "amount": amount})
            if ctx.get(dut.inc.ready):
                taken.append(cycle)
            await ctx.tick()
            if len(taken) == 11:
                break
        ctx.set(dut.inc.valid, 0)
        first = await read(reg.TPT)
        await inc("TPT", 7)
        return taken, first, await read(reg.TPT), await read(reg.TPT), await read(reg.TPR)
    taken, *values = run(tb)
    assert taken == list(range(1, 31, 3)) + [30]       # another row: no wait for stage 2
    assert values == [55, 7, 0, 11]


def test_no_increment_is_lost_to_a_read_that_clears():
    # Increments of one row offered every cycle, through reads of it (which clear it) strobed
    # after gaps of 0 to 5 cycles: every increment taken is in exactly one read. An increment
    # let in while the read's address is decoded (``soon``) would be read too late and then
    # cleared by it.
    async def tb(ctx, dut, read, inc):
        taken = 0

        async def cycle():
            nonlocal taken
            taken += ctx.get(dut.inc.ready)
            await ctx.tick()
        reads = []
        ctx.set(dut.inc.payload, {"row": COUNTERS["GPTC"], "amount": 1})
        ctx.set(dut.inc.valid, 1)
        for gap in range(6):
            for _ in range(gap):
                await cycle()
            ctx.set(dut.bus.addr, reg.GPTC.index)
            ctx.set(dut.bus.soon, 1)
            await cycle()
            await cycle()
            ctx.set(dut.bus.soon, 0)
            ctx.set(dut.bus.r_stb, 1)
            await cycle()
            ctx.set(dut.bus.r_stb, 0)
            await cycle()
            reads.append(ctx.get(dut.bus.r_data))
        ctx.set(dut.inc.valid, 0)
        await ctx.tick().repeat(3)
        reads.append(await read(reg.GPTC))
        return taken, reads
    taken, reads = run(tb)
    # Taken only in the gaps, every third cycle on one row, and never while the read's row is
    # still being worked on (the two cycles after its strobe).
    assert (taken, reads) == (5, [0, 0, 1, 1, 1, 2, 0])


def test_size_histogram_bins_at_their_edges():
    # Frame reports of every bin edge, one from each side that counts sizes, stepped into the
    # increments they make: each length lands in its bin, or in none below 64 or above 1522.
    edges = [63, 64, 65, 127, 128, 255, 256, 511, 512, 1023, 1024, 1522, 1523]
    bins = {64: "64", 127: "127", 255: "255", 511: "511", 1023: "1023", 1522: "1522"}

    def expected_bin(length):
        for top, name in bins.items():
            if 64 <= length <= top:
                return name
        return None

    dut = StatsEvents(TxFrameStats, RxFrameStats, RxDeliveryStats)
    sim = Simulator(dut)
    sim.add_clock(8e-9)
    seen = []

    async def tb(ctx):
        ctx.set(dut.inc.ready, 1)

        async def step():
            _, _, valid, row = await ctx.tick().sample(dut.inc.valid, dut.inc.payload.row)
            if valid:
                seen.append(row)

        for length in edges:
            for port, payload in ((dut.tx, {"length": length}),
                                  (dut.rx_delivery, {"length": length, "missed": 0})):
                ctx.set(port.payload, payload)
                ctx.set(port.valid, 1)
                while not ctx.get(port.ready):
                    await step()
                await step()
                ctx.set(port.valid, 0)
        for _ in range(100):                        # every report stepped through
            await step()

    sim.add_testbench(tb)
    sim.run()

    names = {row: name for name, row in COUNTERS.items()}
    for side in ("PTC", "PRC"):
        histogram = [names[row] for row in seen if names[row].startswith(side)]
        assert histogram == [f"{side}{expected_bin(length)}" for length in edges
                             if expected_bin(length)]


def test_reports_from_every_side_at_once_are_each_taken_at_once_and_stepped_in_time():
    # The three sides report in the same cycle, twice, a minimum frame time (84 cycles) apart.
    # Each side holds one report, so each must be taken in the cycle it is offered, and all the
    # increments of a round must be out before the next round: then no side ever waits.
    dut = StatsEvents(TxFrameStats, RxFrameStats, RxDeliveryStats)
    sim = Simulator(dut)
    sim.add_clock(8e-9)
    reports = [(dut.tx, {"length": 64, "broadcast": 1}),
               (dut.rx, {"length": 64, "outcome": RxOutcome.ACCEPTED}),
               (dut.rx_delivery, {"length": 64, "missed": 0, "multicast": 1})]
    seen = []       # (cycle, row) of each increment
    waits = []      # cycles each report was offered before it was taken

    async def tb(ctx):
        ctx.set(dut.inc.ready, 1)
        cycle = 0
        for _ in range(2):
            offered = list(reports)
            for port, payload in offered:
                ctx.set(port.payload, payload)
                ctx.set(port.valid, 1)
            waited = 0
            for _ in range(84):
                taken = [port for port, _ in offered if ctx.get(port.ready)]
                _, _, valid, row = await ctx.tick().sample(dut.inc.valid, dut.inc.payload.row)
                if valid:
                    seen.append((cycle, row))
                for port in taken:
                    ctx.set(port.valid, 0)
                    waits.append(waited)
                offered = [(port, payload) for port, payload in offered if port not in taken]
                waited += 1
                cycle += 1
            assert not offered

    sim.add_testbench(tb)
    sim.run()

    assert waits == [0] * 6
    names = {row: name for name, row in COUNTERS.items()}
    one_round = ["TPT", "TOT", "GPTC", "GOTC", "PTC64", "BPTC",
                 "TPR", "TOR",
                 "GPRC", "GORC", "PRC64", "MPRC"]
    assert [names[row] for _, row in seen] == one_round * 2
    # Every increment of a round is out within the round.
    for k in range(2):
        assert seen[k * 12 + 11][0] < 84 * (k + 1)
