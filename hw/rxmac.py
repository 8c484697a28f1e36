"""The receive MAC: frames from GMII into the receive FIFO, checked and filtered.

Reference: IEEE 802.3 clauses 3, 35 and annex 31B (PAUSE); IEEE 802.1Q 9.6 (the tag); SDM
3.2.2 (size checks), 13.4.22 (RCTL), 13.7 (statistics).

Contract: one byte a cycle in (GMII), words out to the FIFO a cycle after they are complete, and
one verdict per frame (commit or roll back, and a report to the counters) before the next frame
can write its first word: frames may follow each other at the minimum gap whatever their length,
fragments of one byte included.

After the preamble and the start delimiter, bytes are packed into 64-bit words for the FIFO
while the FCS is checked (``amaranth.lib.crc``), the header's fields are taken as they go by
(``RxHeader``) and the destination address and VLAN tag run through the filter (``hw.rxfilter``: receive addresses, broadcast, promiscuous modes, the
multicast hash, the VLAN filter table). A frame whose type/length field matches VET is tagged;
with CTRL.VME its four tag bytes are left out of the words (the data closes up behind the source
address) and its tag control information goes with its status (VP). At the end of the frame
(RX_DV low) it is kept if it passed the filter, has a good FCS and a legal length (64 to 1522
bytes, or up to 16384 with RCTL.LPE) and no RX_ER, or, with RCTL.SBP, if it passed the filter
whatever its errors; otherwise it is rolled back (``RxVerdict`` decides). A frame that
overflows the FIFO is rolled back and counted as missed (MPC, ICR.RXO). The IPv4 and TCP/UDP checksums
are checked over the same bytes (``hw.rxcsum``), and their verdict goes with the frame's status.

A MAC control frame is one whose type is FCT (0x8808). A PAUSE (opcode 1, to the flow control
address FCAH:FCAL or to a receive address) with a good FCS and a legal length is reported to the
counters as an XON (a pause time of 0) or an XOFF, and with CTRL.RFCE its pause time goes to the
transmitter (``pause``); it is delivered only if it passes the filter and RCTL.DPF is clear.
Any other control frame is counted as unsupported (FCRUC) and delivered only with RCTL.PMCF.

Every frame is reported to the counters with one outcome (``RxOutcome``), in this order of
precedence: OVERRUN (MPC); RX_ERROR (RXERRC); FRAGMENT, under 64 bytes with a bad FCS (RFC), and
JABBER, over the maximum with a bad FCS (RJC), neither of which needs the filter; FILTERED;
CRC_ERROR (CRCERRS, 64 bytes and over); UNDERSIZE (RUC) and OVERSIZE (ROC), with a good FCS.

The filter settles about 23 cycles after the address's last byte. A frame shorter than that
(a fragment of up to about 10 bytes) may end before it has; if the next frame starts first, the
verdict is taken at once as for a frame that did not pass the filter, so that the next frame is
received whole.
"""

from amaranth.hdl import Cat, Module, Mux, ResetInserter, Signal
from amaranth.lib import crc, data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import GMIIRxSignature
from .compare import at_least, below
from .flow import PauseSignature
from .regmap import reg
from .rxcsum import RxChecksum
from .rxfifo import RxFIFOWriteSignature
from .rxfilter import FilterTablesSignature, RxAddressFilter


__all__ = ["RxMAC", "RxHeader", "RxVerdict", "RxFrameStats", "RxOutcome", "RxControl",
           "MAX_FRAME", "MAX_LONG_FRAME", "MIN_FRAME"]

MIN_FRAME = 64          # with FCS
MAX_FRAME = 1522
MAX_LONG_FRAME = 16384


class RxOutcome(enum.Enum, shape=4):
    ACCEPTED = 0
    FILTERED = 1        # not for us
    CRC_ERROR = 2       # 64 bytes or more, bad FCS
    UNDERSIZE = 3       # under 64 bytes, good FCS
    OVERSIZE = 4        # over the maximum, good FCS
    RX_ERROR = 5
    OVERRUN = 6         # no room in the FIFO
    FRAGMENT = 7        # under 64 bytes, bad FCS
    JABBER = 8          # over the maximum, bad FCS


