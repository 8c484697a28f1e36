"""Storage registers: every register of the map that only holds what software writes.

Reference: SDM 13.4 (general, receive and transmit registers), 13.5 (filter tables).

Registers with behaviour of their own (CTRL/STATUS, EECD/EERD, MDIC, the interrupt registers and
the statistics counters) live in the block that implements that behaviour; this block holds the
rest, elaborated from ``hw.regmap``: plain read/write registers with their reset values and
writable masks, write-1-to-clear status (WUS), the receive address table RAL/RAH[16], and the
multicast and VLAN tables MTA[128] and VFTA[128], which sit in block RAM.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .bus import RegBusSignature, masked, read_mux
from .regmap import Access, REGISTERS, reg


__all__ = ["RegisterFile", "OWNED", "ReceiveAddressSignature"]


# Registers implemented by other blocks.
OWNED = frozenset({"CTRL", "STATUS", "EECD", "EERD", "MDIC", "ICR", "ICS", "IMS", "IMC", "ITR",
                   "TDH", "RDH"})

_TABLES = ("MTA", "VFTA")       # in block RAM
_RA = ("RAL", "RAH")            # receive addresses, compared in parallel by the filter

PLAIN = tuple(r for r in REGISTERS
              if r.count == 1 and r.name not in OWNED and r.access in (Access.RW, Access.W1C, Access.RO))

ReceiveAddressSignature = wiring.Signature({"ral": Out(32), "rah": Out(32)})


class RegisterFile(wiring.Component):
    """Parameters
    ----------
    mac : bytes
        Reset value of receive address 0 (the EEPROM's MAC address), valid.

    Members
    -------
    bus : In(RegBusSignature)
    regs : Out(signature)
        The value of every plain register, by name (one signal each).
    written : Out(signature)
        One-cycle strobe per plain register, high after software wrote it.
    ra : Out(ReceiveAddressSignature).array(16)
        The receive address table.
    mta_addr, mta_data : In(7), Out(32)
        A read port on the multicast table for the receive filter (data one cycle after address).
    clear, clear_row : In(1), In(7)
        While ``clear`` is high, row ``clear_row`` of MTA and VFTA is zeroed: the device reset
        sweeps the tables with them, as block RAM has no reset of its own.
    """

    def __init__(self, *, mac):
        self._mac = bytes(mac)
        assert len(self._mac) == 6
        super().__init__({
            "bus": In(RegBusSignature),
            "regs": Out(wiring.Signature({r.name: Out(32, init=r.reset) for r in PLAIN})),
            "written": Out(wiring.Signature({r.name: Out(1) for r in PLAIN})),
            "ra": Out(ReceiveAddressSignature).array(reg.RAL.count),
            "mta_addr": In(7),
            "mta_data": Out(32),
            "clear": In(1),
            "clear_row": In(7),
        })

    def _ra_init(self, n):
        if n != 0:
            return {"ral": 0, "rah": 0}
        mac = self._mac
        return {"ral": int.from_bytes(mac[0:4], "little"),
                "rah": int.from_bytes(mac[4:6], "little") | reg.RAH.AV.mask}

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        reads = {}

        # One signal per register: the compiled simulator and synthesis both handle many narrow
        # signals better than one wide one sliced in many places.
        for r in PLAIN:
            value = getattr(self.regs, r.name)
            reads[r.index] = value
            written = bus.w_stb & (bus.addr == r.index)
            m.d.sync += getattr(self.written, r.name).eq(written)
            if r.access is Access.RO:
                continue
            with m.If(written):
                if r.access is Access.W1C:
                    m.d.sync += value.eq(value & ~(bus.w_data & bus.w_mask))
                else:
                    keep = ~r.mask & 0xFFFFFFFF
                    m.d.sync += value.eq((masked(value, bus) & r.mask) | (r.reset & keep))

        for n in range(reg.RAL.count):
            for name, field in zip(_RA, ("ral", "rah")):
                value = Signal(32, init=self._ra_init(n)[field], name=f"{field}{n}")
                m.d.comb += getattr(self.ra[n], field).eq(value)
                index = getattr(reg, name).at(n) >> 2
                reads[index] = value
                with m.If(bus.w_stb & (bus.addr == index)):
                    m.d.sync += value.eq(masked(value, bus))

        table_hit = []
        for name in _TABLES:
            r = getattr(reg, name)
            m.submodules[name.lower()] = mem = memory.Memory(shape=32, depth=r.count, init=[])
            wr = mem.write_port(granularity=8)
            rd = mem.read_port()
            hit = (bus.addr >> 7) == (r.index >> 7)
            m.d.comb += rd.addr.eq(bus.addr[:7])
            with m.If(self.clear):
                # Combinational, so it works while the device reset holds this block's registers.
                m.d.comb += [wr.addr.eq(self.clear_row), wr.data.eq(0), wr.en.eq(0b1111)]
            with m.Else():
                m.d.comb += [wr.addr.eq(bus.addr[:7]), wr.data.eq(bus.w_data)]
                for byte in range(4):
                    m.d.comb += wr.en[byte].eq(bus.w_stb & hit & bus.w_mask[8 * byte])
            hit_q = Signal(name=f"{name.lower()}_read")
            m.d.sync += hit_q.eq(bus.r_stb & hit)
            table_hit.append((hit_q, rd.data))
            if name == "MTA":
                lookup = mem.read_port()
                m.d.comb += [lookup.addr.eq(self.mta_addr), self.mta_data.eq(lookup.data)]

        # Registers read through a registered mux; the tables' read data comes from block RAM.
        registered = Signal(32)
        read_mux(m, bus, reads, into=registered)
        tables = 0
        for hit_q, rdata in table_hit:
            tables = tables | Mux(hit_q, rdata, 0)
        m.d.comb += bus.r_data.eq(registered | tables)
        return m

