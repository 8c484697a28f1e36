"""Descriptor prefetch from a ring in host memory, shared by the transmit and receive engines.

Reference: SDM 3.2.6 and 3.3.4 (descriptor rings, head and tail), 3.2.4/3.3.6 (prefetch).

The hardware owns the descriptors from head up to, not including, tail. While ``enable`` is high
this block reads them ahead of use, in bursts of up to ``burst`` descriptors that neither pass the
tail nor wrap the end of the ring, whenever its queue has room for the whole burst; one read is in
flight at a time. Dropping ``enable`` (the engine turned off, or the ring reprogrammed) empties the
queue, and fetching starts again from head. A ring programmed with nonsense (no descriptors, or
head or tail beyond its end) is never fetched from.
"""

from amaranth.hdl import Cat, Module, Mux, ResetInserter, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import DMAReadBeat, DMAReadSignature
from .desc import DESCRIPTOR_BYTES
from . import pipe


__all__ = ["DescriptorPrefetch"]


class DescriptorPrefetch(wiring.Component):
    """Descriptors come out on ``descs`` in ring order from the head, read ahead in bursts that
    pass neither the tail nor the ring's end, one read in flight, only when the queue has room
    for the whole burst. Dropping ``enable`` empties the queue and drops a read in flight; the
    next fetch starts at head. What ``descs`` offers in the cycle after ``enable`` falls is not
    to be taken: the engines take descriptors only while the ring was on a cycle before.

    Parameters
    ----------
    depth : int
        Descriptors in the queue's RAM (a power of 2); its output register and the register
        slice after it hold one more each.
    burst : int
        Most descriptors one read fetches.

    Members
    -------
    dma : Out(DMAReadSignature)
    enable : In(1)
    base : In(64)
        Ring base address (16-byte aligned).
    count : In(16)
        Descriptors in the ring (``xDLEN / 16``).
    head, tail : In(16)
    descs : Out(stream.Signature(128))
        The descriptors, in ring order from head: the engine that takes them knows each one's
        index by counting from head.
    """

    def __init__(self, *, depth=16, burst=8):
        assert burst <= depth and burst & (burst - 1) == 0     # powers of 2
        self._depth = depth
        self._burst = burst
        super().__init__({
            "dma": Out(DMAReadSignature),
            "enable": In(1),
            "base": In(64),
            "count": In(16),
            "head": In(16),
            "tail": In(16),
            "descs": Out(stream.Signature(128)),
        })

    def follow(self, m, *, enable, base, count, head, tail):
        """Drive the ring inputs from an engine's registers (in the engine's module ``m``)."""
        m.d.comb += [
            self.enable.eq(enable),
            self.base.eq(base),
            self.count.eq(count),
            self.head.eq(head),
            self.tail.eq(tail),
        ]

    def elaborate(self, platform):
        m = Module()
        # Emptying the queue reaches many flip-flops: it follows ``enable`` a cycle late, from
        # a register. Reads go out only while it is low, so one may go out in the cycle
        # ``enable`` falls; it is then in flight when the flush comes, and its data is dropped.
        flush = Signal(init=1)
        m.d.sync += flush.eq(~self.enable)
        queue = pipe.queue(width=128, ram_depth=self._depth)
        m.submodules.queue = ResetInserter(flush)(queue)
        # The queue goes into block RAM (``hw.synth`` asks for it), whose read data comes late
        # in the cycle: the descriptors leave from a register slice, emptied with the queue.
        out = pipe.StreamRegister(128)
        m.submodules.out = ResetInserter(flush)(out)
        wiring.connect(m, queue.r_stream, out.i)
        wiring.connect(m, wiring.flipped(self.descs), out.o)

        # The ring's size and tail come from the register file, far across the core: they are
        # registered here first (software changes them long before, or at worst a cycle before,
        # the fetches that depend on them).
        count, tail = Signal(16), Signal(16)
        m.d.sync += [count.eq(self.count), tail.eq(self.tail)]
        head = self.head
        sane = (count != 0) & (head < count) & (tail < count)

        fetch = Signal(16)          # index of the next descriptor to read
        busy = Signal()             # a read is in flight
        stale = Signal()            # ...and was flushed: discard what it returns
        with m.If(flush):
            m.d.sync += fetch.eq(head)
            with m.If(busy):
                m.d.sync += stale.eq(1)

        # The next read is worked out ahead in five registered steps (the differences, the
        # descriptors there before the tail or the ring's end, whichever comes first, the two
        # limits, a step that only passes them on, then the smaller), which keeps this
        # arithmetic off the path through the DMA arbiter. A read only goes out once every step
        # reflects a moment with no read in flight and a sane ring (``wait`` counted down), so
        # the queue level they saw is current.
        burst = self._burst
        steps = 5

        def clamp(value):
            # At most a burst, in as few bits as a burst needs: the comparisons below stay short.
            return Mux(value[burst.bit_length() - 1:].any(), burst, value)
        ahead = Signal(signed(17))          # tail - fetch, negative when the tail has wrapped
        to_end_full = Signal(17)            # count - fetch
        room_full = Signal(range(queue.depth + 1))
        sane_q = Signal()
        m.d.sync += [
            ahead.eq(tail - fetch),
            to_end_full.eq(count - fetch),
            room_full.eq(queue.depth - queue.level),
            sane_q.eq(sane),
        ]
        # Up to the tail when it is ahead; when it has wrapped, up to the end of the ring (the
        # fewer, as tail - fetch + count is more than count - fetch).
        up_to = Signal(17)
        m.d.sync += up_to.eq(Mux(ahead < 0, to_end_full, ahead))
        available = Signal(range(burst + 1))
        room = Signal(range(burst + 1))
        m.d.sync += [
            available.eq(clamp(up_to)),
            room.eq(clamp(room_full)),
        ]
        limit = Signal(range(burst + 1))    # the descriptors there
        room_q = Signal(range(burst + 1))
        m.d.sync += [
            limit.eq(available),
            room_q.eq(room),
        ]
        n = Signal(range(self._burst + 1))     # descriptors in the next read
        ready_to_go = Signal()
        wait = Signal(range(steps + 1), init=steps)
        m.d.sync += [
            n.eq(Mux(room_q < limit, room_q, limit)),
            ready_to_go.eq(self.enable & (limit != 0) & (room_q != 0)),
        ]
        # A ring that is not sane holds the steps back too, so once it is, no read goes out
        # before every step has seen it so.
        # ``settled`` is ``wait == 0`` as a register; it is low while a read is in flight.
        settled = Signal()
        with m.If(busy | flush | ~sane_q):
            m.d.sync += [wait.eq(steps), settled.eq(0)]
        with m.Elif(wait != 0):
            m.d.sync += [wait.eq(wait - 1), settled.eq(wait == 1)]

        cmd = self.dma.rd_cmd
        m.d.comb += [
            cmd.payload.base.eq(self.base),
            cmd.payload.offset.eq(fetch * DESCRIPTOR_BYTES),
            cmd.payload.len.eq(n * 2 - 1),
            # ``enable`` from its register (~flush): it comes from far across the core.
            cmd.valid.eq(ready_to_go & ~flush & settled),
        ]
        with m.If(cmd.valid & cmd.ready):
            m.d.sync += [busy.eq(1), stale.eq(0), wait.eq(steps), settled.eq(0),
                         # A read never passes the ring's end: it wraps when it reaches it.
                         fetch.eq(Mux(n == to_end_full, 0, fetch + n))]

        # Two beats make a descriptor.
        # Beats are always taken, and registered before use: they come from host memory through
        # the DMA arbiter, whose routing would otherwise run into the queue's logic.
        beat = Signal(DMAReadBeat)
        beat_valid = Signal()
        m.d.comb += self.dma.rd_data.ready.eq(1)
        m.d.sync += [beat_valid.eq(self.dma.rd_data.valid), beat.eq(self.dma.rd_data.payload)]
        low = Signal(64)
        second = Signal()
        m.d.comb += [
            queue.w_data.eq(Cat(low, beat.data)),
            queue.w_en.eq(beat_valid & second & ~stale & ~flush),
        ]
        with m.If(beat_valid):
            m.d.sync += [second.eq(~second), low.eq(beat.data)]
            with m.If(beat.last):
                m.d.sync += [busy.eq(0), stale.eq(0), second.eq(0)]
        return m
