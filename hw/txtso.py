"""TCP segmentation: a frame sent with DCMD.TSE becomes segments, each behind its own header.

Reference: SDM 3.5 (TCP segmentation), 3.3.5-3.3.7 (HDRLEN, MSS, PAYLEN, TUCMD, DCMD.TSE).

Contract: a stream stage between the fetcher's words (``fetched``, each frame's ``work`` queued
ahead of them) and the transmit queue with the checksum unit beside it (``words``, and beside
each, the ``command`` for the frame it starts, if it starts one). A frame without TSE goes through unchanged, a word
a cycle, with its work as its command. Of a frame with TSE:

- the first HDRLEN bytes, the header, are kept (a byte a cycle); the words they came in go on
  as ``skip`` words, which the checksum unit and the MAC pass over, so that their ``desc_end``
  still retires the descriptors they ended;
- the PAYLEN bytes after them go out MSS at a time (the last segment takes what is left), each
  segment behind a copy of the header (eight bytes every ten cycles) in which the IPv4 total
  length and identification (with TUCMD.IP) and the TCP sequence number and flags (with
  TUCMD.TCP) are the segment's: identification one more and sequence number MSS more than the
  segment before, FIN and PSH only in the last;
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

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .txframe import TxOffload, TxWord, TxWork


__all__ = ["TxSegmenter"]

FIN = 0x01
PSH = 0x08


class TxSegmenter(wiring.Component):
    """Members
    -------
    fetched : In(stream.Signature(TxWord))
    work : In(stream.Signature(TxWork))
    words : Out(stream.Signature(TxWord))
    command : Out(TxOffload)
        The checksum work of the frame the word on ``words`` starts.
    spare : In(1)
        The queue has room for words beyond those the fetcher reserved.
    extra : Out(1)
    segmented : Out(1)
    """
    fetched: In(stream.Signature(TxWord))
    work: In(stream.Signature(TxWork))
    words: Out(stream.Signature(TxWord))
    command: Out(TxOffload)
    spare: In(1)
    extra: Out(1)
    segmented: Out(1)

    def elaborate(self, platform):
        m = Module()
        m.submodules.header = header = memory.Memory(shape=8, depth=256, init=[])
        wr = header.write_port()
        rd = header.read_port()
        i, o = self.fetched.payload, self.words.payload
        off, tso = self.work.payload.offload, self.work.payload.tso

        # The input word, less the bytes already taken from it.
        used = Signal(3)
        first = (i.first + used)[:3]
        count = (i.count - used)[:4]
        in_sof = Signal(init=1)     # the next input word starts a frame

        # The header byte being kept or copied. The RAM is read at the next position, so that
        # its read data is always the byte at ``pos``.
        pos = Signal(8)
        pos_next = Signal(8)
        m.d.comb += [pos_next.eq(pos), rd.addr.eq(pos_next), wr.addr.eq(pos)]
        m.d.sync += pos.eq(pos_next)
        # Where ``pos`` is from the IP and TCP headers' starts, kept beside it.
        rel_ip, rel_tu = Signal(8), Signal(8)
        m.d.sync += [rel_ip.eq(pos_next - off.ipcss), rel_tu.eq(pos_next - off.tucss)]

        def fields(rel_ip, rel_tu):
            """Whether a header byte is one the segments edit: IPv4 total length (IPCSS + 2, 3),
            identification (IPCSS + 4, 5), TCP sequence number (TUCSS + 4..7), TCP flags (13)."""
            return (tso.ipv4 & (rel_ip[3:] == 0) & (rel_ip[1:3] == 1),
                    tso.ipv4 & (rel_ip[3:] == 0) & (rel_ip[1:3] == 2),
                    tso.tcp & (rel_tu[3:] == 0) & rel_tu[2],
                    tso.tcp & (rel_tu == 13))
        _, is_id, is_seq, _ = fields(rel_ip, rel_tu)

        # The frame's state, and the segment's.
        seq = Signal(32)
        ip_id = Signal(16)
        rem = Signal(20)            # payload bytes after this segment's
        seg_left = Signal(16)       # payload bytes of this segment still to go
        final = Signal()            # this is the last segment
        advance = Signal()          # a segment has gone: the next one's numbers are due
        ip_len = Signal(16)
        tcp_len = Signal(16)

        # A header byte read back, a cycle after its read (``pos`` then), and edited.
        # Timing: the block RAM's read data goes straight into a register.
        reading = Signal()
        v1, last1 = Signal(), Signal()
        p1, rel_ip1, rel_tu1 = Signal(8), Signal(8), Signal(8)
        stored = Signal(8)
        m.d.sync += [v1.eq(reading), p1.eq(pos), rel_ip1.eq(rel_ip), rel_tu1.eq(rel_tu),
                     stored.eq(rd.data)]
        is_len1, is_id1, is_seq1, is_flags1 = fields(rel_ip1, rel_tu1)
        edited = Signal(8)
        with m.If(is_len1):
            m.d.comb += edited.eq(Mux(rel_ip1[0], ip_len[:8], ip_len[8:]))
        with m.Elif(is_id1):
            m.d.comb += edited.eq(Mux(rel_ip1[0], ip_id[:8], ip_id[8:]))
        with m.Elif(is_seq1):
            m.d.comb += edited.eq(seq.word_select(~rel_tu1[:2], 8))
        with m.Elif(is_flags1 & ~final):
            m.d.comb += edited.eq(stored & ~(FIN | PSH))
        with m.Else():
            m.d.comb += edited.eq(stored)

        # Header words being copied are put together here.
        pack = Signal(64)
        pack_count = Signal(4)
        pack_full = Signal()
        pack_end = Signal()         # ...and it is the header's last
        filled = Signal()           # the word's bytes are all read

        # What goes out: the input word's remaining bytes unless a state says otherwise. A state
        # opens the output (``gate``), with the input word (``consume``) or without it; the
        # input's ready does not depend on its valid.
        gate = Signal()
        consume = Signal()          # a word going out takes the input word with it
        use_pack = Signal()
        failing = Signal()
        # A frame's work is taken in the cycle after its first word (its last, with TSE).
        # Timing: from a register, so that the input's handshake does not reach the work queue.
        pop = Signal()
        m.d.comb += self.work.ready.eq(pop)
        emit = self.words.valid & self.words.ready
        take = self.fetched.valid & self.fetched.ready
        m.d.comb += [
            o.eq(i), o.first.eq(first), o.count.eq(count), o.skip.eq(0), o.tso_last.eq(0),
            self.words.valid.eq(gate & (self.fetched.valid | use_pack)),
            self.fetched.ready.eq(gate & consume & self.words.ready),
            self.extra.eq(emit & ~consume),
        ]
        with m.If(use_pack):
            m.d.comb += [o.data.eq(pack), o.first.eq(0), o.count.eq(pack_count),
                         o.eop.eq(0), o.desc_end.eq(0), o.abort.eq(0)]
        with m.If(take):
            m.d.sync += in_sof.eq(i.eop)

        # The checksum unit's commands: the frame's work as it is, or for each segment, with
        # its TCP length (its bytes swapped when the sum starts at an odd offset).
        m.d.comb += self.command.eq(off)
        in_byte = i.data.word_select(first, 8)

        with m.FSM(name="tso") as fsm:
            with m.State("PASS"):
                work_valid = self.work.valid & ~pop
                plain = ~in_sof | (work_valid & ~tso.tse)
                m.d.comb += [gate.eq(plain), consume.eq(1)]
                m.d.sync += pop.eq(in_sof & take)
                with m.If(in_sof & self.fetched.valid & work_valid & tso.tse):
                    m.next = "START"
            with m.State("START"):
                # The identification and sequence number are read from the header as it is
                # kept (those of its bytes it has).
                m.d.sync += [rem.eq(tso.paylen), ip_id.eq(0), seq.eq(0)]
                m.d.comb += pos_next.eq(0)
                with m.If((tso.mss == 0) | (tso.paylen == 0)):
                    m.next = "FAIL"
                with m.Elif(tso.hdrlen == 0):
                    m.next = "NEXT"
                with m.Else():
                    m.next = "CAPTURE"
            with m.State("CAPTURE"):
                # A byte a cycle into the RAM; the word goes on as a skip word with its last.
                word_done = count == 1
                m.d.comb += [gate.eq(word_done & ~i.eop), consume.eq(1), o.skip.eq(1),
                             o.eop.eq(0)]
                with m.If(self.fetched.valid & i.eop & word_done):
                    # The frame's last byte, and no payload after the header.
                    m.next = "FAIL"
                with m.Elif(self.fetched.valid):
                    with m.If(~word_done | self.words.ready):
                        m.d.comb += [wr.data.eq(in_byte), wr.en.eq(1), pos_next.eq(pos + 1)]
                        m.d.sync += used.eq(Mux(word_done, 0, used + 1))
                        with m.If(is_id):
                            m.d.sync += ip_id.eq(Cat(in_byte, ip_id[:8]))
                        with m.If(is_seq):
                            m.d.sync += seq.eq(Cat(in_byte, seq[:24]))
                        with m.If(pos == tso.hdrlen - 1):
                            m.next = "NEXT"
            with m.State("NEXT"):
                # After a segment: the next one's identification and sequence number.
                # Timing: here, from a register, rather than as the segment's last word goes.
                with m.If(advance):
                    m.d.sync += [seq.eq(seq + tso.mss), ip_id.eq(ip_id + 1), advance.eq(0)]
                more = rem > tso.mss
                m.d.sync += [seg_left.eq(Mux(more, tso.mss, rem)), final.eq(~more),
                             rem.eq(Mux(more, rem - tso.mss, 0))]
                m.d.comb += pos_next.eq(0)
                m.next = "LENGTHS"
            with m.State("LENGTHS"):
                m.d.sync += [ip_len.eq(tso.hdrlen - off.ipcss + seg_left),
                             tcp_len.eq(tso.hdrlen - off.tucss + seg_left),
                             pack_full.eq(0), filled.eq(0)]
                with m.If(tso.hdrlen == 0):
                    m.next = "DATA"
                with m.Else():
                    m.next = "REPLAY"
            with m.State("REPLAY"):
                # Up to eight bytes read, edited into ``pack`` a cycle later, then out as a
                # word: ten cycles a word.
                with m.If(~filled):
                    word_end = (pos[:3] == 7) | (pos == tso.hdrlen - 1)
                    m.d.comb += [reading.eq(1), pos_next.eq(pos + 1)]
                    m.d.sync += [last1.eq(word_end), filled.eq(word_end)]
                with m.If(v1):
                    m.d.sync += [pack.word_select(p1[:3], 8).eq(edited),
                                 pack_count.eq(p1[:3] + 1)]
                    with m.If(last1):
                        m.d.sync += [pack_full.eq(1), pack_end.eq(p1 == tso.hdrlen - 1)]
                with m.If(pack_full):
                    m.d.comb += [gate.eq(self.spare), use_pack.eq(1)]
                    with m.If(self.words.ready & self.spare):
                        m.d.sync += [pack_full.eq(0), filled.eq(0)]
                        with m.If(pack_end):
                            m.next = "DATA"
            with m.State("DATA"):
                split = (seg_left[4:] == 0) & (count > seg_left[:4])
                n = Mux(split, seg_left[:4], count)
                ends_seg = split | (count == seg_left)
                ends_input = ~split & i.eop
                whole = ends_seg & final
                m.d.comb += [
                    gate.eq(~split | self.spare), consume.eq(~split),
                    o.count.eq(n), o.eop.eq(ends_seg | ends_input),
                    o.desc_end.eq(i.desc_end & ~split),
                    o.abort.eq((i.abort & ~split) | (ends_input ^ whole)),
                    o.tso_last.eq(ends_input | whole),
                ]
                with m.If(emit):
                    m.d.sync += [used.eq(Mux(split, used + seg_left[:3], 0)),
                                 seg_left.eq(seg_left - n)]
                    with m.If(ends_input):
                        m.d.sync += pop.eq(1)
                        m.next = "PASS"
                    with m.Elif(whole):
                        m.next = "DRAIN"
                    with m.Elif(ends_seg):
                        m.d.sync += advance.eq(1)
                        m.next = "NEXT"
            with m.State("DRAIN"):
                # Data past PAYLEN: skipped up to the frame's end.
                m.d.comb += [gate.eq(1), consume.eq(1), o.skip.eq(1),
                             o.eop.eq(0), o.abort.eq(0)]
                with m.If(take):
                    m.d.sync += used.eq(0)
                    with m.If(i.eop):
                        m.d.sync += pop.eq(1)
                        m.next = "PASS"
            with m.State("FAIL"):
                # Skipped up to the frame's end, which goes out alone, aborted.
                m.d.comb += [gate.eq(1), consume.eq(1), failing.eq(1),
                             o.skip.eq(~i.eop), o.abort.eq(1), o.tso_last.eq(i.eop)]
                with m.If(take):
                    m.d.sync += used.eq(0)
                    with m.If(i.eop):
                        m.d.sync += pop.eq(1)
                        m.next = "PASS"
        self.fsm_state = fsm.state

        with m.If(~fsm.ongoing("PASS")):
            swapped = Cat(tcp_len[8:], tcp_len[:8])
            m.d.comb += [self.command.tu_init.eq(Mux(off.tucss[0], swapped, tcp_len)),
                         self.segmented.eq(emit & o.eop & ~o.skip)]
            with m.If(failing):
                m.d.comb += [self.command.ip.eq(0), self.command.tu.eq(0)]
        return m
