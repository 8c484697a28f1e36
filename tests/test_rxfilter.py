"""The receive filter on its own: table look-ups answered by the test, verdicts once settled."""

import pytest
from amaranth.sim import Simulator

from hw.regmap import reg
from hw.rxfilter import RxAddressFilter

RCTL = reg.RCTL
OURS = 0x5634_1200_5452          # 52:54:00:12:34:56 as the filter sees it (byte 0 lowest)
OTHER = 0xCCBB_AA00_5452
MCAST = 0xFB00_005E_0001
AV = 1 << (32 + reg.RAH.AV.lsb)


def verdict(dest, rctl, *, ra=(), mta=(), vfta=(), tci=None, stall=0):
    """``passed`` for one frame once ``busy`` has fallen, with the tables given as
    {row: value} (missing rows are 0); ``stall``: cycles the address port is busy for."""
    dut = RxAddressFilter()
    ra, mta, vfta = dict(ra), dict(mta), dict(vfta)
    result = {}

    async def tables(ctx):
        # Each table's data comes two cycles after its address, as the register file's.
        last = (0, 0, 0)
        async for _, _, ra_addr, mta_addr, vfta_addr in ctx.tick().sample(
                dut.tables.ra_addr, dut.tables.mta_addr, dut.tables.vfta_addr):
            ctx.set(dut.tables.ra_data, ra.get(last[0], 0))
            ctx.set(dut.tables.mta_data, mta.get(last[1], 0))
            ctx.set(dut.tables.vfta_data, vfta.get(last[2], 0))
            last = (ra_addr, mta_addr, vfta_addr)

    async def frame(ctx):
        ctx.set(dut.rctl, rctl)
        ctx.set(dut.new_frame, 1)
        await ctx.tick()
        ctx.set(dut.new_frame, 0)
        ctx.set(dut.tables.ra_busy, stall > 0)
        ctx.set(dut.dest, dest)
        ctx.set(dut.addressed, 1)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        if tci is not None:
            ctx.set(dut.tagged, 1)
            ctx.set(dut.tci, tci)
            ctx.set(dut.tci_valid, 1)
        if stall:
            await ctx.tick().repeat(stall)
        ctx.set(dut.tables.ra_busy, 0)
        cycles = 0
        while ctx.get(dut.busy):
            await ctx.tick()
            cycles += 1
        await ctx.tick()
        result.update(passed=ctx.get(dut.passed), exact=ctx.get(dut.exact), cycles=cycles)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_process(tables)
    sim.add_testbench(frame)
    sim.run_until(2e-6)
    return result


@pytest.mark.parametrize("entry", [0, 7, 15])
def test_an_exact_match_in_any_entry(entry):
    got = verdict(OURS, 0, ra={entry: OURS | AV})
    assert got["passed"] and got["exact"]
    # The sixteen entries, a cycle each, and the compare's pipeline.
    assert got["cycles"] == 21
    assert not verdict(OURS, 0, ra={entry: OURS})["passed"]          # not valid
    assert not verdict(OTHER, 0, ra={entry: OURS | AV})["passed"]


def test_a_busy_port_delays_the_scan_but_not_the_verdict():
    got = verdict(OURS, 0, ra={15: OURS | AV}, stall=5)
    # Counted from when the port is free: the scan had begun (its first cycle) during the stall.
    assert got["passed"] and got["cycles"] == 20


def test_broadcast_promiscuous_and_the_multicast_hash():
    broadcast = 0xFFFF_FFFF_FFFF
    assert not verdict(broadcast, 0)["passed"]
    assert verdict(broadcast, RCTL.BAM.mask)["passed"]
    assert verdict(OTHER, RCTL.UPE.mask)["passed"]
    assert not verdict(MCAST, RCTL.UPE.mask)["passed"]
    assert verdict(MCAST, RCTL.MPE.mask)["passed"]
    # With MO 0 the hash is the address's bits 47:36: 0xFB0 for 01:00:5e:00:00:fb.
    value = ((0xFB << 8) | 0x00) >> 4
    assert verdict(MCAST, 0, mta={value >> 5: 1 << (value & 31)})["passed"]
    assert not verdict(MCAST, RCTL.MO.put(RCTL.MO.BITS_43_32), mta={value >> 5: 1 << (value & 31)})["passed"]


def test_the_vlan_filter_table_and_cfi():
    ours = {0: OURS | AV}
    assert verdict(OURS, RCTL.VFE.mask, ra=ours, tci=5, vfta={0: 1 << 5})["passed"]
    assert not verdict(OURS, RCTL.VFE.mask, ra=ours, tci=37, vfta={0: 1 << 5})["passed"]
    assert verdict(OURS, 0, ra=ours, tci=37)["passed"]                  # VFE off
    assert not verdict(OURS, RCTL.CFIEN.mask, ra=ours, tci=0x1005)["passed"]
    assert verdict(OURS, RCTL.CFIEN.mask | RCTL.CFI.mask, ra=ours, tci=0x1005)["passed"]
