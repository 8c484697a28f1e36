"""Link: STATUS follows the PHY and CTRL.SLU, and every change raises LSC and the line."""

from hw.regmap import reg

from harness import run

LSC = reg.ICR.LSC.mask
LU = reg.STATUS.LU.mask


def test_cable_pull_and_plug():
    autoneg = 300

    async def tb(backend, regs):
        log = {}
        await regs.write(reg.IMS, LSC)
        log["before autoneg"] = await regs.read(reg.STATUS)
        await backend.cycles(autoneg + 20)
        log["up"] = (await regs.read(reg.STATUS), await regs.read(reg.ICR))
        log["line after read"] = backend.irq

        backend.set_cable(0)
        await backend.cycles(8)         # PHY, synchroniser, LSC, ICR, line
        log["pulled"] = (backend.irq, await regs.read(reg.STATUS), await regs.read(reg.ICR))

        backend.set_cable(1)
        plugged = backend.now
        while not backend.irq:
            await backend.ctx.tick()
        log["plug to LSC"] = backend.now - plugged
        log["replugged"] = (await regs.read(reg.STATUS), await regs.read(reg.ICR))
        return log

    log = run(tb, autoneg_cycles=autoneg)
    assert not log["before autoneg"] & LU
    assert log["up"] == (0x80080783, LSC)
    assert log["line after read"] is False
    assert log["pulled"] == (True, 0x80080781, LSC)
    # Autonegotiation, then the link pin's synchroniser and the LSC, pending and irq
    # registers.
    assert autoneg <= log["plug to LSC"] <= autoneg + 7
    assert log["replugged"] == (0x80080783, LSC)


def test_set_link_up_gates_the_link():
    async def tb(backend, regs):
        await backend.cycles(250)
        await regs.read(reg.ICR)
        ctrl = await regs.read(reg.CTRL)
        await regs.write(reg.CTRL, ctrl & ~reg.CTRL.SLU.mask)
        down = await regs.read(reg.STATUS), await regs.read(reg.ICR)
        await regs.write(reg.CTRL, ctrl)
        up = await regs.read(reg.STATUS), await regs.read(reg.ICR)
        return down, up

    down, up = run(tb)
    assert down == (0x80080781, LSC)
    assert up == (0x80080783, LSC)