class RxControl(enum.Enum, shape=2):
    """What a good frame was as a MAC control frame."""
    NONE = 0
    XON = 1             # a PAUSE of 0
    XOFF = 2            # any other PAUSE
    UNSUPPORTED = 3     # another control frame, or a PAUSE to another address


class RxFrameStats(data.Struct):
    length: 15
    outcome: RxOutcome
    control: RxControl


_HEADER_END = 18           # the byte after the last field (a PAUSE's time)


class RxHeader(wiring.Component):
    """The fields of a frame's header, taken as its bytes go by.

    Contract: ``start`` (a frame begins) clears the flags and the byte count; each ``valid``
    byte is the frame's next (from byte 0), with the bytes before it in ``word``'s lanes. Each
    field is registered with its last byte: the destination address with byte 5 (``address_in``
    is high in that cycle; ``dest`` then stays as it is while the filter works on it, into the
    next frame, until that frame's is in); the type compared with VET (``tagged``, and
    ``stripping`` with CTRL.VME) and with FCT (``control``) with byte 13; the tag control
    information (``tci``, also a control frame's opcode) with byte 15; a PAUSE's time with byte
    17.

    Members
    -------
    start, valid : In(1)
    byte : In(8)
    word : In(64)
    vme : In(1)
    vet, fct : In(16)
        CTRL.VME, VET and FCT.
    address_in : Out(1)
    dest : Out(48)
    addressed : Out(1)
        The frame is long enough to have an address.
    tagged, stripping, control : Out(1)
    tci : Out(16)
    tci_in : Out(1)
        The tag control information is complete.
    pause_time : Out(16)
    """
    start: In(1)
    valid: In(1)
    byte: In(8)
    word: In(64)
    vme: In(1)
    vet: In(16)
    fct: In(16)
    address_in: Out(1)
    dest: Out(48)
    addressed: Out(1)
    tagged: Out(1)
    stripping: Out(1)
    control: Out(1)
    tci: Out(16)
    tci_in: Out(1)
    pause_time: Out(16)

    def elaborate(self, platform):
        m = Module()
        vet, fct = Signal(16), Signal(16)
        m.d.sync += [vet.eq(self.vet), fct.eq(self.fct)]
        byte = self.byte
        # Timing: the byte number counted again here, up to the last field's, so that the
        # fields' enables compare five bits rather than the frame length's fifteen.
        length = Signal(range(_HEADER_END + 1))
        with m.If(self.start):
            m.d.sync += length.eq(0)
        with m.Elif(self.valid & (length != _HEADER_END)):
            m.d.sync += length.eq(length + 1)
        kind = Cat(byte, self.word[32:40])
        m.d.comb += self.address_in.eq(self.valid & (length == 5))
        with m.If(self.start):
            m.d.sync += [self.addressed.eq(0), self.tagged.eq(0), self.stripping.eq(0),
                         self.tci_in.eq(0), self.control.eq(0)]
        with m.If(self.address_in):
            m.d.sync += [self.dest.eq(Cat(self.word[:40], byte)), self.addressed.eq(1)]
        with m.If(self.valid & (length == 13)):
            m.d.sync += [self.tagged.eq(kind == vet), self.stripping.eq((kind == vet) & self.vme),
                         self.control.eq(kind == fct)]
        with m.If(self.valid & (length == 14)):
            m.d.sync += self.tci[8:].eq(byte)
        with m.If(self.valid & (length == 15)):
            m.d.sync += [self.tci[:8].eq(byte), self.tci_in.eq(1)]
        with m.If(self.valid & (length == 16)):
            m.d.sync += self.pause_time[8:].eq(byte)
        with m.If(self.valid & (length == 17)):
            m.d.sync += self.pause_time[:8].eq(byte)
        return m


