"""The DMA port's last stage, which keeps the bus whole across the device's software reset.

A software reset (CTRL.RST) clears the core in a cycle, but host memory cannot be told to forget
what the core asked of it: read data and write completions for commands it accepted still
arrive, and a write burst whose command it accepted still waits for its data. The reset blocks
behind this stage (the DMA arbiter and its initiators) no longer expect any of it. ``DMADrain``
is outside the reset and settles the account:

- read beats of commands the port accepted before the reset are taken here and dropped, up to
  the last beat of each (host memory answers in order, so they come first);
- a write burst in progress is finished here with beats whose byte strobes are all off;
- write completions owed for those commands are taken here;
- a command that sat in the output register when the reset came is still offered (a bus
  master may not take back a valid it has raised), and is then accounted for as above.

Handshake: ``up`` is the arbiter's side, ``dma`` the port's; both carry ``DMASignature``. The
commands leave through a register slice per direction (a cycle of latency, full throughput, as
the arbiter's output stage); read data, write data and completions pass straight through. While
nothing is owed from before a reset, this stage changes no cycle of the traffic. A new write
command waits while a burst is being finished. The port's write data follows its command: host
memory takes a burst's beats only after it has taken the command.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bus import DMACommand, DMASignature
from .pipe import StreamRegister


__all__ = ["DMADrain"]


class DMADrain(wiring.Component):
    """Parameters
    ----------
    outstanding : int
        Commands the arbiter may have in flight per direction.

    Members
    -------
    up : In(DMASignature)
        From the DMA arbiter.
    dma : Out(DMASignature)
        The core's DMA port.
    reset : In(1)
        The device reset: high for the cycles the blocks behind this stage are held in reset.
    """
    up: In(DMASignature)
    dma: Out(DMASignature)
    reset: In(1)

    def __init__(self, *, outstanding=8):
        # Before a reset's commands are all answered, as many again may follow it.
        self._commands = 2 * (outstanding + 2)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        up, dma, reset = self.up, self.dma, self.reset
        m.submodules.rd_out = rd_out = StreamRegister(DMACommand)
        m.submodules.wr_out = wr_out = StreamRegister(DMACommand)
        wiring.connect(m, rd_out.o, wiring.flipped(dma.rd_cmd))
        wiring.connect(m, wr_out.o, wiring.flipped(dma.wr_cmd))

        # Reads: commands the port took whose last beat has not come, and how many of those
        # (the first ones) are from before a reset.
        rd_stale_slice = self._held(m, rd_out, "rd")
        rd_taken = rd_out.o.valid & rd_out.o.ready
        rd_owed, rd_stale = self._owed(m, "rd", rd_taken, rd_stale_slice & rd_taken,
                                       dma.rd_data, lambda beat: beat.last, up.rd_data)
        m.d.comb += [
            rd_out.i.payload.eq(up.rd_cmd.payload),
            rd_out.i.valid.eq(up.rd_cmd.valid & ~reset),
            up.rd_cmd.ready.eq(rd_out.i.ready & ~reset),
        ]

        # Writes: the beats the burst in progress still owes; ``fill`` while this stage sends
        # them itself. A new command waits meanwhile.
        wr_stale_slice = self._held(m, wr_out, "wr")
        wr_taken = wr_out.o.valid & wr_out.o.ready
        wr_left = Signal(9)
        wr_left_next = Signal(9)
        fill = Signal()
        beat_taken = dma.wr_data.valid & dma.wr_data.ready
        m.d.comb += wr_left_next.eq(wr_left + (wr_taken * (wr_out.o.payload.len + 1)) - beat_taken)
        m.d.sync += wr_left.eq(wr_left_next)
        with m.If(reset | (wr_stale_slice & wr_taken)):
            m.d.sync += fill.eq(wr_left_next != 0)
        with m.Elif(fill & beat_taken & dma.wr_data.payload.last):
            m.d.sync += fill.eq(0)
        with m.If(fill):
            m.d.comb += [
                dma.wr_data.valid.eq(1),
                dma.wr_data.payload.strb.eq(0),
                dma.wr_data.payload.last.eq(wr_left == 1),
            ]
        with m.Else():
            m.d.comb += [
                dma.wr_data.valid.eq(up.wr_data.valid),
                dma.wr_data.payload.strb.eq(up.wr_data.payload.strb),
                dma.wr_data.payload.last.eq(up.wr_data.payload.last),
                up.wr_data.ready.eq(dma.wr_data.ready),
            ]
        m.d.comb += dma.wr_data.payload.data.eq(up.wr_data.payload.data)
        blocked = reset | fill | wr_stale_slice
        m.d.comb += [
            wr_out.i.payload.eq(up.wr_cmd.payload),
            wr_out.i.valid.eq(up.wr_cmd.valid & ~blocked),
            up.wr_cmd.ready.eq(wr_out.i.ready & ~blocked),
        ]
        self._owed(m, "wr_done", wr_taken, wr_stale_slice & wr_taken, dma.wr_done,
                   lambda done: 1, up.wr_done)
        return m

    def _held(self, m, out, name):
        """Whether the command in ``out`` was there during a reset: it is still offered, and
        what it brings back belongs to nobody."""
        stale = Signal(name=f"{name}_stale_slice")
        with m.If(self.reset):
            m.d.sync += stale.eq(out.o.valid & ~out.o.ready)
        with m.Elif(out.o.valid & out.o.ready):
            m.d.sync += stale.eq(0)
        return stale

    def _owed(self, m, name, taken, stale_taken, source, ends, sink):
        """Count the answers on ``source`` owed for the commands ``taken`` (one per command,
        ending with the beat for which ``ends(payload)``); those owed from before a reset are
        taken here, the rest go to ``sink``."""
        owed = Signal(range(self._commands + 1), name=f"{name}_owed")
        stale = Signal(range(self._commands + 1), name=f"{name}_stale")
        answered = source.valid & source.ready & ends(source.payload)
        owed_next = owed + taken - answered
        m.d.sync += owed.eq(owed_next)
        with m.If(self.reset):
            m.d.sync += stale.eq(owed_next)
        with m.Else():
            m.d.sync += stale.eq(stale + stale_taken - (answered & (stale != 0)))
        dropping = stale != 0
        m.d.comb += [
            sink.payload.eq(source.payload),
            sink.valid.eq(source.valid & ~dropping),
            source.ready.eq(dropping | sink.ready),
        ]
        return owed, stale
