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
``TxLine``, a cycle after the state machine chose each byte; the checksums go into the data
through ``TxInsertion``, and ``TxGap`` counts the gap down.
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, ResetInserter, Signal
from amaranth.lib import crc, data, stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import GMIITxSignature
from .compare import at_least, below
from .flow import PauseSignature, PauseTimer
from .txframe import TxChecksums, TxTag, TxWord


__all__ = ["TxMAC", "TxLine", "TxGap", "TxInsertion", "TxLineByte", "TxFrameStats", "PREAMBLE", "SFD", "MIN_FRAME",
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


class TxGap(wiring.Component):
    """The idle gap between frames: TIPG.IPGT byte times, never fewer than 12, less the three
    cycles the MAC spends around the countdown.

    Contract: while ``restart`` is high (a frame's end), the countdown is loaded from
    ``setting`` (registered first: TIPG is in the register file, across the core); then it
    counts down one a cycle. ``over`` is a register, high when the count is 0 (from reset too);
    ``ending`` is high in the countdown's last cycle, before ``over`` rises.

    Members
    -------
    setting : In(10)
    restart : In(1)
    over : Out(1)
    ending : Out(1)
    """
    setting: In(10)
    restart: In(1)
    # Timing: ``over`` is registered: the start of a frame fans out widely.
    over: Out(1, init=1)
    ending: Out(1)

    def elaborate(self, platform):
        m = Module()
        count = Signal(10)
        setting = Signal(10)
        m.d.sync += setting.eq(Mux(below(self.setting, MIN_GAP), MIN_GAP, self.setting) - 3)
        m.d.comb += self.ending.eq(~self.over & (count == 1))
        with m.If(self.restart):
            m.d.sync += [count.eq(setting), self.over.eq(0)]
        with m.Elif(~self.over):
            m.d.sync += [count.eq(count - 1), self.over.eq(count == 1)]
        return m


class TxInsertion(wiring.Component):
    """Puts a frame's checksums into its data as the MAC chooses its bytes.

    Contract: ``load``, as a frame starts, takes the checksums offered (``offered``, with
    ``offered_valid``) and whether a tag goes in after byte 11 (``tagged``: offsets of 12 and
    more, those of the frame as queued, move by the tag's four bytes). Then, in each cycle with
    ``step`` (a byte chosen for the line, ``length`` of them chosen before it), ``o`` is ``i``
    or, at a checksum's offset, its high byte and then its low byte, from ``sums`` (the frame's
    checksums as the MAC holds them; ``have_sums`` low until they are known, for a frame started
    early). ``tag`` marks a step over a tag byte, which the MAC sends as it is: within the tag,
    a checksum's low byte waits for the byte after it. A checksum at offset 0 is worked out
    with ``load``, as the byte before it. While ``prepare`` (the MAC waits to start a frame),
    the checksums' offsets are taken from ``offered`` and ``tagged`` in every cycle, so that
    those registers do not wait for the decision to start.

    Members
    -------
    load, prepare : In(1)
    offered : In(TxChecksums)
    offered_valid, tagged : In(1)
    step, tag : In(1)
    length : In(14)
    sums : In(TxChecksums)
    have_sums : In(1)
    i : In(8)
    o : Out(8)
    """
    load: In(1)
    prepare: In(1)
    offered: In(TxChecksums)
    offered_valid: In(1)
    tagged: In(1)
    step: In(1)
    tag: In(1)
    length: In(14)
    sums: In(TxChecksums)
    have_sums: In(1)
    i: In(8)
    o: Out(8)

    def elaborate(self, platform):
        m = Module()
        # Whether the byte chosen this cycle is a checksum's first byte (``*_high``) or its
        # second (``*_low``), registered: worked out a byte ahead, from the offset before the
        # first (``*_mark``, where the tag, if any, moves it; with bit 9 set, the checksum
        # starts the frame and ``load`` says so).
        tu_high, ip_high, tu_low, ip_low = Signal(), Signal(), Signal(), Signal()
        tu_mark, ip_mark = Signal(10), Signal(10)
        offered, sums, length = self.offered, self.sums, self.length

        def mark(offset):
            return offset + Mux(self.tagged & at_least(offset, 12), 3, -1)

        with m.If(self.load | self.prepare):
            m.d.sync += [tu_mark.eq(mark(offered.tucso)), ip_mark.eq(mark(offered.ipcso))]
        with m.If(self.load):
            m.d.sync += [tu_high.eq(self.offered_valid & offered.tu & (offered.tucso == 0)),
                         ip_high.eq(self.offered_valid & offered.ip & (offered.ipcso == 0)),
                         tu_low.eq(0), ip_low.eq(0)]
        with m.Elif(self.step):
            m.d.sync += [
                tu_high.eq(self.have_sums & sums.tu & ~tu_mark[9] & (length == tu_mark)),
                ip_high.eq(self.have_sums & sums.ip & ~ip_mark[9] & (length == ip_mark)),
            ]
            with m.If(~self.tag):
                m.d.sync += [tu_low.eq(tu_high), ip_low.eq(ip_high)]
        m.d.comb += self.o.eq(
            Mux(tu_high, sums.tu_sum[8:], Mux(tu_low, sums.tu_sum[:8],
                Mux(ip_high, sums.ip_sum[8:], Mux(ip_low, sums.ip_sum[:8], self.i)))))
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
        f = self._registers(m)
        out, count, length, cur = f.out, f.count, f.length, f.cur
        with m.FSM(name="txmac") as fsm:
            with m.State("IDLE"):
                self._idle(m, f)
            with m.State("START"):
                self._start(m, f)
            with m.State("PREAMBLE"):
                m.d.comb += [out.en.eq(1), out.byte.eq(Mux(count == 7, SFD, PREAMBLE))]
                m.d.sync += count.eq(count + 1)
                with m.If(count == 7):
                    m.d.sync += count.eq(0)
                    with m.If(f.sending):
                        m.next = "CONTROL"
                    with m.Else():
                        m.d.sync += f.want.eq(f.at_last & ~cur.eop)
                        m.next = "DATA"
            with m.State("DATA"):
                self._data(m, f)
            with m.State("TAG"):
                m.d.comb += [out.en.eq(1), out.crc.eq(1),
                             out.byte.eq(f.tag_bytes.word_select(count[:2], 8)),
                             f.insertion.step.eq(1), f.insertion.tag.eq(1)]
                m.d.sync += [count.eq(count + 1), length.eq(length + 1)]
                with m.If(count == 3):
                    m.d.sync += [count.eq(0), f.want.eq(f.want_after)]
                    m.next = "DATA"
            with m.State("CONTROL"):
                # A PAUSE frame's 18 bytes, then padding.
                m.d.comb += [out.en.eq(1), out.byte.eq(f.pause_bytes.word_select(length[:5], 8)),
                             out.crc.eq(1), out.dest.eq(below(length, 6)),
                             out.first.eq(length == 0)]
                m.d.sync += [length.eq(length + 1), f.aborted.eq(0)]
                with m.If(length == 17):
                    m.next = "PAD"
            with m.State("PAD"):
                m.d.comb += [out.en.eq(1), out.byte.eq(0), out.crc.eq(1)]
                m.d.sync += length.eq(length + 1)
                with m.If(f.padded):
                    with m.If(cur.ifcs | f.tagging | f.sending):
                        m.next = "FCS"
                    with m.Else():
                        m.next = "END"
            with m.State("FCS"):
                # The CRC holds still once fed; its bytes go out least significant first, taken
                # from it as they leave the output register.
                m.d.comb += [out.en.eq(1), out.fcs.eq(1), out.byte.eq(count[:2]),
                             out.er.eq(f.aborted)]
                m.d.sync += [count.eq(count + 1), length.eq(length + 1)]
                with m.If(count == 3):
                    m.next = "END"
            with m.State("END"):
                self._end(m, f)
        self._fsm = fsm
        return m

    def _registers(self, m):
        """The line, the frame's registers and the blocks beside the state machine."""
        f = SimpleNamespace()
        # The line: what the state machine chooses each cycle (``out``) goes out a cycle later.
        # The CRC starts over in the first preamble cycle, from a register (``crc_start``).
        m.submodules.line = f.line = TxLine()
        f.out = Signal(TxLineByte)
        f.crc_start = Signal()
        m.d.comb += [f.line.byte.eq(f.out), f.line.restart.eq(f.crc_start)]
        m.d.sync += f.crc_start.eq(0)
        wiring.connect(m, f.line.gmii, wiring.flipped(self.gmii))

        f.count = Signal(4)         # preamble bytes, FCS bytes
        # Set at each frame's start, so no reset: the flip-flops' reset input takes that zero.
        f.length = length = Signal(14, reset_less=True)
        m.submodules.gap_timer = f.gap = TxGap()
        m.d.comb += f.gap.setting.eq(self.gap)
        # Whether the frame is short of the minimum (``length + 1 < MIN_FRAME``) and whether it
        # reaches it (``length + 1 == MIN_FRAME``), worked out a cycle ahead: where they are
        # used, the length counts up by one a cycle (from 0 in the preamble).
        f.short = Signal()
        f.padded = Signal()
        m.d.sync += [f.short.eq(below(length, MIN_FRAME - 2)),
                     f.padded.eq(length == MIN_FRAME - 2)]

        # The word on the line, its next byte, its last byte, and whether they are the same.
        # ``want`` is the queue's ready, worked out a cycle ahead: after the gap, and with the
        # last byte of a word that is not the frame's last.
        f.cur = Signal(TxWord)
        f.index = Signal(3)
        f.last = Signal(3)
        f.at_last = Signal()
        f.want = Signal(init=1)
        m.d.comb += self.words.ready.eq(f.want)
        m.d.sync += f.want.eq(0)

        # The frame's checksums, taken as it starts if they are there already (else at its end).
        f.sums = Signal(TxChecksums)
        f.have_sums = Signal()
        f.aborted = Signal()        # the frame ends with an error

        # The tag: whether the frame has one, its four bytes, and whether the byte after this
        # one is where it goes (after the twelfth).
        f.tagging = Signal()
        f.tci = Signal(16)
        vet = Signal(16)
        m.d.sync += vet.eq(self.vet)
        f.tag_bytes = Cat(vet[8:], vet[:8], f.tci[8:], f.tci[:8])
        f.tag_next = f.tagging & (length == 11)
        f.want_after = Signal()     # ``want`` once the tag is out

        # The checksums go into the data as it is chosen.
        m.submodules.insertion = f.insertion = TxInsertion()
        m.d.comb += [f.insertion.offered.eq(self.checksums.payload),
                     f.insertion.sums.eq(f.sums), f.insertion.have_sums.eq(f.have_sums),
                     f.insertion.length.eq(length),
                     f.insertion.i.eq(f.cur.data.word_select(f.index, 8))]

        # Flow control: this side's pause, and the PAUSE frame being sent (``sending``), whose
        # bytes come from registers.
        m.submodules.pause = f.pause = PauseTimer()
        wiring.connect(m, wiring.flipped(self.pause), f.pause.pause)
        f.sending = Signal()
        f.held = Signal()           # ``cur`` holds a frame's first word, not started
        f.pause_time = Signal(16)
        f.pause_bytes = Signal(18 * 8)
        m.d.sync += f.pause_bytes.eq(Cat(self.fca, self.station, Const(0x0888, 16),
                                         Const(0x0100, 16), f.pause_time[8:], f.pause_time[:8]))
        return f

    def _take_word(self, m, f):
        word = self.words.payload
        m.d.sync += [f.cur.eq(word), f.index.eq(word.first),
                     f.last.eq(word.first + word.count - 1), f.at_last.eq(word.count == 1)]

    def _begin(self, m, f):
        # The first preamble cycle follows.
        m.d.comb += f.insertion.load.eq(1)
        m.d.sync += [f.count.eq(0), f.length.eq(0), f.crc_start.eq(1)]
        m.next = "PREAMBLE"

    def _idle(self, m, f):
        # After the gap, the frame's first word is taken at once; the frame starts once all of
        # it is queued (then its first word is its last, or ``frame_ready``). A PAUSE frame to
        # send goes first.
        with m.If(~f.gap.over):
            m.d.sync += f.want.eq(f.gap.ending & ~f.held)
        with m.Elif(f.want & self.words.valid):
            self._take_word(m, f)
            m.d.sync += f.held.eq(1)
            m.next = "START"
        with m.Elif(self.control.valid):
            m.d.comb += self.control.ready.eq(1)
            m.d.sync += [f.have_sums.eq(1), f.tagging.eq(0), f.sending.eq(1),
                         f.pause_time.eq(self.control.payload)]
            self._begin(m, f)
        with m.Elif(f.held):
            m.next = "START"
        with m.Else():
            m.d.sync += f.want.eq(1)

    def _start(self, m, f):
        # A frame's first word is in ``cur``.
        # Timing: the insertion's offsets follow the checksums offered here, whether the frame
        # starts or not (the pause and ``frame_ready`` come from afar).
        tagged = self.checksums.valid & self.tags.payload.vlan & self.vme
        m.d.comb += [f.insertion.prepare.eq(1), f.insertion.tagged.eq(tagged)]
        with m.If(f.cur.skip):
            # Not frame data (a segmented frame's header as read): passed over.
            m.d.sync += [f.want.eq(1), f.held.eq(0)]
            m.next = "IDLE"
        with m.Elif(self.control.valid):
            m.next = "IDLE"
        with m.Elif((self.checksums.valid | self.frame_ready) & ~f.pause.paused):
            m.d.comb += [self.checksums.ready.eq(1), self.tags.ready.eq(1),
                         f.insertion.offered_valid.eq(self.checksums.valid)]
            m.d.sync += [f.sums.eq(self.checksums.payload),
                         f.have_sums.eq(self.checksums.valid),
                         f.tagging.eq(tagged), f.tci.eq(self.tags.payload.tci),
                         f.held.eq(0), f.sending.eq(0)]
            self._begin(m, f)

    def _data(self, m, f):
        # A byte of the frame's data a cycle; the next word is taken with the last byte of this
        # one; the tag goes in after the twelfth byte, while the queue waits.
        cur, index, word = f.cur, f.index, self.words.payload
        m.d.comb += [f.out.en.eq(1), f.out.byte.eq(f.insertion.o), f.out.crc.eq(1),
                     f.out.dest.eq(below(f.length, 6)), f.out.first.eq(f.length == 0),
                     f.insertion.step.eq(1)]
        m.d.sync += [index.eq(index + 1), f.at_last.eq(index + 1 == f.last),
                     f.length.eq(f.length + 1)]
        want_next = Signal()
        with m.If(f.want):
            # The word's last byte, and another word follows.
            self._take_word(m, f)
            m.d.comb += want_next.eq((word.count == 1) & ~word.eop)
        with m.Elif(~f.at_last):
            m.d.comb += want_next.eq((index + 1 == f.last) & ~cur.eop)
        with m.Else():
            # The last byte: a frame that asked for checksums or a tag that are not there is
            # aborted.
            bad = cur.abort | ((cur.csum | (cur.vlan & self.vme)) & ~f.have_sums)
            m.d.sync += f.aborted.eq(bad)
            with m.If(bad):
                m.next = "FCS"
            with m.Elif(self.pad & f.short):
                m.next = "PAD"
            with m.Elif(cur.ifcs | f.tagging):
                m.next = "FCS"
            with m.Else():
                m.next = "END"
        with m.If(f.tag_next & (f.want | ~f.at_last)):
            m.d.sync += [f.want_after.eq(want_next), f.count.eq(0)]
            m.next = "TAG"
        with m.Else():
            m.d.sync += f.want.eq(want_next)

    def _end(self, m, f):
        # Report the frame, then keep the line idle for the gap: this cycle, the countdown, the
        # cycle that takes the next frame's first word and the one that starts it (the line runs
        # a cycle behind the state machine throughout, so the gap on it is the same). A frame
        # that ends within its destination address waits a cycle for its last byte to be
        # classified; one started without its checksums takes them now (they come a few cycles
        # after its last word was queued).
        line, stats = f.line, self.stats
        m.d.comb += [self.checksums.ready.eq(~f.have_sums), self.tags.ready.eq(~f.have_sums)]
        with m.If(self.checksums.valid):
            m.d.sync += f.have_sums.eq(1)
        m.d.comb += [
            stats.valid.eq(~line.classifying & f.have_sums),
            stats.payload.length.eq(f.length),
            stats.payload.broadcast.eq(line.dest_ones),
            stats.payload.multicast.eq(line.multicast & ~line.dest_ones),
            stats.payload.aborted.eq(f.aborted),
            stats.payload.tso_last.eq(f.cur.tso_last & ~f.sending),
            stats.payload.xon.eq(f.sending & (f.pause_time == 0)),
            stats.payload.xoff.eq(f.sending & (f.pause_time != 0)),
            f.gap.restart.eq(1),
        ]
        with m.If(stats.valid & stats.ready):
            m.next = "IDLE"

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated)."""
        return {"state": self._fsm.state}
