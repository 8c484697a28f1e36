"""The MMIO target: PCI memory (BAR0) and I/O (BAR1) accesses onto the internal register bus.

Reference: SDM 13.2 (register access: memory-mapped and the IOADDR/IODATA I/O window).

BAR0 decodes 128 KiB, one register per aligned 32-bit word. BAR1 holds IOADDR at +0, the BAR0
offset that a read or write of IODATA at +4 reaches; other I/O offsets read 0 and ignore writes.
One access is handled at a time: the request is registered and its address put on the register
bus, which the blocks decode in the next two cycles; the bus is strobed in the cycle after, and
the read data, due two cycles after the strobe, answered on ``resp`` in the cycle after that.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bus import MMIOSignature, RegBusSignature, Space
from .compare import at_least


__all__ = ["MMIOTarget"]

_IOADDR = 0x0
_IODATA = 0x4


class MMIOTarget(wiring.Component):
    """One access at a time: a request is taken when the target is idle; the register bus is
    strobed three cycles later; a write is done a cycle after its strobe (no response), a read
    answered on ``resp`` three cycles after it, six after its request was taken.

    Members
    -------
    mmio : In(MMIOSignature)
    bus : Out(RegBusSignature)
    """
    mmio: In(MMIOSignature)
    bus: Out(RegBusSignature)

    def elaborate(self, platform):
        m = Module()
        req = self.mmio.req
        resp = self.mmio.resp
        bus = self.bus

        ioaddr = Signal(17)
        read = Signal()
        # The response is loaded before every use: with no reset, the flip-flops' reset input
        # takes its zero (an access outside the I/O window), and the data is a choice of two.
        data = Signal(32, reset_less=True)
        m.d.comb += resp.payload.eq(data)
        mask = Cat(b.replicate(8) for b in req.payload.be)

        m.d.sync += [bus.r_stb.eq(0), bus.w_stb.eq(0)]
        with m.FSM(name="mmio") as fsm:
            with m.State("IDLE"):
                m.d.comb += req.ready.eq(1)
                with m.If(req.valid):
                    p = req.payload
                    reg_access = (p.space == Space.MEM) | (p.addr[:3] == _IODATA)
                    m.d.sync += [
                        read.eq(~p.write),
                        bus.addr.eq(Mux(p.space == Space.MEM, p.addr[2:], ioaddr[2:])),
                        bus.w_data.eq(p.data),
                        bus.w_mask.eq(mask),
                        data.eq(0),
                    ]
                    with m.If((p.space == Space.IO) & at_least(p.addr[2:], 2)):
                        # Outside the I/O window's two registers.
                        with m.If(~p.write):
                            m.next = "RESPOND"
                    with m.Elif((p.space == Space.IO) & (p.addr[:3] == _IOADDR)):
                        with m.If(p.write):
                            m.d.sync += ioaddr.eq((ioaddr & ~mask) | (p.data & mask))
                        with m.Else():
                            m.d.sync += data.eq(ioaddr)
                            m.next = "RESPOND"
                    with m.Elif(reg_access):
                        m.d.sync += bus.soon.eq(1)
                        m.next = "DECODE"
            with m.State("DECODE"):
                # The blocks decode the address (in up to two registered steps).
                m.next = "DECODE2"
            with m.State("DECODE2"):
                m.d.sync += [bus.r_stb.eq(read), bus.w_stb.eq(~read), bus.soon.eq(0)]
                m.next = "ACCESS"
            with m.State("ACCESS"):
                # The strobe is on the bus in this cycle.
                with m.If(read):
                    m.next = "LOAD"
                with m.Else():
                    m.next = "IDLE"
            with m.State("LOAD"):
                # The blocks load their read data.
                m.next = "READ"
            with m.State("READ"):
                m.d.sync += data.eq(bus.r_data)
                m.next = "RESPOND"
            with m.State("RESPOND"):
                m.d.comb += resp.valid.eq(1)
                with m.If(resp.ready):
                    m.next = "IDLE"
        self._fsm = fsm
        return m

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated): the request
        handshake's state."""
        return {"state": self._fsm.state}
