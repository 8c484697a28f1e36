"""Sharing the DMA port: an arbiter for the core's DMA initiators.

Readers and writers are separate initiators, each with only its own channels. Reads: commands are
granted round-robin (the grant is a register that moves on after each command); the tag of each
granted command is queued, and the returning beats go to the reader at the head of that queue
until its last beat (host memory answers reads in order).
Writes: a granted write command keeps the write channel until its last data beat, so beats of
different writes never interleave; acknowledgements return in order through a second tag queue.
Initiators give each command as a base and an offset (``DMARequest``): the granted one's address
is added up here, one adder per direction instead of one per initiator. Granted commands leave
unregistered: the register slice they go through, a cycle later, is the port's last stage
(``hw.dmadrain``), which the device reset leaves alone. Write data passes straight through the owner's
multiplexer: each writer sends it from a register, and takes the bus's ready only into
flip-flop enables and its state. Data bytes whose strobe is off are left to whatever is cheapest.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bus import DMAReadSignature, DMARequest, DMASignature, DMAWriteSignature
from .compare import below
from .pipe import queue


__all__ = ["DMAArbiter"]


class DMAArbiter(wiring.Component):
    """Commands are granted round robin, at most one a cycle per direction, and leave unregistered
    with their address added up; read beats and write acknowledgements go back to their
    initiators in order, by tag queues; a granted write keeps the write channel to its last beat.

    Parameters
    ----------
    readers, writers : int
        Number of initiators that read and that write.
    outstanding : int
        Commands in flight per direction.

    Members
    -------
    readers : In(DMAReadSignature).array(readers)
    writers : In(DMAWriteSignature).array(writers)
    dma : Out(DMASignature)
    """

    def __init__(self, *, readers, writers, outstanding=8):
        assert readers >= 1 and writers >= 1
        self._outstanding = outstanding
        super().__init__({
            "readers": In(DMAReadSignature).array(readers),
            "writers": In(DMAWriteSignature).array(writers),
            "dma": Out(DMASignature),
        })

    def elaborate(self, platform):
        m = Module()
        readers, writers = self.readers, self.writers
        dma = self.dma

        # Timing: granted commands go to the port's last stage, whose register slices keep
        # arbitration, the initiators' handshakes and the bus's from forming one long path.
        rd_cmd, wr_cmd = dma.rd_cmd, dma.wr_cmd
        # The granted request, and its address worked out into the slice.
        rd_request = Signal(DMARequest)
        wr_request = Signal(DMARequest)
        for cmd, request in ((rd_cmd, rd_request), (wr_cmd, wr_request)):
            m.d.comb += [cmd.payload.addr.eq(request.base + request.offset),
                         cmd.payload.len.eq(request.len)]

        # Reads.
        m.submodules.rd_tags = rd_tags = queue(width=_tag_bits(readers),
                                               ram_depth=self._outstanding)
        rd_grant = _round_robin(m, readers, "rd_cmd")
        _forward(m, readers, rd_cmd, rd_request, "rd_cmd", rd_grant,
                 _tag_room(m, rd_tags, "rd_cmd"))
        _tag_write(m, rd_tags, rd_grant, rd_cmd.ready & rd_cmd.valid, "rd_cmd")

        _route_back(m, readers, dma, "rd_data", rd_tags)
        m.d.comb += rd_tags.r_en.eq(dma.rd_data.valid & dma.rd_data.ready & dma.rd_data.payload.last)

        # Writes.
        m.submodules.wr_tags = wr_tags = queue(width=_tag_bits(writers),
                                               ram_depth=self._outstanding)
        wr_busy = Signal()                    # a granted write is still sending its beats
        wr_owner = Signal(range(len(writers)))
        wr_grant = _round_robin(m, writers, "wr_cmd", hold=wr_busy)
        wr_room = _tag_room(m, wr_tags, "wr_cmd")
        with m.If(~wr_busy):
            _forward(m, writers, wr_cmd, wr_request, "wr_cmd", wr_grant, wr_room)
            with m.If(wr_cmd.valid & wr_cmd.ready):
                m.d.sync += [wr_busy.eq(1), wr_owner.eq(wr_grant)]
        _tag_write(m, wr_tags, wr_grant, ~wr_busy & wr_cmd.valid & wr_cmd.ready, "wr_cmd")
        wr_data = dma.wr_data
        with m.If(wr_busy):
            with m.Switch(wr_owner):
                for i, writer in enumerate(writers):
                    with m.Case(i):
                        m.d.comb += [
                            wr_data.payload.strb.eq(writer.wr_data.payload.strb),
                            wr_data.payload.last.eq(writer.wr_data.payload.last),
                            wr_data.valid.eq(writer.wr_data.valid),
                            writer.wr_data.ready.eq(wr_data.ready),
                        ]
            with m.If(wr_data.valid & wr_data.ready & wr_data.payload.last):
                m.d.sync += wr_busy.eq(0)
        # A byte whose strobe is off may carry anything, as on AXI: each data byte comes from
        # the owner where the owner strobes it, and from the last writer otherwise. A writer's
        # bytes that it never strobes then cost nothing here (the transmit write-back strobes
        # only its status byte).
        for byte in range(8):
            lane = slice(8 * byte, 8 * byte + 8)
            value = writers[-1].wr_data.payload.data[lane]
            for i, writer in reversed(list(enumerate(writers[:-1]))):
                value = Mux((wr_owner == i) & writer.wr_data.payload.strb[byte],
                            writer.wr_data.payload.data[lane], value)
            m.d.comb += wr_data.payload.data[lane].eq(value)

        _route_back(m, writers, dma, "wr_done", wr_tags)
        m.d.comb += wr_tags.r_en.eq(dma.wr_done.valid & dma.wr_done.ready)
        return m


def _tag_bits(initiators):
    return max(1, (len(initiators) - 1).bit_length())


def _tag_room(m, tags, channel):
    """Whether ``tags`` has room for three, registered: the queue's level then stays off the
    initiators' ready. A command is in the level two cycles after it is taken (``_tag_write``),
    and in ``room`` a cycle after that, so up to three may be taken meanwhile (the queue holds
    ``outstanding`` + 1)."""
    room = Signal(name=f"{channel}_room")
    m.d.sync += room.eq(below(tags.level, tags.depth - 2))
    return room


def _tag_write(m, tags, grant, taken, channel):
    """Queue ``grant`` as the tag of a command ``taken``, a cycle later, from registers: the
    initiators' handshake, which comes from their state machines, then stops at a flip-flop
    instead of running on into the queue's level. Answers that came before their tag would
    wait for it: they are routed only while the queue holds a tag."""
    w_en = Signal(name=f"{channel}_tag_en")
    w_data = Signal.like(tags.w_data, name=f"{channel}_tag")
    m.d.sync += [w_en.eq(taken), w_data.eq(grant)]
    m.d.comb += [tags.w_en.eq(w_en), tags.w_data.eq(w_data)]


def _forward(m, initiators, sink, request, channel, grant, room):
    """Pass the ``grant``-ed initiator's ``channel`` (``rd_cmd`` or ``wr_cmd``) to ``sink``,
    its payload to ``request``, while the tag queue has ``room`` to remember whose it was."""
    with m.Switch(grant):
        for i, initiator in enumerate(initiators):
            with m.Case(i):
                source = getattr(initiator, channel)
                m.d.comb += [
                    request.eq(source.payload),
                    sink.valid.eq(source.valid & room),
                    source.ready.eq(sink.ready & room),
                ]


def _route_back(m, initiators, dma, channel, tags):
    """Send ``channel`` (``rd_data`` or ``wr_done``) to the initiator whose tag is at the head
    of ``tags``. The tag counts only while the FIFO holds one (before the first, the RAM's
    output is undefined): each initiator's selection is ANDed with ``r_rdy`` first, which in
    a Verilog simulation also keeps an unknown tag from reaching the handshakes. The readers
    that are always ready then leave only a LUT between the tag and the bus's ``ready``."""
    source = getattr(dma, channel)
    # The payload goes to every initiator as it is: only the handshake needs routing, and a
    # payload zeroed for the others would cost a gate per bit and initiator.
    ready = 0
    for i, initiator in enumerate(initiators):
        sink = getattr(initiator, channel)
        selected = tags.r_rdy & (tags.r_data == i)
        m.d.comb += [sink.payload.eq(source.payload), sink.valid.eq(source.valid & selected)]
        ready = ready | (selected & sink.ready)
    m.d.comb += source.ready.eq(ready)


