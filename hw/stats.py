"""Statistics counters, kept in block RAM.

Reference: SDM 13.7 (statistics registers).

The counters at 0x4000-0x40FC are 64 rows of one RAM. The MAC reports what it counted as a
stream of increments (a row and an amount); register reads and increments share one
read-modify-write pipeline: a row is read; its value, which comes out of the block RAM late in
the next cycle, is registered; the sum (or zero) is worked out and written back at the end of
that cycle. A row's value is read only once every operation ahead of it on that row has written
it back: an operation whose row one of the two ahead of it is still working on waits (which no
register read needs to, as nothing new enters the pipeline while the register bus decodes an
access, ``soon``). A register read has priority (its data is due two cycles later) and clears
the row it read where the map says so.
Semantics per the map:

- CNT: 32 bits, clear on read, saturating at 0xFFFFFFFF. A row has a 33rd bit, set when its
  count overflows and kept until the row is cleared; a row with it set reads all ones.
- CNTL/CNTH: a 64-bit counter in two rows. An increment goes to the low row and carries into the
  high row; reading the high row clears both.

Offsets in the range that name no counter read 0: nothing ever increments them.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from . import pipe
from .bus import NO_RW_CHECK, RegBusSignature, decode
from .compare import below
from .regmap import Access, STATS
from .rxmac import RxControl, RxOutcome


__all__ = ["Statistics", "StatsEvents", "StatsIncrement", "COUNTERS", "BASE", "ROWS"]


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


class _Kind(enum.Enum, shape=2):
    NONE = 0
    READ = 1        # a register read
    ADD = 2         # an increment, or a carry
    CLEAR = 3       # clearing a low row after its high row was read


class _Op(data.Struct):
    """An operation in the read-modify-write pipeline."""
    kind: _Kind
    row: 6
    amount: 16
    follows_up: 1   # a follow-up operation must go before any further increment


class _Plan(data.Struct):
    """What stage 2 does with its row, worked out in stage 1 from the operation's kind and the
    kind of its row."""
    write: 1        # the row is written back
    zero: 1         # ...with zero
    saturate: 1     # ...with all ones if the sum overflows (a CNT row)
    carry: 1        # an overflow carries into the row above (a CNTL row)
    clear: 1        # the row below is to be cleared (a CNTH row was read)


class _Write(data.Struct):
    """A write to the counters' RAM."""
    row: 6
    data: 33        # the count, and above it whether a CNT row has saturated
    en: 1


