"""Reset values and access semantics of every register, unknown offsets, byte enables,
the I/O window, and CTRL.RST."""

from hw.core import DEFAULT_MAC
from hw.regfile import PLAIN
from hw.regmap import Access, REGISTERS, reg
from sim import regvalues

from harness import run

RA0 = (int.from_bytes(DEFAULT_MAC[:4], "little"),
       int.from_bytes(DEFAULT_MAC[4:], "little") | 1 << 31)


def expected_reset(r, n):
    if r is reg.RAL and n == 0:
        return RA0[0]
    if r is reg.RAH and n == 0:
        return RA0[1]
    if r.access in (Access.WSO, Access.WCO):
        return 0                    # write-only registers read 0
    return r.reset


def test_every_register_reads_its_reset_value():
    async def tb(backend, regs):
        backend.set_cable(0)        # keep the link down: no LSC, STATUS.LU clear
        got = {}
        for r in REGISTERS:
            for n in range(r.count):
                got[(r.name, n)] = await regs.read(r, n)
        backend.set_cable(1)
        await backend.cycles(400)   # autonegotiation
        got["STATUS up"] = await regs.read(reg.STATUS)
        return got

    got = run(tb)
    wrong = []
    for r in REGISTERS:
        for n in range(r.count):
            want = expected_reset(r, n)
            if r is reg.STATUS:
                want &= ~reg.STATUS.LU.mask
            if got[(r.name, n)] != want:
                wrong.append(f"{r.name}[{n}] = {got[(r.name, n)]:#010x}, want {want:#010x}")
    assert not wrong, "\n".join(wrong)
    assert got["STATUS up"] == 0x80080783


def test_read_write_registers_keep_writable_bits_only():
    plain = [r for r in PLAIN if r.access is Access.RW]
    arrays = [(reg.MTA, 0), (reg.MTA, 127), (reg.VFTA, 77), (reg.RAL, 3), (reg.RAH, 15)]

    async def tb(backend, regs):
        got = {}
        for r, n in [(r, 0) for r in plain] + arrays:
            await regs.write(r, 0xFFFFFFFF, n)
            ones = await regs.read(r, n)
            await regs.write(r, 0x00000000, n)
            zeros = await regs.read(r, n)
            got[(r.name, n)] = (ones, zeros)
        return got

    got = run(tb)
    for r, n in [(r, 0) for r in plain] + arrays:
        keep = ~r.mask & 0xFFFFFFFF
        assert got[(r.name, n)] == (r.mask | (r.reset & keep), r.reset & keep), r.name
    assert got[("RDBAL", 0)][0] == 0xFFFFFFF0        # low 4 bits of the ring base read 0
    assert got[("RDLEN", 0)][0] == 0x000FFF80        # a multiple of 128
    assert got[("TDT", 0)][0] == 0x0000FFFF          # 16-bit index


def test_read_only_and_counters_ignore_writes():
    async def tb(backend, regs):
        await backend.cycles(400)
        before = [await regs.read(r) for r in (reg.STATUS, reg.RXCW, reg.GPRC, reg.GORCH, reg.TPT)]
        for r in (reg.STATUS, reg.RXCW, reg.GPRC, reg.GORCH, reg.TPT):
            await regs.write(r, 0x5A5A5A5A)
        after = [await regs.read(r) for r in (reg.STATUS, reg.RXCW, reg.GPRC, reg.GORCH, reg.TPT)]
        return before, after

    before, after = run(tb)
    assert before == after == [0x80080783, 0, 0, 0, 0]


def test_unknown_offsets_read_zero_and_ignore_writes():
    holes = [0x0004, 0x000C, 0x0FFC, 0x4024, 0x40FC, 0x5A00, 0x1FFFC]

    async def tb(backend, regs):
        for off in holes:
            await regs.write(off, 0xFFFFFFFF)
        values = [await regs.read(off) for off in holes]
        # The writes landed nowhere: the neighbours still hold their reset values.
        neighbours = [await regs.read(r) for r in (reg.CTRL, reg.STATUS, reg.PBA, reg.MTA)]
        return values, neighbours

    values, neighbours = run(tb, autoneg_cycles=10)
    assert values == [0] * len(holes)
    assert neighbours == [0x00140240, 0x80080783, 0x00100030, 0]


