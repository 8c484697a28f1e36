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
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import (DMAReadSignature, DMAWriteBeat, DMAWriteSignature, RegBusSignature, decode,
                  masked, read_mux)
from .delay import InterruptDelay
from .desc import DESCRIPTOR_BYTES, RXD_ERR, RXD_STA, RxDescriptor
from .pipe import StreamRegister
from .regmap import reg
from .ring import DescriptorPrefetch
from .rxfifo import RxStatus


__all__ = ["RxDMA", "RxDeliveryStats"]

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


class RxDMA(wiring.Component):
    """A committed frame's status in, its words taken a byte a cycle (the line's rate) into buffers
    at any alignment, each descriptor written back after its buffer and RDH moved past it; one
    ``stats`` report per frame; ``rxt0``, ``rxdmt0`` and ``rxo`` are one-cycle pulses.

    Members
    -------
    bus : In(RegBusSignature)
        RDH.
    descriptors : Out(DMAReadSignature)
        Descriptor reads (the prefetcher's).
    buffers : Out(DMAWriteSignature)
        Frame data and status write-back.
    enable : In(1)
        RCTL.EN with bus mastering on.
    base : In(64)
    length : In(20)
    tail : In(16)
    rctl : In(32)
    rxcsum : In(32)
        RXCSUM: which checksum results go into the descriptor.
    rdtr, radv : In(16)
    status : In(stream.Signature(RxStatus))
    words : In(stream.Signature(64))
        Frame data from the receive FIFO.
    stats : Out(stream.Signature(RxDeliveryStats))
    rxt0, rxdmt0, rxo : Out(1)
    head : Out(16)
    """

    def __init__(self):
        super().__init__({
            "bus": In(RegBusSignature),
            "descriptors": Out(DMAReadSignature),
            "buffers": Out(DMAWriteSignature),
            "enable": In(1),
            "base": In(64),
            "length": In(20),
            "tail": In(16),
            "rctl": In(32),
            "rxcsum": In(32),
            "rdtr": In(16),
            "radv": In(16),
            "status": In(stream.Signature(RxStatus)),
            "words": In(stream.Signature(64)),
            "stats": Out(stream.Signature(RxDeliveryStats)),
            "rxt0": Out(1),
            "rxdmt0": Out(1),
            "rxo": Out(1),
            "head": Out(16),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        count = self.length >> 4
        rctl = self.rctl

        m.submodules.prefetch = prefetch = DescriptorPrefetch()
        m.submodules.delay = delay = InterruptDelay()
        wiring.connect(m, prefetch.dma, wiring.flipped(self.descriptors))
        writer = self.buffers
        prefetch.follow(m, enable=self.enable, base=self.base, count=count, head=self.head,
                        tail=self.tail)
        m.d.comb += [
            writer.wr_done.ready.eq(1),         # writes land in order; nothing waits for them
        ]

        # Buffer size from BSIZE and BSEX.
        bsize = rctl[reg.RCTL.BSIZE.lsb:reg.RCTL.BSIZE.lsb + 2]
        bsex = rctl[reg.RCTL.BSEX.lsb]
        # Registered: RCTL comes from across the core, and software sets it before enabling.
        buffer_size = Signal(15)
        with m.Switch(Cat(bsize, bsex)):
            for code, size in ((0b000, 2048), (0b001, 1024), (0b010, 512), (0b011, 256),
                               (0b100, 2048), (0b101, 16384), (0b110, 8192), (0b111, 4096)):
                with m.Case(code):
                    m.d.sync += buffer_size.eq(size)

        frame = Signal(RxStatus)
        # The frame's words still in the FIFO, and whether none are: registered, as the frame's
        # end waits on it, and the end reaches the statistics and the delay timers.
        to_take = Signal(13)
        all_taken = Signal()
        delivered = Signal()        # the whole frame went into buffers
        left = Signal(16)           # bytes still to deliver
        # Write commands name a base and an offset, both registers: the buffer's first quadword
        # and the next beat's offset from it, then the ring's base and the offset of the
        # descriptor's status quadword (descriptors come in ring order: this one is at RDH).
        cmd_base = Signal(64)
        cmd_offset = Signal(20)
        n = Signal(16)              # bytes into this buffer
        # Bytes for the next buffer, registered: worked out in the SIZE state from ``left``.
        size = Signal(16)
        m.d.sync += size.eq(Mux(left > buffer_size, buffer_size, left))
        # Bytes move one a cycle, the line's rate, from the FIFO word (byte ``rd_lane`` of it)
        # into a beat (byte ``wr_lane``, its strobe set), so that any alignment of the buffer
        # costs a byte select and a byte-wide write instead of a shifter 64 bits wide.
        rd_lane = Signal(3)         # of the frame's next byte in the FIFO's word
        word_end = Signal()         # rd_lane == 7
        wr_lane = Signal(3)         # of the buffer's next byte in the beat
        beat = Signal(64)
        strb = Signal(8)
        to_move = Signal(16)        # of this buffer's bytes
        moving = Signal()           # to_move != 0, registered
        send = Signal()             # the beat is complete and waits to go out
        # The buffer's beats and the current write command's, counted down as beats go out.
        beats_left = Signal(13)
        chunk = Signal(9)
        last = Signal()             # chunk == 1
        final = Signal()            # beats_left == 1
        # Whether this buffer ends the frame: registered, as ``left`` and ``n`` are set at least a
        # cycle before the write-back that uses it.
        last_buffer = Signal()
        m.d.sync += last_buffer.eq(left == n)
        burst = Signal(range(MAX_BURST + 1))    # beats in the next write command
        # beats_left > MAX_BURST (a power of 2), from its bits rather than through a comparator.
        over = (beats_left[_BURST_BITS + 1:].any()
                | (beats_left[_BURST_BITS] & beats_left[:_BURST_BITS].any()))
        m.d.sync += burst.eq(Mux(over, MAX_BURST, beats_left))

        rdmts = rctl[reg.RCTL.RDMTS.lsb:reg.RCTL.RDMTS.lsb + 2]
        # Free descriptors, registered: a cycle behind a move of the head or the tail, which at
        # worst makes the engine wait a cycle for a descriptor before it sees there is none.
        # tail - head, and count added back when it is negative (the tail has wrapped).
        free = Signal(16)
        ahead = self.tail - self.head
        m.d.sync += free.eq(Mux(ahead < 0, ahead + count, ahead))
        # Whether the engine is off, and whether the ring has no free descriptor (without going
        # through the subtraction), registered: RCTL.EN is in the register file, across the
        # core, and taking a descriptor depends on it.
        off = Signal()
        dry = Signal()
        m.d.sync += [off.eq(~self.enable), dry.eq(self.tail == self.head)]
        waited = Signal()               # the frame was counted as waiting for descriptors
        strip = Signal()                # the frame's FCS is stripped (RCTL.SECRC)
        threshold_check = Signal()      # a frame is done: compare ``free`` once it is current
        frame_done = Signal()           # ...and was delivered: the delay timers start a cycle later
        m.d.sync += frame_done.eq(0)
        m.d.comb += delay.event.eq(frame_done)
        descs = prefetch.descs
        wb_offset = self.head * DESCRIPTOR_BYTES | 8     # of the status quadword
        cmd = writer.wr_cmd
        # Whatever the state: the address is added up in the DMA arbiter, straight from them.
        m.d.comb += [cmd.payload.base.eq(cmd_base), cmd.payload.offset.eq(cmd_offset)]
        # Beats leave through a register slice, taken only while it is empty: a beat takes at
        # least eight cycles to fill but for a buffer's first and last, so the slice is almost
        # always empty by then, and the bus's ready reaches only the slice.
        m.submodules.wr_out = wr_out = StreamRegister(DMAWriteBeat)
        wiring.connect(m, wr_out.o, wiring.flipped(writer.wr_data))
        out = wr_out.i
        goes = send & ~wr_out.o.valid
        # The status quadword goes out of the same register as the data: ``beat`` is cleared
        # after the buffer's last beat, and the fields are ORed in.
        # The checksum results go with the frame's last descriptor, as RXCSUM asks (SDM 3.2.9):
        # IXSM when it asks for none of them.
        ipofl = self.rxcsum[reg.RXCSUM.IPOFL.lsb]
        tuofl = self.rxcsum[reg.RXCSUM.TUOFL.lsb]
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
        write_back = Signal()
        # Length, checksum, status, errors and special: the descriptor's second quadword.
        fields = Cat(n[:16], Const(0, 16), status, errors[:8], Mux(frame.vlan, frame.tci, 0))
        # Each byte of the beat: cleared (a reset, in the flip-flops) or loaded with the moving
        # byte (an enable). The clear comes from a register, in the first cycle of WB_COMMAND:
        # the beat is not used again before WB_DATA.
        clear = Signal()
        m.d.sync += clear.eq(0)
        moved = Signal()
        byte = self.words.payload.word_select(rd_lane, 8)
        for lane in range(8):
            with m.If(clear):
                m.d.sync += beat[8 * lane:8 * lane + 8].eq(0)
            with m.Elif(moved & (wr_lane == lane)):
                m.d.sync += beat[8 * lane:8 * lane + 8].eq(byte)
        m.d.comb += [out.payload.data.eq(beat | Mux(write_back, fields, 0)),
                     out.payload.strb.eq(strb), out.payload.last.eq(last),
                     out.valid.eq(goes)]

        # The head after this buffer's write-back, registered: buffers take many cycles each,
        # and software moves the head only while the engine is off.
        next_head = Signal(16)
        last_index = Signal(16)
        m.d.sync += [last_index.eq(count - 1),
                     next_head.eq(Mux(self.head == last_index, 0, self.head + 1))]
        m.d.sync += [self.rxo.eq(0), threshold_check.eq(0),
                     self.rxdmt0.eq(threshold_check & (free == (count >> (rdmts + 1))))]
        with m.FSM(name="rxdma") as fsm:
            with m.State("IDLE"):
                # The frame's status is registered first: it comes from the FIFO, across the
                # core.
                with m.If(self.status.valid):
                    m.d.sync += [frame.eq(self.status.payload),
                                 strip.eq(rctl[reg.RCTL.SECRC.lsb]
                                          & (self.status.payload.length >= 4))]
                    m.next = "START"
            with m.State("START"):
                m.d.sync += [
                    to_take.eq((frame.length + 7) >> 3),
                    all_taken.eq(frame.length == 0),
                    left.eq(frame.length - Mux(strip, 4, 0)),
                    rd_lane.eq(0),
                    word_end.eq(0),
                    waited.eq(0),
                ]
                with m.If(off):
                    m.next = "DROP"
                with m.Else():
                    m.next = "SIZE"
            with m.State("DROP"):
                # Missed: take its words out of the FIFO, touch nothing.
                with m.If(all_taken):
                    m.d.comb += [self.status.ready.eq(self.stats.ready), self.stats.valid.eq(1),
                                 self.stats.payload.missed.eq(1)]
                    with m.If(self.stats.ready):
                        m.d.sync += self.rxo.eq(1)
                        m.next = "IDLE"
                with m.Else():
                    m.d.comb += self.words.ready.eq(1)
                    with m.If(self.words.valid):
                        m.d.sync += [to_take.eq(to_take - 1), all_taken.eq(to_take == 1)]
            with m.State("SIZE"):
                # The next buffer's share of the frame is worked out from ``left``.
                m.next = "DESCRIPTOR"
            with m.State("DESCRIPTOR"):
                with m.If(off):
                    # Turned off in the middle of a frame: the rest is lost.
                    m.d.sync += delivered.eq(left == 0)
                    m.next = "DISCARD"
                with m.Else():
                    # Timing: ready depends on the state and ``off`` alone; it reaches through
                    # the prefetcher's slice into its queue.
                    m.d.comb += descs.ready.eq(1)
                with m.If(~off & ~descs.valid & dry & ~waited):
                    # None to take, and none will come before software hands some back.
                    m.d.comb += [self.stats.valid.eq(1), self.stats.payload.no_buffers.eq(1)]
                    with m.If(self.stats.ready):
                        m.d.sync += waited.eq(1)
                with m.If(~off & descs.valid):
                    first = RxDescriptor(descs.payload)
                    start = first.buffer_addr[:3]
                    m.d.sync += [
                        cmd_base.eq(first.buffer_addr & ~7),
                        cmd_offset.eq(0),
                        wr_lane.eq(start),
                        strb.eq(0),
                        write_back.eq(0),
                        n.eq(size),
                        to_move.eq(size),
                        moving.eq(size != 0),
                        beats_left.eq((start + size + 7) >> 3),
                    ]
                    with m.If(size == 0):
                        m.d.sync += [cmd_base.eq(self.base), cmd_offset.eq(wb_offset),
                                     strb.eq(0xFF), last.eq(1), write_back.eq(1), clear.eq(1)]
                        m.next = "WB_COMMAND"
                    with m.Else():
                        m.next = "PLAN"
            with m.State("PLAN"):
                # The next write's length is worked out from the new position and registered,
                # and whether it is the buffer's last from the beats it has left.
                m.d.sync += final.eq(beats_left == 1)
                m.next = "COMMAND"
            with m.State("COMMAND"):
                m.d.comb += [cmd.payload.len.eq(burst - 1), cmd.valid.eq(1)]
                with m.If(cmd.ready):
                    m.d.sync += [chunk.eq(burst), cmd_offset.eq(cmd_offset + burst * 8),
                                 last.eq(burst == 1)]
                    m.next = "DATA"
            with m.State("DATA"):
                # A byte moves unless a complete beat is still waiting for the slice. While the
                # beat goes, its register can take the next beat's first byte already, but not
                # after the last beat of a write command: that byte may complete the next beat
                # (the buffer's last), which must wait for its own command.
                room = ~send | (goes & ~last)
                move = moving & self.words.valid & room
                with m.If(final):
                    # This buffer's last write command is out: the write-back's base and offset
                    # can be loaded already, away from the beat's handshake.
                    m.d.sync += [cmd_base.eq(self.base), cmd_offset.eq(wb_offset)]
                with m.If(goes):
                    m.d.sync += [send.eq(0), strb.eq(0), beats_left.eq(beats_left - 1),
                                 final.eq(beats_left == 2), chunk.eq(chunk - 1),
                                 last.eq(chunk == 2)]
                    with m.If(last):
                        with m.If(final):
                            # The buffer is written: the status quadword goes next, out of
                            # a cleared beat.
                            m.d.sync += [strb.eq(0xFF), last.eq(1), write_back.eq(1),
                                         clear.eq(1)]
                            m.next = "WB_COMMAND"
                        with m.Else():
                            m.next = "PLAN"
                m.d.comb += moved.eq(move)
                with m.If(move):
                    m.d.sync += [
                        strb.eq(Mux(goes, 0, strb) | (1 << wr_lane)),
                        wr_lane.eq(wr_lane + 1),
                        rd_lane.eq(rd_lane + 1),
                        word_end.eq(rd_lane == 6),
                        to_move.eq(to_move - 1),
                        moving.eq(to_move != 1),
                        send.eq((wr_lane == 7) | (to_move == 1)),
                    ]
                    with m.If(word_end):
                        m.d.sync += [to_take.eq(to_take - 1), all_taken.eq(to_take == 1)]
                # The word's last byte takes the word: from registers but for the state.
                m.d.comb += self.words.ready.eq(moving & word_end & room)
            with m.State("WB_COMMAND"):
                m.d.comb += [cmd.payload.len.eq(0), cmd.valid.eq(1)]
                with m.If(cmd.ready):
                    m.d.sync += send.eq(1)
                    m.next = "WB_DATA"
            with m.State("WB_DATA"):
                with m.If(goes):
                    m.d.sync += [
                        send.eq(0),
                        self.head.eq(next_head),
                        left.eq(left - n),
                    ]
                    with m.If(last_buffer):
                        m.d.sync += delivered.eq(1)
                        m.next = "DISCARD"
                    with m.Else():
                        m.next = "SIZE"
            with m.State("DISCARD"):
                # The FCS (with SECRC) or an undelivered rest; then the frame is done.
                with m.If(all_taken):
                    m.d.comb += [
                        self.status.ready.eq(self.stats.ready),
                        self.stats.valid.eq(1),
                        self.stats.payload.missed.eq(~delivered),
                    ]
                    with m.If(self.stats.ready):
                        m.d.sync += [frame_done.eq(delivered), threshold_check.eq(1),
                                     self.rxo.eq(~delivered)]
                        m.next = "IDLE"
                with m.Else():
                    m.d.comb += self.words.ready.eq(1)
                    with m.If(self.words.valid):
                        m.d.sync += [to_take.eq(to_take - 1), all_taken.eq(to_take == 1)]
        self._fsm = fsm

        m.d.comb += [
            self.stats.payload.length.eq(frame.length),
            self.stats.payload.broadcast.eq(frame.broadcast),
            self.stats.payload.multicast.eq(frame.multicast),
            self.stats.payload.bad.eq(frame.bad),
        ]

        # RDH: as TDH, software's writes take effect only while the engine is off.
        with m.If(bus.w_stb & decode(m, bus, bus.addr == reg.RDH.index) & ~self.enable):
            m.d.sync += self.head.eq(masked(self.head, bus))
        read_mux(m, bus, {reg.RDH.index: self.head})

        m.d.comb += [
            delay.packet_delay.eq(self.rdtr),
            delay.absolute_delay.eq(self.radv),
            delay.flush.eq(bus.w_stb & decode(m, bus, bus.addr == reg.RDTR.index)
                           & (bus.w_data[reg.RDTR.FPD.lsb] & bus.w_mask[reg.RDTR.FPD.lsb])),
            self.rxt0.eq(delay.fire),
        ]
        return m

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated)."""
        return {"rdh": self.head, "state": self._fsm.state, "rxt0": self.rxt0,
                "rxdmt0": self.rxdmt0, "rxo": self.rxo}
