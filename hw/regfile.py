"""Storage registers: every register of the map that only holds what software writes.

Reference: SDM 13.4 (general, receive and transmit registers), 13.5 (filter tables).

Registers with behaviour of their own (CTRL/STATUS, EECD/EERD, MDIC, the interrupt registers and
the statistics counters) live in the block that implements that behaviour; this block holds the
rest, elaborated from ``hw.regmap``: plain read/write registers with their reset values and
writable masks (in one block RAM, where reads come from; those the datapath uses also in
flip-flops), the wake-up status WUS (write 1 to clear; with no wake-up logic it stays zero),
and three tables in block RAM: the receive address table RAL/RAH[16] (one 64-bit row per
address, looked up by the receive filter one entry at a time) and the multicast and VLAN
tables MTA[128] and VFTA[128].
"""

import functools
import operator

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .bus import NO_RW_CHECK, RegBusSignature, decode, read_mux
from .compare import at_least, below
from .eeprom import StationLoadSignature
from .regmap import Access, REGISTERS, reg
from .rxfilter import FilterTablesSignature


__all__ = ["RegisterFile", "OWNED"]


# Registers implemented by other blocks, as the map says.
OWNED = frozenset(r.name for r in REGISTERS if r.owner != "regfile")

_TABLES = ("MTA", "VFTA")       # in block RAM

PLAIN = tuple(r for r in REGISTERS
              if r.count == 1 and r.name not in OWNED and r.access in (Access.RW, Access.W1C, Access.RO))

# Registers the datapath uses all the time: each in flip-flops of its own, which is where the
# datapath takes it from. So are the read-only and write-1-to-clear ones, which nothing in the
# core changes. Every read/write register also has a row in one RAM, where reads come from:
# those in flip-flops keep a copy there (``SHADOWED``), the others only live there (``STORED``).
LIVE = frozenset({"RCTL", "TCTL", "TIPG", "VET", "FCAL", "FCAH", "FCT", "FCTTV", "FCRTL",
                  "FCRTH", "RDBAL", "RDBAH", "RDLEN", "RDT", "RDTR", "RADV",
                  "RXCSUM", "TDBAL", "TDBAH", "TDLEN", "TDT", "TIDV", "TADV"})
IN_FLOPS = tuple(r for r in PLAIN if r.name in LIVE or r.access is not Access.RW)

# A ring's place and size may change only while its engine is off (SDM 13.4.27, 13.4.39: program
# them before setting EN); a write while it runs is ignored, so that every descriptor read and
# written back stays inside the ring the engine was started on.
LOCKED_WHILE = {name: ("RCTL" if name.startswith("R") else "TCTL", "EN")
                for name in ("RDBAL", "RDBAH", "RDLEN", "TDBAL", "TDBAH", "TDLEN")}
STORED = tuple(r for r in PLAIN if r not in IN_FLOPS)
SHADOWED = tuple(r for r in IN_FLOPS if r.access is Access.RW)
ROWS = STORED + SHADOWED


