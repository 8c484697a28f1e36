"""Transmit checksums: the sums a frame's offload asks for, worked out as its words are queued.

Reference: SDM 3.3.3 (legacy CSS/CSO), 3.3.5-3.3.7 (IPCSS/IPCSO/IPCSE, TUCSS/TUCSO/TUCSE, POPTS);
RFC 1071 (the ones'-complement sum).

Contract: ``words`` is the transmit queue's input as it is written: a word goes into the queue
only when it is taken here. ``ready`` comes from a register: a word of a frame that asks for
checksums takes two cycles (the IP header sum's bytes in the first, the TCP/UDP sum's in the
second, through one adder), any other word one, so frames go in at four bytes a cycle or more,
four times the line rate. At a frame's first word, ``commands`` holds the frame's ``TxOffload``
(the fetcher queued it when it issued the frame's first read, long before the data returns);
it is taken then. Each frame's ``TxChecksums`` come out of ``results`` at most ``LATENCY``
cycles after its last word, whether or not it asked for any, so there is one result per frame,
in order. ``room`` (registered) is low when the results queue could not take a result for each
frame that might still come in before the writer sees it; the writer then holds its words.

Words marked ``skip`` are taken and ignored. Each sum covers the bytes from its start to its end
offset, inclusive (to the frame's last byte for an end of 0), over what the buffers hold, the
checksum field included; the TCP/UDP sum starts from the command's ``tu_init`` (a segment's TCP
length). The bytes at even and odd offsets from the frame's start are summed apart, so that each
word's bytes count the same whatever their alignment; the folded sum's bytes are swapped when
the start is odd. A checksum goes in only when its start and both its bytes lie inside the frame
(as the SDM ignores IC when CSS or CSO is out of range).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from . import pipe
from .compare import below
from .txframe import TxChecksums, TxOffload, TxWord


__all__ = ["TxChecksum"]


class _Bound(data.Struct):
    """Where an offset falls against a word's eight bytes."""
    lane: 3
    before: 1           # before its first byte
    after: 1            # after its last


def _bound(offset, base):
    d = (offset - base).as_signed()
    return Cat(d[:3], d < 0, (d >= 0) & d[3:].any())


def _from(bound):
    """The lanes at or after ``bound``."""
    return Mux(bound.before, 0xFF, Mux(bound.after, 0, (Const(0xFF, 8) << bound.lane)[:8]))


def _to(bound):
    """The lanes at or before ``bound``."""
    return Mux(bound.before, 0, Mux(bound.after, 0xFF, ~(Const(0xFE, 8) << bound.lane)[:8]))


class _Tail(data.Struct):
    """What the later stages need of the command, kept with each word. Whether a checksum goes
    in is the command's flag and whether it lies inside the frame as far as this word (its start
    and both its bytes at or before the word's last byte): the last word's say."""
    ip: 1
    ip_odd: 1           # IPCSS is odd
    ipcso: 8
    tu: 1
    tu_odd: 1
    tucso: 8
    udp: 1
    tu_init: 16


class _Pass(data.Struct):
    """A word's pass through the stages after the first, beside its data."""
    valid: 1
    sof: 1              # the frame's first word
    phase: 1            # 0: the IP header sum's pass, 1: the TCP/UDP sum's
    last: 1             # the frame's last word's last pass
    odd: 1              # the word's byte 0 is at an odd frame offset
    tail: _Tail


