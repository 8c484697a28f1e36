"""Host memory serving the core's DMA port, with realistic latency.

Simulation only. Read commands queue up (several may be outstanding, as on a real bus) and each
is answered ``read_latency`` cycles after it was accepted, one 64-bit beat per cycle, so reads
overlap the way descriptor prefetch needs them to. Writes go to memory as their beats arrive and
are acknowledged on ``wr_done`` after the last beat.

A DMA to an address outside host memory, or any DMA while PCI bus mastering is disabled, is a
fault: ``fault`` latches, ``fault_addr`` keeps the first offending address, and the test bench
reports it (unless a test provokes it on purpose and clears it with ``fault_clear``). The access
itself ends as a master abort does on PCI: a faulty read returns all ones, a faulty write
changes nothing and its completion says so; accesses before and after it are served as usual.
Memory contents are read and written from Python without spending cycles.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, fifo, memory, wiring
from amaranth.lib.wiring import In, Out

from hw.bus import DMACommand, DMASignature


__all__ = ["HostMemory"]


class _Pending(data.Struct):
    accepted: 32        # the cycle the command was accepted in, modulo 2**32
    cmd: DMACommand
    bad: 1              # outside host memory, or bus mastering off: all ones


class HostMemory(wiring.Component):
    """Parameters
    ----------
    base : int
        Bus address of the first byte (8-byte aligned).
    size : int
        Bytes of memory (a multiple of 8).
    read_latency : int
        Cycles from accepting a read command to its first beat.
    outstanding : int
        Read commands that may wait at once.

    Members
    -------
    dma : In(DMASignature)
    bus_master : In(1)
        PCI COMMAND.BusMaster as the host configured it.
    fault : Out(1)
    fault_addr : Out(64)
    fault_clear : In(1)
        Forget the fault (for tests that provoke one).
    """
    dma: In(DMASignature)
    bus_master: In(1)
    fault: Out(1)
    fault_addr: Out(64)
    fault_clear: In(1)

    def __init__(self, *, base=0x0010_0000, size=1 << 20, read_latency=125, outstanding=8):
        if base % 8 or size % 8 or size <= 0:
            raise ValueError("host memory base and size must be multiples of 8")
        if base + size > 1 << 32:
            raise ValueError("host memory must lie below 4 GiB")
        self.base = base
        self.size = size
        self.read_latency = read_latency
        self._outstanding = outstanding
        super().__init__()
        self.mem = memory.Memory(shape=64, depth=size // 8, init=[])

    @property
    def data(self):
        """The memory's rows (64 bits, little-endian), for ``ctx.get``/``ctx.set``."""
        return self.mem.data

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = self.mem
        dma = self.dma
        now = Signal(32)
        m.d.sync += now.eq(now + 1)
        rows = self.size // 8

        # The first bad access: its address and a flag, one register. Written so that the
        # checks are worked out only in a cycle that accepts a command, which matters to the
        # compiled model (it evaluates every expression every cycle unless it sits in a branch).
        fault = Signal(65)
        m.d.comb += [self.fault.eq(fault[64]), self.fault_addr.eq(fault[:64])]

        # Rows from bus addresses in 32 bits: host memory lies below 4 GiB.
        def row_of(addr):
            return (addr[3:32] - (self.base >> 3)).as_unsigned()

        def check(cmd, accepted, bad):
            """In a cycle that accepts ``cmd``: ``bad`` says whether it is faulty, and the first
            fault is latched."""
            with m.If(accepted):
                m.d.comb += bad.eq((cmd.addr[32:] != 0) | (cmd.addr[:32] < self.base)
                                   | (row_of(cmd.addr) + cmd.len >= rows) | (cmd.addr[:3] != 0)
                                   | ~self.bus_master)
                with m.If(bad & ~fault[64]):
                    m.d.sync += fault.eq(Cat(cmd.addr, 1))

        with m.If(self.fault_clear):
            m.d.sync += fault.eq(0)

        # Reads: queue with the cycle of acceptance, then stream the beats when due.
        m.submodules.rd_queue = rd_queue = fifo.SyncFIFOBuffered(
            width=_Pending.as_shape().size, depth=self._outstanding)
        pending_in = _Pending(rd_queue.w_data)
        m.d.comb += [
            pending_in.cmd.eq(dma.rd_cmd.payload),
            pending_in.accepted.eq(now),
            rd_queue.w_en.eq(dma.rd_cmd.valid),
            dma.rd_cmd.ready.eq(rd_queue.w_rdy),
        ]
        check(dma.rd_cmd.payload, dma.rd_cmd.valid & dma.rd_cmd.ready, pending_in.bad)

        head = _Pending(rd_queue.r_data)
        rd_port = mem.read_port(domain="comb")
        rd_row = Signal(range(rows))
        rd_left = Signal(8)
        rd_busy = Signal()
        rd_bad = Signal()
        finishing = rd_busy & dma.rd_data.ready & (rd_left == 0)
        with m.If(rd_busy):
            m.d.comb += [
                rd_port.addr.eq(rd_row),
                dma.rd_data.valid.eq(1),
                dma.rd_data.payload.data.eq(Mux(rd_bad, (1 << 64) - 1, rd_port.data)),
                dma.rd_data.payload.last.eq(rd_left == 0),
            ]
            with m.If(dma.rd_data.ready):
                m.d.sync += [rd_row.eq(rd_row + 1), rd_left.eq(rd_left - 1)]
            with m.If(finishing):
                m.d.sync += rd_busy.eq(0)
        # The next burst follows the last beat of this one without a gap when it is due.
        with m.If((~rd_busy | finishing) & rd_queue.r_rdy & ((now - head.accepted)[:32] >= self.read_latency)):
            m.d.comb += rd_queue.r_en.eq(1)
            m.d.sync += [rd_busy.eq(1), rd_row.eq(row_of(head.cmd.addr)),
                         rd_left.eq(head.cmd.len), rd_bad.eq(head.bad)]

        # Writes: one command at a time, its beats, then the acknowledgement.
        wr_port = mem.write_port(granularity=8)
        wr_row = Signal(range(rows))
        wr_bad = Signal()
        with m.FSM(name="write"):
            with m.State("COMMAND"):
                m.d.comb += dma.wr_cmd.ready.eq(1)
                bad = Signal()
                check(dma.wr_cmd.payload, dma.wr_cmd.valid, bad)
                with m.If(dma.wr_cmd.valid):
                    m.d.sync += [wr_row.eq(row_of(dma.wr_cmd.payload.addr)), wr_bad.eq(bad)]
                    m.next = "DATA"
            with m.State("DATA"):
                beat = dma.wr_data.payload
                m.d.comb += [
                    dma.wr_data.ready.eq(1),
                    wr_port.addr.eq(wr_row),
                    wr_port.data.eq(beat.data),
                    wr_port.en.eq(Cat(s & dma.wr_data.valid & ~wr_bad for s in beat.strb)),
                ]
                with m.If(dma.wr_data.valid):
                    m.d.sync += wr_row.eq(wr_row + 1)
                    with m.If(beat.last):
                        m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += [dma.wr_done.valid.eq(1), dma.wr_done.payload.error.eq(wr_bad)]
                with m.If(dma.wr_done.ready):
                    m.next = "COMMAND"
        return m
