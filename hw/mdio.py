"""MDIC and the MDIO master: one IEEE 802.3 clause 22 management frame per MDIC write.

Reference: SDM 13.4.6 (MDIC), 8.2 (MDIO interface); IEEE 802.3 clause 22.2.4.5 (frame format).

A write of MDIC with OP = 0b01 (write) or 0b10 (read) clears READY and sends a 64-bit frame on
MDC/MDIO: a preamble of 32 ones, start 0b01, the opcode, the 5-bit PHY and register addresses,
the turnaround and 16 data bits. The master drives MDIO while MDC is low and samples it at the
rising edge of MDC. In a read the master releases MDIO from the turnaround on; a PHY that does not
drive the second turnaround bit low has not answered, and MDIC.E is set. At the end READY is set,
DATA holds what was read, and ICR.MDAC is raised if MDIC.I asked for it. Writes of MDIC while an
access is under way are ignored.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from .bus import MDIOSignature, RegBusSignature, decode, masked, read_mux
from .compare import at_least, below
from .regmap import reg


__all__ = ["MDIOMaster"]

_OP_WRITE = reg.MDIC.OP.WRITE
_OP_READ = reg.MDIC.OP.READ
_FRAME_BITS = 64
_PREAMBLE_BITS = 32
_DATA_BITS = 16
# In a read the master drives the preamble, start, opcode and the two addresses, then lets go.
_READ_DRIVEN_BITS = _PREAMBLE_BITS + 2 + 2 + 5 + 5


class MDIOMaster(wiring.Component):
    """A write of MDIC (read or write opcode) sends one 64-bit clause 22 frame, a bit per MDC period
    of 2 x ``mdc_half_period`` cycles, and sets READY after its last bit; writes of MDIC while a
    frame is under way are ignored.

    Parameters
    ----------
    mdc_half_period : int
        Clock cycles per half period of MDC. 25 gives 2.5 MHz from 125 MHz, the clause 22 maximum;
        a simulation may go faster with a PHY model that allows it. At least 4, so that the input
        synchroniser settles within a phase.

    Members
    -------
    bus : In(RegBusSignature)
    mdio : Out(MDIOSignature)
    mdac : Out(1)
        One-cycle pulse: the access finished and MDIC.I was set.
    """
    bus: In(RegBusSignature)
    mdio: Out(MDIOSignature)
    mdac: Out(1)

    def __init__(self, *, mdc_half_period=25):
        if mdc_half_period < 4:
            raise ValueError("the MDC half period must be at least 4 clock cycles")
        self._half = mdc_half_period
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        bus = self.bus

        data = Signal(16)
        regadd = Signal(5)
        phyadd = Signal(5)
        op = Signal(2)
        ready = Signal(init=1)
        irq_en = Signal()
        error = Signal()
        mdic = Cat(data, regadd, phyadd, op, ready, irq_en, error)

        # The frame after its preamble (all ones, from the bit count), most significant bit first.
        shift_out = Signal(_FRAME_BITS - _PREAMBLE_BITS)
        is_read = Signal()
        shift_in = Signal(_DATA_BITS + 1)   # the second turnaround bit, then the data
        bit = Signal(range(_FRAME_BITS))
        phase = Signal(range(self._half))

        mdio_i = Signal()
        m.submodules.mdio_i_sync = FFSynchronizer(self.mdio.mdio_i, mdio_i, init=1)

        # Timing: a write to MDIC is registered before it starts a frame, keeping the bus's
        # decoding apart from the frame's set-up.
        written = Signal()
        value = Signal(32)
        m.d.sync += [written.eq(bus.w_stb & decode(m, bus, bus.addr == reg.MDIC.index)),
                     value.eq(masked(mdic, bus))]

        with m.FSM(name="mdio") as fsm:
            with m.State("IDLE"):
                with m.If(written):
                    fields = reg.MDIC.view(value)
                    new_op = fields.op
                    m.d.sync += [
                        data.eq(fields.data),
                        regadd.eq(fields.regadd),
                        phyadd.eq(fields.phyadd),
                        op.eq(new_op),
                        irq_en.eq(fields.i),
                    ]
                    with m.If((new_op == _OP_READ) | (new_op == _OP_WRITE)):
                        read = new_op == _OP_READ
                        turnaround = Mux(read, Const(0b11, 2), Const(0b10, 2))
                        m.d.sync += [
                            ready.eq(0),
                            error.eq(0),
                            is_read.eq(read),
                            # Cat() lists the frame from its last bit to its first.
                            shift_out.eq(Cat(value[0:16], turnaround, value[16:21], value[21:26],
                                             new_op, Const(0b01, 2))),
                            bit.eq(0),
                            phase.eq(0),
                        ]
                        m.next = "LOW"
            with m.State("LOW"):
                # MDC low: the bit goes on MDIO (see below).
                m.d.sync += phase.eq(phase + 1)
                with m.If(phase == self._half - 1):
                    m.d.sync += [
                        phase.eq(0),
                        shift_in.eq(Cat(mdio_i, shift_in[:-1])),
                    ]
                    m.next = "HIGH"
            with m.State("HIGH"):
                # MDC high: the PHY has sampled the bit; move on to the next.
                m.d.comb += self.mdio.mdc.eq(1)
                m.d.sync += phase.eq(phase + 1)
                with m.If(phase == self._half - 1):
                    m.d.sync += [phase.eq(0), bit.eq(bit + 1)]
                    with m.If(at_least(bit, _PREAMBLE_BITS)):
                        m.d.sync += shift_out.eq(shift_out << 1)
                    with m.If(bit == _FRAME_BITS - 1):
                        m.next = "DONE"
                    with m.Else():
                        m.next = "LOW"
            with m.State("DONE"):
                # shift_in holds the end of the frame as seen on the line: the second turnaround
                # bit, then the data.
                with m.If(op == _OP_READ):
                    m.d.sync += [
                        data.eq(shift_in[:_DATA_BITS]),
                        error.eq(shift_in[_DATA_BITS]),
                    ]
                m.d.sync += [ready.eq(1), self.mdac.eq(irq_en)]
                m.next = "IDLE"
        with m.If(self.mdac):
            m.d.sync += self.mdac.eq(0)

        read_mux(m, bus, {reg.MDIC.index: mdic})
        # During a frame the current bit is on MDIO for both phases of MDC.
        with m.If(fsm.ongoing("LOW") | fsm.ongoing("HIGH")):
            preamble = below(bit, _PREAMBLE_BITS)
            m.d.comb += [
                self.mdio.mdio_o.eq(preamble | shift_out[-1]),
                self.mdio.mdio_oe.eq(~is_read | below(bit, _READ_DRIVEN_BITS)),
            ]
        self._fsm = fsm
        return m

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated): the pins and the
        frame's state."""
        return {"mdc": self.mdio.mdc, "mdio_o": self.mdio.mdio_o, "mdio_oe": self.mdio.mdio_oe,
                "mdio_i": self.mdio.mdio_i, "master": self._fsm.state}
