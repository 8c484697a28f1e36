"""A descriptor ring in host memory, as both DMA engines see it: its head, and its prefetch.

Reference: SDM 3.2.6 and 3.3.4 (descriptor rings, head and tail), 3.2.4/3.3.6 (prefetch).

- ``RingConfig``: what software programmed (enable, length, tail), from the register file to an
  engine. The ring's base goes to the DMA arbiter instead: the engine's commands on the ring
  name it (``DMARequest.ring``).
- ``RingHead``: the head register (TDH or RDH) and what follows from it: the next head, the
  offset of the head descriptor's status, the free descriptors.
- ``DescriptorPrefetch``: the descriptors from head to tail read ahead, offered as a stream.
- ``RingSignature``: the ring as ``RingHead`` hands it to the prefetcher.

Prefetch:

The hardware owns the descriptors from head up to, not including, tail. While ``enable`` is high
this block reads them ahead of use, in bursts of up to ``burst`` descriptors that neither pass the
tail nor wrap the end of the ring, whenever its queue has room for the whole burst; one read is in
flight at a time. Dropping ``enable`` (the engine turned off, or the ring reprogrammed) empties the
queue, and fetching starts again from head. A ring programmed with nonsense (no descriptors, or
head or tail beyond its end) is never fetched from.
"""

from amaranth.hdl import Cat, Module, Mux, ResetInserter, Shape, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import DMAReadBeat, DMAReadSignature, RegBusSignature, decode, masked, read_mux
from .desc import DESCRIPTOR_BYTES
from . import pipe


__all__ = ["RingConfig", "RingSignature", "RingHead", "DescriptorPrefetch"]


# What software programmed for one ring, as the register file's side drives it: ``enable`` is
# the engine's enable bit with bus mastering on; ``length`` is xDLEN in bytes.
RingConfig = wiring.Signature({
    "enable": Out(1),
    "length": Out(20),
    "tail": Out(16),
})

# A ring as its head's owner offers it: ``count`` descriptors (xDLEN / 16) from the ring's base,
# the hardware's from ``head`` up to, not including, ``tail``.
RingSignature = wiring.Signature({
    "enable": Out(1),
    "count": Out(16),
    "head": Out(16),
    "tail": Out(16),
})


class RingHead(wiring.Component):
    """The head register of a ring: software writes it through the register bus only while the
    engine is off; ``advance`` (a one-cycle pulse, at most every other cycle) moves it past one
    descriptor, wrapping at the ring's end, in the cycle after the pulse. A write and an advance
    in one cycle: the write wins. Reads answer from the register.

    ``status_offset`` is the head descriptor's status quadword's offset from the ring's base.
    ``free`` (the descriptors software has handed over and the engine not yet retired: tail -
    head, modulo the ring) and ``empty`` (head == tail) come from registers, a cycle behind the
    head or the tail.

    Parameters
    ----------
    register : regmap.Register
        TDH or RDH.

    Members
    -------
    bus : In(RegBusSignature)
    config : In(RingConfig)
    advance : In(1)
    ring : Out(RingSignature)
    status_offset : Out(20)
    free : Out(16)
    empty : Out(1)
    """

    def __init__(self, register):
        self._register = register
        super().__init__({
            "bus": In(RegBusSignature),
            "config": In(RingConfig),
            "advance": In(1),
            "ring": Out(RingSignature),
            "status_offset": Out(20),
            "free": Out(16),
            "empty": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        bus, config, ring = self.bus, self.config, self.ring
        head = ring.head
        count = config.length >> 4
        m.d.comb += [ring.enable.eq(config.enable),
                     ring.count.eq(count), ring.tail.eq(config.tail),
                     self.status_offset.eq(head * DESCRIPTOR_BYTES | 8)]

        # The head after the next advance, registered: advances are at least two cycles apart,
        # and software moves the head only while the engine is off. It wraps after the ring's
        # last index, registered first (it comes from the register file, across the core), so
        # that the compare does not wait for the increment.
        next_head = Signal(16)
        last = Signal(16)
        m.d.sync += [last.eq(count - 1),
                     next_head.eq(Mux(head == last, 0, head + 1))]
        # A write while the engine is on is ignored: the descriptors read ahead, and where their
        # status goes back, follow the head, which must stay inside the ring.
        with m.If(self.advance):
            m.d.sync += head.eq(next_head)
        with m.If(bus.w_stb & decode(m, bus, bus.addr == self._register.index)
                  & ~config.enable):
            m.d.sync += head.eq(masked(head, bus))
        read_mux(m, bus, {self._register.index: head})

        # tail - head, and count added back when it is negative (the tail has wrapped).
        ahead = config.tail - head
        m.d.sync += [self.free.eq(Mux(ahead < 0, ahead + count, ahead)),
                     self.empty.eq(config.tail == head)]
        return m


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
    layout : shape-like
        Of a descriptor's 128 bits, as the engine reads them (``hw.desc``).

    Members
    -------
    dma : Out(DMAReadSignature)
    ring : In(RingSignature)
        The ring. Reads name its base (``DMARequest.ring``), which the DMA arbiter holds.
    descs : Out(stream.Signature(layout))
        The descriptors, in ring order from head: the engine that takes them knows each one's
        index by counting from head.
    """

    def __init__(self, *, depth=16, burst=8, layout=128):
        assert burst <= depth and burst & (burst - 1) == 0     # powers of 2
        assert Shape.cast(layout).width == 8 * DESCRIPTOR_BYTES
        self._depth = depth
        self._burst = burst
        self._layout = layout
        super().__init__({
            "dma": Out(DMAReadSignature),
            "ring": In(RingSignature),
            "descs": Out(stream.Signature(layout)),
        })

    def elaborate(self, platform):
        m = Module()
        ring = self.ring
        # Emptying the queue reaches many flip-flops: it follows ``enable`` a cycle late, from
        # a register. Reads go out only while it is low, so one may go out in the cycle
        # ``enable`` falls; it is then in flight when the flush comes, and its data is dropped.
        flush = Signal(init=1)
        m.d.sync += flush.eq(~ring.enable)
        queue = pipe.Queue(self._layout, ram_depth=self._depth)
        m.submodules.queue = ResetInserter(flush)(queue)
        # The queue goes into block RAM (``hw.synth`` asks for it), whose read data comes late
        # in the cycle: the descriptors leave from a register slice, emptied with the queue.
        out = pipe.StreamRegister(self._layout, ram_output=True)
        m.submodules.out = ResetInserter(flush)(out)
        wiring.connect(m, queue.o, out.i)
        wiring.connect(m, wiring.flipped(self.descs), out.o)

        # The ring's size and tail come from the register file, far across the core: they are
        # registered here first (software changes them long before, or at worst a cycle before,
        # the fetches that depend on them).
        count, tail = Signal(16), Signal(16)
        m.d.sync += [count.eq(ring.count), tail.eq(ring.tail)]
        head = ring.head
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
            ready_to_go.eq(ring.enable & (limit != 0) & (room_q != 0)),
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
            cmd.payload.ring.eq(1),
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