def test_byte_enables():
    async def tb(backend, regs):
        await regs.write(reg.FCAL, 0x11223344)
        await regs.write(reg.FCAL, 0xAABBCCDD, be=0b0101)
        a = await regs.read(reg.FCAL)
        await regs.write(reg.MTA, 0x11223344, 9)
        await regs.write(reg.MTA, 0xAABBCCDD, 9, be=0b1000)
        b = await regs.read(reg.MTA, 9)
        await regs.write(reg.ITR, 0xFFFFFFFF, be=0b0010)
        c = await regs.read(reg.ITR)
        return a, b, c

    assert run(tb) == (0x11BB33DD, 0xAA223344, 0x0000FF00)


def test_io_window_reaches_the_same_registers():
    async def tb(backend, regs):
        await regs.io_write(0x0, reg.RDTR.offset)                   # IOADDR
        ioaddr = await regs.io_read(0x0)
        await regs.io_write(0x4, 0x1234)                            # IODATA
        via_mmio = await regs.read(reg.RDTR)
        await regs.write(reg.RDTR, 0x0042)
        via_io = await regs.io_read(0x4)
        await regs.io_write(0x0, reg.RAH.at(0))
        rah0 = await regs.io_read(0x4)
        outside = [await regs.io_read(off) for off in (0x8, 0x3C)]
        await regs.io_write(0x8, 0xFFFFFFFF)                        # lands nowhere
        still = await regs.io_read(0x0)
        return ioaddr, via_mmio, via_io, rah0, outside, still

    ioaddr, via_mmio, via_io, rah0, outside, still = run(tb)
    assert ioaddr == 0x2820
    assert via_mmio == 0x1234 and via_io == 0x0042
    assert rah0 == RA0[1]
    assert outside == [0, 0] and still == reg.RAH.at(0)


def test_ctrl_rst_resets_the_device_mid_operation():
    async def tb(backend, regs):
        await backend.cycles(400)                                   # link up
        await regs.write(reg.RCTL, regvalues.RCTL)
        await regs.write(reg.IMS, 0x9D)
        await regs.write(reg.RAL, 0xDEADBEEF, 1)
        await regs.write(reg.MTA, 0xFFFFFFFF, 5)
        await regs.write(reg.PBA, 0x00200020)          # registers kept in block RAM
        await regs.write(reg.FCTTV, 0x1234)
        await regs.write(reg.ICS, reg.ICS.TXDW.mask)
        # A PHY read is under way when the reset comes, through the I/O window.
        await regs.write(reg.MDIC, reg.MDIC.value(PHYADD=1, OP=reg.MDIC.OP.READ, REGADD=1))
        assert not await regs.read(reg.MDIC) & reg.MDIC.READY.mask
        assert backend.irq
        ctrl = await regs.read(reg.CTRL)
        await regs.io_write(0x0, reg.CTRL.offset)
        await regs.io_write(0x4, ctrl | reg.CTRL.RST.mask)
        during = await regs.read(reg.CTRL)
        irq_during = backend.irq
        polls = 1
        while await regs.read(reg.CTRL) & reg.CTRL.RST.mask:
            polls += 1
        after = {r.name: await regs.read(r) for r in (reg.CTRL, reg.RCTL, reg.IMS, reg.ICR,
                                                       reg.MDIC, reg.STATUS, reg.PBA,
                                                       reg.FCTTV)}
        after["RAL1"] = await regs.read(reg.RAL, 1)
        after["MTA5"] = await regs.read(reg.MTA, 5)
        after["RAL0"] = await regs.read(reg.RAL, 0)
        return during, irq_during, polls, after

    during, irq_during, polls, after = run(tb)
    assert during == 0x00140240 | reg.CTRL.RST.mask
    assert not irq_during
    assert after == {"CTRL": 0x00140240, "RCTL": 0, "IMS": 0, "ICR": 0, "MDIC": 0x10000000,
                     "STATUS": 0x80080783, "PBA": 0x00100030, "FCTTV": 0, "RAL1": 0, "MTA5": 0,
                     "RAL0": RA0[0]}