class TxChecksum(wiring.Component):
    """A word is taken in one cycle, or two when its frame asks for checksums (four bytes a cycle
    or more); each frame's checksums come out of ``results`` at most ``LATENCY`` cycles after its
    last word, one result per frame, in order (see the module's contract).

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

    LATENCY = 10        # cycles from the one taking a frame's last word to its result

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

        # Frames taken and whose results the MAC has not; ``room`` leaves space for two more,
        # which may come in before the writer sees it low.
        word = self.words.payload
        # Skip words are taken and go into the queue, but are no frame's data.
        take = self.words.valid & self.words.ready & ~word.skip
        pending = Signal(range(self._depth + 2))
        m.d.sync += pending.eq(pending + (take & word.eop) - (self.results.valid &
                                                              self.results.ready))
        m.d.sync += self.room.eq(below(pending, self._depth - 2))

        # Stage 0: where the word's bytes are in the frame. The command is taken with the
        # frame's first word, and holds while the frame's words are in stage 1.
        sof = Signal(init=1)
        pos = Signal(15)            # frame bytes before this word
        cfg = Signal(TxOffload)
        start = Mux(sof, 0, pos)
        wanted = Mux(sof, self.commands.payload.ip | self.commands.payload.tu, cfg.ip | cfg.tu)
        second = Signal()           # the word in stage 1 goes through again, for the TCP/UDP sum
        m.d.comb += [self.commands.ready.eq(take & sof), self.words.ready.eq(~second)]
        m.d.sync += second.eq(take & wanted)
        with m.If(take):
            m.d.sync += [sof.eq(word.eop), pos.eq(start + word.count)]
            with m.If(sof):
                m.d.sync += cfg.eq(self.commands.payload)

        # Stage 1: where the sum's first and last bytes fall against the word's.
        w1 = Signal(TxWord)
        v1, sof1, phase1, two1 = Signal(), Signal(), Signal(), Signal()
        base1 = Signal(signed(17))  # the frame offset of the word's byte 0
        last1 = Signal(15)          # the frame offset of its last byte
        m.d.sync += v1.eq(take | second)
        with m.If(take):
            m.d.sync += [w1.eq(word), sof1.eq(sof), phase1.eq(0), two1.eq(wanted),
                         base1.eq(start - word.first), last1.eq(start + (word.count - 1))]
        with m.Elif(second):
            m.d.sync += phase1.eq(1)
        # A checksum lies inside the frame up to here when its start and its second byte are at
        # or before the word's last byte. The offsets have 8 bits: from 256 on, any does.
        def inside(css, cso):
            return (last1[8:] != 0) | ((css <= last1[:8]) & (cso < last1[:8]))
        first = Mux(phase1, cfg.tucss, cfg.ipcss)
        last = Mux(phase1, cfg.tucse, cfg.ipcse)
        s2, e2 = Signal(_Bound), Signal(_Bound)
        lanes2, d2 = Signal(8), Signal(64)
        p2 = Signal(_Pass)
        m.d.sync += [
            s2.eq(_bound(first, base1)),
            e2.eq(Mux(last == 0, Cat(Const(0, 4), 1), _bound(last, base1))),
            lanes2.eq((Const(0xFF, 8) << w1.first)[:8]
                      & ~(Const(0xFF, 8) << (w1.first + w1.count))[:8]),
            d2.eq(w1.data),
            p2.valid.eq(v1), p2.sof.eq(sof1), p2.phase.eq(phase1), p2.odd.eq(base1[0]),
            p2.last.eq(v1 & w1.eop & (phase1 | ~two1)),
            p2.tail.ip.eq(cfg.ip & inside(cfg.ipcss, cfg.ipcso)), p2.tail.ip_odd.eq(cfg.ipcss[0]),
            p2.tail.ipcso.eq(cfg.ipcso),
            p2.tail.tu.eq(cfg.tu & inside(cfg.tucss, cfg.tucso)), p2.tail.tu_odd.eq(cfg.tucss[0]),
            p2.tail.tucso.eq(cfg.tucso), p2.tail.udp.eq(cfg.udp), p2.tail.tu_init.eq(cfg.tu_init),
        ]
        self._sum(m, queue, s2, e2, lanes2, d2, p2)
        return m

    def _sum(self, m, queue, s2, e2, lanes2, d2, p2):
        # Stage 2: the bytes the sum covers (the others zero).
        mask = lanes2 & _from(s2) & _to(e2)
        # Timing: without a reset, the mask alone drives the flip-flops' reset input.
        covered = Signal(64, reset_less=True)
        p2b = Signal(_Pass)
        m.d.sync += [covered.eq(Cat(Mux(mask[i], d2.word_select(i, 8), 0) for i in range(8))),
                     p2b.eq(p2)]

        # Stage 2b: those at even and at odd frame offsets, added up.
        lane = [covered.word_select(i, 8) for i in range(8)]
        at_even = lane[0] + lane[2] + lane[4] + lane[6]
        at_odd = lane[1] + lane[3] + lane[5] + lane[7]
        high, low = Signal(10), Signal(10)      # bytes at even offsets are the high bytes
        p3 = Signal(_Pass)
        m.d.sync += [high.eq(Mux(p2b.odd, at_odd, at_even)),
                     low.eq(Mux(p2b.odd, at_even, at_odd)), p3.eq(p2b)]

        # Stage 3: each sum so far, and a frame's totals at its last word's last pass.
        acc_ip, acc_tu = Signal(30), Signal(30)
        # The TCP/UDP sum starts from the command's ``tu_init``, the IP header sum from 0.
        sum_next = (Mux(p3.sof, Mux(p3.phase, p3.tail.tu_init, 0), Mux(p3.phase, acc_tu, acc_ip))
                    + (high << 8) + low)
        with m.If(p3.valid & p3.phase):
            m.d.sync += acc_tu.eq(sum_next)
        with m.If(p3.valid & ~p3.phase):
            m.d.sync += acc_ip.eq(sum_next)
        total_ip, total_tu = Signal(30), Signal(30)
        v4 = Signal()
        tail4 = Signal(_Tail)
        m.d.sync += [v4.eq(p3.last), total_ip.eq(Mux(p3.phase, acc_ip, sum_next)),
                     total_tu.eq(Mux(p3.phase, sum_next, acc_tu)), tail4.eq(p3.tail)]

        # Stage 4: folded once. Stage 5: folded again (it fits 16 bits then), complemented and
        # swapped for an odd start; whether each checksum lies inside the frame. Stage 6: a UDP
        # checksum of 0 made 0xFFFF, and queued.
        fold_ip, fold_tu = Signal(17), Signal(17)
        v5 = Signal()
        tail5 = Signal(_Tail)
        m.d.sync += [fold_ip.eq(total_ip[:16] + total_ip[16:]),
                     fold_tu.eq(total_tu[:16] + total_tu[16:]), v5.eq(v4), tail5.eq(tail4)]

        def finish(folded, odd_start):
            value = ~(folded[:16] + folded[16])[:16]
            return Mux(odd_start, Cat(value[8:], value[:8]), value)

        r6 = Signal(TxChecksums)
        udp6, v6 = Signal(), Signal()
        m.d.sync += [
            r6.ip.eq(tail5.ip),
            r6.ipcso.eq(tail5.ipcso),
            r6.ip_sum.eq(finish(fold_ip, tail5.ip_odd)),
            r6.tu.eq(tail5.tu),
            r6.tucso.eq(tail5.tucso),
            r6.tu_sum.eq(finish(fold_tu, tail5.tu_odd)),
            udp6.eq(tail5.udp), v6.eq(v5),
        ]
        result = queue.i.payload
        m.d.comb += [
            result.eq(r6),
            result.tu_sum.eq(Mux(udp6 & (r6.tu_sum == 0), 0xFFFF, r6.tu_sum)),
            queue.i.valid.eq(v6),
        ]
