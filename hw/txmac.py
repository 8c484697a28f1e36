"""The transmit MAC: frames from the DMA engine onto GMII.

Reference: IEEE 802.3 clause 3 (frame format), 4.2.3.2.1 (the minimum gap), 35 (GMII);
IEEE 802.1Q 9.6 (the tag); SDM 3.3.3.1 (VLE), 13.4.33 (TCTL.PSP), 13.4.34 (TIPG).

A frame starts once the DMA engine has queued all of it, which its checksums (``checksums``,
one per frame) say, so it never runs dry on the wire: seven bytes of preamble, the start
delimiter, the data with the checksums put in where they go, zero padding up to 60 bytes when
TCTL.PSP asks for it, the FCS when the frame's descriptors asked for it (IFCS), then an idle
gap of TIPG.IPGT byte times, never less than 12. A frame whose tag (``tags``, taken with its
checksums) asks for one while CTRL.VME is set goes out with an 802.1Q tag after its source
address, VET and then the tag control information, and always with an FCS; offsets of 12 and
more (the checksums') count from the frame as it was queued, without the tag, and the padding
counts the tag. A frame larger than the queue starts when the
queue is full (``frame_ready``), before its checksums are known: if it asked for any, or for a tag,
it is aborted. A frame the DMA engine cut short (``abort``) or that is aborted ends with its FCS
inverted and TX_ER high through it, so that no receiver keeps it. Words marked ``skip`` are
taken and passed over between frames. At the end of each frame the
MAC reports its length, destination class and whether it was aborted to the statistics
counters.

Flow control: while a PAUSE received with CTRL.RFCE lasts (``pause``, ``hw.flow.PauseTimer``),
no frame starts. A PAUSE frame asked for (``control``: its pause time) goes out before the next
frame, paused or not, as soon as the gap allows (a frame whose first word was taken already
waits for it): to the flow control address, from the station address, type 0x8808, opcode 1,
the time, padded to 60 bytes, with its FCS.

The word being sent is the MAC's own register, taken from the DMA engine's queue when the word
before it ends (a frame's first word, as soon as the gap is over), with the index of its next
byte and whether that is its last: each byte is selected from registers, and the handshake with
the queue comes from them too. The GMII outputs, the FCS and the destination class come from
``TxLine``, a cycle after the state machine chose each byte.
"""

from amaranth.hdl import Cat, Const, Module, Mux, ResetInserter, Signal
from amaranth.lib import crc, data, stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import GMIITxSignature
from .flow import PauseSignature, PauseTimer
from .txframe import TxChecksums, TxTag, TxWord


__all__ = ["TxMAC", "TxLine", "TxLineByte", "TxFrameStats", "PREAMBLE", "SFD", "MIN_FRAME",
           "MIN_GAP"]

PREAMBLE = 0x55
SFD = 0xD5
MIN_FRAME = 60          # without FCS
MIN_GAP = 12


class TxFrameStats(data.Struct):
    length: 14          # bytes on the wire after the start delimiter, FCS included
    broadcast: 1
    multicast: 1
    aborted: 1          # ended with an error: not a good frame
    tso_last: 1         # the last segment of a frame sent with TSE
    xon: 1              # a PAUSE frame the MAC made, of 0
    xoff: 1             # ...of more


class TxLineByte(data.Struct):
    """What the MAC puts on the line in a cycle."""
    en: 1
    byte: 8
    fcs: 1              # an FCS byte: ``byte``'s low two bits say which
    crc: 1              # a byte the FCS covers
    dest: 1             # a destination address byte
    first: 1            # the frame's first byte
    er: 1               # an FCS byte of an aborted frame: inverted, with TX_ER


