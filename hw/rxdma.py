"""The receive DMA engine: frames from the receive FIFO into host buffers, status written back.

Reference: SDM 3.2 (receive descriptors, ring, buffer sizes, write-back), 3.4.1 (RXT0, RDTR,
RADV), 13.4.22 (RCTL.BSIZE/BSEX/SECRC/RDMTS), 13.4.26-13.4.30 (RDBAL..RDT).

For each frame the FIFO has committed: if the engine is off, the frame is dropped whole and
counted as missed (MPC, ICR.RXO), and host memory is not touched. Otherwise it takes prefetched
descriptors, waiting for them when the ring has none free (RDH == RDT; counted once per frame in
RNBC), as the frame stays in the FIFO meanwhile and the FIFO keeps receiving behind it; it writes
the frame into their buffers (RCTL's buffer size; a frame larger than one buffer continues in
the next, and EOP marks the last), any byte alignment of a buffer, without the FCS when
RCTL.SECRC is set, then writes each descriptor's length, DD (and EOP) and error bits back and
moves RDH past it; the last one also gets the checksum results RXCSUM asks for (IPCS/TCPCS,
IPE/TCPE, or IXSM). After a frame: RXT0 through the delay timers, and RXDMT0 when the free
descriptors fall to the threshold.

Frame data moves a byte a cycle, as fast as the line delivers it: from its lane in the FIFO's
word to its lane in the outgoing beat. Aligning a buffer then needs no shifter; what a frame
costs beyond its bytes (its descriptor, commands and write-back, about a dozen cycles) fits in
the gap and preamble between frames, so back-to-back frames of any size keep up with the line
as long as each takes one buffer.

The engine is four blocks: ``RingHead`` (RDH), ``DescriptorPrefetch``, and here
``RxFrameSequencer`` (a frame's buffers, its statistics and interrupts), ``RxFrameBytes`` (the
frame's bytes out of the FIFO's words) and ``RxBufferWriter`` (one buffer's bytes and its
descriptor's status into host memory).
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import DMAReadSignature, DMAWriteBeat, DMAWriteSignature, RegBusSignature, decode, share
from .compare import at_least
from .delay import InterruptDelay
from .desc import RXD_ERR, RXD_STA, RxDescriptor
from .pipe import HalfRateRegister, StreamRegister
from .regmap import RX_BUFFER_SIZES, reg
from .ring import DescriptorPrefetch, RingConfig, RingHead
from .rxfifo import RxStatus


__all__ = ["RxDMA", "RxDeliveryStats", "RxBufferJob", "FrameReadSignature", "RxFrameBytes",
           "RxBufferWriter", "RxFrameSequencer"]

MAX_BURST = 256
_BURST_BITS = MAX_BURST.bit_length() - 1
assert MAX_BURST == 1 << _BURST_BITS


class RxDeliveryStats(data.Struct):
    length: 15
    broadcast: 1
    multicast: 1
    missed: 1           # dropped: the engine is off
    no_buffers: 1       # the frame waits: the ring has no free descriptor (only this is counted)
    bad: 1              # kept only because of RCTL.SBP: not a good frame


class RxBufferJob(data.Struct):
    """One descriptor's share of a frame: ``size`` bytes into the buffer at ``address`` (any
    byte alignment: its low three bits are the lane of the first byte in its quadword)."""
    address: 64
    size: 16
    empty: 1        # ``size`` is 0: the job only writes the descriptor's status back


# Control of the frame being read out of the receive FIFO, from the sequencer's side: ``start``
# (a pulse) begins a frame of ``length`` bytes; while ``drain`` is high its words are taken
# whole and thrown away; ``all_taken`` says none of them is left in the FIFO.
FrameReadSignature = wiring.Signature({
    "start": Out(1),
    "length": Out(15),
    "drain": Out(1),
    "all_taken": In(1),
})


class RxFrameBytes(wiring.Component):
    """A frame's bytes one a cycle out of the FIFO's 64-bit words: ``bytes`` is valid whenever
    ``words`` is, straight from it (the byte's lane a register), and taking a word's eighth byte
    takes the word. While ``frame.drain`` is high, whole words are taken instead, one a cycle,
    until the frame's are all gone. ``frame.start`` resets the count and the lane.

    Members
    -------
    frame : In(FrameReadSignature)
    words : In(stream.Signature(64))
    bytes : Out(stream.Signature(8))
    """
    frame: In(FrameReadSignature)
    words: In(stream.Signature(64))
    bytes: Out(stream.Signature(8))

    def elaborate(self, platform):
        m = Module()
        frame, words, out = self.frame, self.words, self.bytes
        # The frame's words still in the FIFO, and whether none are: registered, as the frame's
        # end waits on it, and the end reaches the statistics and the delay timers.
        to_take = Signal(13)
        lane = Signal(3)            # of the frame's next byte in the FIFO's word
        word_end = Signal()         # lane == 7
        m.d.comb += [
            out.payload.eq(words.payload.word_select(lane, 8)),
            out.valid.eq(words.valid),
            words.ready.eq(Mux(frame.drain, ~frame.all_taken, out.ready & word_end)),
        ]
        with m.If(frame.start):
            m.d.sync += [to_take.eq((frame.length + 7) >> 3), frame.all_taken.eq(frame.length == 0),
                         lane.eq(0), word_end.eq(0)]
        with m.If(out.valid & out.ready):
            m.d.sync += [lane.eq(lane + 1), word_end.eq(lane == 6)]
        with m.If(words.valid & words.ready):
            m.d.sync += [to_take.eq(to_take - 1), frame.all_taken.eq(to_take == 1)]
        return m


def _next_burst(m, beats_left):
    """The beats of the next write command, registered: ``beats_left``, at most ``MAX_BURST``."""
    burst = Signal(range(MAX_BURST + 1))
    # beats_left > MAX_BURST (a power of 2), from its bits rather than through a comparator.
    over = (beats_left[_BURST_BITS + 1:].any()
            | (beats_left[_BURST_BITS] & beats_left[:_BURST_BITS].any()))
    m.d.sync += burst.eq(Mux(over, MAX_BURST, beats_left))
    return burst


def _load_lanes(m, beat, *, clear, load, lane, byte):
    """Each byte of the 64-bit ``beat`` is cleared (a reset, in the flip-flops) or, when
    ``load``, loaded with ``byte`` if it is byte ``lane`` (an enable): no shifter."""
    for n in range(8):
        with m.If(clear):
            m.d.sync += beat[8 * n:8 * n + 8].eq(0)
        with m.Elif(load & (lane == n)):
            m.d.sync += beat[8 * n:8 * n + 8].eq(byte)


class RxBufferWriter(wiring.Component):
    """Takes a job when idle, writes its bytes (taken from ``bytes`` a byte a cycle) into the
    buffer in write commands of up to 256 beats, then one beat of the descriptor's status
    quadword (``status``, at ``status_offset`` from the ring's base, read as it goes out);
    ``done`` is high for the cycle that beat leaves. The next job is taken in the cycle after.
    About a dozen cycles per job beyond its bytes. Write completions are not waited for: writes
    land in order.

    Members
    -------
    job : In(stream.Signature(RxBufferJob))
    bytes : In(stream.Signature(8))
    dma : Out(DMAWriteSignature)
    status_offset : In(20)
    status : In(64)
        The descriptor's second quadword: length, checksum, status, errors and special.
    done : Out(1)
    """
    job: In(stream.Signature(RxBufferJob))
    bytes: In(stream.Signature(8))
    dma: Out(DMAWriteSignature)
    status_offset: In(20)
    status: In(64)
    done: Out(1)

    def elaborate(self, platform):
        m = Module()
        r = self._registers(m)
        cmd = self.dma.wr_cmd
        with m.FSM(name="writer") as fsm:
            with m.State("IDLE"):
                self._take(m, r)
            with m.State("PLAN"):
                # The next write's length is worked out from the new position and registered,
                # and whether it is the buffer's last from the beats it has left.
                m.d.sync += r.final.eq(r.beats_left == 1)
                m.next = "COMMAND"
            with m.State("COMMAND"):
                m.d.comb += [cmd.payload.len.eq(r.burst - 1), cmd.valid.eq(1)]
                with m.If(cmd.ready):
                    m.d.sync += [r.chunk.eq(r.burst), r.cmd_offset.eq(r.cmd_offset + r.burst * 8),
                                 r.last.eq(r.burst == 1), r.in_data.eq(1)]
                    m.next = "DATA"
            with m.State("DATA"):
                self._data(m, r)
            with m.State("STATUS_COMMAND"):
                m.d.comb += [cmd.payload.len.eq(0), cmd.valid.eq(1)]
                with m.If(cmd.ready):
                    m.d.sync += r.send.eq(1)
                    m.next = "STATUS_DATA"
            with m.State("STATUS_DATA"):
                with m.If(r.goes):
                    m.d.sync += r.send.eq(0)
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
        self._fsm = fsm
        self._move(m, r)
        return m

    def _registers(self, m):
        """The write command's registers, the beat being filled and its way out."""
        r = SimpleNamespace()
        r.in_data = Signal()        # in DATA: a flag of its own, not a decode of the state
        m.d.comb += self.dma.wr_done.ready.eq(1)
        # Write commands name a base and an offset, registers: the buffer's first quadword and
        # the next beat's offset from it, then the ring (whose base the DMA arbiter holds) and
        # the offset of the status quadword. The address is added up in the arbiter.
        r.cmd_base = Signal(64)
        r.cmd_ring = Signal()
        r.cmd_offset = Signal(20)
        cmd = self.dma.wr_cmd
        m.d.comb += [cmd.payload.base.eq(r.cmd_base), cmd.payload.ring.eq(r.cmd_ring),
                     cmd.payload.offset.eq(r.cmd_offset)]
        r.wr_lane = Signal(3)       # of the buffer's next byte in the beat
        r.strb = Signal(8)
        r.to_move = Signal(16)      # of this buffer's bytes
        r.moving = Signal()         # to_move != 0, registered
        r.send = Signal()           # the beat is complete and waits to go out
        # The buffer's beats and the current write command's, counted down as beats go out.
        r.beats_left = Signal(13)
        r.chunk = Signal(9)
        r.last = Signal()           # chunk == 1
        r.final = Signal()          # beats_left == 1
        r.burst = _next_burst(m, r.beats_left)     # beats in the next write command

        # Beats leave through a register slice, taken only while it is empty: a beat takes at
        # least eight cycles to fill but for a buffer's first and last, so the slice is almost
        # always empty by then, and the bus's ready reaches only the slice.
        m.submodules.out = out_slice = StreamRegister(DMAWriteBeat)
        wiring.connect(m, out_slice.o, wiring.flipped(self.dma.wr_data))
        out = out_slice.i
        r.goes = r.send & ~out_slice.o.valid
        # The status quadword goes out of the same register as the data: ``beat`` is cleared
        # after the buffer's last beat, and the status is ORed in. The clear comes from a
        # register, in the first cycle of STATUS_COMMAND: the beat is not used again before
        # STATUS_DATA.
        beat = Signal(64)
        r.write_back = Signal()
        r.clear = Signal()
        m.d.sync += r.clear.eq(0)
        r.moved = Signal()
        _load_lanes(m, beat, clear=r.clear, load=r.moved, lane=r.wr_lane,
                    byte=self.bytes.payload)
        m.d.comb += [out.payload.data.eq(beat | Mux(r.write_back, self.status, 0)),
                     out.payload.strb.eq(r.strb), out.payload.last.eq(r.last),
                     out.valid.eq(r.goes)]
        return r

    def _point_status(self, m, r):
        m.d.sync += [r.cmd_ring.eq(1), r.cmd_offset.eq(self.status_offset)]

    def _to_status(self, m, r):
        # The status quadword goes next, out of a cleared beat (the command's ring and offset
        # are loaded already).
        m.d.sync += [r.strb.eq(0xFF), r.last.eq(1), r.write_back.eq(1), r.clear.eq(1)]
        m.next = "STATUS_COMMAND"

    def _take(self, m, r):
        # A job, taken when it comes.
        job = self.job
        m.d.comb += job.ready.eq(1)
        start = job.payload.address[:3]
        size = job.payload.size
        # Timing: the command's base and offset load in every idle cycle, valid job or not, so
        # that the handshake does not reach their 85 flip-flops; and the offset is chosen by a
        # flag that comes with the job, rather than by a compare of its size.
        m.d.sync += r.cmd_base.eq(job.payload.address & ~7)
        with m.If(job.payload.empty):
            self._point_status(m, r)
        with m.Else():
            m.d.sync += [r.cmd_ring.eq(0), r.cmd_offset.eq(0)]
        with m.If(job.valid):
            m.d.sync += [r.wr_lane.eq(start), r.strb.eq(0), r.write_back.eq(0),
                         r.to_move.eq(size), r.moving.eq(~job.payload.empty),
                         r.beats_left.eq((start + size + 7) >> 3)]
            with m.If(job.payload.empty):
                self._to_status(m, r)
            with m.Else():
                m.next = "PLAN"

    def _data(self, m, r):
        # The write command's beats go (their bytes move in ``_move``); after its last, the
        # next command, or the status.
        with m.If(r.final):
            # This buffer's last write command is out: the status's offset can be loaded
            # already, away from the beat's handshake.
            self._point_status(m, r)
        with m.If(r.goes):
            m.d.sync += [r.send.eq(0), r.strb.eq(0), r.beats_left.eq(r.beats_left - 1),
                         r.final.eq(r.beats_left == 2), r.chunk.eq(r.chunk - 1),
                         r.last.eq(r.chunk == 2)]
            with m.If(r.last):
                m.d.sync += r.in_data.eq(0)
                with m.If(r.final):
                    self._to_status(m, r)
                with m.Else():
                    m.next = "PLAN"

    def _move(self, m, r):
        """In DATA, a byte moves from ``bytes`` into the beat, unless a complete beat is still
        waiting for the slice. Timing: from registers only, the state among them as the flag
        ``in_data``: the byte stream's valid comes from the receive FIFO, across the core.
        While the beat goes, its register can take the next beat's first byte already, but not
        after the last beat of a write command: that byte may complete the next beat (the
        buffer's last), which must wait for its own command."""
        src = self.bytes
        room = ~r.send | (r.goes & ~r.last)
        move = r.in_data & r.moving & src.valid & room
        m.d.comb += [r.moved.eq(move), src.ready.eq(r.in_data & r.moving & room)]
        with m.If(move):
            m.d.sync += [
                r.strb.eq(Mux(r.goes, 0, r.strb) | (1 << r.wr_lane)),
                r.wr_lane.eq(r.wr_lane + 1),
                r.to_move.eq(r.to_move - 1),
                r.moving.eq(r.to_move != 1),
                r.send.eq((r.wr_lane == 7) | (r.to_move == 1)),
            ]


class RxFrameSequencer(wiring.Component):
    """Takes a committed frame's ``status``, starts reading it (``frame``), hands out one job
    per descriptor (a buffer's share of what is left) and, after each ``done``, the next, until
    the frame is delivered; then drains what is left of it (its FCS with RCTL.SECRC, or all of
    it when the engine is off) and reports it on ``stats``, taking its status in the same
    cycle. ``status_word`` is the current descriptor's write-back quadword. ``rxo`` and
    ``delivered`` are one-cycle pulses a cycle after the report, ``rxdmt0`` (the free count at
    the threshold, for frames that met an enabled engine) two cycles after it.

    Members
    -------
    status : In(stream.Signature(RxStatus))
    frame : Out(FrameReadSignature)
    descs : In(stream.Signature(RxDescriptor))
    job : Out(stream.Signature(RxBufferJob))
    done : In(1)
    status_word : Out(64)
    enable : In(1)
    rctl, rxcsum : In(32)
    count, free : In(16)
    empty : In(1)
        The ring's size and its free descriptors; none free.
    stats : Out(stream.Signature(RxDeliveryStats))
    rxo, rxdmt0, delivered : Out(1)
    """
    status: In(stream.Signature(RxStatus))
    frame: Out(FrameReadSignature)
    descs: In(stream.Signature(RxDescriptor))
    job: Out(stream.Signature(RxBufferJob))
    done: In(1)
    status_word: Out(64)
    enable: In(1)
    rctl: In(32)
    rxcsum: In(32)
    count: In(16)
    free: In(16)
    empty: In(1)
    stats: Out(stream.Signature(RxDeliveryStats))
    rxo: Out(1)
    rxdmt0: Out(1)
    delivered: Out(1)

    def elaborate(self, platform):
        m = Module()
        rctl = reg.RCTL.view(self.rctl)
        frame = Signal(RxStatus)
        m.d.comb += [
            self.frame.length.eq(frame.length),
            self.stats.payload.length.eq(frame.length),
            self.stats.payload.broadcast.eq(frame.broadcast),
            self.stats.payload.multicast.eq(frame.multicast),
            self.stats.payload.bad.eq(frame.bad),
        ]
        # Buffer size from BSIZE and BSEX. Registered: RCTL comes from across the core, and
        # software sets it before enabling.
        buffer_size = Signal(15)
        with m.Switch(Cat(rctl.bsize, rctl.bsex)):
            for (bsex, bsize), size in RX_BUFFER_SIZES.items():
                with m.Case(bsize | bsex << 2):
                    m.d.sync += buffer_size.eq(size)
        left = Signal(16)           # bytes still to deliver
        n = Signal(16)              # bytes into this buffer
        # Bytes for the next buffer, registered: worked out in the SIZE state from ``left``.
        size = Signal(16)
        m.d.sync += size.eq(Mux(left > buffer_size, buffer_size, left))
        # Whether that is 0, beside it (a reserved BSIZE/BSEX leaves the size at reset's 0).
        size_empty = Signal()
        m.d.sync += size_empty.eq((left == 0) | (buffer_size == 0))
        # Whether this buffer ends the frame: registered, as ``left`` and ``n`` are set at least a
        # cycle before the write-back that uses it.
        last_buffer = Signal()
        m.d.sync += last_buffer.eq(left == n)
        # Whether the engine is off, registered: RCTL.EN is in the register file, across the
        # core, and taking a descriptor depends on it.
        off = Signal()
        m.d.sync += off.eq(~self.enable)
        dropped = Signal()          # the engine was off when the frame came: it is not delivered
        delivered = Signal()        # the whole frame went into buffers
        waited = Signal()           # the frame was counted as waiting for descriptors
        strip = Signal()            # the frame's FCS is stripped (RCTL.SECRC)
        threshold_check = Signal()  # a frame is done: compare ``free`` once it is current
        m.d.sync += [self.rxo.eq(0), self.delivered.eq(0), threshold_check.eq(0),
                     self.rxdmt0.eq(threshold_check
                                    & (self.free == (self.count >> (rctl.rdmts + 1))))]
        m.d.comb += self.status_word.eq(self._status_word(m, frame, n, last_buffer))
        # The job's payload straight from registers, whatever the state: the writer loads its
        # command's base from it in every idle cycle, and the state would otherwise be on
        # that path to its 84 flip-flops.
        m.d.comb += [self.job.payload.address.eq(self.descs.payload.buffer_addr),
                     self.job.payload.size.eq(size), self.job.payload.empty.eq(size_empty)]

        with m.FSM(name="rxdma") as fsm:
            with m.State("IDLE"):
                # The frame's status is registered first: it comes from the FIFO, across the
                # core.
                with m.If(self.status.valid):
                    m.d.sync += [frame.eq(self.status.payload),
                                 strip.eq(rctl.secrc & at_least(self.status.payload.length, 4))]
                    m.next = "START"
            with m.State("START"):
                m.d.comb += self.frame.start.eq(1)
                m.d.sync += [left.eq(frame.length - Mux(strip, 4, 0)), waited.eq(0),
                             dropped.eq(off), delivered.eq(0)]
                with m.If(off):
                    # Missed: its words are taken out, nothing is touched.
                    m.next = "DISCARD"
                with m.Else():
                    m.next = "SIZE"
            with m.State("SIZE"):
                # The next buffer's share of the frame is worked out from ``left``.
                m.next = "DESCRIPTOR"
            with m.State("DESCRIPTOR"):
                with m.If(off):
                    # Turned off in the middle of a frame: the rest is lost.
                    m.d.sync += delivered.eq(left == 0)
                    m.next = "DISCARD"
                with m.Else():
                    # Timing: ready depends on the state, ``off`` and the writer's state alone;
                    # it reaches through the prefetcher's slice into its queue.
                    m.d.comb += self.descs.ready.eq(self.job.ready)
                with m.If(~off & ~self.descs.valid & self.empty & ~waited):
                    # None to take, and none will come before software hands some back.
                    m.d.comb += [self.stats.valid.eq(1), self.stats.payload.no_buffers.eq(1)]
                    with m.If(self.stats.ready):
                        m.d.sync += waited.eq(1)
                m.d.comb += self.job.valid.eq(~off & self.descs.valid)
                with m.If(self.job.valid & self.job.ready):
                    m.d.sync += n.eq(size)
                    m.next = "WRITE"
            with m.State("WRITE"):
                with m.If(self.done):
                    m.d.sync += left.eq(left - n)
                    with m.If(last_buffer):
                        m.d.sync += delivered.eq(1)
                        m.next = "DISCARD"
                    with m.Else():
                        m.next = "SIZE"
            with m.State("DISCARD"):
                # The FCS (with SECRC) or an undelivered rest; then the frame is done.
                m.d.comb += self.frame.drain.eq(1)
                with m.If(self.frame.all_taken):
                    m.d.comb += [
                        self.status.ready.eq(self.stats.ready),
                        self.stats.valid.eq(1),
                        self.stats.payload.missed.eq(~delivered),
                    ]
                    with m.If(self.stats.ready):
                        m.d.sync += [self.delivered.eq(delivered), self.rxo.eq(~delivered),
                                     threshold_check.eq(~dropped)]
                        m.next = "IDLE"
        self._fsm = fsm
        return m

    def _status_word(self, m, frame, n, last_buffer):
        """The write-back quadword: length, checksum (unused), status, errors, special."""
        # The checksum results go with the frame's last descriptor, as RXCSUM asks (SDM 3.2.9):
        # IXSM when it asks for none of them.
        rxcsum = reg.RXCSUM.view(self.rxcsum)
        ipofl, tuofl = rxcsum.ipofl, rxcsum.tuofl
        result = frame.csum
        ip_checked = ipofl & result.ipv4
        l4_checked = tuofl & result.l4
        offload = Signal(8)
        offload_errors = Signal(8)
        # Registered: RXCSUM comes from across the core, the results with the frame, long before
        # the write-back.
        m.d.sync += [
            offload.eq(Mux(~ipofl & ~tuofl, RXD_STA.IXSM, 0) | Mux(ip_checked, RXD_STA.IPCS, 0)
                       | Mux(l4_checked, RXD_STA.TCPCS, 0)),
            offload_errors.eq(Mux(ip_checked & ~result.ip_ok, RXD_ERR.IPE, 0)
                              | Mux(l4_checked & ~result.l4_ok, RXD_ERR.TCPE, 0)),
        ]
        # A stripped tag goes with every descriptor of the frame, as VP and the special field.
        status = (Const(RXD_STA.DD, 8) | Mux(last_buffer, RXD_STA.EOP | offload, 0)
                  | Mux(frame.vlan, RXD_STA.VP, 0))
        errors = (Mux(frame.crc_error, RXD_ERR.CE, 0) | Mux(frame.rx_error, RXD_ERR.RXE, 0)
                  | Mux(last_buffer, offload_errors, 0))
        return Cat(n[:16], Const(0, 16), status, errors[:8], Mux(frame.vlan, frame.tci, 0))


class RxDMA(wiring.Component):
    """A committed frame's status in, its words taken a byte a cycle (the line's rate) into buffers
    at any alignment, each descriptor written back after its buffer and RDH moved past it; one
    ``stats`` report per frame; ``rxt0``, ``rxdmt0`` and ``rxo`` are one-cycle pulses.

    Members
    -------
    bus : In(RegBusSignature)
        RDH, and RDTR's flush bit.
    ring : In(RingConfig)
        RCTL.EN with bus mastering on, RDLEN, RDT. (The ring's base goes to the DMA
        arbiter.)
    descriptors : Out(DMAReadSignature)
        Descriptor reads (the prefetcher's).
    buffers : Out(DMAWriteSignature)
        Frame data and status write-back.
    rctl : In(32)
    rxcsum : In(32)
        RXCSUM: which checksum results go into the descriptor.
    rdtr, radv : In(16)
    status : In(stream.Signature(RxStatus))
    words : In(stream.Signature(64))
        Frame data from the receive FIFO.
    stats : Out(stream.Signature(RxDeliveryStats))
    rxt0, rxdmt0, rxo : Out(1)
    """
    bus: In(RegBusSignature)
    ring: In(RingConfig)
    descriptors: Out(DMAReadSignature)
    buffers: Out(DMAWriteSignature)
    rctl: In(32)
    rxcsum: In(32)
    rdtr: In(16)
    radv: In(16)
    status: In(stream.Signature(RxStatus))
    words: In(stream.Signature(64))
    stats: Out(stream.Signature(RxDeliveryStats))
    rxt0: Out(1)
    rxdmt0: Out(1)
    rxo: Out(1)

    def elaborate(self, platform):
        m = Module()
        m.submodules.head = head = RingHead(reg.RDH)
        m.submodules.prefetch = prefetch = DescriptorPrefetch(layout=RxDescriptor)
        m.submodules.sequencer = sequencer = RxFrameSequencer()
        m.submodules.bytes = frame_bytes = RxFrameBytes()
        m.submodules.writer = writer = RxBufferWriter()
        m.submodules.delay = delay = InterruptDelay()
        self._blocks = head, sequencer, writer

        bus = self.bus
        share(m, bus, [head])
        wiring.connect(m, wiring.flipped(self.ring), head.config)
        wiring.connect(m, head.ring, prefetch.ring)
        wiring.connect(m, prefetch.dma, wiring.flipped(self.descriptors))
        wiring.connect(m, prefetch.descs, sequencer.descs)
        wiring.connect(m, wiring.flipped(self.status), sequencer.status)
        wiring.connect(m, sequencer.frame, frame_bytes.frame)
        wiring.connect(m, wiring.flipped(self.words), frame_bytes.words)
        # Timing: a job goes to the writer through a register that holds one: the sequencer's
        # decision to hand one out (its state, the descriptor's arrival, the engine's enable)
        # had reached the writer's registers' enables six LUTs deep. A job writes at least a
        # status quadword, tens of cycles; it now starts a cycle later.
        m.submodules.to_writer = to_writer = HalfRateRegister(RxBufferJob)
        wiring.connect(m, sequencer.job, to_writer.i)
        wiring.connect(m, to_writer.o, writer.job)
        wiring.connect(m, frame_bytes.bytes, writer.bytes)
        wiring.connect(m, writer.dma, wiring.flipped(self.buffers))
        wiring.connect(m, sequencer.stats, wiring.flipped(self.stats))
        m.d.comb += [
            sequencer.enable.eq(self.ring.enable),
            sequencer.rctl.eq(self.rctl),
            sequencer.rxcsum.eq(self.rxcsum),
            sequencer.count.eq(head.ring.count),
            sequencer.free.eq(head.free),
            sequencer.empty.eq(head.empty),
            writer.status_offset.eq(head.status_offset),
            writer.status.eq(sequencer.status_word),
            sequencer.done.eq(writer.done),
            head.advance.eq(writer.done),
            self.rxo.eq(sequencer.rxo),
            self.rxdmt0.eq(sequencer.rxdmt0),
        ]

        # RXT0: the delay timers start a cycle after a delivered frame is reported.
        m.d.comb += [
            delay.event.eq(sequencer.delivered),
            delay.packet_delay.eq(self.rdtr),
            delay.absolute_delay.eq(self.radv),
            delay.flush.eq(bus.w_stb & decode(m, bus, bus.addr == reg.RDTR.index)
                           & reg.RDTR.view(bus.w_data).fpd & reg.RDTR.view(bus.w_mask).fpd),
            self.rxt0.eq(delay.fire),
        ]
        return m

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated)."""
        head, sequencer, writer = self._blocks
        return {"rdh": head.ring.head, "state": sequencer._fsm.state,
                "writer": writer._fsm.state, "rxt0": self.rxt0, "rxdmt0": self.rxdmt0,
                "rxo": self.rxo}
