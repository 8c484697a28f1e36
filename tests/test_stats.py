"""Statistics counters: increments, saturation, clear on read, 64-bit pairs, device reset."""

from amaranth.sim import Simulator

from hw.regmap import reg
from hw.stats import COUNTERS, Statistics


def run(testbench):
    dut = Statistics()
    sim = Simulator(dut)
    sim.add_clock(8e-9)
    result = {}

    async def tb(ctx):
        async def read(register):
            ctx.set(dut.bus.addr, register.index)
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
        await ctx.tick()                   # the read's clear lands
        ctx.set(dut.counters.data[COUNTERS["CRCERRS"]], 0xFFFFFFF0)
        await inc("CRCERRS", 0x10)
        await inc("CRCERRS", 0xFFFF)
        await ctx.tick().repeat(2)
        return exact, await read(reg.CRCERRS)
    assert run(tb) == (0xFFFFFFFF, 0xFFFFFFFF)


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
    # Each operation takes the value the one just ahead of it writes, not the RAM's stale row:
    # increments every cycle, then a read in the cycle after the last of them, then another.
    async def tb(ctx, dut, read, inc):
        ctx.set(dut.inc.valid, 1)
        for amount in range(1, 11):
            ctx.set(dut.inc.payload, {"row": COUNTERS["TPT"], "amount": amount})
            await ctx.tick()
            assert ctx.get(dut.inc.ready)
        ctx.set(dut.inc.valid, 0)
        first = await read(reg.TPT)
        await inc("TPT", 7)
        return first, await read(reg.TPT), await read(reg.TPT)
    assert run(tb) == (55, 7, 0)