class TxLine(wiring.Component):
    """The transmit MAC's output stage: GMII from registers, the FCS, and the destination class.

    Contract: ``byte`` goes out on GMII a cycle later, from registers; an FCS byte is taken
    from the CRC as it leaves (the CRC holds still once fed, so the MAC asks for its four bytes
    in a row). The CRC covers the bytes marked ``crc`` as they leave the register, so the byte
    selection and the CRC are in different cycles; ``restart`` (from a register) starts it over
    through its reset, which also marks a new frame for the destination class: its initial value
    goes to the flip-flops' reset input (a ``start`` input would cost a LUT per bit).
    ``dest_ones`` (every destination byte so far is 0xFF) and ``multicast`` (the first byte's
    group bit) are current once ``classifying`` (a destination byte in the register) is low.

    Members
    -------
    byte : In(TxLineByte)
    restart : In(1)
    gmii : Out(GMIITxSignature)
    dest_ones, multicast, classifying : Out(1)
    """
    byte: In(TxLineByte)
    restart: In(1)
    gmii: Out(GMIITxSignature)
    dest_ones: Out(1)
    multicast: Out(1)
    classifying: Out(1)

    def elaborate(self, platform):
        m = Module()
        fcs = crc.catalog.CRC32_ETHERNET(8).create()
        m.submodules.crc = ResetInserter(self.restart)(fcs)
        q = Signal(TxLineByte)
        m.d.sync += q.eq(self.byte)
        m.d.comb += [
            fcs.data.eq(q.byte),
            fcs.valid.eq(q.crc),
            self.gmii.tx_en.eq(q.en),
            self.gmii.tx_er.eq(q.er),
            self.gmii.txd.eq(Mux(q.fcs, fcs.crc.word_select(q.byte[:2], 8) ^ Mux(q.er, 0xFF, 0),
                            q.byte)),
            self.classifying.eq(q.dest),
        ]
        with m.If(self.restart):
            m.d.sync += self.dest_ones.eq(1)
        with m.Elif(q.dest & (q.byte != 0xFF)):
            m.d.sync += self.dest_ones.eq(0)
        with m.If(q.first):
            m.d.sync += self.multicast.eq(q.byte[0])
        return m


