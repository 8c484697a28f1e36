"""Host memory serving DMA: latency in cycles, overlapping reads, strobed writes, faults."""

from amaranth.sim import Simulator

from sim.hostmem import HostMemory

BASE = 0x1000


def run(testbench, **kwargs):
    dut = HostMemory(base=BASE, size=4096, **kwargs)
    sim = Simulator(dut)
    sim.add_clock(8e-9)
    out = {}

    async def tb(ctx):
        ctx.set(dut.bus_master, 1)
        for i in range(512):
            ctx.set(dut.data[i], 0x0101010101010101 * (i & 0xFF))
        out["v"] = await testbench(ctx, dut)
    sim.add_testbench(tb)
    sim.run()
    return out["v"]


async def command(ctx, channel, addr, beats):
    ctx.set(channel.payload, {"addr": addr, "len": beats - 1})
    ctx.set(channel.valid, 1)
    await ctx.tick().until(channel.ready)
    ctx.set(channel.valid, 0)


def test_read_latency_and_overlap():
    async def tb(ctx, dut):
        ctx.set(dut.dma.rd_data.ready, 1)
        await command(ctx, dut.dma.rd_cmd, BASE + 16, 3)       # cycle 0: accepted
        await command(ctx, dut.dma.rd_cmd, BASE + 64, 2)        # queued behind the first
        beats, cycle = [], 1
        while len(beats) < 5:
            data, last, valid = (ctx.get(dut.dma.rd_data.payload.data),
                                 ctx.get(dut.dma.rd_data.payload.last),
                                 ctx.get(dut.dma.rd_data.valid))
            if valid:
                beats.append((cycle, data, last))
            await ctx.tick()
            cycle += 1
        return beats

    beats = run(tb, read_latency=40)
    first = beats[0][0]
    assert first == 40                          # cycles after the command was accepted
    # One beat per cycle, and the second burst straight after the first: its latency overlapped.
    assert [c - first for c, _, _ in beats] == [0, 1, 2, 3, 4]
    assert [(d & 0xFF, l) for _, d, l in beats] == [(2, 0), (3, 0), (4, 1), (8, 0), (9, 1)]


def test_strobed_write_and_acknowledge():
    async def tb(ctx, dut):
        await command(ctx, dut.dma.wr_cmd, BASE + 8, 2)
        ctx.set(dut.dma.wr_data.valid, 1)
        for data, strb, last in ((0x1122334455667788, 0xFF, 0), (0xAABBCCDDEEFF0011, 0x0F, 1)):
            ctx.set(dut.dma.wr_data.payload, {"data": data, "strb": strb, "last": last})
            await ctx.tick().until(dut.dma.wr_data.ready)
        ctx.set(dut.dma.wr_data.valid, 0)
        ctx.set(dut.dma.wr_done.ready, 1)
        await ctx.tick().until(dut.dma.wr_done.valid)
        return ctx.get(dut.data[1]), ctx.get(dut.data[2]), ctx.get(dut.fault)

    row1, row2, fault = run(tb)
    assert row1 == 0x1122334455667788
    assert row2 == 0x02020202EEFF0011           # upper four bytes kept
    assert fault == 0


def test_faults():
    async def tb(ctx, dut):
        results = []
        await command(ctx, dut.dma.rd_cmd, BASE + 4096 - 8, 2)   # runs off the end
        await ctx.tick()
        results.append((ctx.get(dut.fault), ctx.get(dut.fault_addr)))
        return results

    async def no_master(ctx, dut):
        ctx.set(dut.bus_master, 0)
        await command(ctx, dut.dma.rd_cmd, BASE, 1)
        await ctx.tick()
        return ctx.get(dut.fault), ctx.get(dut.fault_addr)

    assert run(tb) == [(1, BASE + 4096 - 8)]
    assert run(no_master) == (1, BASE)


def test_fault_addresses():
    def first_fault(addr, beats, channel):
        async def tb(ctx, dut):
            await command(ctx, getattr(dut.dma, channel), addr, beats)
            await ctx.tick()
            return ctx.get(dut.fault), ctx.get(dut.fault_addr)
        return run(tb)

    for channel in ("rd_cmd", "wr_cmd"):
        assert first_fault(BASE - 8, 1, channel) == (1, BASE - 8)             # below
        assert first_fault(BASE + 4, 1, channel) == (1, BASE + 4)             # unaligned
        assert first_fault(BASE + (1 << 32), 1, channel) == (1, BASE + (1 << 32))   # above 4 GiB
        assert first_fault(BASE + 4096 - 16, 2, channel) == (0, 0)             # the last rows


def test_a_faulty_access_ends_as_a_master_abort_and_the_next_is_served():
    # A read outside memory returns all ones, a write there changes nothing and its completion
    # says so; the accesses after them are served as usual, and the fault can be cleared.
    async def tb(ctx, dut):
        ctx.set(dut.dma.rd_data.ready, 1)
        ctx.set(dut.dma.wr_done.ready, 1)
        await command(ctx, dut.dma.rd_cmd, BASE - 16, 1)          # outside
        await command(ctx, dut.dma.rd_cmd, BASE + 8, 1)
        beats = []
        while len(beats) < 2:
            if ctx.get(dut.dma.rd_data.valid):
                beats.append(ctx.get(dut.dma.rd_data.payload.data))
            await ctx.tick()
        completions = []
        for addr in (BASE + 8 * 512, BASE + 16):               # past the end, then inside
            await command(ctx, dut.dma.wr_cmd, addr, 1)
            ctx.set(dut.dma.wr_data.valid, 1)
            ctx.set(dut.dma.wr_data.payload, {"data": 0x5555_5555_5555_5555, "strb": 0xFF,
                                              "last": 1})
            await ctx.tick().until(dut.dma.wr_data.ready)
            ctx.set(dut.dma.wr_data.valid, 0)
            while not ctx.get(dut.dma.wr_done.valid):
                await ctx.tick()
            completions.append(ctx.get(dut.dma.wr_done.payload.error))
            await ctx.tick()
        rows = [ctx.get(dut.data[i]) for i in range(512)]
        fault = ctx.get(dut.fault), ctx.get(dut.fault_addr)
        ctx.set(dut.fault_clear, 1)
        await ctx.tick()
        return beats, completions, rows, fault, ctx.get(dut.fault)

    beats, completions, rows, fault, cleared = run(tb)
    assert beats == [(1 << 64) - 1, 0x0101010101010101]
    assert completions == [1, 0]
    assert rows == [0x5555_5555_5555_5555 if i == 2 else 0x0101010101010101 * (i & 0xFF)
                    for i in range(512)]
    assert fault == (1, BASE - 16)
    assert cleared == 0