def _round_robin(m, initiators, channel, *, hold=None):
    """A registered round-robin grant of ``channel`` (``rd_cmd`` or ``wr_cmd``): the initiator
    whose command the arbiter takes. Whenever its holder is not asking, or has just been served,
    it moves (from the next cycle) to the nearest initiator after the holder that asks, the
    holder itself last; ``hold`` keeps it in place. Being a register, the grant keeps the
    initiators' ``valid`` off their ``ready``: the round trip through the arbitration would
    otherwise be one long path."""
    n = len(initiators)
    grant = Signal(range(n), name=f"{channel}_grant")
    nearest = Signal(range(n), name=f"{channel}_next")
    m.d.comb += nearest.eq(grant)
    # Later statements win, so the nearest one after the holder is checked last.
    for offset in reversed(range(1, n + 1)):
        i = _after(grant, offset, n)
        with m.If(_pick(initiators, i, channel)):
            m.d.comb += nearest.eq(i)
    command = [getattr(initiator, channel) for initiator in initiators]
    asking = _pick(initiators, grant, channel)
    served = 0
    for i, cmd in enumerate(command):
        served = served | ((grant == i) & cmd.valid & cmd.ready)
    move = served | ~asking
    with m.If(move if hold is None else move & ~hold):
        m.d.sync += grant.eq(nearest)
    return grant


def _after(last, offset, n):
    """(last + offset) mod n, for 1 <= offset <= n."""
    return Mux(last + offset >= n, last + offset - n, last + offset)


def _pick(initiators, index, channel):
    """``initiators[index].<channel>.valid`` for an index that is an expression."""
    valid = 0
    for i, initiator in enumerate(initiators):
        valid = valid | ((index == i) & getattr(initiator, channel).valid)
    return valid
