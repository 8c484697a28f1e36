"""The receive FIFO: frame data that can be taken back until the frame is known to be good.

Reference: SDM 3.2.1 (the receive FIFO and packet buffer).

The MAC writes a frame's words as they arrive; at the end it either commits the frame (with its
status, which the DMA engine then reads) or rolls the words back, as for a bad FCS or a frame
the filter rejects. ``amaranth.lib.fifo`` has no roll-back, hence this block: a block RAM with a
write pointer, a committed write pointer and a read pointer. ``room`` tells the MAC whether a
word still fits; a frame that does not fit is rolled back and counted as missed.

Committed words are read out of the RAM ahead of use, through two registers (block RAM read
data arrives too late in its cycle for anything but a register, and the RAMs lie far apart).
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import NO_RW_CHECK
from .compare import below
from .pipe import Queue, StreamRegister
from .rxcsum import RxChecksumResult


__all__ = ["RxFIFO", "RxFIFOWriteSignature", "RxStatus"]


class RxStatus(data.Struct):
    length: 15          # bytes after the start delimiter, FCS included
    crc_error: 1
    rx_error: 1
    broadcast: 1
    multicast: 1
    bad: 1              # kept only because RCTL.SBP asked for frames with errors
    csum: RxChecksumResult
    vlan: 1             # the tag was left out of the data (VP): ``tci`` is its control information
    tci: 16


class RxFIFOWriteSignature(wiring.Signature):
    """The receive FIFO's write side, from the writer's (the MAC's) point of view: ``data`` is
    written in a cycle with ``en`` if ``room`` says it fits (else it is lost, and the writer rolls
    the frame back); the frame ends with ``commit`` (its status; ``ready`` low while the status
    queue is full) or ``rollback``.

    Members
    -------
    data : Out(64)
    en : Out(1)
    room : In(1)
    commit : Out(stream.Signature(RxStatus))
    rollback : Out(1)
    """

    def __init__(self):
        super().__init__({
            "data": Out(64),
            "en": Out(1),
            "room": In(1),
            "commit": Out(stream.Signature(RxStatus)),
            "rollback": Out(1),
        })


class RxFIFO(wiring.Component):
    """Words are written one a cycle while ``room`` says they fit; a frame's end commits them with its
    status or rolls them back. Committed frames leave as a status stream and a word stream, read
    ahead through two registers.

    Parameters
    ----------
    depth : int
        64-bit words of frame data (a power of 2).
    frames : int
        Committed frames whose statuses wait in the queue's RAM (a power of 2); its output
        register and the register slice after it hold one more each.

    Members
    -------
    write : In(RxFIFOWriteSignature())
        The MAC's side: ``room`` says a word can be written.
    level : Out(range(depth + 1))
        Words in the RAM, registered (for flow control): written and not yet read ahead, which
        leaves out up to three words waiting in the read-ahead registers.
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
            "write": In(RxFIFOWriteSignature()),
            "level": Out(range(depth + 1)),
            "status": Out(stream.Signature(RxStatus)),
            "words": Out(stream.Signature(64)),
        })

    def elaborate(self, platform):
        m = Module()
        bits = (self._depth - 1).bit_length()
        # The read port reads ``rp`` only while it is behind the committed pointer, and a write
        # needs room, so the RAM is never written where it is read in the same cycle.
        m.submodules.ram = ram = memory.Memory(shape=64, depth=self._depth, init=[],
                                               attrs=NO_RW_CHECK)
        m.submodules.frames = frames = Queue(RxStatus, ram_depth=self._frames)
        wr = ram.write_port()
        rd = ram.read_port()        # synchronous, so that the RAM can be block RAM

        wp = Signal(bits + 1)           # one extra bit tells full from empty
        committed = Signal(bits + 1)
        rp = Signal(bits + 1)
        word = Signal(64)
        w = self.write
        m.d.comb += [
            w.room.eq(below((wp - rp)[:bits + 1], self._depth)),
            wr.addr.eq(wp[:bits]),
            wr.data.eq(w.data),
            wr.en.eq(w.en & w.room),
        ]
        with m.If(w.en & w.room):
            m.d.sync += wp.eq(wp + 1)
        m.d.sync += self.level.eq(wp - rp)

        wiring.connect(m, wiring.flipped(w.commit), frames.i)
        with m.If(w.commit.valid & w.commit.ready):
            m.d.sync += committed.eq(wp)
        with m.Elif(w.rollback):
            m.d.sync += wp.eq(committed)

        # The frames' statuses are queued in block RAM (``hw.synth`` asks for it), whose read
        # data comes late in the cycle: they leave from a register slice.
        m.submodules.status = status = StreamRegister(RxStatus, ram_output=True)
        wiring.connect(m, frames.o, status.i)
        wiring.connect(m, status.o, wiring.flipped(self.status))
        # Read ahead, three words deep: the RAM's own output register holds the word read last
        # (its read enable low until that word has moved on), a register beside it (``near``)
        # takes it from there, and the output register from that one. The DMA engine takes a
        # word in at most every other cycle, and while it delivers, one in eight, so the word
        # after is always there in time.
        # Timing: the FIFO is 17 block RAMs spread along the part, whose read data comes late
        # in its cycle: ``near`` only copies it and can sit by each RAM; it takes the next word
        # only in the cycle after it gave one up, so the DMA engine's ready does not reach its
        # 64 enables; the read enable comes from registers alone.
        held = Signal()             # the RAM's read data is a word not yet moved on
        staged = Signal()           # ``near`` holds a word not yet moved on
        near = Signal(64, reset_less=True)     # (so it can be the RAM's output register)
        # Committed words not yet read, registered: after a read, ``held`` stays high for at
        # least a cycle, by when this is current again.
        pending = Signal()
        m.d.sync += pending.eq(rp != committed)
        issue = pending & ~held
        to_word = staged & (~self.words.valid | self.words.ready)
        to_near = held & ~staged
        m.d.comb += [rd.addr.eq(rp[:bits]), rd.en.eq(issue), self.words.payload.eq(word)]
        with m.If(to_word):
            m.d.sync += [word.eq(near), staged.eq(0)]
        with m.If(to_near):
            m.d.sync += [near.eq(rd.data), staged.eq(1), held.eq(0)]
        with m.If(issue):
            m.d.sync += [rp.eq(rp + 1), held.eq(1)]
        with m.If(self.words.ready):
            m.d.sync += self.words.valid.eq(0)
        with m.If(to_word):
            m.d.sync += self.words.valid.eq(1)
        return m
