"""The receive MAC: frames from GMII into the receive FIFO, checked and filtered.

Reference: IEEE 802.3 clauses 3, 35 and annex 31B (PAUSE); IEEE 802.1Q 9.6 (the tag); SDM
3.2.2 (size checks), 13.4.22 (RCTL), 13.7 (statistics).

Contract: one byte a cycle in (GMII), words out to the FIFO a cycle after they are complete, and
one verdict per frame (commit or roll back, and a report to the counters) before the next frame
can write its first word: frames may follow each other at the minimum gap whatever their length,
fragments of one byte included.

After the preamble and the start delimiter, bytes are packed into 64-bit words for the FIFO
while the FCS is checked (``amaranth.lib.crc``) and the destination address and VLAN tag run
through the filter (``hw.rxfilter``: receive addresses, broadcast, promiscuous modes, the
multicast hash, the VLAN filter table). A frame whose type/length field matches VET is tagged;
with CTRL.VME its four tag bytes are left out of the words (the data closes up behind the source
address) and its tag control information goes with its status (VP). At the
end of the frame (RX_DV low) it is kept if it passed the filter, has a good FCS and
a legal length (64 to 1522 bytes, or up to 16384 with RCTL.LPE) and no RX_ER, or, with RCTL.SBP,
if it passed the filter whatever its errors; otherwise it is rolled back. A frame that overflows
the FIFO is rolled back and counted as missed (MPC, ICR.RXO). The IPv4 and TCP/UDP checksums
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
from .regmap import reg
from .rxcsum import RxChecksum
from .flow import PauseSignature
from .rxfifo import RxStatus
from .rxfilter import FilterTablesSignature, RxAddressFilter


__all__ = ["RxMAC", "RxFrameStats", "RxOutcome", "RxControl", "MAX_FRAME", "MAX_LONG_FRAME",
           "MIN_FRAME"]

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
    w_data, w_en, room, commit, rollback
        To the receive FIFO.
    stats : Out(stream.Signature(RxFrameStats))
    overrun : Out(1)
        Pulse: a frame was lost for want of room (ICR.RXO).
    """
    # Outcomes whose counter the SDM defines only for frames that passed the address filter.
    _FILTERED_FIRST = (RxOutcome.ACCEPTED, RxOutcome.CRC_ERROR, RxOutcome.UNDERSIZE,
                       RxOutcome.OVERSIZE)

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
            "w_data": Out(64),
            "w_en": Out(1),
            "room": In(1),
            "commit": Out(stream.Signature(RxStatus)),
            "rollback": Out(1),
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
        # The destination address, taken whole with its last byte: it then stays as it is while
        # the filter works on it, into the next frame, until that frame's address is in.
        dest = Signal(48)
        addressed = Signal()        # the frame is long enough to have an address
        rx_error = Signal()
        overflow = Signal()
        m.d.comb += fcs.data.eq(self.gmii.rxd)

        # The filter, once the destination address is in, and the tag: whether the type/length
        # field matches VET (registered with its second byte; ``stripping`` with CTRL.VME), and
        # its control information, whose VLAN ID the filter looks up as soon as it is in.
        m.submodules.filter = filter = RxAddressFilter(addresses=self._addresses)
        vet = Signal(16)
        m.d.sync += vet.eq(self.vet)
        tagged = Signal()
        stripping = Signal()
        tci = Signal(16)
        tci_in = Signal()           # the tag control information is complete
        m.d.comb += [
            filter.dest.eq(dest), filter.addressed.eq(addressed), filter.rctl.eq(rctl),
            filter.tagged.eq(tagged), filter.tci.eq(tci), filter.tci_valid.eq(tci_in),
        ]
        wiring.connect(m, filter.tables, wiring.flipped(self.tables))
        broadcast, multicast, exact = filter.broadcast, dest[0], filter.exact
        passed, filtering = filter.passed, filter.busy
        # Where the byte being received goes in its word: its place in the frame, less the tag's
        # four bytes once it is left out.
        lane = Mux(stripping, length[:3] ^ 4, length[:3])
        in_tag = stripping & (length[4:] == 0) & (length[1:4] == 7)     # bytes 14 and 15

        # The frame's checks, registered in the cycle after it ends (CHECK).
        max_length = Mux(rctl.lpe, MAX_LONG_FRAME, MAX_FRAME)
        crc_ok = Signal()
        runt = Signal()
        too_long = Signal()

        # MAC control frames: the type (registered with its second byte), the opcode (in
        # ``tci``, whatever the type) and the pause time, and whether the destination is the
        # flow control address (registered: it is in long before the frame ends).
        control = Signal()
        pause_time = Signal(16)
        to_fca = Signal()
        fct = Signal(16)
        m.d.sync += [to_fca.eq(dest == self.fca), fct.eq(self.fct)]
        good_control = control & crc_ok & ~runt & ~too_long & ~rx_error & ~overflow
        # Timing: registered, long before the frame ends (``exact`` settles with the filter,
        # which END waits for), off the verdict's path.
        is_pause = Signal()
        pause_zero = Signal()
        m.d.sync += [is_pause.eq((tci == 1) & (to_fca | exact)), pause_zero.eq(pause_time == 0)]
        control_kind = Signal(RxControl)
        with m.If(good_control):
            m.d.comb += control_kind.eq(Mux(is_pause, Mux(pause_zero, RxControl.XON,
                                                          RxControl.XOFF),
                                            RxControl.UNSUPPORTED))
        control_drop = good_control & Mux(is_pause, rctl.dpf, ~rctl.pmcf)
        outcome = Signal(RxOutcome)
        with m.If(overflow):
            m.d.comb += outcome.eq(RxOutcome.OVERRUN)
        with m.Elif(rx_error):
            m.d.comb += outcome.eq(RxOutcome.RX_ERROR)
        with m.Elif(~crc_ok & runt):
            m.d.comb += outcome.eq(RxOutcome.FRAGMENT)
        with m.Elif(~crc_ok & too_long):
            m.d.comb += outcome.eq(RxOutcome.JABBER)
        with m.Elif(~passed | control_drop):
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
                | (rctl.sbp & passed & (outcome != RxOutcome.OVERRUN)))
        # The verdict is registered before the end of the frame acts on it (END), a cycle after
        # the checks (VERDICT) and a cycle after the filter has settled (``settled_q``).
        outcome_q = Signal(RxOutcome)
        keep_q = Signal()
        settled_q = Signal()
        control_q = Signal(RxControl)
        m.d.sync += [outcome_q.eq(outcome), keep_q.eq(keep), settled_q.eq(~filtering),
                     control_q.eq(control_kind)]
        # The verdict without the filter, when the next frame starts before it has settled: a
        # frame that could only be counted once it passed is taken as not for us.
        hurried = Signal(RxOutcome)
        with m.If(outcome_q.as_value().matches(*self._FILTERED_FIRST)):
            m.d.comb += hurried.eq(RxOutcome.FILTERED)
        with m.Else():
            m.d.comb += hurried.eq(outcome_q)

        # Words go to the FIFO from registers, a cycle after they are complete: the FIFO is
        # block RAM, across the core. A word that finds no room overflows the frame; the last
        # word is written in CHECK, before the verdict.
        m.d.sync += self.w_en.eq(0)
        # So does a frame of 32,767 bytes or more (where its length stops): more than the FIFO
        # holds, whatever the room.
        with m.If((self.w_en & ~self.room) | (length == 0x7FFF)):
            m.d.sync += overflow.eq(1)

        def start_or_idle():
            # A frame that starts while the receiver is off is ignored whole.
            with m.If(self.gmii.rx_dv & self.enable):
                m.d.comb += filter.new_frame.eq(1)
                m.d.sync += [length.eq(0), rx_error.eq(self.gmii.rx_er), overflow.eq(0),
                             addressed.eq(0), tagged.eq(0), stripping.eq(0), tci_in.eq(0),
                             control.eq(0)]
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
                    m.d.comb += fcs.valid.eq(1)
                    m.d.sync += length.eq(Mux(length == 0x7FFF, length, length + 1))
                    with m.If(self.gmii.rx_er):
                        m.d.sync += rx_error.eq(1)
                    with m.If(length == 5):
                        m.d.comb += filter.start.eq(1)
                        m.d.sync += [dest.eq(Cat(word[:40], self.gmii.rxd)), addressed.eq(1)]
                    with m.If(length == 13):
                        is_tag = Cat(self.gmii.rxd, word[32:40]) == vet
                        m.d.sync += [tagged.eq(is_tag), stripping.eq(is_tag & self.vme),
                                     control.eq(Cat(self.gmii.rxd, word[32:40]) == fct)]
                    with m.If(length == 14):
                        m.d.sync += tci[8:].eq(self.gmii.rxd)
                    with m.If(length == 15):
                        m.d.sync += [tci[:8].eq(self.gmii.rxd), tci_in.eq(1)]
                    with m.If(length == 16):
                        m.d.sync += pause_time[8:].eq(self.gmii.rxd)
                    with m.If(length == 17):
                        m.d.sync += pause_time[:8].eq(self.gmii.rxd)
                    with m.If(~in_tag):
                        m.d.sync += word.word_select(lane, 8).eq(self.gmii.rxd)
                        with m.If(lane == 7):
                            m.d.sync += [self.w_data.eq(Cat(word[:56], self.gmii.rxd)),
                                         self.w_en.eq(1)]
                with m.Else():
                    # The last, partial word.
                    with m.If(lane != 0):
                        m.d.sync += [self.w_data.eq(word), self.w_en.eq(1)]
                    m.next = "CHECK"
            with m.State("CHECK"):
                m.d.comb += csum.done.eq(1)
                m.d.sync += [crc_ok.eq(fcs.match_detected), runt.eq(length < MIN_FRAME),
                             too_long.eq(length > max_length)]
                m.next = "VERDICT"
            with m.State("VERDICT"):
                m.next = "SUMS"
            with m.State("SUMS"):
                # The checksums' result, three cycles after ``done``.
                m.next = "END"
            with m.State("END"):
                status = self.commit.payload
                m.d.comb += [
                    status.length.eq(length - Mux(stripping, 4, 0)),
                    status.vlan.eq(stripping),
                    status.tci.eq(tci),
                    status.crc_error.eq(~crc_ok),
                    status.rx_error.eq(rx_error),
                    status.broadcast.eq(broadcast),
                    status.multicast.eq(multicast & ~broadcast),
                    status.bad.eq(outcome_q != RxOutcome.ACCEPTED),
                    status.csum.eq(csum.result),
                    self.stats.payload.length.eq(length),
                    self.stats.payload.outcome.eq(outcome_q),
                    self.stats.payload.control.eq(control_q),
                    self.pause.time.eq(pause_time),
                ]
                # Wait for the filter (short frames end before it settles) and for the counters
                # to take the report (a few cycles at most), but not past the next frame's
                # start: its preamble leaves seven cycles to catch its start delimiter.
                with m.If(self.stats.ready & (settled_q | self.gmii.rx_dv)):
                    m.d.comb += self.stats.valid.eq(1)
                    start_or_idle()
                    with m.If(settled_q):
                        m.d.comb += self.pause.load.eq(
                            self.rfce & control_q.as_value().matches(RxControl.XON,
                                                                      RxControl.XOFF))
                    with m.If(~settled_q):
                        m.d.comb += [self.rollback.eq(1),
                                     self.overrun.eq(outcome_q == RxOutcome.OVERRUN),
                                     self.stats.payload.outcome.eq(hurried),
                                     self.stats.payload.control.eq(RxControl.NONE)]
                    with m.Elif(keep_q & self.commit.ready):
                        m.d.comb += self.commit.valid.eq(1)
                    with m.Else():
                        # Not kept, or no room left to queue one more frame.
                        lost = (outcome_q == RxOutcome.OVERRUN) | keep_q
                        m.d.comb += [self.rollback.eq(1), self.overrun.eq(lost)]
                        with m.If(keep_q):
                            m.d.comb += self.stats.payload.outcome.eq(RxOutcome.OVERRUN)
        self._fsm = fsm
        return m

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated)."""
        return {"state": self._fsm.state, "overrun": self.overrun}
