"""Transmit checksums: the sums a frame's offload asks for, worked out as its words are queued.

Reference: SDM 3.3.3 (legacy CSS/CSO), 3.3.5-3.3.7 (IPCSS/IPCSO/IPCSE, TUCSS/TUCSO/TUCSE, POPTS);
RFC 1071 (the ones'-complement sum).

Contract: ``words`` is the transmit queue's input as it is written: a word goes into the queue
only when it is taken here. ``ready`` comes from a register. A word of a frame that asks for
checksums is summed two bytes a cycle, both sums at once: it takes a cycle for each pair of
byte lanes (0-1, 2-3, 4-5, 6-7) its bytes are in, so four for a whole word, and such frames go
in at two bytes a cycle, twice the line rate. Any other word takes one cycle. At a frame's first
word, ``commands`` holds the frame's ``TxOffload`` (the fetcher queued it when it issued the
frame's first read, long before the data returns); it is taken then. Each frame's
``TxChecksums`` come out of ``results`` at most ``LATENCY`` cycles after the cycle its last word
was taken in, whether or not it asked for any, so there is one result per frame, in order.
``room`` (registered) is low when the results queue could not take a result for each frame that
might still come in before the writer sees it; the writer then holds its words.

Words marked ``skip`` are taken and ignored. Each sum covers the bytes from its start to its end
offset, inclusive (to the frame's last byte for an end of 0), over what the buffers hold, the
checksum field included; the TCP/UDP sum starts from the command's ``tu_init`` (a segment's TCP
length). Each word's pairs are summed as 16-bit values with the byte at the even frame offset
high, so that a word's bytes count the same whatever their alignment; the folded sum's bytes
are swapped when the start is odd. A checksum goes in only when its start and both its bytes
lie inside the frame (as the SDM ignores IC when CSS or CSO is out of range).
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


def _start_bound(offset, base):
    """``_bound`` for an 8-bit ``offset``: the word's byte 0 from 512 on is past any such
    offset, and below that the difference fits 10 bits."""
    d = (offset - base[:10])[:10].as_signed()
    far = ~base[-1] & base[9:].any()
    return Cat(d[:3], far | (d < 0), ~far & (d >= 0) & d[3:].any())


def _from(bound):
    """The lanes at or after ``bound``."""
    return Mux(bound.before, 0xFF, Mux(bound.after, 0, (Const(0xFF, 8) << bound.lane)[:8]))


def _to(bound):
    """The lanes at or before ``bound``."""
    return Mux(bound.before, 0, Mux(bound.after, 0xFF, ~(Const(0xFE, 8) << bound.lane)[:8]))


class _Tail(data.Struct):
    """What the later stages need of the command, kept with each pair. Whether a checksum goes
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
    """A pair of byte lanes on its way through the stages after the first."""
    valid: 1
    sof: 1              # the frame's first pair
    last: 1             # the frame's last pair
    odd: 1              # the word's byte 0 is at an odd frame offset
    tail: _Tail


