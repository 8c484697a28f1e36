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
  master may not take back a valid it has raised), and is then accounted for as above; so is
  one that enters it in the reset's first cycle, while the blocks behind still run.

Handshake: ``up`` is the arbiter's side, ``dma`` the port's; both carry ``DMASignature``. The
commands leave through a register slice per direction (a cycle of latency, full throughput, as
the arbiter's output stage); read data, write data and completions pass straight through. While
nothing is owed from before a reset, this stage changes no cycle of the traffic. During the
reset it holds read data and completions back (the port answers them afterwards, in order), and
a new write command waits until the burst being finished is done. The port's write data follows
its command: host memory takes a burst's beats only after it has taken the command.

Timing: the reset acts here a cycle late, from a register; the counts of commands take their
handshakes a cycle late too. That is safe because the counts are only looked at while the reset
holds the answers back, and its first cycles let them settle (a reset lasts at least three
cycles; the core's lasts 128 or more).
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bus import DMACommand, DMASignature
from .count import stepped
from .pipe import StreamRegister


__all__ = ["DMADrain"]


class DMADrain(wiring.Component):
    """Between resets a register slice on commands and wires on data and acknowledgements. From a
    device reset on, it takes and drops what host memory still owes for commands accepted before
    it, finishes a write burst in progress with empty strobes, and still offers a held command.

    Parameters
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
        up, dma = self.up, self.dma
        # Timing: the reset reaches the handshakes from a register of this stage's own, a
        # cycle later. In the reset's first cycle the blocks behind still run as before.
        holding = Signal()
        m.d.sync += holding.eq(self.reset)
        m.submodules.rd_out = rd_out = StreamRegister(DMACommand)
        m.submodules.wr_out = wr_out = StreamRegister(DMACommand)
        wiring.connect(m, rd_out.o, wiring.flipped(dma.rd_cmd))
        wiring.connect(m, wr_out.o, wiring.flipped(dma.wr_cmd))

        # Reads: every command that entered the slice before a reset is answered here. (None
        # enters during it: the arbiter is held in reset.)
        self._command(m, up.rd_cmd, rd_out)
        self._answers(m, "rd", holding, rd_out.i, dma.rd_data, up.rd_data,
                      lambda beat: beat.last)

        # Writes: a burst the port took before the reset, or takes after it from the slice,
        # is finished here (``fill``); a new command waits meanwhile.
        wr_taken = wr_out.o.valid & wr_out.o.ready
        beat_taken = dma.wr_data.valid & dma.wr_data.ready
        wr_open = Signal()          # the port took a command whose last beat has not gone
        wr_left = Signal(8)         # beats the open burst still owes, minus one
        stale = Signal()            # the open burst, or the command in the slice, is from
        fill = Signal()             # before a reset
        m.d.comb += fill.eq(stale & wr_open)
        with m.If(wr_taken):
            m.d.sync += [wr_open.eq(1), wr_left.eq(wr_out.o.payload.len)]
        with m.Elif(beat_taken):
            m.d.sync += wr_left.eq(wr_left - 1)
            with m.If(dma.wr_data.payload.last):
                m.d.sync += wr_open.eq(0)
        with m.If(fill & beat_taken & dma.wr_data.payload.last):
            m.d.sync += stale.eq(0)
        with m.Elif(holding & (wr_open | wr_out.o.valid)):
            m.d.sync += stale.eq(1)
        with m.If(fill):
            m.d.comb += [
                dma.wr_data.valid.eq(1),
                dma.wr_data.payload.strb.eq(0),
                dma.wr_data.payload.last.eq(wr_left == 0),
            ]
        with m.Else():
            m.d.comb += [
                dma.wr_data.valid.eq(up.wr_data.valid),
                dma.wr_data.payload.strb.eq(up.wr_data.payload.strb),
                dma.wr_data.payload.last.eq(up.wr_data.payload.last),
                up.wr_data.ready.eq(dma.wr_data.ready),
            ]
        m.d.comb += dma.wr_data.payload.data.eq(up.wr_data.payload.data)
        self._command(m, up.wr_cmd, wr_out, blocked=stale)
        self._answers(m, "wr_done", holding, wr_out.i, dma.wr_done, up.wr_done, lambda done: 1)
        return m

    def _command(self, m, source, out, *, blocked=0):
        """Commands from the arbiter into the slice ``out``, unless ``blocked``."""
        m.d.comb += [
            out.i.payload.eq(source.payload),
            out.i.valid.eq(source.valid & ~blocked),
            source.ready.eq(out.i.ready & ~blocked),
        ]

    def _answers(self, m, name, holding, entered, source, sink, ends):
        """Route ``source`` (the port's answers, one per command, ending with the beat for
        which ``ends(payload)``) to ``sink``, but for the commands that ``entered`` the slice
        before a reset: those are taken here. While ``holding`` the answers wait."""
        owed = Signal(range(self._commands + 1), name=f"{name}_owed")
        stale = Signal(range(self._commands + 1), name=f"{name}_stale")
        answered = source.valid & source.ready & ends(source.payload)
        # The commands not yet answered, counted a cycle late.
        came, went = Signal(name=f"{name}_came"), Signal(name=f"{name}_went")
        m.d.sync += [came.eq(entered.valid & entered.ready), went.eq(answered),
                     owed.eq(stepped(owed, up=(came,), down=(went,)))]
        dropping = stale != 0
        with m.If(holding):
            m.d.sync += stale.eq(owed)
        with m.Elif(answered & dropping):
            m.d.sync += stale.eq(stale - 1)
        m.d.comb += sink.payload.eq(source.payload)
        with m.If(~holding):
            m.d.comb += [
                sink.valid.eq(source.valid & ~dropping),
                source.ready.eq(dropping | sink.ready),
            ]