class RxVerdict(wiring.Component):
    """A frame's outcome, whether it is kept, and what it was as a MAC control frame, a cycle
    after its checks.

    Contract: in the cycle after the frame's end (``check``), its length is compared with the
    limits and the FCS's match is taken, into registers (``crc_ok``); ``outcome``, ``keep``,
    ``control`` and ``settled`` are registered from those and the other inputs, a cycle behind
    them (so final two cycles after ``check``); ``settled`` is the filter's ``~busy`` a cycle
    late, so that a verdict read while it is high saw the filter's last answer. ``hurried`` is
    the outcome for a frame that must end before the filter has settled: one that could only be
    counted once it passed is taken as not for us. The PAUSE classification (``opcode`` 1, to
    the flow control address or a receive address) and whether the pause time is zero are
    registered as they come, long before the frame ends, off the verdict's path.

    Members
    -------
    check : In(1)
    length : In(15)
    crc_match : In(1)
        The frame's length and whether its FCS matched, taken with ``check``.
    overflow, rx_error : In(1)
        A word found no room, or the frame reached 32,767 bytes; RX_ER was seen.
    control : In(1)
        The frame's type is FCT.
    rctl : In(RCTL's layout)
        LPE, SBP, DPF and PMCF.
    passed, busy, exact : In(1)
        The filter's results: the frame is for us, the filter is still at work, and the
        destination matched a receive address.
    dest, fca : In(48)
        The destination address, and the flow control address (FCAH:FCAL).
    opcode, pause_time : In(16)
        A control frame's opcode (the bytes after its type) and pause time.
    crc_ok : Out(1)
    outcome : Out(RxOutcome)
    keep : Out(1)
    control_kind : Out(RxControl)
    settled : Out(1)
    hurried : Out(RxOutcome)
    """
    check: In(1)
    length: In(15)
    crc_match: In(1)
    overflow: In(1)
    rx_error: In(1)
    control: In(1)
    rctl: In(reg.RCTL.layout)
    passed: In(1)
    busy: In(1)
    exact: In(1)
    dest: In(48)
    fca: In(48)
    opcode: In(16)
    pause_time: In(16)
    crc_ok: Out(1)
    outcome: Out(RxOutcome)
    keep: Out(1)
    control_kind: Out(RxControl)
    settled: Out(1)
    hurried: Out(RxOutcome)

    # Outcomes whose counter the SDM defines only for frames that passed the address filter.
    _FILTERED_FIRST = (RxOutcome.ACCEPTED, RxOutcome.CRC_ERROR, RxOutcome.UNDERSIZE,
                       RxOutcome.OVERSIZE)

    def elaborate(self, platform):
        m = Module()
        rctl = self.rctl
        crc_ok, runt, too_long = self.crc_ok, Signal(), Signal()
        with m.If(self.check):
            m.d.sync += [crc_ok.eq(self.crc_match), runt.eq(below(self.length, MIN_FRAME)),
                         too_long.eq(Mux(rctl.lpe, at_least(self.length, MAX_LONG_FRAME + 1),
                                         at_least(self.length, MAX_FRAME + 1)))]
        # Timing: registered, long before the frame ends (``exact`` settles with the filter,
        # which END waits for), off the verdict's path. The address compare takes two stages:
        # a byte's compare each, then all six.
        bytes_match = Signal(6)
        m.d.sync += [bytes_match[n].eq(self.dest.word_select(n, 8) == self.fca.word_select(n, 8))
                     for n in range(6)]
        to_fca = Signal()
        is_pause = Signal()
        pause_zero = Signal()
        m.d.sync += [to_fca.eq(bytes_match.all()),
                     is_pause.eq((self.opcode == 1) & (to_fca | self.exact)),
                     pause_zero.eq(self.pause_time == 0)]
        good_control = (self.control & crc_ok & ~runt & ~too_long & ~self.rx_error
                        & ~self.overflow)
        control = Signal(RxControl)
        with m.If(good_control):
            m.d.comb += control.eq(Mux(is_pause, Mux(pause_zero, RxControl.XON, RxControl.XOFF),
                                       RxControl.UNSUPPORTED))
        control_drop = good_control & Mux(is_pause, rctl.dpf, ~rctl.pmcf)

        outcome = Signal(RxOutcome)
        with m.If(self.overflow):
            m.d.comb += outcome.eq(RxOutcome.OVERRUN)
        with m.Elif(self.rx_error):
            m.d.comb += outcome.eq(RxOutcome.RX_ERROR)
        with m.Elif(~crc_ok & runt):
            m.d.comb += outcome.eq(RxOutcome.FRAGMENT)
        with m.Elif(~crc_ok & too_long):
            m.d.comb += outcome.eq(RxOutcome.JABBER)
        with m.Elif(~self.passed | control_drop):
            m.d.comb += outcome.eq(RxOutcome.FILTERED)
        with m.Elif(~crc_ok):
            m.d.comb += outcome.eq(RxOutcome.CRC_ERROR)
        with m.Elif(runt):
            m.d.comb += outcome.eq(RxOutcome.UNDERSIZE)
        with m.Elif(too_long):
            m.d.comb += outcome.eq(RxOutcome.OVERSIZE)
        with m.Else():
            m.d.comb += outcome.eq(RxOutcome.ACCEPTED)
        keep = ((outcome == RxOutcome.ACCEPTED)
                | (rctl.sbp & self.passed & (outcome != RxOutcome.OVERRUN)))
        m.d.sync += [self.outcome.eq(outcome), self.keep.eq(keep), self.settled.eq(~self.busy),
                     self.control_kind.eq(control)]

        with m.If(self.outcome.as_value().matches(*self._FILTERED_FIRST)):
            m.d.comb += self.hurried.eq(RxOutcome.FILTERED)
        with m.Else():
            m.d.comb += self.hurried.eq(self.outcome)
        return m


