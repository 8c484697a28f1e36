"""The DMA port's last stage: transparent between resets, and across one it takes what host
memory still owes, finishes the write burst in progress, and keeps offering a held command."""

from amaranth.sim import Simulator

from hw.dmadrain import DMADrain


def simulate(testbench):
    dut = DMADrain()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    result = {}

    async def main(ctx):
        result["value"] = await testbench(ctx, dut)
    sim.add_testbench(main)
    sim.run()
    return result["value"]


async def read_command(ctx, dut, addr, length):
    """The arbiter's side offers a read command until the stage takes it."""
    ctx.set(dut.up.rd_cmd.valid, 1)
    ctx.set(dut.up.rd_cmd.payload, {"addr": addr, "len": length - 1})
    await ctx.tick().until(dut.up.rd_cmd.ready)
    ctx.set(dut.up.rd_cmd.valid, 0)


async def write_command(ctx, dut, addr, length):
    """The arbiter's side offers a write command until the stage takes it; the host then
    takes it from the stage."""
    ctx.set(dut.up.wr_cmd.valid, 1)
    ctx.set(dut.up.wr_cmd.payload, {"addr": addr, "len": length - 1})
    await ctx.tick().until(dut.up.wr_cmd.ready)
    ctx.set(dut.up.wr_cmd.valid, 0)
    ctx.set(dut.dma.wr_cmd.ready, 1)
    await ctx.tick()
    ctx.set(dut.dma.wr_cmd.ready, 0)


async def host_takes_read(ctx, dut):
    """The host takes the command on offer; returns (addr, beats)."""
    ctx.set(dut.dma.rd_cmd.ready, 1)
    _, _, valid, payload = await ctx.tick().sample(dut.dma.rd_cmd.valid, dut.dma.rd_cmd.payload)
    while not valid:
        _, _, valid, payload = await ctx.tick().sample(dut.dma.rd_cmd.valid,
                                                        dut.dma.rd_cmd.payload)
    ctx.set(dut.dma.rd_cmd.ready, 0)
    return payload.addr, payload.len + 1


async def host_sends(ctx, dut, data, last):
    """One read beat from the host; returns whether the stage took it in the first cycle and
    whether the arbiter's side saw it."""
    ctx.set(dut.dma.rd_data.valid, 1)
    ctx.set(dut.dma.rd_data.payload, {"data": data, "last": last})
    ctx.set(dut.up.rd_data.ready, 1)
    _, _, ready, seen = await ctx.tick().sample(dut.dma.rd_data.ready, dut.up.rd_data.valid)
    ctx.set(dut.dma.rd_data.valid, 0)
    return ready, seen


async def reset(ctx, dut, cycles=4):
    ctx.set(dut.reset, 1)
    await ctx.tick().repeat(cycles)
    ctx.set(dut.reset, 0)


def test_reads_pass_straight_through_with_one_cycle_on_the_command():
    async def testbench(ctx, dut):
        ctx.set(dut.up.rd_cmd.valid, 1)
        ctx.set(dut.up.rd_cmd.payload, {"addr": 0x1000, "len": 1})
        assert ctx.get(dut.up.rd_cmd.ready) and not ctx.get(dut.dma.rd_cmd.valid)
        await ctx.tick()
        ctx.set(dut.up.rd_cmd.valid, 0)
        assert ctx.get(dut.dma.rd_cmd.valid) and ctx.get(dut.dma.rd_cmd.payload.addr) == 0x1000
        ctx.set(dut.dma.rd_cmd.ready, 1)
        await ctx.tick()
        ctx.set(dut.dma.rd_cmd.ready, 0)
        seen = [await host_sends(ctx, dut, 0xA0 + i, i == 1) for i in range(2)]
        return seen
    assert simulate(testbench) == [(1, 1), (1, 1)]


def test_beats_owed_from_before_a_reset_are_dropped_and_later_ones_delivered():
    async def testbench(ctx, dut):
        await read_command(ctx, dut, 0x1000, 4)
        assert await host_takes_read(ctx, dut) == (0x1000, 4)
        await read_command(ctx, dut, 0x2000, 2)
        assert await host_takes_read(ctx, dut) == (0x2000, 2)
        first = await host_sends(ctx, dut, 0x11, 0)        # before the reset: delivered
        await reset(ctx, dut)
        await read_command(ctx, dut, 0x3000, 1)             # after it, a new reader
        assert await host_takes_read(ctx, dut) == (0x3000, 1)
        # Host memory answers in order: the rest of the first burst, the second, then the new.
        owed = [await host_sends(ctx, dut, 0x12 + i, i == 2) for i in range(3)]
        owed += [await host_sends(ctx, dut, 0x21 + i, i == 1) for i in range(2)]
        new = await host_sends(ctx, dut, 0x31, 1)
        return first, owed, new, ctx.get(dut.up.rd_data.payload.data)
    first, owed, new, data = simulate(testbench)
    assert first == (1, 1)
    assert owed == [(1, 0)] * 5            # taken at once, never shown to the arbiter
    assert new == (1, 1) and data == 0x31


