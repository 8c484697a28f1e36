"""The transmit MAC: frames from the DMA engine onto GMII.

Reference: IEEE 802.3 clause 3 (frame format), 4.2.3.2.1 (the minimum gap), 35 (GMII);
SDM 13.4.33 (TCTL.PSP), 13.4.34 (TIPG).

A frame starts once the DMA engine has queued all of it (``frame_ready``), so it never runs dry
on the wire: seven bytes of preamble, the start delimiter, the data, zero padding up to 60 bytes
when TCTL.PSP asks for it, the FCS when the frame's descriptors asked for it (IFCS), then an idle
gap of TIPG.IPGT byte times, never less than 12. At the end of each frame the MAC reports its
length and destination class to the statistics counters.

The GMII outputs come from registers, a cycle after the state machine chose each byte, and the
FCS is computed over the registered bytes, so the byte selection out of the DMA engine's block
RAM and the CRC are in different cycles; the FCS bytes are read straight from the CRC register.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import crc, data, stream, wiring
from amaranth.lib.wiring import In, Out

from .txdma import TxWord


__all__ = ["TxMAC", "TxFrameStats", "PREAMBLE", "SFD", "MIN_FRAME", "MIN_GAP"]

PREAMBLE = 0x55
SFD = 0xD5
MIN_FRAME = 60          # without FCS
MIN_GAP = 12


class TxFrameStats(data.Struct):
    length: 14          # bytes on the wire after the start delimiter, FCS included
    broadcast: 1
    multicast: 1


class TxMAC(wiring.Component):
    """Members
    -------
    words : In(stream.Signature(TxWord))
    frame_ready : In(1)
    pad : In(1)
        TCTL.PSP.
    gap : In(10)
        TIPG.IPGT.
    txd, tx_en, tx_er : Out(8), Out(1), Out(1)
        GMII transmit.
    stats : Out(stream.Signature(TxFrameStats))
    """
    words: In(stream.Signature(TxWord))
    frame_ready: In(1)
    pad: In(1)
    gap: In(10)
    txd: Out(8)
    tx_en: Out(1)
    tx_er: Out(1)
    stats: Out(stream.Signature(TxFrameStats))

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = fcs = crc.catalog.CRC32_ETHERNET(8).create()

        word = self.words.payload
        count = Signal(4)           # preamble bytes, byte within the word, FCS bytes
        length = Signal(14)
        ifcs = Signal()
        gap = Signal(10)
        gap_over = Signal(init=1)   # gap == 0, registered: the start of a frame fans out widely
        dest_ones = Signal()        # every destination byte so far is 0xFF
        multicast = Signal()

        byte = word.data.word_select(word.first + count, 8)

        # What the state machine puts on the line this cycle, and the output register.
        out_en = Signal()
        out_byte = Signal(8)
        out_fcs = Signal()          # an FCS byte: out_byte's low two bits say which
        out_crc = Signal()          # a byte the FCS covers
        en_q = Signal()
        byte_q = Signal(8)
        fcs_q = Signal()
        crc_q = Signal()
        m.d.sync += [en_q.eq(out_en), byte_q.eq(out_byte), fcs_q.eq(out_fcs), crc_q.eq(out_crc)]
        m.d.comb += [
            fcs.data.eq(byte_q),
            fcs.valid.eq(crc_q),
            self.tx_en.eq(en_q),
            self.txd.eq(Mux(fcs_q, fcs.crc.word_select(byte_q[:2], 8), byte_q)),
        ]

        with m.FSM(name="txmac") as fsm:
            with m.State("IDLE"):
                with m.If(~gap_over):
                    m.d.sync += [gap.eq(gap - 1), gap_over.eq(gap == 1)]
                with m.Elif(self.words.valid & self.frame_ready):
                    m.d.sync += [count.eq(0), length.eq(0), dest_ones.eq(1)]
                    m.d.comb += fcs.start.eq(1)
                    m.next = "PREAMBLE"
            with m.State("PREAMBLE"):
                m.d.comb += [out_en.eq(1), out_byte.eq(Mux(count == 7, SFD, PREAMBLE))]
                m.d.sync += count.eq(count + 1)
                with m.If(count == 7):
                    m.d.sync += count.eq(0)
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += [out_en.eq(1), out_byte.eq(byte), out_crc.eq(1)]
                m.d.sync += [count.eq(count + 1), length.eq(length + 1), ifcs.eq(word.ifcs)]
                with m.If(length == 0):
                    m.d.sync += multicast.eq(byte[0])
                with m.If((length < 6) & (byte != 0xFF)):
                    m.d.sync += dest_ones.eq(0)
                with m.If(count + 1 == word.count):
                    m.d.comb += self.words.ready.eq(1)
                    m.d.sync += count.eq(0)
                    with m.If(word.eop):
                        with m.If(self.pad & (length + 1 < MIN_FRAME)):
                            m.next = "PAD"
                        with m.Elif(word.ifcs):
                            m.next = "FCS"
                        with m.Else():
                            m.next = "END"
            with m.State("PAD"):
                m.d.comb += [out_en.eq(1), out_byte.eq(0), out_crc.eq(1)]
                m.d.sync += length.eq(length + 1)
                with m.If(length + 1 == MIN_FRAME):
                    with m.If(ifcs):
                        m.next = "FCS"
                    with m.Else():
                        m.next = "END"
            with m.State("FCS"):
                # The CRC holds still once fed; its bytes go out least significant first, taken
                # from it as they leave the output register.
                m.d.comb += [out_en.eq(1), out_fcs.eq(1), out_byte.eq(count[:2])]
                m.d.sync += [count.eq(count + 1), length.eq(length + 1)]
                with m.If(count == 3):
                    m.next = "END"
            with m.State("END"):
                # Report the frame, then keep the line idle for the gap: this cycle, the
                # countdown, and the cycle that starts the next frame (the line runs a cycle
                # behind the state machine throughout, so the gap on it is the same).
                m.d.comb += [
                    self.stats.valid.eq(1),
                    self.stats.payload.length.eq(length),
                    self.stats.payload.broadcast.eq(dest_ones),
                    self.stats.payload.multicast.eq(multicast & ~dest_ones),
                ]
                m.d.sync += [gap.eq(Mux(self.gap < MIN_GAP, MIN_GAP, self.gap) - 2),
                             gap_over.eq(0)]
                with m.If(self.stats.ready):
                    m.next = "IDLE"
        self.fsm_state = fsm.state
        return m