class TxMAC(wiring.Component):
    """One byte a cycle onto GMII. A frame starts only once its checksums (one per frame) say all of
    it is queued, so it never runs dry; frames are at least TIPG.IPGT byte times apart, never
    less than 12; a frame asking for checksums or a tag that had to start early is aborted.

    Members
    -------
    words : In(stream.Signature(TxWord))
    checksums : In(stream.Signature(TxChecksums))
    tags : In(stream.Signature(TxTag))
        Valid whenever ``checksums`` is, and taken with them.
    frame_ready : In(1)
    pad : In(1)
        TCTL.PSP.
    gap : In(10)
        TIPG.IPGT.
    vme : In(1)
        CTRL.VME.
    vet : In(16)
        VET.
    pause : In(PauseSignature())
        A received PAUSE to honour.
    control : In(stream.Signature(16))
        A PAUSE frame to send: its time.
    fca, station : In(48), In(48)
        The flow control address (FCAH:FCAL) and receive address 0.
    gmii : Out(GMIITxSignature)
        GMII transmit.
    stats : Out(stream.Signature(TxFrameStats))
    """
    words: In(stream.Signature(TxWord))
    checksums: In(stream.Signature(TxChecksums))
    tags: In(stream.Signature(TxTag))
    frame_ready: In(1)
    pad: In(1)
    gap: In(10)
    vme: In(1)
    vet: In(16)
    pause: In(PauseSignature())
    control: In(stream.Signature(16))
    fca: In(48)
    station: In(48)
    gmii: Out(GMIITxSignature)
    stats: Out(stream.Signature(TxFrameStats))

    def elaborate(self, platform):
        m = Module()
        # The line: what the state machine chooses each cycle (``out``) goes out a cycle later.
        # The CRC starts over in the first preamble cycle, from a register (``crc_start``).
        m.submodules.line = line = TxLine()
        out = Signal(TxLineByte)
        crc_start = Signal()
        m.d.comb += [line.byte.eq(out), line.restart.eq(crc_start)]
        wiring.connect(m, line.gmii, wiring.flipped(self.gmii))

        word = self.words.payload
        count = Signal(4)           # preamble bytes, FCS bytes
        # Set at each frame's start, so no reset: the flip-flops' reset input takes that zero.
        length = Signal(14, reset_less=True)
        gap = Signal(10)
        gap_over = Signal(init=1)   # gap == 0, registered: the start of a frame fans out widely
        # The countdown the gap starts from, registered: TIPG is in the register file, across
        # the core.
        gap_setting = Signal(10)
        m.d.sync += gap_setting.eq(Mux(self.gap < MIN_GAP, MIN_GAP, self.gap) - 3)
        # Whether the frame is short of the minimum (``length + 1 < MIN_FRAME``) and whether it
        # reaches it (``length + 1 == MIN_FRAME``), worked out a cycle ahead: where they are
        # used, the length counts up by one a cycle (from 0 in the preamble).
        short = Signal()
        padded = Signal()
        m.d.sync += [short.eq(length + 2 < MIN_FRAME), padded.eq(length + 2 == MIN_FRAME)]

        # The word on the line, its next byte, its last byte, and whether they are the same.
        # ``want`` is the queue's ready, worked out a cycle ahead: after the gap, and with the
        # last byte of a word that is not the frame's last.
        cur = Signal(TxWord)
        index = Signal(3)
        last = Signal(3)
        at_last = Signal()
        want = Signal(init=1)
        byte = cur.data.word_select(index, 8)
        m.d.comb += self.words.ready.eq(want)
        m.d.sync += want.eq(0)

        # The frame's checksums, taken as it starts if they are there already (else at its end).
        sums = Signal(TxChecksums)
        have_sums = Signal()
        aborted = Signal()          # the frame ends with an error

        # The tag: whether the frame has one, its four bytes, and whether the byte after this
        # one is where it goes (after the twelfth).
        tagging = Signal()
        tci = Signal(16)
        vet = Signal(16)
        m.d.sync += vet.eq(self.vet)
        tag_bytes = Cat(vet[8:], vet[:8], tci[8:], tci[:8])
        tag_next = tagging & (length == 11)
        want_after = Signal()       # ``want`` once the tag is out

        # Whether the byte chosen this cycle is a checksum's first byte (``*_high``) or its
        # second (``*_low``), registered: worked out a byte ahead, from the offset before the
        # first (``*_mark``, where the tag, if any, moves it; with bit 9 set, the checksum
        # starts the frame and START says so).
        tu_high, ip_high, tu_low, ip_low = Signal(), Signal(), Signal(), Signal()
        tu_mark, ip_mark = Signal(10), Signal(10)

        def mark(offset, tagged):
            return offset + Mux(tagged & (offset >= 12), 3, -1)

        def start_insertion(offered, valid, tagged):
            m.d.sync += [tu_high.eq(valid & offered.tu & (offered.tucso == 0)),
                         ip_high.eq(valid & offered.ip & (offered.ipcso == 0)),
                         tu_low.eq(0), ip_low.eq(0),
                         tu_mark.eq(mark(offered.tucso, tagged)),
                         ip_mark.eq(mark(offered.ipcso, tagged))]

        def insertion(default, *, tag=False):
            # Within the tag, a checksum's second byte waits for the byte after it: the
            # checksums are those of the frame without the tag, which goes in whole.
            m.d.sync += [
                tu_high.eq(have_sums & sums.tu & ~tu_mark[9] & (length == tu_mark)),
                ip_high.eq(have_sums & sums.ip & ~ip_mark[9] & (length == ip_mark)),
            ]
            if tag:
                return default
            m.d.sync += [tu_low.eq(tu_high), ip_low.eq(ip_high)]
            return Mux(tu_high, sums.tu_sum[8:], Mux(tu_low, sums.tu_sum[:8],
                       Mux(ip_high, sums.ip_sum[8:], Mux(ip_low, sums.ip_sum[:8], default))))

        def take_word():
            m.d.sync += [cur.eq(word), index.eq(word.first), last.eq(word.first + word.count - 1),
                         at_last.eq(word.count == 1)]

        m.d.sync += crc_start.eq(0)

        # Flow control: this side's pause, and the PAUSE frame being sent (``sending``), whose
        # bytes come from registers.
        m.submodules.pause = pause = PauseTimer()
        wiring.connect(m, wiring.flipped(self.pause), pause.pause)
        sending = Signal()
        held = Signal()             # ``cur`` holds a frame's first word, not started
        pause_time = Signal(16)
        pause_bytes = Signal(18 * 8)
        m.d.sync += pause_bytes.eq(Cat(self.fca, self.station, Const(0x0888, 16),
                                       Const(0x0100, 16), pause_time[8:], pause_time[:8]))

        with m.FSM(name="txmac") as fsm:
            with m.State("IDLE"):
                # After the gap, the frame's first word is taken at once; the frame starts once
                # all of it is queued (then its first word is its last, or ``frame_ready``).
                # A PAUSE frame to send goes first.
                with m.If(~gap_over):
                    m.d.sync += [gap.eq(gap - 1), gap_over.eq(gap == 1),
                                 want.eq((gap == 1) & ~held)]
                with m.Elif(want & self.words.valid):
                    take_word()
                    m.d.sync += held.eq(1)
                    m.next = "START"
                with m.Elif(self.control.valid):
                    m.d.comb += self.control.ready.eq(1)
                    m.d.sync += [count.eq(0), length.eq(0), crc_start.eq(1),
                                 have_sums.eq(1), tagging.eq(0), sending.eq(1),
                                 pause_time.eq(self.control.payload)]
                    start_insertion(self.checksums.payload, 0, 0)
                    m.next = "PREAMBLE"
                with m.Elif(held):
                    m.next = "START"
                with m.Else():
                    m.d.sync += want.eq(1)
            with m.State("START"):
                with m.If(cur.skip):
                    # Not frame data (a segmented frame's header as read): passed over.
                    m.d.sync += [want.eq(1), held.eq(0)]
                    m.next = "IDLE"
                with m.Elif(self.control.valid):
                    m.next = "IDLE"
                with m.Elif((self.checksums.valid | self.frame_ready) & ~pause.paused):
                    tagged = self.checksums.valid & self.tags.payload.vlan & self.vme
                    m.d.comb += [self.checksums.ready.eq(1), self.tags.ready.eq(1)]
                    m.d.sync += [count.eq(0), length.eq(0), crc_start.eq(1),
                                 sums.eq(self.checksums.payload),
                                 have_sums.eq(self.checksums.valid),
                                 tagging.eq(tagged), tci.eq(self.tags.payload.tci)]
                    start_insertion(self.checksums.payload, self.checksums.valid, tagged)
                    m.d.sync += [held.eq(0), sending.eq(0)]
                    m.next = "PREAMBLE"
            with m.State("PREAMBLE"):
                m.d.comb += [out.en.eq(1), out.byte.eq(Mux(count == 7, SFD, PREAMBLE))]
                m.d.sync += count.eq(count + 1)
                with m.If(count == 7):
                    m.d.sync += count.eq(0)
                    with m.If(sending):
                        m.next = "CONTROL"
                    with m.Else():
                        m.d.sync += want.eq(at_last & ~cur.eop)
                        m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += [out.en.eq(1), out.byte.eq(insertion(byte)), out.crc.eq(1),
                             out.dest.eq(length < 6), out.first.eq(length == 0)]
                m.d.sync += [index.eq(index + 1), at_last.eq(index + 1 == last),
                             length.eq(length + 1)]
                want_next = Signal()
                with m.If(want):
                    # The word's last byte, and another word follows.
                    take_word()
                    m.d.comb += want_next.eq((word.count == 1) & ~word.eop)
                with m.Elif(~at_last):
                    m.d.comb += want_next.eq((index + 1 == last) & ~cur.eop)
                with m.Else():
                    # The last byte: a frame that asked for checksums or a tag that are not
                    # there is aborted.
                    bad = cur.abort | ((cur.csum | (cur.vlan & self.vme)) & ~have_sums)
                    m.d.sync += aborted.eq(bad)
                    with m.If(bad):
                        m.next = "FCS"
                    with m.Elif(self.pad & short):
                        m.next = "PAD"
                    with m.Elif(cur.ifcs | tagging):
                        m.next = "FCS"
                    with m.Else():
                        m.next = "END"
                # The tag goes in after the twelfth byte; meanwhile the queue waits.
                with m.If(tag_next & (want | ~at_last)):
                    m.d.sync += [want_after.eq(want_next), count.eq(0)]
                    m.next = "TAG"
                with m.Else():
                    m.d.sync += want.eq(want_next)
            with m.State("TAG"):
                m.d.comb += [out.en.eq(1), out.crc.eq(1),
                             out.byte.eq(insertion(tag_bytes.word_select(count[:2], 8), tag=True))]
                m.d.sync += [count.eq(count + 1), length.eq(length + 1)]
                with m.If(count == 3):
                    m.d.sync += [count.eq(0), want.eq(want_after)]
                    m.next = "DATA"
            with m.State("CONTROL"):
                # A PAUSE frame's 18 bytes, then padding.
                m.d.comb += [out.en.eq(1), out.byte.eq(pause_bytes.word_select(length[:5], 8)),
                             out.crc.eq(1), out.dest.eq(length < 6), out.first.eq(length == 0)]
                m.d.sync += [length.eq(length + 1), aborted.eq(0)]
                with m.If(length == 17):
                    m.next = "PAD"
            with m.State("PAD"):
                m.d.comb += [out.en.eq(1), out.byte.eq(0), out.crc.eq(1)]
                m.d.sync += length.eq(length + 1)
                with m.If(padded):
                    with m.If(cur.ifcs | tagging | sending):
                        m.next = "FCS"
                    with m.Else():
                        m.next = "END"
            with m.State("FCS"):
                # The CRC holds still once fed; its bytes go out least significant first, taken
                # from it as they leave the output register.
                m.d.comb += [out.en.eq(1), out.fcs.eq(1), out.byte.eq(count[:2]),
                             out.er.eq(aborted)]
                m.d.sync += [count.eq(count + 1), length.eq(length + 1)]
                with m.If(count == 3):
                    m.next = "END"
            with m.State("END"):
                # Report the frame, then keep the line idle for the gap: this cycle, the
                # countdown, the cycle that takes the next frame's first word and the one that
                # starts it (the line runs a cycle behind the state machine throughout, so the
                # gap on it is the same). A frame
                # that ends within its destination address waits a cycle for its last byte to
                # be classified; one started without its checksums takes them now (they come
                # a few cycles after its last word was queued).
                m.d.comb += [self.checksums.ready.eq(~have_sums), self.tags.ready.eq(~have_sums)]
                with m.If(self.checksums.valid):
                    m.d.sync += have_sums.eq(1)
                m.d.comb += [
                    self.stats.valid.eq(~line.classifying & have_sums),
                    self.stats.payload.length.eq(length),
                    self.stats.payload.broadcast.eq(line.dest_ones),
                    self.stats.payload.multicast.eq(line.multicast & ~line.dest_ones),
                    self.stats.payload.aborted.eq(aborted),
                    self.stats.payload.tso_last.eq(cur.tso_last & ~sending),
                    self.stats.payload.xon.eq(sending & (pause_time == 0)),
                    self.stats.payload.xoff.eq(sending & (pause_time != 0)),
                ]
                m.d.sync += [gap.eq(gap_setting),
                             gap_over.eq(0)]
                with m.If(self.stats.valid & self.stats.ready):
                    m.next = "IDLE"
        self._fsm = fsm
        return m

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated)."""
        return {"state": self._fsm.state}
