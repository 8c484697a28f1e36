"""The receive FIFO: frame data that can be taken back until the frame is known to be good.

Reference: SDM 3.2.1 (the receive FIFO and packet buffer).

The MAC writes a frame's words as they arrive; at the end it either commits the frame (with its
status, which the DMA engine then reads) or rolls the words back, as for a bad FCS or a frame
the filter rejects. ``amaranth.lib.fifo`` has no roll-back, hence this block: a block RAM with a
write pointer, a committed write pointer and a read pointer. ``room`` tells the MAC whether a
word still fits; a frame that does not fit is rolled back and counted as missed.

Committed words are read out of the RAM ahead of use, through a register (block RAM read data
arrives too late in its cycle for anything but a register), into a small queue whose output is
a register too.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import NO_RW_CHECK


__all__ = ["RxFIFO", "RxStatus"]

_AHEAD = 4              # words read ahead of the reader


class RxStatus(data.Struct):
    length: 14          # bytes after the start delimiter, FCS included
    crc_error: 1
    rx_error: 1
    broadcast: 1
    multicast: 1


class RxFIFO(wiring.Component):
    """Parameters
    ----------
    depth : int
        64-bit words of frame data (a power of 2).

    Members
    -------
    w_data : In(64)
    w_en : In(1)
    room : Out(1)
        A word can be written.
    commit : In(stream.Signature(RxStatus))
        Ends the frame being written, keeping it.
    rollback : In(1)
        Ends the frame being written, discarding it.
    status : Out(stream.Signature(RxStatus))
        Committed frames, in order.
    words : Out(stream.Signature(64))
        The words of committed frames, in order.
    """

    def __init__(self, *, depth=1024, frames=32):
        assert depth & (depth - 1) == 0
        self._depth = depth
        self._frames = frames
        super().__init__({
            "w_data": In(64),
            "w_en": In(1),
            "room": Out(1),
            "commit": In(stream.Signature(RxStatus)),
            "rollback": In(1),
            "status": Out(stream.Signature(RxStatus)),
            "words": Out(stream.Signature(64)),
        })

    def elaborate(self, platform):
        m = Module()
        bits = (self._depth - 1).bit_length()
        # The read port reads ``rp`` every cycle; it is written in that cycle only when the FIFO
        # is empty, and then nothing is committed there, so the read is not used.
        m.submodules.ram = ram = memory.Memory(shape=64, depth=self._depth, init=[],
                                               attrs=NO_RW_CHECK)
        m.submodules.frames = frames = fifo.SyncFIFOBuffered(
            width=data.Layout.cast(RxStatus).size, depth=self._frames)
        m.submodules.ahead = ahead = fifo.SyncFIFOBuffered(width=64, depth=_AHEAD)
        wr = ram.write_port()
        rd = ram.read_port()        # synchronous, so that the RAM can be block RAM

        wp = Signal(bits + 1)           # one extra bit tells full from empty
        committed = Signal(bits + 1)
        rp = Signal(bits + 1)
        m.d.comb += [
            self.room.eq((wp - rp)[:bits + 1] < self._depth),
            wr.addr.eq(wp[:bits]),
            wr.data.eq(self.w_data),
            wr.en.eq(self.w_en & self.room),
        ]
        with m.If(self.w_en & self.room):
            m.d.sync += wp.eq(wp + 1)

        m.d.comb += [
            frames.w_data.eq(self.commit.payload),
            frames.w_en.eq(self.commit.valid),
            self.commit.ready.eq(frames.w_rdy),
        ]
        with m.If(self.commit.valid & self.commit.ready):
            m.d.sync += committed.eq(wp)
        with m.Elif(self.rollback):
            m.d.sync += wp.eq(committed)

        m.d.comb += [
            self.status.payload.eq(frames.r_data),
            self.status.valid.eq(frames.r_rdy),
            frames.r_en.eq(self.status.ready),
        ]
        # Read ahead: a committed word is read whenever the queue has room for it and for the
        # reads still in flight; it is registered in the next cycle and enters the queue in the
        # one after.
        in_flight = Signal(2)           # a read issued one and two cycles ago
        read_data = Signal(64)
        issue = (rp != committed) & (ahead.level + in_flight[0] + in_flight[1] < _AHEAD)
        m.d.comb += [rd.addr.eq(rp[:bits]), ahead.w_data.eq(read_data), ahead.w_en.eq(in_flight[1])]
        m.d.sync += [in_flight.eq(Cat(issue, in_flight[0])), read_data.eq(rd.data)]
        with m.If(issue):
            m.d.sync += rp.eq(rp + 1)
        wiring.connect(m, ahead.r_stream, wiring.flipped(self.words))
        return m
