"""Statistics counters, kept in block RAM.

Reference: SDM 13.7 (statistics registers).

The counters at 0x4000-0x40FC are 64 rows of one RAM. The MAC reports what it counted as a
stream of increments (a row and an amount); register reads and increments share one
read-modify-write pipeline: in the first cycle a row is read, in the second it is written back.
A register read has priority (its data is due one cycle later) and clears the row it read where
the map says so. Semantics per the map:

- CNT: 32 bits, clear on read, saturating at 0xFFFFFFFF.
- CNTL/CNTH: a 64-bit counter in two rows. An increment goes to the low row and carries into the
  high row; reading the high row clears both.

Offsets in the range that name no counter read 0: nothing ever increments them.
"""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import RegBusSignature
from .regmap import Access, STATS


__all__ = ["Statistics", "StatsIncrement", "COUNTERS", "BASE", "ROWS"]


BASE = 0x4000
ROWS = 64
# The row of each counter by name; a 64-bit counter is named without its L/H suffix and
# counts at its low row.
COUNTERS = {(r.name[:-1] if r.access is Access.CNTL else r.name): (r.offset - BASE) >> 2
            for r in STATS if r.access is not Access.CNTH}
assert all(0 <= (r.offset - BASE) >> 2 < ROWS for r in STATS)


def _row_mask(*kinds):
    return Const(sum(1 << ((r.offset - BASE) >> 2) for r in STATS if r.access in kinds), ROWS)


class StatsIncrement(data.Struct):
    row: 6
    amount: 16


class Statistics(wiring.Component):
    """Members
    -------
    bus : In(RegBusSignature)
    inc : In(stream.Signature(StatsIncrement))
        Increments from the MAC; ``COUNTERS`` gives the row of each counter.
    clear, clear_row : In(1), In(6)
        While ``clear`` is high, row ``clear_row`` is zeroed (the device reset sweeps the RAM).
    """
    bus: In(RegBusSignature)
    inc: In(stream.Signature(StatsIncrement))
    clear: In(1)
    clear_row: In(6)

    def __init__(self):
        super().__init__()
        self.counters = memory.Memory(shape=32, depth=ROWS, init=[])

    def elaborate(self, platform):
        m = Module()
        bus = self.bus

        m.submodules.counters = mem = self.counters
        wr = mem.write_port()
        rd = mem.read_port(transparent_for=(wr,))

        is_cnt = _row_mask(Access.CNT)
        is_low = _row_mask(Access.CNTL)
        is_high = _row_mask(Access.CNTH)

        # Stage 0: pick an operation and read its row.
        bus_hit = bus.r_stb & ((bus.addr >> 6) == (BASE >> 8))
        s1_read = Signal()      # a register read
        s1_add = Signal()       # an increment (or a carry)
        s1_clear = Signal()     # clearing a low row after its high row was read
        s1_row = Signal(6)
        s1_amount = Signal(16)
        carry_pending = Signal()
        carry_row = Signal(6)
        clear_pending = Signal()
        clear_row = Signal(6)

        # After a read of a high row or an increment of a low row, hold increments for a cycle so
        # that the follow-up (clearing the low row, carrying into the high row) goes first.
        hold = (s1_read & is_high.bit_select(s1_row, 1)) | (s1_add & is_low.bit_select(s1_row, 1))

        m.d.sync += [s1_read.eq(0), s1_add.eq(0), s1_clear.eq(0)]
        with m.If(bus_hit):
            m.d.comb += rd.addr.eq(bus.addr[:6])
            m.d.sync += [s1_read.eq(1), s1_row.eq(bus.addr[:6])]
        with m.Elif(clear_pending):
            m.d.comb += rd.addr.eq(clear_row)
            m.d.sync += [s1_clear.eq(1), s1_row.eq(clear_row), clear_pending.eq(0)]
        with m.Elif(carry_pending):
            m.d.comb += rd.addr.eq(carry_row)
            m.d.sync += [s1_add.eq(1), s1_row.eq(carry_row), s1_amount.eq(1), carry_pending.eq(0)]
        with m.Elif(~hold):
            m.d.comb += [rd.addr.eq(self.inc.payload.row), self.inc.ready.eq(1)]
            with m.If(self.inc.valid):
                m.d.sync += [s1_add.eq(1), s1_row.eq(self.inc.payload.row),
                             s1_amount.eq(self.inc.payload.amount)]

        # Stage 1: the row's value is on the read port; write it back.
        m.d.comb += [wr.addr.eq(s1_row), bus.r_data.eq(Mux(s1_read, rd.data, 0))]
        total = rd.data + s1_amount
        with m.If(self.clear):
            m.d.comb += [wr.addr.eq(self.clear_row), wr.data.eq(0), wr.en.eq(1)]
        with m.Elif(s1_read):
            with m.If(is_cnt.bit_select(s1_row, 1) | is_high.bit_select(s1_row, 1)):
                m.d.comb += [wr.data.eq(0), wr.en.eq(1)]
            with m.If(is_high.bit_select(s1_row, 1)):
                m.d.sync += [clear_pending.eq(1), clear_row.eq(s1_row - 1)]
        with m.Elif(s1_clear):
            m.d.comb += [wr.data.eq(0), wr.en.eq(1)]
        with m.Elif(s1_add):
            with m.If(is_cnt.bit_select(s1_row, 1)):
                m.d.comb += [wr.data.eq(Mux(total[32], 0xFFFFFFFF, total[:32])), wr.en.eq(1)]
            with m.Elif(is_low.bit_select(s1_row, 1)):
                m.d.comb += [wr.data.eq(total[:32]), wr.en.eq(1)]
                with m.If(total[32]):
                    m.d.sync += [carry_pending.eq(1), carry_row.eq(s1_row + 1)]
            with m.Elif(is_high.bit_select(s1_row, 1)):
                m.d.comb += [wr.data.eq(total[:32]), wr.en.eq(1)]
        return m
