"""MDIC and the MDIO master against the PHY model, down to the bits on the wire."""

from hw.regmap import reg

from harness import run

READ, WRITE = reg.MDIC.OP.READ, reg.MDIC.OP.WRITE
READY, ERROR = reg.MDIC.READY.mask, reg.MDIC.E.mask


def mdic(op, regadd, phyadd=1, data=0, irq=False):
    return reg.MDIC.value(DATA=data, REGADD=regadd, PHYADD=phyadd, OP=op, I=int(irq))


async def phy_read(regs, r):
    """A PHY register through MDIC, waiting for READY."""
    await regs.write(reg.MDIC, mdic(READ, r))
    while not (v := await regs.read(reg.MDIC)) & READY:
        pass
    return v & 0xFFFF


async def phy_write(regs, r, value):
    await regs.write(reg.MDIC, mdic(WRITE, r, data=value))
    while not await regs.read(reg.MDIC) & READY:
        pass


async def capture_frame(backend, bits=64, limit=5000):
    """Sample MDIO at each rising edge of MDC: (line, master drives, PHY drives)."""
    ctx = backend.ctx
    core, phy = backend.bench.core, backend.bench.phy
    frame, mdc_q = [], 0
    for _ in range(limit):
        mdc = ctx.get(core.mdio.mdc)
        if mdc and not mdc_q:
            frame.append((ctx.get(core.mdio.mdio_i), ctx.get(core.mdio.mdio_oe),
                          ctx.get(phy.mdio_oe)))
            if len(frame) == bits:
                return frame
        mdc_q = mdc
        await ctx.tick()
    raise AssertionError(f"only {len(frame)} MDC edges")


def field(frame, start, width):
    value = 0
    for line, _, _ in frame[start:start + width]:
        value = value << 1 | line
    return value


def test_read_frame_on_the_wire():
    async def tb(backend, regs):
        await regs.write(reg.MDIC, mdic(READ, 2))
        frame = await capture_frame(backend)
        while not (value := await regs.read(reg.MDIC)) & READY:
            pass
        return frame, value

    frame, value = run(tb)
    assert all(f == (1, 1, 0) for f in frame[:32]), "32 bits of preamble, driven by the master"
    assert field(frame, 32, 2) == 0b01                      # start
    assert field(frame, 34, 2) == READ
    assert field(frame, 36, 5) == 1                         # PHY address
    assert field(frame, 41, 5) == 2                         # PHYID1
    assert all(master for _, master, _ in frame[:46])
    assert frame[46] == (1, 0, 0)                           # turnaround: released, pulled up
    assert frame[47] == (0, 0, 1)                           # turnaround: the PHY drives 0
    assert all(not master and phy for _, master, phy in frame[48:])
    assert field(frame, 48, 16) == 0x0141
    assert value == mdic(READ, 2, data=0x0141) | READY


def test_write_frame_on_the_wire_and_the_register_reads_back():
    async def tb(backend, regs):
        await regs.write(reg.MDIC, mdic(WRITE, 4, data=0x0C01))
        frame = await capture_frame(backend)
        while not await regs.read(reg.MDIC) & READY:
            pass
        await regs.write(reg.MDIC, mdic(READ, 4))
        while not (value := await regs.read(reg.MDIC)) & READY:
            pass
        return frame, value

    frame, value = run(tb)
    assert field(frame, 32, 4) == 0b0101                    # start, write
    assert field(frame, 41, 5) == 4
    assert field(frame, 46, 2) == 0b10                      # turnaround, driven by the master
    assert field(frame, 48, 16) == 0x0C01
    assert all(master and not phy for _, master, phy in frame)
    assert value & 0xFFFF == 0x0C01 and not value & ERROR


def test_no_answer_sets_the_error_bit_and_mdac_interrupts():
    async def tb(backend, regs):
        await backend.cycles(300)
        await regs.read(reg.ICR)
        await regs.write(reg.IMS, reg.IMS.MDAC.mask)
        results = []
        for phyadd, regadd in ((2, 1), (1, 0x1F), (1, 1)):     # nobody, unknown register, BMSR
            await regs.write(reg.MDIC, mdic(READ, regadd, phyadd, irq=True))
            assert not await regs.read(reg.MDIC) & READY
            while not backend.irq:
                await backend.ctx.tick()
            results.append((await regs.read(reg.MDIC), await regs.read(reg.ICR)))
        # Without MDIC.I, no interrupt.
        await regs.write(reg.MDIC, mdic(READ, 1))
        while not await regs.read(reg.MDIC) & READY:
            pass
        results.append(await regs.read(reg.ICR))
        return results

    nobody, unknown, bmsr, no_irq = run(tb)
    MDAC = reg.ICR.MDAC.mask
    assert nobody[0] & (READY | ERROR) == READY | ERROR and nobody[1] == MDAC
    assert unknown[0] & (READY | ERROR) == READY | ERROR and unknown[1] == MDAC
    # The link came up before the first BMSR read: link status latched low reads 0 once.
    assert bmsr == (mdic(READ, 1, data=0x7969, irq=True) | READY, MDAC)
    assert no_irq == 0


def test_phy_registers_and_autonegotiation_restart():
    async def tb(backend, regs):
        await backend.cycles(3100)
        values = {r: await phy_read(regs, r) for r in (0, 1, 1, 2, 3, 4, 5, 9, 10, 0x10, 0x11, 0x14)}
        bmsr_first = await phy_read(regs, 1)
        await phy_write(regs, 0, 0x1340)                  # restart autonegotiation
        restarted = await phy_read(regs, 0), await phy_read(regs, 1), await phy_read(regs, 5)
        await backend.cycles(3000)
        await phy_read(regs, 1)                           # clear the latched link failure
        done = await phy_read(regs, 1)
        return values, bmsr_first, restarted, done

    values, bmsr, restarted, done = run(tb, autoneg_cycles=3000)   # longer than 3 accesses
    assert values[0] == 0x1140 and values[2] == 0x0141 and values[3] == 0x0C20
    assert values[4] == 0x0DE1 and values[5] == 0x41E0 and values[9] == 0x0E00
    assert values[10] == 0x3C00 and values[0x10] == 0x0360 and values[0x11] == 0xAC00
    assert values[0x14] == 0x0D60
    assert bmsr == 0x796D
    # The restart bit clears itself; link and AN complete drop until it has finished.
    assert restarted == (0x1140, 0x7949, 0x01E0)
    assert done == 0x796D


def test_a_phy_software_reset_keeps_what_software_wrote():
    # The 88E1011 applies writes to ANAR, 1000BASE-T control and its specific control registers
    # at a software reset (BMCR.15), which the Linux driver sets after writing them; the reset
    # must not bring their old values back. It restarts autonegotiation.
    written = {0x04: 0x0C01, 0x09: 0x0200, 0x10: 0x0068, 0x14: 0x0C60}

    async def tb(backend, regs):
        await backend.cycles(3100)
        for r, value in written.items():
            await phy_write(regs, r, value)
        await phy_write(regs, 0, 0x1140 | 0x8000)         # software reset
        restarted = await phy_read(regs, 1)
        after = {r: await phy_read(regs, r) for r in (0, *written)}
        await backend.cycles(3000)
        await phy_read(regs, 1)                           # clear the latched link failure
        return after, restarted, await phy_read(regs, 1)

    after, restarted, done = run(tb, autoneg_cycles=3000)
    assert after == {0: 0x1140, **written}
    assert restarted == 0x7949                      # negotiating again
    assert done == 0x796D
