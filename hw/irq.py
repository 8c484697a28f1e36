"""Interrupt causes, mask and throttling: ICR, ICS, IMS, IMC and ITR.

Reference: SDM 13.4.17 to 13.4.21, and 3.4.2 (interrupt throttling).

The INTx line is high while ``ICR & IMS`` is non-zero: reading ICR returns the causes and clears
them (the line drops in the same cycle), writing ICR clears the causes written with 1, ICS raises
causes, IMS and IMC set and clear mask bits (a cause already pending asserts the line as soon as
it is unmasked). With ITR non-zero, the line asserts at most once every ITR x 256 ns: a cause
that arrives sooner waits for the interval to pass.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bus import RegBusSignature, decode, masked, read_mux
from .regmap import CAUSE_MASK, reg


__all__ = ["InterruptController"]


class InterruptController(wiring.Component):
    """Register reads answer two cycles after the strobe. ``irq`` is high while ``ICR & IMS`` is not
    zero: a read of ICR clears the causes and drops it in the same cycle; with ITR, it rises at
    most once every ITR x 256 ns.

    Parameters
    ----------
    clk_per_itr_unit : int
        Clock cycles in one ITR unit of 256 ns (32 at 125 MHz).

    Members
    -------
    bus : In(RegBusSignature)
    causes : In(32)
        Interrupt causes raised by the other blocks, one-cycle pulses in ICR bit positions.
    irq : Out(1)
        The INTx line, active high.
    """
    bus: In(RegBusSignature)
    causes: In(32)
    irq: Out(1)

    def __init__(self, *, clk_per_itr_unit=32):
        assert clk_per_itr_unit >= 2     # the first unit starts a cycle in
        self._unit = clk_per_itr_unit
        super().__init__()
        # Internal state, named here so that waveform viewers can find it.
        self.icr = Signal(32)
        self.ims = Signal(32)
        self.itr = Signal(16)

    def elaborate(self, platform):
        m = Module()
        bus = self.bus

        icr, ims, itr = self.icr, self.ims, self.itr

        decoded = {r.name: decode(m, bus, bus.addr == r.index)
                   for r in (reg.ICR, reg.ICS, reg.IMS, reg.IMC, reg.ITR)}

        def hit(r):
            return bus.w_stb & decoded[r.name]

        written = bus.w_data & bus.w_mask & CAUSE_MASK
        read_clear = bus.r_stb & decoded["ICR"]
        cleared = Signal(32)
        with m.If(read_clear):
            m.d.comb += cleared.eq(0xFFFFFFFF)
        with m.Elif(hit(reg.ICR)):
            m.d.comb += cleared.eq(written)
        raised = self.causes | (written & hit(reg.ICS).replicate(32))
        m.d.sync += icr.eq((icr & ~cleared) | (raised & CAUSE_MASK))

        with m.If(hit(reg.IMS)):
            m.d.sync += ims.eq(ims | written)
        with m.Elif(hit(reg.IMC)):
            m.d.sync += ims.eq(ims & ~written)
        with m.If(hit(reg.ITR)):
            m.d.sync += itr.eq(masked(itr, bus))

        # Timing: whether a cause is pending and unmasked, an OR of 32 ANDs, is registered: it
        # is then a cycle old, which only delays the line. Until it has seen a clear (an ICR
        # read or write or an IMC write, in the cycle it is made or the one before), the line
        # does not assert on it.
        pending = Signal()
        lowering = read_clear | hit(reg.ICR) | hit(reg.IMC)
        lowered = Signal()
        m.d.sync += [pending.eq((icr & ims) != 0), lowered.eq(lowering)]
        # Throttling: the interval runs from the moment the line asserts, counted in whole ITR
        # units (``interval``) of ``unit`` cycles each (``cycle``, within the unit).
        interval = Signal(16)
        cycle = Signal(range(self._unit))
        throttled = interval != 0
        # The count loads only when it is 0 and counts down only when it is not: written as
        # one choice, so that each bit's next value is one of two, taken by an enable.
        assert_line = pending & ~lowering & ~lowered & ~self.irq & ~throttled
        with m.If(assert_line):
            m.d.sync += [
                self.irq.eq(1),
                # The first unit starts a cycle in, so that the count reaches 0 ITR x unit
                # cycles after this assertion: the line may assert again in that cycle.
                interval.eq(itr),
                cycle.eq(1),
            ]
        with m.Elif(throttled):
            m.d.sync += cycle.eq(cycle + 1)
            with m.If(cycle == self._unit - 1):
                m.d.sync += [cycle.eq(0), interval.eq(interval - 1)]
        with m.If(~pending):
            m.d.sync += self.irq.eq(0)
        # An ICR read drops the line in the cycle of the read, not one later.
        with m.If(read_clear):
            m.d.sync += self.irq.eq(0)

        read_mux(m, bus, {
            reg.ICR.index: icr,
            reg.IMS.index: ims,
            reg.ITR.index: itr,
        })
        return m

    def waveforms(self):
        """What a waveform viewer shows of this block."""
        return {"icr": self.icr, "ims": self.ims, "itr": self.itr, "causes": self.causes}
