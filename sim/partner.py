"""The far end of the wire: the PHY side of GMII, sending and capturing whole frames.

Simulation only. Everything per byte happens here, in the design the simulator compiles;
Python deals in frames:

- Capture: every byte the MAC transmits (TX_EN high) goes into a ring of bytes, preamble and
  all; at the end of each frame a record (where it starts, how long it is, the cycle it ended,
  whether TX_ER was seen) is appended and ``tx_frames`` counts up.
- Send: Python writes a frame's bytes (preamble and FCS included: errors are Python's to make)
  into a ring, appends a record (where, how long, the earliest cycle to start, RX_ER) and counts
  ``rx_posted`` up. The partner sends the queued frames in order with at least the minimum gap
  between them, logs the cycle each one started, and counts ``rx_sent`` up.

Frames only flow while the link is up: with the cable pulled, the MAC's frames are not captured
and queued frames wait.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from hw.bus import GMIIRxSignature, GMIITxSignature


__all__ = ["LinkPartner", "TxRecord", "RxRecord", "RING_BYTES", "RECORDS"]

RING_BYTES = 1 << 16
RECORDS = 1 << 10


class TxRecord(data.Struct):
    start: 16
    length: 16
    end: 31             # cycle of the last byte, modulo 2**31
    tx_er: 1


class RxRecord(data.Struct):
    start: 16
    length: 16
    not_before: 31      # earliest cycle to start sending, modulo 2**31
    rx_er: 1


class LinkPartner(wiring.Component):
    """Members
    -------
    tx : In(GMIITxSignature)
        What the core transmits.
    rx : Out(GMIIRxSignature)
        What the core receives.
    link : In(1)
    cycle : In(64)
    tx_frames : Out(32)
    rx_posted : In(32)
    rx_sent : Out(32)
    """
    tx: In(GMIITxSignature)
    rx: Out(GMIIRxSignature)
    link: In(1)
    cycle: In(64)
    tx_frames: Out(32)
    rx_posted: In(32)
    rx_sent: Out(32)

    MIN_GAP = 12

    def __init__(self):
        super().__init__()
        self.tx_bytes = memory.Memory(shape=8, depth=RING_BYTES, init=[])
        self.tx_records = memory.Memory(shape=TxRecord, depth=RECORDS, init=[])
        self.rx_bytes = memory.Memory(shape=8, depth=RING_BYTES, init=[])
        self.rx_records = memory.Memory(shape=RxRecord, depth=RECORDS, init=[])
        self.rx_log = memory.Memory(shape=32, depth=RECORDS, init=[])   # start cycle of each

    def elaborate(self, platform):
        m = Module()
        for name in ("tx_bytes", "tx_records", "rx_bytes", "rx_records", "rx_log"):
            m.submodules[name] = getattr(self, name)
        now = self.cycle[:31]

        # Capture.
        tx_write = self.tx_bytes.write_port()
        rec_write = self.tx_records.write_port()
        wp = Signal(16)
        start = Signal(16)
        in_frame = Signal()
        error = Signal()
        capturing = self.tx.tx_en & self.link
        m.d.comb += [tx_write.addr.eq(wp), tx_write.data.eq(self.tx.txd), tx_write.en.eq(capturing)]
        with m.If(capturing):
            m.d.sync += [wp.eq(wp + 1), in_frame.eq(1), error.eq(error | self.tx.tx_er)]
            with m.If(~in_frame):
                m.d.sync += [start.eq(wp), error.eq(self.tx.tx_er)]
        with m.Elif(in_frame):
            record = TxRecord(rec_write.data)
            m.d.comb += [
                rec_write.addr.eq(self.tx_frames[:10]),
                record.start.eq(start),
                record.length.eq(wp - start),
                record.end.eq(now - 1),
                record.tx_er.eq(error),
                rec_write.en.eq(1),
            ]
            m.d.sync += [in_frame.eq(0), self.tx_frames.eq(self.tx_frames + 1)]

        # Send.
        rx_read = self.rx_bytes.read_port(domain="comb")
        rec_read = self.rx_records.read_port(domain="comb")
        log_write = self.rx_log.write_port()
        queued = RxRecord(rec_read.data)
        pos = Signal(16)
        left = Signal(16)
        gap = Signal(range(self.MIN_GAP + 1), init=self.MIN_GAP)
        m.d.comb += [rec_read.addr.eq(self.rx_sent[:10]), rx_read.addr.eq(pos),
                     log_write.addr.eq(self.rx_sent[:10]), log_write.data.eq(self.cycle[:32])]
        with m.FSM(name="partner_rx") as fsm:
            with m.State("GAP"):
                with m.If(gap != 0):
                    m.d.sync += gap.eq(gap - 1)
                with m.Elif(self.link & (self.rx_posted != self.rx_sent)
                            & ((now - queued.not_before)[:31].as_signed() >= 0)
                            & (queued.length != 0)):
                    m.d.sync += [pos.eq(queued.start), left.eq(queued.length)]
                    m.d.comb += log_write.en.eq(1)
                    m.next = "SEND"
                with m.Elif(self.rx_posted != self.rx_sent):
                    with m.If(queued.length == 0):
                        m.d.sync += self.rx_sent.eq(self.rx_sent + 1)
            with m.State("SEND"):
                m.d.comb += [self.rx.rx_dv.eq(1), self.rx.rxd.eq(rx_read.data),
                             self.rx.rx_er.eq(queued.rx_er & (left == 1))]
                m.d.sync += [pos.eq(pos + 1), left.eq(left - 1)]
                with m.If(left == 1):
                    m.d.sync += [self.rx_sent.eq(self.rx_sent + 1), gap.eq(self.MIN_GAP - 1)]
                    m.next = "GAP"
        self.fsm_state = fsm.state
        return m
