"""Device control and status: CTRL, STATUS, the software reset and link-change detection.

Reference: SDM 13.4.1 (CTRL), 13.4.2 (STATUS), 14.9 (software reset).

CTRL.RST starts a device reset: ``device_reset`` is held for ``reset_cycles`` cycles, during which
CTRL reads with RST set; then CTRL returns to its reset value and RST reads 0, which is what a
driver polls for. This block itself is outside the device reset so that it can sequence it.

STATUS.LU is the PHY's link (from the ``phy_link`` pin, synchronised) qualified by CTRL.SLU; this
MAC speaks GMII only, so a link is always 1000 Mb/s full duplex. Every change of LU raises the LSC
interrupt cause.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from .bus import RegBusSignature, decode, masked, read_mux
from .regmap import reg


__all__ = ["Control"]


class Control(wiring.Component):
    """Register reads answer two cycles after the strobe. A write of CTRL.RST holds ``device_reset``
    for ``reset_cycles`` cycles while ``reset_row`` sweeps the tables; ``link_up`` follows the
    synchronised ``phy_link`` qualified by CTRL.SLU, and each change raises LSC.

    Members
    -------
    bus : In(RegBusSignature)
    ctrl : Out(32)
        The CTRL register.
    device_reset : Out(1)
        High while the device resets (from CTRL.RST).
    phy_link : In(1)
        Link status from the PHY, asynchronous.
    link_up : Out(1)
        STATUS.LU.
    lsc : Out(1)
        One-cycle pulse: link status changed.
    reset_row : Out(8)
        Counts down during the device reset, from ``reset_cycles - 1``: the row that blocks with
        RAM clear in this cycle, from a register.
    """
    bus: In(RegBusSignature)
    ctrl: Out(32, init=reg.CTRL.reset)
    device_reset: Out(1)
    phy_link: In(1)
    link_up: Out(1)
    lsc: Out(1)
    reset_row: Out(8)

    def __init__(self, *, reset_cycles=128):
        if not 128 <= reset_cycles < 256:
            raise ValueError("a device reset lasts 128 to 255 cycles: long enough to clear "
                             "every row of the 128-entry tables")
        self._reset_cycles = reset_cycles
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        bus = self.bus

        # Software reset.
        countdown = Signal(range(self._reset_cycles + 1))
        # ``device_reset`` reaches thousands of flip-flops: it comes straight from a register,
        # high exactly while ``countdown`` is not zero.
        ctrl_hit = decode(m, bus, bus.addr == reg.CTRL.index)
        with m.If(countdown != 0):
            m.d.sync += [countdown.eq(countdown - 1), self.reset_row.eq(self.reset_row - 1)]
            with m.If(countdown == 1):
                m.d.sync += [self.ctrl.eq(reg.CTRL.reset), self.device_reset.eq(0)]
        with m.Elif(bus.w_stb & ctrl_hit):
            value = masked(self.ctrl, bus)
            m.d.sync += self.ctrl.eq(value)
            with m.If(value & reg.CTRL.RST.mask):
                m.d.sync += [countdown.eq(self._reset_cycles), self.device_reset.eq(1),
                             self.reset_row.eq(self._reset_cycles - 1)]

        # Link status.
        phy_link = Signal()
        m.submodules.phy_link_sync = FFSynchronizer(self.phy_link, phy_link)
        m.d.comb += self.link_up.eq(phy_link & reg.CTRL.view(self.ctrl).slu)
        link_q = Signal()
        m.d.sync += [
            link_q.eq(self.link_up),
            self.lsc.eq(link_q != self.link_up),
        ]

        status = Signal(32)
        m.d.comb += [status.eq(reg.STATUS.reset), reg.STATUS.view(status).lu.eq(self.link_up)]
        read_mux(m, bus, {
            reg.CTRL.index: self.ctrl,
            reg.STATUS.index: status,
        })
        return m

    def waveforms(self):
        """What a waveform viewer shows of this block."""
        return {"ctrl": self.ctrl, "device_reset": self.device_reset, "link_up": self.link_up}