class RegisterFile(wiring.Component):
    """Register reads answer two cycles after the strobe; writes take effect the next cycle.

    Members
    -------
    bus : In(RegBusSignature)
    regs : Out(signature)
        The value of every plain register in flip-flops (``IN_FLOPS``), by name.
    tables : In(FilterTablesSignature(16))
        The receive filter's read ports on the receive address, multicast and VLAN filter
        tables (block RAM data is registered before it leaves, two cycles after the address).
    station_load : In(StationLoadSignature)
        The EEPROM's station address after a reset: it becomes receive address 0, valid.
    station : Out(48)
        Receive address 0 (RAL0, RAH0), the source address of the PAUSE frames the MAC
        sends; also kept in flip-flops.
    clear, clear_row : In(1), In(7)
        While ``clear`` is high, row ``clear_row`` of the tables goes back to zero: the device
        reset sweeps the tables with them, as block RAM has no reset of its own.
    """

    def __init__(self):
        super().__init__({
            "bus": In(RegBusSignature),
            "regs": Out(wiring.Signature({r.name: Out(32, init=r.reset) for r in IN_FLOPS})),
            "tables": In(FilterTablesSignature(reg.RAL.count)),
            "station_load": In(StationLoadSignature()),
            "station": Out(48),
            "clear": In(1),
            "clear_row": In(7),
        })

    def _locked(self, r):
        """Whether writes to register ``r`` are ignored now."""
        if r.name not in LOCKED_WHILE:
            return Const(0, 1)
        control, field = LOCKED_WHILE[r.name]
        return getattr(getattr(reg, control).view(getattr(self.regs, control)), field.lower())

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        # A match flag per row of the RAM below, decoded from the address ahead of the strobe;
        # the flip-flops of a shadowed register take their writes by its row's flag too. No
        # reset: loaded every cycle.
        matches = Signal(len(ROWS), reset_less=True)
        m.d.sync += matches.eq(Cat(bus.addr == r.index for r in ROWS))
        reads = self._flops(m, matches)
        # Each source of read data: zero unless it answers this read, from registers.
        answers = [self._stored(m, matches)]
        ra_read_q, ra_high_q, ra_data_q = self._addresses(m)
        answers += [self._table(m, name) for name in _TABLES]

        # The registers in flip-flops that have no row (read only, or write 1 to clear) are
        # read through a mux, registered twice as the bus allows.
        registered = Signal(32)
        unshadowed = Signal(32)
        read_mux(m, bus, reads, into=unshadowed)
        m.d.sync += registered.eq(unshadowed)
        tables = Mux(ra_read_q[1], Mux(ra_high_q[1], ra_data_q[32:], ra_data_q[:32]), 0)
        for rdata in answers:
            tables = tables | rdata
        m.d.comb += bus.r_data.eq(registered | tables)
        return m

    def _flops(self, m, matches):
        """The registers in flip-flops. Returns the read-only ones' values, by index."""
        bus = self.bus
        reads = {}          # of the registers with no row
        # One signal per register: the compiled simulator and synthesis both handle many narrow
        # signals better than one wide one sliced in many places.
        for r in IN_FLOPS:
            value = getattr(self.regs, r.name)
            if r.access is not Access.RW:
                # Read only, or write 1 to clear (WUS): nothing in the core sets their bits (there
                # is no wake-up logic), so they keep their reset value, which for a W1C register
                # is zero: a write has nothing to clear.
                assert r.access is Access.RO or r.reset == 0
                reads[r.index] = value
                continue
            written = bus.w_stb & matches[ROWS.index(r)] & ~self._locked(r)
            # Byte by byte, each byte's enable the flip-flops' own: no logic in front of them.
            for byte in range(4):
                bits = slice(8 * byte, 8 * byte + 8)
                writable = (r.mask >> 8 * byte) & 0xFF
                if not writable:
                    continue
                with m.If(written & bus.w_mask[8 * byte]):
                    fixed = (r.reset >> 8 * byte) & 0xFF & ~writable
                    m.d.sync += value[bits].eq((bus.w_data[bits] & writable) | fixed)
        return reads

    def _stored(self, m, matches):
        """The read/write registers' RAM. Returns its read data, zero unless a read is its."""
        bus = self.bus
        # Read/write registers: a row each in a block RAM, found by a decoder in the two cycles
        # ahead of the strobe; the device reset sweeps their reset values back in. A write
        # stores what a read gives back: the writable bits of the bus's data, the others as at
        # reset (the same value the flip-flops of a shadowed register take).
        m.submodules.stored = stored = memory.Memory(shape=32, depth=len(ROWS),
                                                     init=[r.reset for r in ROWS],
                                                     attrs={"ram_style": "block", **NO_RW_CHECK})
        stored_write = stored.write_port(granularity=8)
        # Read from the decoded row, registered in the RAM, then once more in a register that
        # only loads (synthesis makes it the block RAM's own output register, ``hw.synth``);
        # the answer is that register, or zero unless the read is this RAM's. The row is
        # decoded in two registered steps from the address, which is on the bus two cycles
        # before the strobe: the match flags, then the row number from them. So the RAM is read
        # in the strobe's cycle, and the data is in the register two cycles later, when the bus
        # samples it. The bus uses the data only after a read strobe, and a write lands in the
        # cycle after its strobe, when no read strobe can come.
        stored_read = stored.read_port()
        stored_row = Signal(range(len(ROWS)))
        # The decode and the write's row and data need no reset: they are loaded every cycle,
        # or used only with ``write_en``, which has one. That leaves the flip-flops' reset input
        # free for the zeros of the masks.
        stored_hit = Signal(reset_less=True)
        reset = Signal(32)
        # The row number, and whether the address is one of the rows, from the registered
        # match flags.
        m.d.sync += [stored_hit.eq(matches.any()),
                     stored_row.eq(functools.reduce(operator.or_, (
                         Mux(matches[row], row, 0) for row in range(len(ROWS)))))]
        with m.Switch(self.clear_row):
            for row, r in enumerate(ROWS):
                with m.Case(row):
                    m.d.comb += reset.eq(r.reset)
        m.d.comb += stored_read.addr.eq(stored_row)
        # Software writes land a cycle after the strobe, from registers: the strobe and the byte
        # enables stay off the RAM's write port. The bus reads nothing that soon after a write.
        write_row = Signal.like(stored_row, reset_less=True)
        write_data = Signal(32, reset_less=True)
        write_en = Signal(4)
        locked = Signal()
        m.d.sync += [write_row.eq(stored_row),
                     write_en.eq(Cat(bus.w_stb & stored_hit & ~locked & bus.w_mask[8 * byte]
                                     for byte in range(4)))]
        with m.Switch(stored_row):
            for row, r in enumerate(ROWS):
                with m.Case(row):
                    m.d.sync += write_data.eq((bus.w_data & r.mask) | (r.reset & ~r.mask))
                    m.d.comb += locked.eq(self._locked(r))
        with m.If(self.clear):
            with m.If(below(self.clear_row, len(ROWS))):
                m.d.comb += [stored_write.addr.eq(self.clear_row), stored_write.data.eq(reset),
                             stored_write.en.eq(0b1111)]
        with m.Else():
            m.d.comb += [stored_write.addr.eq(write_row), stored_write.data.eq(write_data),
                         stored_write.en.eq(write_en)]
        # The row read, or zero when the read is not this RAM's.
        stored_read_q = Signal(2)
        stored_ram = Signal(32, reset_less=True)
        m.d.sync += [stored_read_q.eq(Cat(bus.r_stb & stored_hit, stored_read_q[0])),
                     stored_ram.eq(stored_read.data)]
        return Mux(stored_read_q[1], stored_ram, 0)

    def _addresses(self, m):
        """The receive address table. Returns the flags and data of its reads: whether a read
        hit it, whether of a high half, and the row."""
        bus = self.bus
        # Receive addresses: row n holds RAL[n] in bytes 0-3 and RAH[n] in bytes 4-7, in block
        # RAM (16 rows would otherwise go to distributed RAM, at 2 LUT4 per 4 bits). A software
        # read comes a cycle after its write at the earliest, but the filter's look-up may meet a
        # write to the same row: as with the multicast table below, the verdict on a frame that
        # arrives while its address is being rewritten is left open.
        ral, count = reg.RAL.index, reg.RAL.count       # RAL[n] at index ral + 2n, RAH after
        m.submodules.ra = ra = memory.Memory(shape=64, depth=count,
                                             init=[],
                                             attrs={"ram_style": "block", **NO_RW_CHECK})
        ra_write = ra.write_port(granularity=8)
        ra_read = ra.read_port()        # one read port, so that it fits a block RAM
        ra_hit = decode(m, bus, at_least(bus.addr, ral) & below(bus.addr, ral + 2 * count))
        ra_offset = (bus.addr - ral).as_unsigned()
        high = ra_offset[0]
        m.d.comb += [
            self.tables.ra_busy.eq(bus.r_stb & ra_hit),
            ra_read.addr.eq(Mux(self.tables.ra_busy, ra_offset[1:], self.tables.ra_addr)),
        ]
        load = self.station_load
        with m.If(self.clear):
            with m.If(below(self.clear_row, count)):
                m.d.comb += [ra_write.addr.eq(self.clear_row), ra_write.en.eq(0xFF),
                             ra_write.data.eq(0)]
        with m.Elif(load.load):
            # Receive address 0 from the EEPROM, valid, after each reset.
            m.d.comb += [ra_write.addr.eq(0), ra_write.en.eq(0xFF),
                         ra_write.data.eq(load.address | (reg.RAH.AV.mask << 32))]
        with m.Else():
            m.d.comb += [ra_write.addr.eq(ra_offset[1:]), ra_write.data.eq(Cat(bus.w_data, bus.w_data))]
            for byte in range(4):
                enable = bus.w_stb & ra_hit & bus.w_mask[8 * byte]
                m.d.comb += [ra_write.en[byte].eq(enable & ~high),
                             ra_write.en[4 + byte].eq(enable & high)]
        # The station address's copy: row 0's low six bytes as they are written (RAL0's four and
        # RAH0's low two), from the EEPROM or the bus, but not the clear's zeros.
        with m.If(~self.clear & (ra_write.addr == 0)):
            for byte in range(6):
                with m.If(ra_write.en[byte]):
                    m.d.sync += self.station[8 * byte:8 * byte + 8].eq(
                        ra_write.data[8 * byte:8 * byte + 8])
        # Block RAM read data arrives late in its cycle: it goes straight into registers, and is
        # selected a cycle later (the bus samples read data two cycles after the strobe). They
        # load in every cycle, without a reset or an enable, so that synthesis can make them the
        # block RAM's own output register (``hw.synth``).
        ra_read_q = Signal(2)
        ra_high_q = Signal(2)
        ra_data_q = Signal(64, reset_less=True)
        m.d.sync += [ra_read_q.eq(Cat(bus.r_stb & ra_hit, ra_read_q[0])),
                     ra_high_q.eq(Cat(high, ra_high_q[0])), ra_data_q.eq(ra_read.data)]
        m.d.comb += self.tables.ra_data.eq(ra_data_q)
        return ra_read_q, ra_high_q, ra_data_q

    def _table(self, m, name):
        """The multicast or VLAN filter table. Returns its read data, zero unless a read is
        its."""
        bus = self.bus
        r = getattr(reg, name)
        # The bus reads its address every cycle but uses the data only after a read strobe,
        # never in a write's cycle. The filter's look-up of the multicast table may meet a
        # software write to the same row, and block RAM then returns undefined data: the
        # verdict on a frame whose hash (or VLAN) bit is being rewritten as it arrives is left open,
        # as a filter update in the middle of traffic leaves it anyway.
        m.submodules[name.lower()] = mem = memory.Memory(shape=32, depth=r.count, init=[],
                                                         attrs=NO_RW_CHECK)
        wr = mem.write_port(granularity=8)
        rd = mem.read_port()
        hit = decode(m, bus, (bus.addr >> 7) == (r.index >> 7))
        m.d.comb += rd.addr.eq(bus.addr[:7])
        with m.If(self.clear):
            # Combinational, so it works while the device reset holds this block's registers.
            m.d.comb += [wr.addr.eq(self.clear_row), wr.data.eq(0), wr.en.eq(0b1111)]
        with m.Else():
            m.d.comb += [wr.addr.eq(bus.addr[:7]), wr.data.eq(bus.w_data)]
            for byte in range(4):
                m.d.comb += wr.en[byte].eq(bus.w_stb & hit & bus.w_mask[8 * byte])
        # Timing: the read data goes through two registers, the first of which only loads, so
        # that it can sit by the RAM whatever the second's fan-out; the second holds zero
        # unless the read is this table's (its flip-flops' reset input gives the zero). That is
        # a cycle more than the bus needs: the address is on it from two cycles before the
        # strobe, and no write reaches the table in the cycle before a read's strobe (accesses
        # come one at a time, a write's strobe four cycles before the next one's at the least),
        # so the row read a cycle before the strobe is the one the read asks for.
        hit_q = Signal(name=f"{name.lower()}_read")
        # The first loads in every cycle, without a reset or an enable: synthesis can make it
        # the block RAM's own output register (``hw.synth``).
        ram_q = Signal(32, name=f"{name.lower()}_ram", reset_less=True)
        data_q = Signal(32, name=f"{name.lower()}_data")
        m.d.sync += [hit_q.eq(bus.r_stb & hit), ram_q.eq(rd.data),
                     data_q.eq(Mux(hit_q, ram_q, 0))]
        # The receive filter's look-up port, registered likewise (a block RAM of its own).
        lookup = mem.read_port()
        lookup_q = Signal(32, name=f"{name.lower()}_lookup", reset_less=True)
        m.d.comb += [lookup.addr.eq(getattr(self.tables, f"{name.lower()}_addr")),
                     getattr(self.tables, f"{name.lower()}_data").eq(lookup_q)]
        m.d.sync += lookup_q.eq(lookup.data)
        return data_q

