"""The link partner's management side: a Marvell 88E1011-like PHY on MDC/MDIO.

Simulation only. It answers IEEE 802.3 clause 22 frames at its PHY address with the registers
of the 82540EM's internal PHY (SDM 13.5 "PHY registers") and runs autonegotiation for a
configurable, short simulated time whenever the cable is plugged in, AN is restarted or the PHY
is reset. The ``cable`` input is how a test pulls the cable; ``link`` goes to the MAC's link pin.

Per-bit work happens here, in the design the simulator compiles; Python never sees MDC edges.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


__all__ = ["PHYModel", "PHY_REGISTERS", "PHY_ID"]


PHY_ID = 0x01410C20        # 88E1011: OUI 0x005043, model 2, revision 0

# address: (name, reset value, writable)
PHY_REGISTERS = {
    0x00: ("BMCR", 0x1140, True),       # AN enable, full duplex, 1000 Mb/s
    0x01: ("BMSR", 0x7949, False),      # + link status (bit 2, latched low), AN complete (bit 5)
    0x02: ("PHYID1", PHY_ID >> 16, False),
    0x03: ("PHYID2", PHY_ID & 0xFFFF, False),
    0x04: ("ANAR", 0x0DE1, True),
    0x05: ("ANLPAR", 0x01E0, False),    # + acknowledge (bit 14) once AN completed
    0x09: ("CTRL1000", 0x0E00, True),
    0x0A: ("STAT1000", 0x3C00, False),
    0x0F: ("ESTATUS", 0x3000, False),   # 1000BASE-T full and half duplex capable
    0x10: ("PSCR", 0x0360, True),       # PHY specific control
    0x11: ("PSSR", 0xA000, False),      # PHY specific status: + resolved (11), link (10)
    0x14: ("EPSCR", 0x0D60, True),      # extended PHY specific control
    0x15: ("RXERR", 0x0000, False),     # receive error counter
}

_BMCR_RESET = 1 << 15
_BMCR_ANENABLE = 1 << 12
_BMCR_ANRESTART = 1 << 9


class PHYModel(wiring.Component):
    """Parameters
    ----------
    address : int
        The PHY address it answers (the 82540EM's internal PHY is at 1).
    autoneg_cycles : int
        Clock cycles from (re)starting autonegotiation to link up.
    partner_pause : bool
        The link partner advertises symmetric and asymmetric pause (ANLPAR bits 10 and 11).

    Members
    -------
    mdc, mdio_i : In(1)
        MDC and the resolved MDIO line.
    mdio_o, mdio_oe : Out(1)
        What the PHY drives on MDIO.
    cable : In(1)
        Cable plugged in (driven by the test bench).
    link : Out(1)
        Link up, to the MAC.
    """
    mdc: In(1)
    mdio_i: In(1)
    mdio_o: Out(1)
    mdio_oe: Out(1)
    cable: In(1, init=1)
    link: Out(1)

    def __init__(self, *, address=1, autoneg_cycles=1250, partner_pause=False):
        assert 0 <= address < 32 and autoneg_cycles >= 1
        self._address = address
        self._autoneg_cycles = autoneg_cycles
        self._partner_pause = partner_pause
        super().__init__()

    def elaborate(self, platform):
        m = Module()

        regs = {a: Signal(16, init=reset, name=name.lower())
                for a, (name, reset, writable) in PHY_REGISTERS.items()}
        an_complete = Signal()
        link_latched = Signal()     # BMSR bit 2 holds a link failure until BMSR is read

        # What a read returns, with the status bits filled in.
        def read_value(addr):
            value = regs[addr]
            if addr == 0x01:
                value = value | (link_latched << 2) | (an_complete << 5)
            elif addr == 0x05:
                value = value | (an_complete << 14) | (0x0C00 if self._partner_pause else 0)
            elif addr == 0x11:
                value = value | (an_complete << 11) | (self.link << 10)
            return value

        # Autonegotiation.
        an_timer = Signal(range(self._autoneg_cycles + 1))
        an_start = Signal()
        cable_q = Signal()
        m.d.sync += cable_q.eq(self.cable)
        with m.If(~self.cable):
            m.d.sync += [an_complete.eq(0), self.link.eq(0), an_timer.eq(0)]
        with m.Elif(an_start | (self.cable & ~cable_q)):
            m.d.sync += [an_complete.eq(0), self.link.eq(0), an_timer.eq(self._autoneg_cycles)]
        with m.Elif(an_timer == 1):
            m.d.sync += [an_timer.eq(0), self.link.eq(1),
                         an_complete.eq(regs[0x00][12])]
        with m.Elif(an_timer != 0):
            m.d.sync += an_timer.eq(an_timer - 1)
        with m.If(~self.link):
            m.d.sync += link_latched.eq(0)

        # Clause 22 frames, bit by bit on rising edges of MDC.
        mdc_q = Signal()
        m.d.sync += mdc_q.eq(self.mdc)
        edge = self.mdc & ~mdc_q
        bit = self.mdio_i

        ones = Signal(range(33))
        count = Signal(range(19))
        header = Signal(12)         # opcode, PHY address, register address
        shift = Signal(16)
        op = header[10:12]
        phyad = header[5:10]
        regad = header[0:5]
        known = Signal()
        for a in PHY_REGISTERS:
            with m.If(regad == a):
                m.d.comb += known.eq(1)

        with m.FSM(name="mdio") as fsm:
            with m.State("PREAMBLE"):
                with m.If(edge):
                    with m.If(bit):
                        m.d.sync += ones.eq(Mux(ones == 32, 32, ones + 1))
                    with m.Else():
                        m.d.sync += ones.eq(0)
                        with m.If(ones == 32):      # the 0 of the start delimiter 0b01
                            m.next = "START"
            with m.State("START"):
                with m.If(edge):
                    m.d.sync += count.eq(0)
                    with m.If(bit):
                        m.next = "HEADER"
                    with m.Else():
                        m.next = "PREAMBLE"
            with m.State("HEADER"):
                with m.If(edge):
                    m.d.sync += [header.eq(Cat(bit, header[:-1])), count.eq(count + 1)]
                    with m.If(count == 11):
                        m.d.sync += count.eq(0)
                        m.next = "TURNAROUND"
            with m.State("TURNAROUND"):
                # Sampling the first turnaround bit; a read addressed to us drives the second low.
                with m.If(edge):
                    ours = (phyad == self._address) & known
                    with m.If((op == 0b10) & ours):
                        m.d.sync += [self.mdio_oe.eq(1), self.mdio_o.eq(0), shift.eq(0)]
                        for a in PHY_REGISTERS:
                            with m.If(regad == a):
                                m.d.sync += shift.eq(read_value(a))
                        with m.If(regad == 0x01):
                            m.d.sync += link_latched.eq(self.link)
                        m.next = "READ"
                    with m.Elif((op == 0b01) & ours):
                        m.next = "WRITE"
                    with m.Else():
                        m.next = "SKIP"
            with m.State("READ"):
                # One data bit per edge, most significant first; release after the last.
                with m.If(edge):
                    m.d.sync += [self.mdio_o.eq(shift[15]), shift.eq(shift << 1), count.eq(count + 1)]
                    with m.If(count == 16):
                        m.d.sync += [self.mdio_oe.eq(0), count.eq(0), ones.eq(0)]
                        m.next = "PREAMBLE"
            with m.State("WRITE"):
                # The second turnaround bit, then 16 data bits.
                with m.If(edge):
                    m.d.sync += [shift.eq(Cat(bit, shift[:-1])), count.eq(count + 1)]
                    with m.If(count == 16):
                        data = Cat(bit, shift[:-1])
                        for a, (name, reset, writable) in PHY_REGISTERS.items():
                            if not writable:
                                continue
                            with m.If(regad == a):
                                if a == 0x00:
                                    self._write_bmcr(m, regs, data, an_start)
                                else:
                                    m.d.sync += regs[a].eq(data)
                        m.d.sync += [count.eq(0), ones.eq(0)]
                        m.next = "PREAMBLE"
            with m.State("SKIP"):
                with m.If(edge):
                    m.d.sync += count.eq(count + 1)
                    with m.If(count == 16):
                        m.d.sync += [count.eq(0), ones.eq(0)]
                        m.next = "PREAMBLE"
        self._fsm = fsm
        return m

    def waveforms(self):
        """What a waveform viewer shows of the PHY model (once elaborated)."""
        return {"state": self._fsm.state}

    @staticmethod
    def _write_bmcr(m, regs, data, an_start):
        # BMCR's reset and restart bits clear themselves. A software reset (BMCR.15) restarts
        # the PHY's state machines, autonegotiation among them, and keeps what software wrote:
        # on the 88E1011 it is what makes writes to ANAR, 1000BASE-T control and the specific
        # control registers take effect (the Linux driver writes them, then sets BMCR.15).
        # Only the hardware reset brings back the values in PHY_REGISTERS.
        m.d.sync += regs[0x00].eq(data & ~(_BMCR_RESET | _BMCR_ANRESTART))
        with m.If(data & (_BMCR_RESET | _BMCR_ANRESTART)):
            m.d.comb += an_start.eq(1)
