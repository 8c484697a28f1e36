"""Sharing the DMA port: an arbiter for the core's DMA initiators.

Readers and writers are separate initiators, each with only its own channels. Commands of both
kinds are granted round robin, one every second cycle at most: a round-robin grant among the
readers and one among the writers (registers that move on after each command), and a turn that
passes between them; the tag of each granted command is queued, and the returning beats go to the
reader at the head of its queue until its last beat (host memory answers reads in order). A
write keeps the write channel from its command to its last data beat, so beats of different
writes never interleave; reads are granted meanwhile. Acknowledgements return in order through a
second tag queue.

Initiators give each command as an offset from a base (``DMARequest``): their descriptor ring's,
which the arbiter holds (``ring_bases``), or their own. The granted command's base is chosen
among the rings' and the initiators' own, each of which reaches one multiplexer once however many
initiators use it, and the address is added up behind it: one multiplexer and one 64-bit adder
for every initiator of both directions. Timing: the granted command with its base waits in a
register (``held``), so that the grant's choice and the adder's carry are in different cycles,
and which takes a command only while it is empty, so that the port's ready reaches neither the
initiators nor the grants; the sum then goes to the register slice that is the port's last
stage (``hw.dmadrain``), which the device reset leaves alone. Write data passes straight
through the owner's multiplexer: each writer sends it from a register, and takes the bus's
ready only into flip-flop enables and its state. Data bytes whose strobe is off are left to
whatever is cheapest.
"""

import functools
import operator
from dataclasses import dataclass

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bus import DMAReadSignature, DMASignature, DMAWriteSignature
from .compare import below
from .pipe import queue


__all__ = ["DMAArbiter", "Initiator"]


@dataclass(frozen=True)
class Initiator:
    """How an initiator names its commands' bases: ``ring``, the index of the ring base that its
    commands with ``DMARequest.ring`` start from (``None``: it has none); ``own``, whether its
    commands may give their own base instead (``DMARequest.base``, used when ``ring`` is clear or
    the initiator has no ring)."""
    ring: int = None
    own: bool = True

    def __post_init__(self):
        assert self.ring is not None or self.own


class DMAArbiter(wiring.Component):
    """Commands of every initiator are granted round robin, at most one every second cycle,
    held a cycle at least with their base, and leave unregistered with their address added up;
    read beats and write acknowledgements go back to their initiators in order, by tag queues;
    a write keeps the write channel from its command to its last beat.

    Parameters
    ----------
    readers, writers : sequence of Initiator
        The initiators that read and that write, and how each names its bases.
    rings : int
        Number of ring bases.
    outstanding : int
        Commands in flight per direction.

    Members
    -------
    readers : In(DMAReadSignature).array(len(readers))
    writers : In(DMAWriteSignature).array(len(writers))
    ring_bases : In(64).array(rings)
        Each ring's base, which must hold while its initiators' commands are on their way.
    dma : Out(DMASignature)
    """

    def __init__(self, *, readers, writers, rings=0, outstanding=8):
        self._kinds = list(readers) + list(writers)
        assert readers and writers
        assert all(kind.ring is None or kind.ring < rings for kind in self._kinds)
        self._rings = rings
        self._outstanding = outstanding
        super().__init__({
            "readers": In(DMAReadSignature).array(len(readers)),
            "writers": In(DMAWriteSignature).array(len(writers)),
            "ring_bases": In(64).array(rings),
            "dma": Out(DMASignature),
        })

    def elaborate(self, platform):
        m = Module()
        readers, writers, dma = self.readers, self.writers, self.dma
        m.submodules.rd_tags = rd_tags = queue(width=_tag_bits(readers),
                                               ram_depth=self._outstanding)
        m.submodules.wr_tags = wr_tags = queue(width=_tag_bits(writers),
                                               ram_depth=self._outstanding)
        # Every initiator's command channel, readers first, and whether it may be granted:
        # while its direction's tag queue has room, and for a write, while no other write is
        # held or sending its beats.
        commands = [r.rd_cmd for r in readers] + [w.wr_cmd for w in writers]
        wr_busy = Signal()          # the port took a write whose beats are still to go
        wr_owner = Signal(range(len(writers)))
        held = _Held(len(writers))
        rd_room = _tag_room(m, rd_tags, "rd_cmd")
        wr_room = _tag_room(m, wr_tags, "wr_cmd")
        wr_free = Signal()
        m.d.comb += wr_free.eq(wr_room & ~wr_busy & ~(held.valid & held.write))
        allowed = [rd_room] * len(readers) + [wr_free] * len(writers)
        grant, one = _grant(m, readers, writers, rd_room, wr_free)

        # The held command leaves to the port's channel of its direction, its address added up.
        leaves = Signal()
        m.d.comb += leaves.eq(held.valid & Mux(held.write, dma.wr_cmd.ready, dma.rd_cmd.ready))
        for channel, write in ((dma.rd_cmd, 0), (dma.wr_cmd, 1)):
            m.d.comb += [channel.payload.addr.eq(held.base + held.offset),
                         channel.payload.len.eq(held.len),
                         channel.valid.eq(held.valid & (held.write == write))]
        with m.If(leaves & held.write):
            m.d.sync += [wr_busy.eq(1), wr_owner.eq(held.tag)]

        # The granted command is held from the next cycle whenever none is: its base chosen,
        # whose it was queued. Timing: whether the register takes one is the register's valid,
        # so that the port's ready reaches neither the initiators' nor the grant's logic. It
        # leaves a command every second cycle at most, which beats of a cycle each outlast.
        takes = ~held.valid
        granted = Signal()
        code = self._base_code(m, commands, one)
        with m.Switch(grant):
            for i, (cmd, ok) in enumerate(zip(commands, allowed)):
                write = i >= len(readers)
                with m.Case(i):
                    m.d.comb += [cmd.ready.eq(ok & takes), granted.eq(cmd.valid & ok)]
                    with m.If(takes):
                        m.d.sync += [held.offset.eq(cmd.payload.offset),
                                     held.len.eq(cmd.payload.len), held.write.eq(write),
                                     held.tag.eq(i - len(readers) if write else 0)]
        with m.If(takes):
            m.d.sync += [held.valid.eq(granted), held.base.eq(_select(self._sources(), code))]
        with m.Elif(leaves):
            m.d.sync += held.valid.eq(0)
        taken = Signal()
        m.d.comb += taken.eq(granted & takes)
        is_write = Signal()
        m.d.comb += is_write.eq(grant >= len(readers))
        _tag_write(m, rd_tags, grant, taken & ~is_write, "rd_cmd")
        _tag_write(m, wr_tags, grant - len(readers), taken & is_write, "wr_cmd")

        _route_back(m, readers, dma, "rd_data", rd_tags)
        rd_data = dma.rd_data
        m.d.comb += rd_tags.r_en.eq(rd_data.valid & rd_data.ready & rd_data.payload.last)
        _write_data(m, writers, dma.wr_data, wr_busy, wr_owner)
        _route_back(m, writers, dma, "wr_done", wr_tags)
        m.d.comb += wr_tags.r_en.eq(dma.wr_done.valid & dma.wr_done.ready)
        return m

    def _sources(self):
        """The bases a command may start from: the rings', then those of the initiators that
        give their own, in order."""
        ports = [r.rd_cmd for r in self.readers] + [w.wr_cmd for w in self.writers]
        return list(self.ring_bases) + [port.payload.base
                                        for kind, port in zip(self._kinds, ports) if kind.own]

    def _codes(self, index):
        """The index among ``_sources`` of the base of initiator ``index``'s commands: with
        their ``ring`` flag set and clear."""
        kind = self._kinds[index]
        own = self._rings + sum(k.own for k in self._kinds[:index])
        return (own if kind.ring is None else kind.ring), (own if kind.own else kind.ring)

    def _base_code(self, m, commands, one):
        """The granted command's base, as its index among ``_sources``, from the grant's one-hot
        flags ``one``: each bit an OR of the flags of the initiators whose commands set it, and
        of those whose ``ring`` flag chooses it."""
        code = Signal(range(max(2, len(self._sources()))), name="base_code")
        for bit in range(len(code)):
            terms = []
            for i, cmd in enumerate(commands):
                ring, own = ((c >> bit) & 1 for c in self._codes(i))
                if ring and own:
                    terms.append(one[i])
                elif ring or own:
                    terms.append(one[i] & (cmd.payload.ring if ring else ~cmd.payload.ring))
            m.d.comb += code[bit].eq(functools.reduce(operator.or_, terms, 0))
        return code