class RxMAC(wiring.Component):
    """One byte a cycle in from GMII, words out to the FIFO a cycle after they are complete, one
    verdict per frame (commit or roll back, and a report to the counters) before the next frame
    writes its first word: frames may follow at the minimum gap, whatever their length.

    Members
    -------
    gmii : In(GMIIRxSignature)
        GMII receive.
    enable : In(1)
        RCTL.EN and link up: frames that start otherwise are ignored.
    rctl : In(32)
    tables : Out(FilterTablesSignature(addresses))
        The filter's look-ups into the register file's tables.
    vme : In(1)
        CTRL.VME.
    vet : In(16)
        VET.
    rfce : In(1)
        CTRL.RFCE.
    fca : In(48)
        The flow control address (FCAL, FCAH).
    fct : In(16)
        FCT.
    pause : Out(PauseSignature())
        A PAUSE received with RFCE, for the transmitter.
    fifo : Out(RxFIFOWriteSignature())
        To the receive FIFO.
    stats : Out(stream.Signature(RxFrameStats))
    overrun : Out(1)
        Pulse: a frame was lost for want of room (ICR.RXO).
    """
    def __init__(self, *, addresses=16):
        self._addresses = addresses
        super().__init__({
            "gmii": In(GMIIRxSignature),
            "enable": In(1),
            "rctl": In(32),
            "tables": Out(FilterTablesSignature(addresses)),
            "vme": In(1),
            "vet": In(16),
            "rfce": In(1),
            "fca": In(48),
            "fct": In(16),
            "pause": Out(PauseSignature()),
            "fifo": Out(RxFIFOWriteSignature()),
            "stats": Out(stream.Signature(RxFrameStats)),
            "overrun": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        # The CRC starts over through its reset, throughout the preamble: that way its initial
        # value goes to the flip-flops' reset input (a ``start`` input would cost a LUT per bit).
        fcs = crc.catalog.CRC32_ETHERNET(8).create()
        crc_restart = Signal()
        m.submodules.crc = ResetInserter(crc_restart)(fcs)
        # The IPv4 and TCP/UDP checksums, checked over the same bytes as the FCS.
        m.submodules.csum = csum = RxChecksum()
        m.d.comb += [csum.byte.eq(self.gmii.rxd), csum.valid.eq(fcs.valid), csum.start.eq(crc_restart)]
        rctl = reg.RCTL.view(self.rctl)

        # Set at the start of every frame before it is used: no reset, so that the flip-flops'
        # reset input can take that zero.
        length = Signal(15, reset_less=True)
        word = Signal(64)
        m.d.comb += fcs.data.eq(self.gmii.rxd)

        # The header's fields, and the filter, once the destination address is in (the tag's
        # VLAN ID as soon as it is in).
        m.submodules.header = header = RxHeader()
        m.d.comb += [header.byte.eq(self.gmii.rxd),
                     header.word.eq(word), header.vme.eq(self.vme), header.vet.eq(self.vet),
                     header.fct.eq(self.fct)]
        m.submodules.filter = filter = RxAddressFilter(addresses=self._addresses)
        m.d.comb += [
            filter.dest.eq(header.dest), filter.addressed.eq(header.addressed),
            filter.rctl.eq(rctl), filter.tagged.eq(header.tagged), filter.tci.eq(header.tci),
            filter.tci_valid.eq(header.tci_in), filter.start.eq(header.address_in),
        ]
        wiring.connect(m, filter.tables, wiring.flipped(self.tables))
        stripping, tci = header.stripping, header.tci
        # Where the byte being received goes in its word: its place in the frame, less the tag's
        # four bytes once it is left out.
        lane = Mux(stripping, length[:3] ^ 4, length[:3])
        in_tag = stripping & (length[4:] == 0) & (length[1:4] == 7)     # bytes 14 and 15

        # The frame's verdict, from its checks in the cycle after it ends (CHECK).
        rx_error, overflow = Signal(), Signal()
        m.submodules.verdict = verdict = RxVerdict()
        m.d.comb += [
            verdict.length.eq(length), verdict.crc_match.eq(fcs.match_detected),
            verdict.overflow.eq(overflow), verdict.rx_error.eq(rx_error),
            verdict.control.eq(header.control),
            verdict.rctl.eq(rctl), verdict.passed.eq(filter.passed),
            verdict.busy.eq(filter.busy), verdict.exact.eq(filter.exact),
            verdict.dest.eq(header.dest), verdict.fca.eq(self.fca),
            verdict.opcode.eq(tci), verdict.pause_time.eq(header.pause_time),
        ]

        # Words go to the FIFO from registers, a cycle after they are complete: the FIFO is
        # block RAM, across the core. A word that finds no room overflows the frame; the last
        # word is written in CHECK, before the verdict.
        fifo = self.fifo
        m.d.sync += fifo.en.eq(0)
        # So does a frame of 32,767 bytes or more (where its length stops): more than the FIFO
        # holds, whatever the room.
        with m.If((fifo.en & ~fifo.room) | (length == 0x7FFF)):
            m.d.sync += overflow.eq(1)

        def start_or_idle():
            # A frame that starts while the receiver is off is ignored whole.
            with m.If(self.gmii.rx_dv & self.enable):
                m.d.comb += [filter.new_frame.eq(1), header.start.eq(1)]
                m.d.sync += [length.eq(0), rx_error.eq(self.gmii.rx_er), overflow.eq(0)]
                m.next = "PREAMBLE"
            with m.Elif(self.gmii.rx_dv):
                m.next = "IGNORE"
            with m.Else():
                m.next = "IDLE"

        with m.FSM(name="rxmac") as fsm:
            with m.State("IDLE"):
                start_or_idle()
            with m.State("IGNORE"):
                with m.If(~self.gmii.rx_dv):
                    m.next = "IDLE"
            with m.State("PREAMBLE"):
                m.d.comb += crc_restart.eq(1)
                with m.If(~self.gmii.rx_dv):
                    m.next = "IDLE"
                with m.Elif(self.gmii.rxd == 0xD5):
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(self.gmii.rx_dv):
                    m.d.comb += [fcs.valid.eq(1), header.valid.eq(1)]
                    m.d.sync += length.eq(Mux(length == 0x7FFF, length, length + 1))
                    with m.If(self.gmii.rx_er):
                        m.d.sync += rx_error.eq(1)
                    with m.If(~in_tag):
                        m.d.sync += word.word_select(lane, 8).eq(self.gmii.rxd)
                        with m.If(lane == 7):
                            m.d.sync += [fifo.data.eq(Cat(word[:56], self.gmii.rxd)),
                                         fifo.en.eq(1)]
                with m.Else():
                    # The last, partial word.
                    with m.If(lane != 0):
                        m.d.sync += [fifo.data.eq(word), fifo.en.eq(1)]
                    m.next = "CHECK"
            with m.State("CHECK"):
                m.d.comb += [csum.done.eq(1), verdict.check.eq(1)]
                m.next = "VERDICT"
            with m.State("VERDICT"):
                m.next = "SUMS"
            with m.State("SUMS"):
                # The checksums' result, three cycles after ``done``.
                m.next = "END"
            with m.State("END"):
                self._end(m, start_or_idle, length=length, rx_error=rx_error, header=header,
                          filter=filter, verdict=verdict, csum=csum)
        self._fsm = fsm
        return m

    def _end(self, m, start_or_idle, *, length, rx_error, header, filter, verdict, csum):
        # The frame's end (END): its status and its report to the counters, then the verdict.
        fifo = self.fifo
        status = fifo.commit.payload
        m.d.comb += [
            status.length.eq(length - Mux(header.stripping, 4, 0)),
            status.vlan.eq(header.stripping),
            status.tci.eq(header.tci),
            status.crc_error.eq(~verdict.crc_ok),
            status.rx_error.eq(rx_error),
            status.broadcast.eq(filter.broadcast),
            status.multicast.eq(header.dest[0] & ~filter.broadcast),
            status.bad.eq(verdict.outcome != RxOutcome.ACCEPTED),
            status.csum.eq(csum.result),
            self.stats.payload.length.eq(length),
            self.stats.payload.outcome.eq(verdict.outcome),
            self.stats.payload.control.eq(verdict.control_kind),
            self.pause.time.eq(header.pause_time),
        ]
        # Wait for the filter (short frames end before it settles) and for the counters to take
        # the report (a few cycles at most), but not past the next frame's start: its preamble
        # leaves seven cycles to catch its start delimiter.
        with m.If(self.stats.ready & (verdict.settled | self.gmii.rx_dv)):
            m.d.comb += self.stats.valid.eq(1)
            start_or_idle()
            with m.If(verdict.settled):
                m.d.comb += self.pause.load.eq(
                    self.rfce & verdict.control_kind.as_value().matches(RxControl.XON,
                                                                        RxControl.XOFF))
            with m.If(~verdict.settled):
                m.d.comb += [fifo.rollback.eq(1),
                             self.overrun.eq(verdict.outcome == RxOutcome.OVERRUN),
                             self.stats.payload.outcome.eq(verdict.hurried),
                             self.stats.payload.control.eq(RxControl.NONE)]
            with m.Elif(verdict.keep & fifo.commit.ready):
                m.d.comb += fifo.commit.valid.eq(1)
            with m.Else():
                # Not kept, or no room left to queue one more frame.
                lost = (verdict.outcome == RxOutcome.OVERRUN) | verdict.keep
                m.d.comb += [fifo.rollback.eq(1), self.overrun.eq(lost)]
                with m.If(verdict.keep):
                    m.d.comb += self.stats.payload.outcome.eq(RxOutcome.OVERRUN)

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated)."""
        return {"state": self._fsm.state, "overrun": self.overrun}
