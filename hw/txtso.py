"""TCP segmentation: a frame sent with DCMD.TSE becomes segments, each behind its own header.

Reference: SDM 3.5 (TCP segmentation), 3.3.5-3.3.7 (HDRLEN, MSS, PAYLEN, TUCMD, DCMD.TSE).

Contract: a stream stage between the fetcher's words (``fetched``, each frame's ``work`` queued
ahead of them) and the transmit queue with the checksum unit beside it (``words``, and beside
each, the ``command`` for the frame it starts, if it starts one). A frame's work is taken in the
cycle after its first word (after its last, with TSE). A frame without TSE goes through
unchanged, a word a cycle (a cycle more between a one-word frame and the next), with its work
as its command. Of a frame with TSE:

- the first HDRLEN bytes, the header, are kept (a byte a cycle); the words they came in go on
  as ``skip`` words, which the checksum unit and the MAC pass over, so that their ``desc_end``
  still retires the descriptors they ended;
- the PAYLEN bytes after them go out MSS at a time (the last segment takes what is left), a
  word every second cycle, each segment behind a copy of the header (eight bytes every ten
  cycles) in which the IPv4 total length and identification (with TUCMD.IP) and the TCP
  sequence number and flags (with TUCMD.TCP) are the segment's: identification one more and
  sequence number MSS more than the segment before, FIN and PSH only in the last;
- each segment's command is the frame's checksum work, with the segment's TCP length to add to
  the TCP/UDP sum (the driver seeds the checksum field with the pseudo-header sum without it);
- a payload word that crosses a segment's end goes out twice, its bytes up to the end closing
  the segment and the rest opening the next one after the header.

A frame that cannot be cut as its context says (MSS or PAYLEN of 0, data ending in the header
or before PAYLEN bytes, or going on past them) ends in an aborted segment (``abort`` with
``eop``); what follows it up to the frame's end is skipped. The last segment of every frame with
TSE carries ``tso_last`` (the MAC counts the frame in TSCTC, or in TSCTFC when it is aborted).

Words that went out without an input word taken for them (header copies, the first part of a
word cut at a segment's end) are flagged on ``extra``, and go out only while ``spare``: the
fetcher reserves the queue's room for what it reads and counts these against it.
``segmented`` flags the last word of each segment (the frame it ends is whole in the queue).
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import NO_RW_CHECK
from .txframe import TxOffload, TxTaggedWord, TxWork


__all__ = ["TxSegmenter", "TxHeaderCopy"]

FIN = 0x01
PSH = 0x08


class _Copied(data.Struct):
    """Up to eight bytes of a header copy, from byte 0 of ``data``."""
    data: 64
    count: 4
    last: 1             # the header's last bytes


class TxHeaderCopy(wiring.Component):
    """A segmented frame's header, kept and copied with each segment's fields.

    Contract: after ``restart`` (the position back to the header's first byte), ``keep`` takes
    ``byte`` as the header's next byte, one a cycle; ``at_last`` says the position is at its
    last byte (``hdrlen`` - 1). The IPv4 identification and TCP sequence number are read from
    the bytes kept (after ``clear``), and ``advance`` makes them the next segment's (one more,
    ``mss`` more). After another ``restart``, while ``copy`` is high the header comes out on
    ``words`` eight bytes at a time (every ten cycles), edited for the segment: the IPv4 total
    length ``ip_len`` and the identification (with ``ipv4``), the sequence number, and FIN and
    PSH cleared unless ``final`` (with ``tcp``). Where these fields meet, the first of them in
    that order wins. The settings must hold from ``restart`` to the last word.

    Members
    -------
    ipcss, tucss, hdrlen : In(8)
    ipv4, tcp : In(1)
    mss, ip_len : In(16)
    final : In(1)
    restart, keep, clear, advance, copy : In(1)
    byte : In(8)
    at_last : Out(1)
    words : Out(stream.Signature(_Copied))
    """
    ipcss: In(8)
    tucss: In(8)
    hdrlen: In(8)
    ipv4: In(1)
    tcp: In(1)
    mss: In(16)
    ip_len: In(16)
    final: In(1)
    restart: In(1)
    keep: In(1)
    byte: In(8)
    clear: In(1)
    advance: In(1)
    copy: In(1)
    at_last: Out(1)
    words: Out(stream.Signature(_Copied))

    def elaborate(self, platform):
        m = Module()
        # A byte is written a cycle after it is kept, at the position before the one read
        # then; the two meet only in the cycle after the last byte of a one-byte header, at
        # the restart, whose read is read again before it is used.
        m.submodules.header = header = memory.Memory(shape=8, depth=256, init=[],
                                                     attrs=NO_RW_CHECK)
        wr = header.write_port()
        rd = header.read_port()

        # The position. The RAM is read at the next one, so that its read data is always the
        # byte at ``pos``.
        pos = Signal(8)
        pos_next = Signal(8)
        reading = Signal()
        step = self.keep | reading
        m.d.comb += [rd.addr.eq(pos_next),
                     pos_next.eq(Mux(self.restart, 0, Mux(step, pos + 1, pos)))]
        m.d.sync += pos.eq(pos_next)
        # Beside it, modulo 256: where it is from the IP and TCP headers' starts, and from the
        # header's last byte, which makes ``at_last``.
        # Timing: each counts on its own, and ``at_last`` is chosen from compares of registers,
        # so that ``keep`` (which follows the queue's ready) only picks among them.
        rel_ip, rel_tu, rel_end = Signal(8), Signal(8), Signal(8)
        with m.If(self.restart):
            m.d.sync += [rel_ip.eq(-self.ipcss), rel_tu.eq(-self.tucss),
                         rel_end.eq(1 - self.hdrlen)]
        with m.Elif(step):
            m.d.sync += [rel_ip.eq(rel_ip + 1), rel_tu.eq(rel_tu + 1), rel_end.eq(rel_end + 1)]
        # (With HDRLEN 0 it is set at position 255; the segmenter copies no header then.)
        m.d.sync += self.at_last.eq(Mux(self.restart, self.hdrlen == 1,
                                        Mux(step, rel_end == 0xFF, rel_end == 0)))

        def fields(rel_ip, rel_tu):
            """Whether a header byte is one the segments edit: IPv4 total length (IPCSS + 2, 3),
            identification (IPCSS + 4, 5), TCP sequence number (TUCSS + 4..7), TCP flags (13)."""
            return (self.ipv4 & (rel_ip[3:] == 0) & (rel_ip[1:3] == 1),
                    self.ipv4 & (rel_ip[3:] == 0) & (rel_ip[1:3] == 2),
                    self.tcp & (rel_tu[3:] == 0) & rel_tu[2],
                    self.tcp & (rel_tu == 13))

        # A byte kept goes into the RAM, and into the numbers, a cycle after it is taken.
        # Timing: its byte select is far from the RAM.
        kept, kept_pos = Signal(8), Signal(8)
        kept_id, kept_seq, keeping = Signal(), Signal(), Signal()
        _, is_id, is_seq, _ = fields(rel_ip, rel_tu)
        m.d.sync += [kept.eq(self.byte), kept_pos.eq(pos), kept_id.eq(is_id),
                     kept_seq.eq(is_seq), keeping.eq(self.keep)]
        m.d.comb += [wr.addr.eq(kept_pos), wr.data.eq(kept), wr.en.eq(keeping)]
        seq = Signal(32)
        ip_id = Signal(16)
        with m.If(self.clear):
            m.d.sync += [seq.eq(0), ip_id.eq(0)]
        with m.Elif(self.advance):
            m.d.sync += [seq.eq(seq + self.mss), ip_id.eq(ip_id + 1)]
        with m.Else():
            with m.If(keeping & kept_id):
                m.d.sync += ip_id.eq(Cat(kept, ip_id[:8]))
            with m.If(keeping & kept_seq):
                m.d.sync += seq.eq(Cat(kept, seq[:24]))

        # A byte read back, a cycle after its read (``pos`` then), and edited.
        # Timing: the block RAM's read data goes straight into a register, and so do the
        # byte's field flags, which the settings' far registers reach.
        v1, last1, end1 = Signal(), Signal(), Signal()
        p1, rel_ip1, rel_tu1 = Signal(3), Signal(8), Signal(8)
        is_len1, is_id1, is_seq1, is_flags1 = Signal(), Signal(), Signal(), Signal()
        stored = Signal(8)
        m.d.sync += [v1.eq(reading), p1.eq(pos), rel_ip1.eq(rel_ip), rel_tu1.eq(rel_tu),
                     Cat(is_len1, is_id1, is_seq1, is_flags1).eq(Cat(*fields(rel_ip, rel_tu))),
                     stored.eq(rd.data)]
        edited = Signal(8)
        with m.If(is_len1):
            m.d.comb += edited.eq(Mux(rel_ip1[0], self.ip_len[:8], self.ip_len[8:]))
        with m.Elif(is_id1):
            m.d.comb += edited.eq(Mux(rel_ip1[0], ip_id[:8], ip_id[8:]))
        with m.Elif(is_seq1):
            m.d.comb += edited.eq(seq.word_select(~rel_tu1[:2], 8))
        with m.Elif(is_flags1 & ~self.final):
            m.d.comb += edited.eq(stored & ~(FIN | PSH))
        with m.Else():
            m.d.comb += edited.eq(stored)

        # Up to eight bytes read, put together a cycle later, then out as a word.
        out = self.words.payload
        filled = Signal()           # the word's bytes are all read
        with m.If(self.restart):
            m.d.sync += [filled.eq(0), self.words.valid.eq(0)]
        with m.Elif(self.copy & ~filled):
            word_end = (pos[:3] == 7) | self.at_last
            m.d.comb += reading.eq(1)
            m.d.sync += [last1.eq(word_end), end1.eq(self.at_last), filled.eq(word_end)]
        with m.If(v1):
            m.d.sync += [out.data.word_select(p1, 8).eq(edited), out.count.eq(p1 + 1)]
            with m.If(last1):
                m.d.sync += [self.words.valid.eq(1), out.last.eq(end1)]
        with m.If(self.words.valid & self.words.ready):
            m.d.sync += [self.words.valid.eq(0), filled.eq(0)]
        return m


class TxSegmenter(wiring.Component):
    """A stream stage: a frame without TSE passes a word a cycle with its work as its command; a
    frame with TSE leaves as segments, each behind a copy of its header with the per-segment
    fields put in (see the module's contract).

    Members
    -------
    fetched : In(stream.Signature(TxTaggedWord))
    work : In(stream.Signature(TxWork))
    words : Out(stream.Signature(TxTaggedWord))
        A word's tag goes out with each word made of it, the header copies' whatever.
    command : Out(TxOffload)
        The checksum work of the frame the word on ``words`` starts.
    spare : In(1)
        The queue has room for words beyond those the fetcher reserved.
    extra : Out(1)
    segmented : Out(1)
    """
    fetched: In(stream.Signature(TxTaggedWord))
    work: In(stream.Signature(TxWork))
    words: Out(stream.Signature(TxTaggedWord))
    command: Out(TxOffload)
    spare: In(1)
    extra: Out(1)
    segmented: Out(1)

    def elaborate(self, platform):
        m = Module()
        r = self._registers(m)
        copy, i, o, off, tso = r.copy, r.i, r.o, r.off, r.tso
        with m.FSM(name="tso") as fsm:
            with m.State("PASS"):
                work_valid = self.work.valid & ~r.pop
                plain = ~r.in_sof | (work_valid & ~tso.tse)
                m.d.comb += [r.gate.eq(plain), r.consume.eq(1)]
                m.d.sync += r.pop.eq(r.in_sof & r.take)
                with m.If(r.in_sof & self.fetched.valid & work_valid & tso.tse):
                    m.next = "START"
            with m.State("START"):
                m.d.sync += [r.rem.eq(tso.paylen), r.ip_hdr.eq(tso.hdrlen - off.ipcss),
                             r.tcp_hdr.eq(tso.hdrlen - off.tucss)]
                m.d.comb += [copy.restart.eq(1), copy.clear.eq(1)]
                with m.If((tso.mss == 0) | (tso.paylen == 0)):
                    m.next = "FAIL"
                with m.Elif(tso.hdrlen == 0):
                    m.next = "NEXT"
                with m.Else():
                    m.next = "CAPTURE"
            with m.State("CAPTURE"):
                # A byte a cycle kept; the word goes on as a skip word with its last.
                word_done = r.count == 1
                m.d.comb += [r.gate.eq(word_done & ~i.eop), r.consume.eq(1), o.skip.eq(1),
                             o.eop.eq(0)]
                with m.If(self.fetched.valid & i.eop & word_done):
                    # The frame's last byte, and no payload after the header.
                    m.next = "FAIL"
                with m.Elif(self.fetched.valid):
                    with m.If(~word_done | self.words.ready):
                        m.d.comb += copy.keep.eq(1)
                        m.d.sync += r.used.eq(Mux(word_done, 0, r.used + 1))
                        with m.If(copy.at_last):
                            m.next = "NEXT"
            with m.State("NEXT"):
                # After a segment: the next one's numbers.
                # Timing: here, from a register, rather than as the segment's last word goes;
                # whether a whole MSS is left is registered before it picks the segment's length.
                m.d.comb += [copy.advance.eq(r.advance), copy.restart.eq(1)]
                m.d.sync += [r.advance.eq(0), r.more.eq(r.rem > tso.mss)]
                m.next = "CUT"
            with m.State("CUT"):
                m.d.sync += [r.seg_left.eq(Mux(r.more, tso.mss, r.rem)), r.final.eq(~r.more),
                             r.rem.eq(Mux(r.more, r.rem - tso.mss, 0))]
                m.next = "LENGTHS"
            with m.State("LENGTHS"):
                m.d.sync += [r.ip_len.eq(r.ip_hdr + r.seg_left),
                             r.tcp_len.eq(r.tcp_hdr + r.seg_left)]
                with m.If(tso.hdrlen == 0):
                    m.next = "DATA"
                with m.Else():
                    m.next = "REPLAY"
            with m.State("REPLAY"):
                m.d.comb += [copy.copy.eq(1), r.gate.eq(self.spare), r.use_copy.eq(1)]
                with m.If(r.emit & copy.words.payload.last):
                    m.next = "DATA"
            with m.State("DATA"):
                self._data(m, r)
            with m.State("DRAIN"):
                # Data past PAYLEN: skipped up to the frame's end.
                m.d.comb += [o.skip.eq(1), o.eop.eq(0), o.abort.eq(0)]
                self._skip(m, r)
            with m.State("FAIL"):
                # Skipped up to the frame's end, which goes out alone, aborted.
                m.d.comb += [r.failing.eq(1), o.skip.eq(~i.eop), o.abort.eq(1),
                             o.tso_last.eq(i.eop)]
                self._skip(m, r)
        self._fsm = fsm

        # The checksum unit's commands: the frame's work as it is, or for each segment, with
        # its TCP length.
        m.d.comb += self.command.eq(off)
        with m.If(~fsm.ongoing("PASS")):
            m.d.comb += [self.command.tu_init.eq(r.tcp_len),
                         self.segmented.eq(r.emit & o.eop & ~o.skip)]
            with m.If(r.failing):
                m.d.comb += [self.command.ip.eq(0), self.command.tu.eq(0)]
        return m

    def _registers(self, m):
        """The header copy, the frame's and the segment's registers, and the output's defaults."""
        r = SimpleNamespace()
        m.submodules.copy = r.copy = copy = TxHeaderCopy()
        r.i, r.o = i, o = self.fetched.payload.word, self.words.payload.word
        m.d.comb += self.words.payload.tci.eq(self.fetched.payload.tci)
        r.off, r.tso = off, tso = self.work.payload.offload, self.work.payload.tso

        # The input word, less the bytes already taken from it.
        r.used = Signal(3)
        r.first = first = (i.first + r.used)[:3]
        r.count = count = (i.count - r.used)[:4]
        r.in_sof = Signal(init=1)   # the next input word starts a frame

        # The frame's state, and the segment's.
        r.rem = Signal(20)          # payload bytes after this segment's
        r.seg_left = Signal(16)     # payload bytes of this segment still to go
        r.final = Signal()          # this is the last segment
        r.more = Signal()           # more than an MSS of payload is left
        r.advance = Signal()        # a segment has gone: the next one's numbers are due
        r.ip_len = Signal(16)
        r.tcp_len = Signal(16)
        # The header's bytes from the IP header's start, and from the TCP header's (modulo
        # 2^16, as the lengths are): worked out once per frame, so that each segment's lengths
        # take one addition.
        r.ip_hdr = Signal(16)
        r.tcp_hdr = Signal(16)
        m.d.comb += [
            copy.ipcss.eq(off.ipcss), copy.tucss.eq(off.tucss), copy.hdrlen.eq(tso.hdrlen),
            copy.ipv4.eq(tso.ipv4), copy.tcp.eq(tso.tcp), copy.mss.eq(tso.mss),
            copy.ip_len.eq(r.ip_len), copy.final.eq(r.final),
            copy.byte.eq(i.data.word_select(first, 8)),
        ]

        # What goes out: the input word's remaining bytes unless a state says otherwise. A state
        # opens the output (``gate``), with the input word (``consume``) or without it; the
        # input's ready does not depend on its valid.
        r.gate = Signal()
        r.consume = Signal()        # a word going out takes the input word with it
        r.use_copy = Signal()
        r.failing = Signal()
        # A frame's work is taken in the cycle after its first word (its last, with TSE).
        # Timing: from a register, so that the input's handshake does not reach the work queue.
        r.pop = Signal()
        m.d.comb += self.work.ready.eq(r.pop)
        r.emit = self.words.valid & self.words.ready
        r.take = self.fetched.valid & self.fetched.ready
        m.d.comb += [
            o.eq(i), o.first.eq(first), o.count.eq(count), o.skip.eq(0), o.tso_last.eq(0),
            self.words.valid.eq(r.gate & Mux(r.use_copy, copy.words.valid, self.fetched.valid)),
            self.fetched.ready.eq(r.gate & r.consume & self.words.ready),
            copy.words.ready.eq(r.use_copy & r.gate & self.words.ready),
            self.extra.eq(r.emit & ~r.consume),
        ]
        with m.If(r.use_copy):
            m.d.comb += [o.data.eq(copy.words.payload.data), o.first.eq(0),
                         o.count.eq(copy.words.payload.count),
                         o.eop.eq(0), o.desc_end.eq(0), o.abort.eq(0)]
        with m.If(r.take):
            m.d.sync += r.in_sof.eq(i.eop)
        return r

    def _data(self, m, r):
        # The segment's payload; a word that crosses its end is split.
        i, o, count, seg_left = r.i, r.o, r.count, r.seg_left
        # Timing: whether the word crosses the segment's end (its bytes left, ``count``, more
        # than the segment's) decides the input's ready, which enables the whole output
        # register of the queue in front, and the output's valid. It is worked out into
        # registers: a word goes out only from the cycle after it came (or after the word
        # before it went), when they are ``judged``. A payload word then takes two cycles, still
        # four times as fast as the checksum unit takes the words of a frame with checksums (a
        # cycle a byte), which every TSE frame has.
        split, ends_seg, judged = Signal(), Signal(), Signal()
        # ``count`` has four bits: the compares need only the low four of ``seg_left`` and
        # whether the rest are zero, not a 16-bit carry chain.
        short = seg_left[4:] == 0
        m.d.sync += [split.eq(short & (count > seg_left[:4])),
                     ends_seg.eq(short & (count >= seg_left[:4])),
                     # The word and the bytes left change only as a word goes out; and the
                     # state leaves only as one goes, so this is low on entering it again.
                     judged.eq(self.fetched.valid & ~r.emit)]
        n = Mux(split, seg_left[:4], count)
        ends_input = ~split & i.eop
        whole = ends_seg & r.final
        m.d.comb += [
            r.gate.eq(judged & (~split | self.spare)), r.consume.eq(~split),
            o.count.eq(n), o.eop.eq(ends_seg | ends_input),
            o.desc_end.eq(i.desc_end & ~split),
            o.abort.eq((i.abort & ~split) | (ends_input ^ whole)),
            o.tso_last.eq(ends_input | whole),
        ]
        with m.If(r.emit):
            # A split leaves nothing of the segment (n is all of it).
            rest = seg_left - count
            m.d.sync += [r.used.eq(Mux(split, r.used + seg_left[:3], 0)),
                         seg_left.eq(Mux(split, 0, rest))]
            with m.If(ends_input):
                m.d.sync += r.pop.eq(1)
                m.next = "PASS"
            with m.Elif(whole):
                m.next = "DRAIN"
            with m.Elif(ends_seg):
                m.d.sync += r.advance.eq(1)
                m.next = "NEXT"

    def _skip(self, m, r):
        # Input words pass (as the state marks them) up to the frame's end.
        m.d.comb += [r.gate.eq(1), r.consume.eq(1)]
        with m.If(r.take):
            m.d.sync += r.used.eq(0)
            with m.If(r.i.eop):
                m.d.sync += r.pop.eq(1)
                m.next = "PASS"

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated)."""
        return {"state": self._fsm.state}
