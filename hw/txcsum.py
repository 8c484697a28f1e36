"""Transmit checksums: the sums a frame's offload asks for, worked out as its words are queued.

Reference: SDM 3.3.3 (legacy CSS/CSO), 3.3.5-3.3.7 (IPCSS/IPCSO/IPCSE, TUCSS/TUCSO/TUCSE, POPTS);
RFC 1071 (the ones'-complement sum).

Contract: ``words`` is the transmit queue's input as it is written: a word goes into the queue
only when it is taken here. ``ready`` comes from a register. A word of a frame that asks for
checksums is summed a byte a cycle, both sums at once: it takes a cycle for each of its bytes,
so such frames go in at a byte a cycle, the line's rate. Any other word takes one cycle. After
a frame's last word, two cycles close its sums. At a frame's first word, ``commands`` holds the
frame's ``TxOffload`` (the fetcher queued it when it issued the frame's first read, long before
the data returns); it is taken then. Each frame's ``TxChecksums`` come out of ``results`` at
most ``LATENCY`` cycles after the cycle its last word was taken in, whether or not it asked for
any, so there is one result per frame, in order. ``room`` (registered) is low when the results
queue could not take a result for each frame that might still come in before the writer sees
it; the writer then holds its words.

Words marked ``skip`` are taken and ignored. Each sum covers the bytes from its start to its end
offset, inclusive (to the frame's last byte for an end of 0), over what the buffers hold, the
checksum field included; the TCP/UDP sum starts from the command's ``tu_init`` (a segment's TCP
length). Each sum adds its bytes as 16-bit values, the byte at an even distance from its start
high, so that a word's bytes count the same whatever their alignment and whatever the start's.
A checksum goes in only when its start and both its bytes lie inside the frame (as the SDM
ignores IC when CSS or CSO is out of range).
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from . import pipe
from .compare import below
from .count import stepped
from .txframe import TxChecksums, TxOffload, TxWord


__all__ = ["TxChecksum"]


class _Tail(data.Struct):
    """What the result needs of the command, taken as the frame's sums close. Whether a
    checksum goes in is the command's flag and whether the frame holds its start and both its
    bytes."""
    ip: 1
    ipcso: 8
    tu: 1
    tucso: 8
    udp: 1
    tu_init: 16


class TxChecksum(wiring.Component):
    """A word is taken in one cycle, or in a cycle per byte when its frame asks for checksums;
    a frame's sums close in the two cycles after its last word; each frame's checksums come out
    of ``results`` at most ``LATENCY`` cycles after its last word is taken, one result per
    frame, in order (see the module's contract).

    Parameters
    ----------
    depth : int
        Results queued for the MAC (a power of 2): the frames that may wait in the transmit
        queue at once.

    Members
    -------
    words : In(stream.Signature(TxWord))
    commands : In(stream.Signature(TxOffload))
    results : Out(stream.Signature(TxChecksums))
    room : Out(1)
    """

    LATENCY = 14        # cycles from the one taking a frame's last word to its result, at most

    def __init__(self, *, depth=16):
        self._depth = depth
        super().__init__({
            "words": In(stream.Signature(TxWord)),
            "commands": In(stream.Signature(TxOffload)),
            "results": Out(stream.Signature(TxChecksums)),
            "room": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.queue = queue = pipe.Queue(TxChecksums, ram_depth=self._depth)
        wiring.connect(m, queue.o, wiring.flipped(self.results))

        # Frames taken and whose results the MAC has not; ``room`` leaves space for three more:
        # two may come in before the writer sees it low, and one is counted a cycle late.
        # Timing: counted from a register, so that the writer's handshake, which reaches this
        # block from afar, goes no further than one flip-flop.
        word = self.words.payload
        # Skip words are taken and go into the queue, but are no frame's data.
        take = self.words.valid & self.words.ready & ~word.skip
        ended = Signal()            # a frame's last word was taken in the cycle before
        pending = Signal(range(self._depth + 2))
        m.d.sync += [ended.eq(take & word.eop),
                     pending.eq(stepped(pending, up=(ended,),
                                        down=(self.results.valid & self.results.ready,)))]
        m.d.sync += self.room.eq(below(pending, self._depth - 3))

        s = self._walk(m, word, take)
        tail = self._positions(m, s)
        self._sum(m, queue, s, tail)
        return m

    def _walk(self, m, word, take):
        """Stage 1: the word taken, a byte of it a cycle (one cycle in all when the frame asks
        for no checksums), then, after the frame's last word, the two cycles that close it.
        The command is taken with the frame's first word, and holds until the frame's second
        closing cycle."""
        s = SimpleNamespace()
        sof = Signal(init=1)
        s.cfg = cfg = Signal(TxOffload)
        command = self.commands.payload
        wanted = Mux(sof, command.ip | command.tu, cfg.ip | cfg.tu)
        # An end of 0 (the frame's last byte) is never reached: registered with the command.
        s.ip_open, s.tu_open = Signal(), Signal()
        m.d.comb += self.commands.ready.eq(take & sof)
        with m.If(take):
            m.d.sync += sof.eq(word.eop)
            with m.If(sof):
                m.d.sync += [cfg.eq(command), s.ip_open.eq(command.ipcse == 0),
                             s.tu_open.eq(command.tucse == 0)]

        s.data = Signal(64)
        s.lane, last_lane = Signal(3), Signal(3)
        s.summing = Signal()        # a word whose frame asks for checksums
        s.valid, eop = Signal(), Signal()
        s.close1, s.close2 = Signal(), Signal()
        more = s.valid & (s.lane != last_lane)
        # A word is taken when stage 1 is empty or in the last cycle of its work (the second
        # closing one after a frame's last word): from a register, worked out for the next cycle.
        ready = Signal(init=1)
        m.d.comb += self.words.ready.eq(ready)
        end_lane = (word.first + word.count - 1)[:3]
        single = ~wanted | (word.count == 1)
        m.d.sync += ready.eq(Mux(take, single & ~word.eop,
                                 Mux(more, (s.lane + 1 == last_lane) & ~eop, ~(s.valid & eop))))
        with m.If(take):
            m.d.sync += [s.data.eq(word.data), s.valid.eq(1), eop.eq(word.eop),
                         s.summing.eq(wanted), s.lane.eq(word.first),
                         last_lane.eq(Mux(wanted, end_lane, word.first))]
        with m.Elif(more):
            m.d.sync += s.lane.eq(s.lane + 1)
        with m.Else():
            m.d.sync += s.valid.eq(0)
        m.d.sync += [s.close1.eq(s.valid & ~more & eop), s.close2.eq(s.close1)]
        s.step = s.valid & s.summing          # a byte to sum, at ``lane``
        return s

    def _positions(self, m, s):
        """Where the byte of stage 1 is in the frame, against each sum's offsets. Positions
        count bytes from the frame's first and are compared for equality: a sum's flags say it
        has started (its first byte has passed), has ended, and has passed the byte after its
        checksum's first; the first closing cycle takes them with the command (``tail``) and
        starts them over for the next frame."""
        cfg = s.cfg
        pos = Signal(15)
        with m.If(s.close1):
            m.d.sync += pos.eq(0)
        with m.Elif(s.step):
            m.d.sync += pos.eq(pos + 1)
        low = pos[8:] == 0
        s.take = {}
        flags = {}
        for name, css, cso, cse, open_ in (("ip", cfg.ipcss, cfg.ipcso, cfg.ipcse, s.ip_open),
                                           ("tu", cfg.tucss, cfg.tucso, cfg.tucse, s.tu_open)):
            started, ended, at_cso, past_cso = (Signal(name=f"{name}_{flag}") for flag in
                                                ("started", "ended", "at_cso", "past_cso"))
            at_start = low & (pos[:8] == css)
            with m.If(s.close1):
                m.d.sync += [started.eq(0), ended.eq(0), at_cso.eq(0), past_cso.eq(0)]
            with m.Elif(s.step):
                m.d.sync += [started.eq(started | at_start),
                             ended.eq(ended | ((pos == cse) & ~open_)),
                             at_cso.eq(at_cso | (low & (pos[:8] == cso))),
                             past_cso.eq(past_cso | at_cso)]
            inside = s.step & (started | at_start) & ~ended
            # The byte is high in its 16-bit value at an even distance from the start.
            high = pos[0] == css[0]
            s.take[name] = (inside & high, inside & ~high)
            flags[name] = started & past_cso
        tail = Signal(_Tail)
        with m.If(s.close1):
            m.d.sync += [tail.ip.eq(cfg.ip & flags["ip"]), tail.ipcso.eq(cfg.ipcso),
                         tail.tu.eq(cfg.tu & flags["tu"]), tail.tucso.eq(cfg.tucso),
                         tail.udp.eq(cfg.udp), tail.tu_init.eq(cfg.tu_init)]
        return tail

    def _sum(self, m, queue, s, tail):
        """Stages 2 and 3: the sums, a byte a cycle, and the frame's result into ``queue``
        two cycles after its second closing cycle in stage 1."""
        # Stage 2: the byte, and for each sum whether it goes in as the high or the low half
        # of a 16-bit value. Each sum is kept in 17 bits: the carry out of 16 bits goes back in
        # with the next value (2^16 is 1 in ones'-complement arithmetic). The first closing
        # cycle adds the TCP/UDP sum's ``tu_init``; the second adds the last carry back in,
        # which leaves the sum in 16 bits, and starts the sums over from 0 for the next frame.
        # (A sum never exceeds 0x1FFFE: from at most 0xFFFF, each step adds at most 0xFFFF and
        # a carry, and a carry comes only with low bits of at most 0xFFFE.)
        byte2 = Signal(8)
        init2, fold2 = Signal(), Signal()
        m.d.sync += [byte2.eq(s.data.word_select(s.lane, 8)), init2.eq(s.close1),
                     fold2.eq(s.close2)]
        folded = {}
        for name in ("ip", "tu"):
            high2, low2 = Signal(name=f"{name}_high"), Signal(name=f"{name}_low")
            m.d.sync += Cat(high2, low2).eq(Cat(*s.take[name]))
            value = Cat(Mux(low2, byte2, 0), Mux(high2, byte2, 0))
            if name == "tu":
                value = value | Mux(init2, tail.tu_init, 0)
            acc = Signal(17, name=f"acc_{name}")
            # The carry in through a low bit that is 1 on both sides: one carry chain.
            added = (Cat(acc[16], acc[:16]) + Cat(1, value))[1:]
            m.d.sync += acc.eq(Mux(fold2, 0, added))
            folded[name] = Signal(16, name=f"{name}_folded")
            with m.If(fold2):
                m.d.sync += folded[name].eq(added[:16])

        # Stage 3: complemented (a UDP checksum of 0 made 0xFFFF), and queued.
        v3 = Signal()
        tail3 = Signal(_Tail)
        m.d.sync += v3.eq(fold2)
        with m.If(fold2):
            m.d.sync += tail3.eq(tail)
        result = queue.i.payload
        tu_sum = ~folded["tu"]
        m.d.comb += [
            result.ip.eq(tail3.ip),
            result.ipcso.eq(tail3.ipcso),
            result.ip_sum.eq(~folded["ip"]),
            result.tu.eq(tail3.tu),
            result.tucso.eq(tail3.tucso),
            result.tu_sum.eq(Mux(tail3.udp & (tu_sum == 0), 0xFFFF, tu_sum)),
            queue.i.valid.eq(v3),
        ]
