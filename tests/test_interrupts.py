"""ICR/ICS/IMS/IMC semantics, the INTx line, and ITR throttling measured in cycles."""

from hw.bus import Space
from hw.regmap import reg

from harness import run

TXDW, LSC, RXT0, MDAC = (reg.ICR.TXDW.mask, reg.ICR.LSC.mask, reg.ICR.RXT0.mask,
                         reg.ICR.MDAC.mask)


async def cycles_until_irq(backend, level=1, limit=1000):
    n = 0
    while backend.irq != bool(level):
        await backend.ctx.tick()
        n += 1
        assert n < limit, "the interrupt line never changed"
    return n


def test_cause_mask_and_line():
    async def tb(backend, regs):
        await backend.cycles(400)
        await regs.read(reg.ICR)                    # drop the LSC of the link coming up
        seen = {}
        await regs.write(reg.ICS, TXDW | RXT0)
        seen["masked"] = backend.irq
        seen["icr"] = await regs.read(reg.ICR)
        seen["icr cleared"] = await regs.read(reg.ICR)

        await regs.write(reg.ICS, TXDW)
        await regs.write(reg.IMS, TXDW | LSC)       # unmasking a pending cause asserts at once
        seen["unmask delay"] = await cycles_until_irq(backend)
        seen["ims"] = await regs.read(reg.IMS)
        await regs.read(reg.ICR)
        seen["after ICR read"] = backend.irq        # dropped with the read, not later

        await regs.write(reg.ICS, TXDW | RXT0)
        await cycles_until_irq(backend)
        await regs.write(reg.IMC, TXDW)             # RXT0 is pending but masked
        seen["IMC delay"] = await cycles_until_irq(backend, 0)
        seen["ims after IMC"] = await regs.read(reg.IMS)
        await regs.write(reg.ICR, RXT0)             # write 1 to clear
        seen["icr after W1C"] = await regs.read(reg.ICR)
        await regs.write(reg.ICS, RXT0 | TXDW)
        await regs.write(reg.ICR, TXDW)
        seen["icr partly cleared"] = await regs.read(reg.ICR)
        seen["ics reads"] = await regs.read(reg.ICS)
        seen["imc reads"] = await regs.read(reg.IMC)
        return seen

    seen = run(tb)
    assert seen["masked"] is False
    assert seen["icr"] == TXDW | RXT0 and seen["icr cleared"] == 0
    # From the posted write's hand-over: two cycles of address decode, the strobe, the mask
    # register, the pending flag (a register), then the line in the next cycle.
    assert seen["unmask delay"] <= 5
    assert seen["ims"] == TXDW | LSC
    assert seen["after ICR read"] is False
    assert seen["IMC delay"] <= 5 and seen["ims after IMC"] == LSC
    assert seen["icr after W1C"] == TXDW           # only RXT0 was written
    assert seen["icr partly cleared"] == RXT0
    assert seen["ics reads"] == 0 and seen["imc reads"] == 0


def test_icr_read_drops_the_line_in_the_cycle_of_the_response():
    async def tb(backend, regs):
        await backend.cycles(400)
        await regs.write(reg.IMS, TXDW)
        await regs.write(reg.ICS, TXDW)
        await cycles_until_irq(backend)
        ctx = backend.ctx
        backend._post_mmio(Space.MEM, reg.ICR.offset, write=False)
        resp = backend.bench.core.mmio.resp
        trace = []
        for _ in range(12):
            await ctx.tick()
            trace.append((ctx.get(resp.valid), ctx.get(backend.bench.irq)))
        return trace
    trace = run(tb)
    # The line is up while the read travels, and falls no later than the read data is ready.
    first_valid = [v for v, _ in trace].index(1)
    assert trace[0][1] == 1
    assert trace[first_valid][1] == 0


def test_itr_spaces_assertions():
    async def tb(backend, regs):
        await backend.cycles(400)
        await regs.read(reg.ICR)
        await regs.write(reg.ITR, 4)                # 4 x 256 ns = 1024 ns = 128 cycles
        await regs.write(reg.IMS, TXDW)
        await regs.write(reg.ICS, TXDW)
        await cycles_until_irq(backend)
        first = backend.now
        await regs.read(reg.ICR)
        await regs.write(reg.ICS, TXDW)             # comes back long before 128 cycles
        early = backend.now - first
        await cycles_until_irq(backend)
        second = backend.now
        # With ITR = 0 the next assertion follows the cause at once.
        await regs.write(reg.ITR, 0)
        await regs.read(reg.ICR)
        await backend.cycles(200)                   # let the running interval expire
        await regs.write(reg.ICS, TXDW)
        wait = await cycles_until_irq(backend)
        return early, second - first, wait

    early, spacing, wait = run(tb)
    assert early < 128
    assert spacing == 128
    assert wait <= 5                                # the posted write's path, as above


def test_clears_never_make_the_line_blink():
    """The line follows ICR & IMS cycle by cycle around clears: a write that clears one of two
    pending causes leaves it up, and after an ICR read it stays down (no assertion on what was
    pending before the read)."""
    async def tb(backend, regs):
        await backend.cycles(400)
        await regs.read(reg.ICR)
        await regs.write(reg.IMS, TXDW | RXT0)
        await regs.write(reg.ICS, TXDW | RXT0)
        await cycles_until_irq(backend)
        ctx, irq = backend.ctx, backend.bench.irq

        async def trace(*, write, data=0):
            backend._post_mmio(Space.MEM, reg.ICR.offset, write=write, data=data)
            levels = []
            for _ in range(40):
                await ctx.tick()
                levels.append(ctx.get(irq))
            return levels
        partly = await trace(write=True, data=RXT0)
        read = await trace(write=False)
        return partly, read

    partly, read = run(tb)
    assert partly == [1] * 40
    fall = read.index(0)
    assert read[fall:] == [0] * (40 - fall)