class TxChecksum(wiring.Component):
    """A word is taken in one cycle, or in a cycle per pair of byte lanes it uses when its frame
    asks for checksums (two bytes a cycle); each frame's checksums come out of ``results`` at
    most ``LATENCY`` cycles after its last word is taken, one result per frame, in order (see
    the module's contract).

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

    LATENCY = 11        # cycles from the one taking a frame's last word to its result, at most

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
                     pending.eq(pending + ended - (self.results.valid & self.results.ready))]
        m.d.sync += self.room.eq(below(pending, self._depth - 3))

        # Stage 0: where the word's bytes are in the frame. The command is taken with the
        # frame's first word, and holds while the frame's words are in stage 1.
        sof = Signal(init=1)
        pos = Signal(15)            # frame bytes before this word
        cfg = Signal(TxOffload)
        start = Mux(sof, 0, pos)
        wanted = Mux(sof, self.commands.payload.ip | self.commands.payload.tu, cfg.ip | cfg.tu)
        m.d.comb += self.commands.ready.eq(take & sof)
        with m.If(take):
            m.d.sync += [sof.eq(word.eop), pos.eq(start + word.count)]
            with m.If(sof):
                m.d.sync += cfg.eq(self.commands.payload)

        # Stage 1: the word, a pair of its lanes a cycle, from the first pair its bytes are in
        # to the last (only the first when the frame asks for no checksums).
        w1 = Signal(TxWord)
        v1, sof1 = Signal(), Signal()
        pair, last_pair = Signal(2), Signal(2)
        end1 = Signal(3)            # the lane of the word's last byte
        base1 = Signal(signed(17))  # the frame offset of the word's byte 0
        last1 = Signal(15)          # the frame offset of its last byte
        more = v1 & (pair != last_pair)
        # A word is taken when stage 1 is empty or on its last pair: from a register, worked
        # out for the next cycle.
        ready = Signal(init=1)
        m.d.comb += self.words.ready.eq(ready)
        end_lane = (word.first + word.count - 1)[:3]
        single = ~wanted | (word.first[1:] == end_lane[1:])
        m.d.sync += [v1.eq(take | more), ready.eq(Mux(take, single, ~more | (pair + 1 ==
                                                                              last_pair)))]
        with m.If(take):
            m.d.sync += [w1.eq(word), sof1.eq(sof), base1.eq(start - word.first),
                         last1.eq(start + (word.count - 1)), end1.eq(end_lane),
                         pair.eq(word.first[1:]),
                         last_pair.eq(Mux(wanted, end_lane[1:], word.first[1:]))]
        with m.Elif(more):
            m.d.sync += [pair.eq(pair + 1), sof1.eq(0)]

        # Where each sum's first and last bytes fall against the word's, for stage 2; the pair.
        # A checksum lies inside the frame up to here when its start and its second byte are at
        # or before the word's last byte. The offsets have 8 bits: from 256 on, any does.
        def inside(css, cso):
            return (last1[8:] != 0) | ((css <= last1[:8]) & (cso < last1[:8]))

        def end(offset):
            return Mux(offset == 0, Cat(Const(0, 4), 1), _bound(offset, base1))
        bounds = {name: Signal(_Bound, name=f"{name}2")
                  for name in ("ip_start", "ip_end", "tu_start", "tu_end")}
        p2 = Signal(_Pass)
        data2 = Signal(16)
        pair2 = Signal(2)
        in_word2 = Signal(8)        # the word's lanes that hold frame bytes
        m.d.sync += [
            bounds["ip_start"].eq(_start_bound(cfg.ipcss, base1)),
            bounds["ip_end"].eq(end(cfg.ipcse)),
            bounds["tu_start"].eq(_start_bound(cfg.tucss, base1)),
            bounds["tu_end"].eq(end(cfg.tucse)),
            data2.eq(w1.data.word_select(pair, 16)), pair2.eq(pair),
            in_word2.eq((Const(0xFF, 8) << w1.first)[:8] & ~(Const(0xFE, 8) << end1)[:8]),
            p2.valid.eq(v1), p2.sof.eq(sof1), p2.odd.eq(base1[0]),
            p2.last.eq(v1 & w1.eop & (pair == last_pair)),
            p2.tail.ip.eq(cfg.ip & inside(cfg.ipcss, cfg.ipcso)), p2.tail.ip_odd.eq(cfg.ipcss[0]),
            p2.tail.ipcso.eq(cfg.ipcso),
            p2.tail.tu.eq(cfg.tu & inside(cfg.tucss, cfg.tucso)), p2.tail.tu_odd.eq(cfg.tucss[0]),
            p2.tail.tucso.eq(cfg.tucso), p2.tail.udp.eq(cfg.udp), p2.tail.tu_init.eq(cfg.tu_init),
        ]
        self._sum(m, queue, bounds, data2, pair2, in_word2, p2)
        return m

    def _sum(self, m, queue, bounds, data2, pair2, in_word2, p2):
        # Stage 2: of the pair's bytes, those each sum covers (the others zero), as a 16-bit
        # value with the byte at the even frame offset high.
        covered = {}
        p3 = Signal(_Pass)
        m.d.sync += p3.eq(p2)
        for name in ("ip", "tu"):
            start, end = bounds[f"{name}_start"], bounds[f"{name}_end"]
            lanes = (in_word2 & _from(start) & _to(end)).word_select(pair2, 2)
            # The lane whose byte is high in the value: the even one, unless the word's byte 0
            # is at an odd frame offset.
            high_data = Mux(p2.odd, data2[8:], data2[:8])
            low_data = Mux(p2.odd, data2[:8], data2[8:])
            high_in = Mux(p2.odd, lanes[1], lanes[0])
            low_in = Mux(p2.odd, lanes[0], lanes[1])
            covered[name] = value = Signal(16, name=f"{name}_pair")
            m.d.sync += value.eq(Cat(Mux(low_in, low_data, 0), Mux(high_in, high_data, 0)))

        # Stage 3: each sum so far, 17 bits: the carry out of 16 bits goes back in with the
        # next pair (2^16 is 1 in ones'-complement arithmetic). The TCP/UDP sum starts from the
        # command's ``tu_init``, the IP header sum from 0.
        acc = {name: Signal(17, name=f"acc_{name}") for name in ("ip", "tu")}
        for name, init in (("ip", 0), ("tu", p3.tail.tu_init)):
            so_far = Mux(p3.sof, init, acc[name][:16])
            carry = ~p3.sof & acc[name][16]
            # The carry in through a low bit that is 1 on both sides: one carry chain.
            added = (Cat(carry, so_far) + Cat(Const(1, 1), covered[name]))[1:]
            with m.If(p3.valid):
                m.d.sync += acc[name].eq(added)
        v4 = Signal()
        tail4 = Signal(_Tail)
        m.d.sync += [v4.eq(p3.last), tail4.eq(p3.tail)]

        # Stage 4: folded: the sum so far never exceeds 0x1FFFE (from at most 0xFFFF, each step
        # adds at most 0xFFFF and a carry, and a carry comes only with low bits of at most
        # 0xFFFE), so its carry added to its low 16 bits fits 16 bits. Stage 5: complemented and
        # swapped for an odd start. Stage 6: a UDP checksum of 0 made 0xFFFF, and queued.
        fold_ip, fold_tu = Signal(16), Signal(16)
        v5 = Signal()
        tail5 = Signal(_Tail)
        m.d.sync += [fold_ip.eq(acc["ip"][:16] + acc["ip"][16]),
                     fold_tu.eq(acc["tu"][:16] + acc["tu"][16]), v5.eq(v4), tail5.eq(tail4)]

        def finish(folded, odd_start):
            value = ~folded
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