class Statistics(wiring.Component):
    """Register reads answer two cycles after the strobe, clearing the row where the map says;
    increments come as a stream through the same read-modify-write pipeline, in which a
    register read has priority. An increment is taken in a cycle when no operation ahead of it
    is still working on its row (it waits two cycles at most after one on the same row) and the
    register bus is not decoding an access (``bus.soon``).

    Members
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
        # No row is read in the cycle it is written: an operation waits for those ahead of it
        # on its row, so the RAM's data for a row read and written at once is never used.
        self.counters = memory.Memory(shape=33, depth=ROWS, init=[], attrs=NO_RW_CHECK)

    def elaborate(self, platform):
        m = Module()
        bus = self.bus

        m.submodules.counters = mem = self.counters
        wr = mem.write_port()
        # Not transparent: a transparent port is exported as an address register in front of the
        # RAM, and synthesis then takes the register behind it as the RAM's own.
        rd = mem.read_port()

        is_cnt = _row_mask(Access.CNT)
        is_low = _row_mask(Access.CNTL)
        is_high = _row_mask(Access.CNTH)

        # Stage 0: pick an operation and read its row.
        bus_hit = bus.r_stb & decode(m, bus, (bus.addr >> 6) == (BASE >> 8))
        s1, s2 = Signal(_Op), Signal(_Op)
        carry_pending = Signal()
        carry_row = Signal(6)
        clear_pending = Signal()
        clear_row = Signal(6)

        # After a read of a high row or an increment of a low row, hold increments until it has
        # left the pipeline, so that the follow-up (clearing the low row, carrying into the high
        # row) goes first. Which operations have one is worked out as they enter the pipeline:
        # the increments' handshake then comes from registers.
        hold = s1.follows_up | s2.follows_up

        # The row read is chosen in the operations' order of priority, whether the operation
        # goes in or not (a read that nothing takes does no harm): a register read, a clear, a
        # carry, an increment. The operation that goes in carries it on. Timing: a follow-up
        # (clear or carry) waits until both stages are empty rather than for its row alone:
        # nothing but a register read goes in while one is pending, so that is two cycles at
        # most, and it spares the row compares, which had made the choice ten LUTs deep. An
        # increment waits for stage 1 to be empty, and for the operation in stage 2 to be on
        # another row, which is compared a cycle ahead (with stage 1's), so an increment goes
        # in only from the second cycle it is offered (the compare was of its row then): from
        # registers. Increments then go in every third cycle at most.
        queued = Signal(6)
        queued_busy = Signal()
        inc_busy = Signal()
        inc_waiting = Signal()      # the increment offered now was offered, not taken, before
        inc_behind = Signal()       # ...and stage 1 then held an operation on its row
        drained = (s1.kind == _Kind.NONE) & (s2.kind == _Kind.NONE)
        m.d.sync += [inc_waiting.eq(self.inc.valid & ~self.inc.ready),
                     inc_behind.eq((s1.kind != _Kind.NONE) & (s1.row == self.inc.payload.row))]
        m.d.comb += inc_busy.eq(~inc_waiting | inc_behind | (s1.kind != _Kind.NONE))
        with m.If(clear_pending):
            m.d.comb += [queued.eq(clear_row), queued_busy.eq(~drained)]
        with m.Elif(carry_pending):
            m.d.comb += [queued.eq(carry_row), queued_busy.eq(~drained)]
        with m.Else():
            m.d.comb += [queued.eq(self.inc.payload.row), queued_busy.eq(inc_busy)]
        row = Mux(bus_hit, bus.addr[:6], queued)
        m.d.comb += rd.addr.eq(row)
        m.d.sync += [s1.kind.eq(_Kind.NONE), s1.follows_up.eq(0), s1.row.eq(row),
                     s1.amount.eq(Mux(carry_pending, 1, self.inc.payload.amount))]
        # A register read comes with ``soon`` high in the two cycles before its strobe: nothing
        # else goes in then, so the operations ahead of the read have all written their rows
        # back by its strobe, and it needs no wait (it could not have one).
        with m.If(bus_hit):
            m.d.sync += [s1.kind.eq(_Kind.READ),
                         s1.follows_up.eq(is_high.bit_select(bus.addr[:6], 1))]
        with m.Elif(bus.soon | queued_busy):
            pass
        with m.Elif(clear_pending):
            m.d.sync += [s1.kind.eq(_Kind.CLEAR), clear_pending.eq(0)]
        with m.Elif(carry_pending):
            # Into a high row: no follow-up.
            m.d.sync += [s1.kind.eq(_Kind.ADD), carry_pending.eq(0)]
        with m.Elif(~hold & self.inc.valid):
            m.d.sync += [s1.kind.eq(_Kind.ADD),
                         s1.follows_up.eq(is_low.bit_select(self.inc.payload.row, 1))]
        # The same condition as the chain above gives, written flat, from registers and the
        # increment's compares alone: it goes on to the increments' producer, and the chain's
        # order had put every choice of the queued row before it.
        m.d.comb += self.inc.ready.eq(~bus_hit & ~bus.soon & ~clear_pending & ~carry_pending
                                      & ~hold & ~inc_busy)

        # Stage 1: the row's value comes out of the RAM, into a register and nowhere else: the
        # RAM's read data comes late in the cycle (when it also went to the bus's read data,
        # that path missed 125 MHz). The bus's read data is that register for a register read
        # (all ones for a saturated row), zero otherwise. The register keeps its reset, which
        # leaves it in the fabric beside the sum's carry chain: as the block RAM's own output
        # register (``hw.synth``) it placed the RAM where its read data's route to the sum
        # took 2.3 ns (107 MHz).
        raw = Signal(33)
        m.d.sync += [s2.eq(s1), raw.eq(rd.data)]

        plan = self._plan(m, s1, is_cnt, is_low, is_high)

        # Stage 2: work out the row's new value, and write it back.
        # Timing: a zero, written by a read, a clear or the device reset's sweep, is chosen by
        # one flag from registers, so that each bit of the count is one LUT after its bit of
        # the sum. A CNT row's saturation is one bit beside the count, set by the sum's carry
        # out: the carry then reaches one bit of the write, not all 32 of them (which, after
        # the 32-bit carry chain, missed 125 MHz). The count under it may wrap; reads give all
        # ones, and clearing the row clears the bit.
        res = Signal(_Write)
        total = raw[:32] + s2.amount
        overflow = total[32]
        saturated = raw[32] | (plan.saturate & overflow)
        read_data = raw[:32] | raw[32].replicate(32)
        zero = Signal()
        m.d.comb += [zero.eq(plan.zero | self.clear), res.row.eq(s2.row),
                     bus.r_data.eq(Mux(s2.kind == _Kind.READ, read_data, 0)),
                     res.en.eq(plan.write), res.data.eq(Mux(zero, 0, Cat(total[:32], saturated)))]
        with m.If(plan.clear):
            m.d.sync += [clear_pending.eq(1), clear_row.eq(s2.row - 1)]
        with m.If(plan.carry & overflow):
            m.d.sync += [carry_pending.eq(1), carry_row.eq(s2.row + 1)]
        # The device reset's sweep writes straight to the RAM: this block's registers are held
        # in that reset meanwhile.
        m.d.comb += wr.data.eq(res.data)
        with m.If(self.clear):
            m.d.comb += [wr.addr.eq(self.clear_row), wr.en.eq(1)]
        with m.Else():
            m.d.comb += [wr.addr.eq(res.row), wr.en.eq(res.en)]
        return m

    @staticmethod
    def _plan(m, s1, is_cnt, is_low, is_high):
        """What stage 2 does with the operation in stage 1, decided a cycle ahead from
        registers. Timing: the sum's carry then goes through one LUT to the RAM's write data,
        instead of after the row's kind."""
        plan = Signal(_Plan)
        row_cnt, row_low, row_high = (mask.bit_select(s1.row, 1)
                                      for mask in (is_cnt, is_low, is_high))
        reading, adding, clearing = (s1.kind == kind
                                     for kind in (_Kind.READ, _Kind.ADD, _Kind.CLEAR))
        m.d.sync += [
            plan.write.eq((reading & (row_cnt | row_high)) | clearing
                          | (adding & (row_cnt | row_low | row_high))),
            plan.zero.eq(reading | clearing),
            plan.saturate.eq(adding & row_cnt),
            plan.carry.eq(adding & row_low),
            plan.clear.eq(reading & row_high),
        ]
        return plan