class _Held:
    """The granted command, held with its base until the port takes it. All of it loads in
    every cycle it may, and only ``valid`` says whether it is a command; all of it is reset
    too, so that what the port's register slice shows after a reset (the slice loads while it
    is empty, command or not) does not depend on what the inputs were during it."""

    def __init__(self, writers):
        self.valid = Signal(name="held")
        self.write = Signal(name="held_write")
        self.tag = Signal(range(writers), name="held_writer")
        self.base = Signal(64, name="held_base")
        self.offset = Signal(20, name="held_offset")
        self.len = Signal(8, name="held_len")


def _grant(m, readers, writers, rd_room, wr_free):
    """The initiator whose command the arbiter may take, among readers and writers (numbered
    readers first), as an index and as one-hot flags: from a round-robin grant
    per direction, and which direction's turn it is. The turn passes to the other direction
    whenever it asks (its holder has a command, and it may go) and this one has just been
    served or does not ask."""
    rd_grant = _round_robin(m, readers, "rd_cmd")
    wr_grant = _round_robin(m, writers, "wr_cmd", hold=~wr_free)
    rd_asks = rd_room & _pick(readers, rd_grant, "rd_cmd")
    wr_asks = wr_free & _pick(writers, wr_grant, "wr_cmd")
    served = 0
    for initiator in readers:
        served = served | (initiator.rd_cmd.valid & initiator.rd_cmd.ready)
    for initiator in writers:
        served = served | (initiator.wr_cmd.valid & initiator.wr_cmd.ready)
    writes = Signal(name="writes_turn")
    with m.If((served | ~Mux(writes, wr_asks, rd_asks)) & Mux(writes, rd_asks, wr_asks)):
        m.d.sync += writes.eq(~writes)
    # Timing: from the registers, not from their next values, which come from the initiators'
    # valid through the round robin.
    n = len(readers) + len(writers)
    grant = Signal(range(n), name="grant")
    one = Signal(n, name="granted_one")
    m.d.comb += grant.eq(Mux(writes, len(readers) + wr_grant, rd_grant))
    for i in range(len(readers)):
        m.d.comb += one[i].eq(~writes & (rd_grant == i))
    for i in range(len(writers)):
        m.d.comb += one[len(readers) + i].eq(writes & (wr_grant == i))
    return grant, one


def _select(sources, code):
    """``sources[code]``, as a tree of two-way multiplexers on the bits of ``code``."""
    if len(sources) == 1:
        return sources[0]
    top = (len(sources) - 1).bit_length() - 1
    half = 1 << top
    return Mux(code[top], _select(sources[half:], code), _select(sources[:half], code))


def _write_data(m, writers, wr_data, wr_busy, wr_owner):
    """The write channel's beats, from its owner while a write is sending."""
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