def test_a_write_burst_cut_by_a_reset_is_finished_without_strobes():
    async def testbench(ctx, dut):
        await write_command(ctx, dut, 0x4000, 4)
        ctx.set(dut.dma.wr_data.ready, 1)
        ctx.set(dut.up.wr_data.valid, 1)                    # one beat of four, then the reset
        ctx.set(dut.up.wr_data.payload, {"data": 0x55, "strb": 0xFF, "last": 0})
        beats = []
        _, _, p = await ctx.tick().sample(dut.dma.wr_data.payload)
        beats.append((p.strb, p.last))
        ctx.set(dut.up.wr_data.valid, 0)
        ctx.set(dut.reset, 1)
        await ctx.tick()                                    # the reset's first cycle
        for _ in range(6):
            _, _, valid, p = await ctx.tick().sample(dut.dma.wr_data.valid, dut.dma.wr_data.payload)
            if valid:
                beats.append((p.strb, p.last))
        ctx.set(dut.reset, 0)
        # The old burst's completion is taken here (a cycle after the reset: the stage acts
        # on it a cycle late) and not passed on.
        ctx.set(dut.dma.wr_done.valid, 1)
        seen = []
        taken = 0
        while not taken:
            _, _, up_valid, taken = await ctx.tick().sample(dut.up.wr_done.valid,
                                                             dut.dma.wr_done.ready)
            seen.append(up_valid)
        ctx.set(dut.dma.wr_done.valid, 0)
        stale_done = (any(seen), len(seen))
        # A new write passes as before, and so does its completion.
        await write_command(ctx, dut, 0x5000, 1)
        ctx.set(dut.dma.wr_done.valid, 1)
        ctx.set(dut.up.wr_done.ready, 1)
        _, _, new_done = await ctx.tick().sample(dut.up.wr_done.valid)
        return beats, stale_done, new_done
    beats, stale_done, new_done = simulate(testbench)
    assert beats == [(0xFF, 0), (0, 0), (0, 0), (0, 1)]
    assert stale_done == (False, 2)         # taken in the second cycle, never passed on
    assert new_done == 1


def test_a_command_held_at_the_reset_is_still_offered_and_its_data_dropped():
    async def testbench(ctx, dut):
        await read_command(ctx, dut, 0x6000, 2)             # in the slice; the host is busy
        await reset(ctx, dut)
        offered = ctx.get(dut.dma.rd_cmd.valid)
        assert await host_takes_read(ctx, dut) == (0x6000, 2)
        owed = [await host_sends(ctx, dut, i, i == 1) for i in range(2)]
        return offered, owed
    offered, owed = simulate(testbench)
    assert offered == 1
    assert owed == [(1, 0), (1, 0)]


def test_a_write_command_held_at_the_reset_is_filled_once_taken_and_blocks_the_next():
    async def testbench(ctx, dut):
        ctx.set(dut.up.wr_cmd.valid, 1)                     # into the slice; the host is busy
        ctx.set(dut.up.wr_cmd.payload, {"addr": 0x7000, "len": 1})
        await ctx.tick().until(dut.up.wr_cmd.ready)
        ctx.set(dut.up.wr_cmd.valid, 0)
        await reset(ctx, dut)
        ctx.set(dut.up.wr_cmd.valid, 1)                     # a new write after the reset
        ctx.set(dut.up.wr_cmd.payload, {"addr": 0x8000, "len": 0})
        blocked = not ctx.get(dut.up.wr_cmd.ready)
        ctx.set(dut.dma.wr_cmd.ready, 1)                    # the host takes the held one
        _, _, addr = await ctx.tick().sample(dut.dma.wr_cmd.payload.addr)
        ctx.set(dut.dma.wr_cmd.ready, 0)
        ctx.set(dut.dma.wr_data.ready, 1)
        beats = []
        for _ in range(2):
            _, _, valid, p, new_ready = await ctx.tick().sample(
                dut.dma.wr_data.valid, dut.dma.wr_data.payload, dut.up.wr_cmd.ready)
            beats.append((valid, p.strb, p.last, new_ready))
        _, _, new_ready = await ctx.tick().sample(dut.up.wr_cmd.ready)
        return blocked, addr, beats, new_ready
    blocked, addr, beats, new_ready = simulate(testbench)
    assert blocked and addr == 0x7000
    assert beats == [(1, 0, 0, 0), (1, 0, 1, 0)]           # filled; the new write still waits
    assert new_ready == 1