def _size_bin(prefix, length):
    """The row of a size histogram's counter (64, 65-127, ..., 1024-1522 bytes) for ``length``,
    and whether it falls in one. The counters are consecutive rows and the bins, but for the
    first and the last, are powers of two: the bin comes from the length's leading bits."""
    first = COUNTERS[f"{prefix}64"]
    assert [COUNTERS[f"{prefix}{name}"] - first for name in ("127", "255", "511", "1023", "1522")] \
        == [1, 2, 3, 4, 5]
    # in_bin[k]: 64 << k <= length < 128 << k
    in_bin = [length[6 + k:] == 1 for k in range(5)]
    fits = in_bin[0] | in_bin[1] | in_bin[2] | in_bin[3] | (in_bin[4] & below(length, 1523))
    offset = Mux(in_bin[0], length[:6] != 0,
                 Mux(in_bin[1], 2, Mux(in_bin[2], 3, Mux(in_bin[3], 4, 5))))
    return first + offset, fits


class StatsEvents(wiring.Component):
    """Frame reports in as streams, counter increments out as a stream: a report is taken
    when it has been stepped through, at most 17 cycles after it was offered.

    Each report (a transmitted frame, a frame seen by the receive MAC, a frame the receive DMA
    engine delivered, dropped or had to hold for want of descriptors) is held, then stepped
    through the counters it touches: a cycle per step, and a cycle more for each increment, so
    at most 17 cycles for a report that makes the most increments (a transmitted frame's seven).
    A receive MAC's report makes at most three (a frame counted in TPR, TOR and one outcome).

    Members
    -------
    tx, rx, rx_delivery : In(stream.Signature(...))
        Reports from the transmit MAC, the receive MAC and the receive DMA engine.
    inc : Out(stream.Signature(StatsIncrement))
    """

    def __init__(self, tx_layout, rx_layout, delivery_layout):
        self._layouts = (tx_layout, rx_layout, delivery_layout)
        super().__init__({
            "tx": In(stream.Signature(tx_layout)),
            "rx": In(stream.Signature(rx_layout)),
            "rx_delivery": In(stream.Signature(delivery_layout)),
            "inc": Out(stream.Signature(StatsIncrement)),
        })

    def _steps(self, name, event):
        """(row, amount, condition) of each increment a report makes, in order."""
        one, always = 1, Const(1, 1)
        if name == "tx":
            # The PAUSE frames the MAC makes count only as such, in the size bin's step.
            bin_row, in_bin = _size_bin("PTC", event.length)
            data = ~event.xon & ~event.xoff
            good = ~event.aborted & data
            control_row = Mux(event.xon, COUNTERS["XONTXC"], COUNTERS["XOFFTXC"])
            steps = [("TPT", one, data), ("TOT", event.length, data), ("GPTC", one, good),
                     ("GOTC", event.length, good),
                     (Mux(data, bin_row, control_row), one, (good & in_bin) | ~data),
                     ("BPTC", one, good & event.broadcast), ("MPTC", one, good & event.multicast),
                     ("TSCTC", one, good & event.tso_last),
                     ("TSCTFC", one, event.aborted & event.tso_last)]
        elif name == "rx":
            outcome = event.outcome
            steps = [("TPR", one, always), ("TOR", event.length, always),
                     ("CRCERRS", one, outcome == RxOutcome.CRC_ERROR),
                     ("RFC", one, outcome == RxOutcome.FRAGMENT),
                     ("RUC", one, outcome == RxOutcome.UNDERSIZE),
                     ("ROC", one, outcome == RxOutcome.OVERSIZE),
                     ("RJC", one, outcome == RxOutcome.JABBER),
                     ("RXERRC", one, outcome == RxOutcome.RX_ERROR),
                     ("MPC", one, outcome == RxOutcome.OVERRUN),
                     (Mux(event.control == RxControl.XON, COUNTERS["XONRXC"],
                          Mux(event.control == RxControl.XOFF, COUNTERS["XOFFRXC"],
                              COUNTERS["FCRUC"])), one, event.control != RxControl.NONE)]
        else:
            # A frame that waited for descriptors is reported twice: once when it starts to wait
            # (RNBC), once when it is delivered.
            good = ~event.missed & ~event.no_buffers & ~event.bad
            bin_row, in_bin = _size_bin("PRC", event.length)
            steps = [("MPC", one, event.missed), ("RNBC", one, event.no_buffers),
                     ("GPRC", one, good), ("GORC", event.length, good),
                     (bin_row, one, good & in_bin),
                     ("BPRC", one, good & event.broadcast), ("MPRC", one, good & event.multicast)]
        return [(COUNTERS[row] if isinstance(row, str) else row, amount, condition)
                for row, amount, condition in steps]

    def elaborate(self, platform):
        m = Module()
        # Timing: increments leave from a register, which takes the next one only once it is
        # empty: the size bin and the counters' operation select would otherwise be one path,
        # and the counters' handshake would reach the stepping through the steps. An increment
        # then takes two cycles at the least.
        inc = stream.Signature(StatsIncrement).create()
        with m.If(self.inc.ready):
            m.d.sync += self.inc.valid.eq(0)
        with m.If(~self.inc.valid):
            m.d.comb += inc.ready.eq(1)
            m.d.sync += [self.inc.valid.eq(inc.valid), self.inc.payload.eq(inc.payload)]
        sources = []
        for name, layout in zip(("tx", "rx", "rx_delivery"), self._layouts):
            # Reports wait in a small queue per side until they have been stepped through. The
            # transmit MAC reports once a frame, 84 cycles apart at the least; the receive MAC
            # as often as every 21 cycles (one-byte fragments at the minimum gap), in 14 cycles
            # each, so it has room for three (a buffered queue holds one in its output
            # register, and the depths between have no address bits); the MACs come first, and
            # the two of them take at most 14 + 4 x 14 of every 84 cycles. The receive engine
            # may report faster while it drains frames from its FIFO; it then waits its turn,
            # last, holding the frame.
            depth = 3 if name == "rx" else 1
            queue = pipe.Queue(layout, ram_depth=depth - 1)
            m.submodules[f"{name}_queue"] = queue
            port = getattr(self, name)
            m.d.comb += queue.w_data.eq(port.payload)
            if depth == 1:
                m.d.comb += [queue.w_en.eq(port.valid), port.ready.eq(queue.w_rdy)]
            else:
                # Timing: ready from a register (the receive MAC's end of frame hangs on it):
                # room for two when it was registered leaves room for one after a report taken
                # meanwhile.
                room = Signal(name=f"{name}_room", init=1)
                m.d.sync += room.eq(below(queue.w_level, depth - 1))
                m.d.comb += [queue.w_en.eq(port.valid & room), port.ready.eq(room)]
            reports = queue.o
            if depth > 1:
                # Its RAM is block RAM (``hw.synth`` asks for it): the reports leave it through
                # a register slice, which becomes the RAM's output register.
                m.submodules[f"{name}_out"] = out = pipe.StreamRegister(layout, ram_output=True)
                wiring.connect(m, queue.o, out.i)
                reports = out.o
            sources.append((reports, self._steps(name, reports.payload)))

        source = Signal(range(len(sources)))
        most = max(len(steps) for _, steps in sources)
        step = Signal(range(most + 1))
        # Which of the report's steps make an increment, and the row of its size bin (the one
        # row that depends on the report), worked out as the report is taken up: stepping
        # through then starts from registers.
        counts = Signal(most)
        bin_row = Signal(6)
        busy = Signal()
        with m.If(~busy):
            # Later statements win: the first source with a report goes next.
            for i, (reports, steps) in reversed(list(enumerate(sources))):
                with m.If(reports.valid):
                    m.d.sync += [source.eq(i), step.eq(0), busy.eq(1),
                                 counts.eq(Cat(condition for _, _, condition in steps))]
                    report_rows = [row for row, _, _ in steps if not isinstance(row, int)]
                    assert len(report_rows) <= 1        # one register holds it
                    m.d.sync += [bin_row.eq(row) for row in report_rows]
        with m.Else():
            with m.Switch(source):
                for i, (reports, steps) in enumerate(sources):
                    with m.Case(i):
                        with m.Switch(step):
                            for k, (row, amount, _) in enumerate(steps):
                                with m.Case(k):
                                    m.d.comb += [
                                        inc.payload.row.eq(
                                            row if isinstance(row, int) else bin_row),
                                        inc.payload.amount.eq(amount),
                                        inc.valid.eq(counts[k]),
                                    ]
                                    with m.If(inc.ready | ~counts[k]):
                                        m.d.sync += step.eq(k + 1)
                            with m.Default():
                                m.d.comb += reports.ready.eq(1)
                                m.d.sync += busy.eq(0)
        return m
