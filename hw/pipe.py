"""Register slices for streams: the payload leaves from flip-flops.

Placed behind a block RAM FIFO (whose read data arrives late in the cycle) or in front of a long
path, a slice cuts the timing path at the cost of one cycle of latency, and keeps full
throughput: it takes a new payload in the cycle its current one leaves.

- ``StreamRegister``: ``ready`` passes through combinationally, so only the forward path is cut.
- ``HalfRateRegister``: ``ready`` comes from its own valid, so both paths are cut, at one
  payload every second cycle: for streams that carry one payload per frame, descriptor or
  buffer.

Where ``ready`` must come from a register too, so that neither direction's logic reaches the
other side, the core uses a ``Queue`` of two RAM entries: its ready comes from its level, and
two rows of distributed RAM cost less than a skid buffer's choice between two registers for
every bit.

And ``queue``, the core's way of making an ``amaranth.lib.fifo.SyncFIFOBuffered``, and
``Queue``, the same with streams of a given shape.
"""

from amaranth.hdl import Module, Shape, ShapeCastable, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out


__all__ = ["StreamRegister", "HalfRateRegister", "queue", "Queue"]


def queue(*, width, ram_depth):
    """A ``SyncFIFOBuffered`` whose RAM has ``ram_depth`` entries, a power of 2, and which holds
    one more in its output register (its ``depth`` is ``ram_depth + 1``). Asked for a depth that
    is a power of 2, it would make a RAM of one fewer, whose pointers need a comparison and a
    multiplexer each to wrap around; these wrap by overflowing."""
    assert ram_depth & (ram_depth - 1) == 0
    return fifo.SyncFIFOBuffered(width=width, depth=ram_depth + 1)


class Queue(fifo.SyncFIFOBuffered):
    """``queue``'s FIFO, whose streams carry payloads of ``shape``: ``i`` (``w_stream``) takes
    them, ``o`` (``r_stream``) gives them back, as views of the FIFO's data where ``shape`` is a
    layout. The contract is ``SyncFIFOBuffered``'s: ``i.ready`` while it is not full; ``o``
    from its output register, a payload written into an empty queue there a cycle later.

    Parameters
    ----------
    shape : shape-like
    ram_depth : int
        A power of 2, as for ``queue``.
    """

    def __init__(self, shape, *, ram_depth):
        assert ram_depth & (ram_depth - 1) == 0
        self._shape = shape
        super().__init__(width=Shape.cast(shape).width, depth=ram_depth + 1)

    def _typed(self, value):
        return self._shape(value) if isinstance(self._shape, ShapeCastable) else value

    @property
    def i(self):
        i = stream.Signature(self._shape).flip().create()
        i.payload, i.valid, i.ready = self._typed(self.w_data), self.w_en, self.w_rdy
        return i

    @property
    def o(self):
        o = stream.Signature(self._shape).create()
        o.payload, o.valid, o.ready = self._typed(self.r_data), self.r_rdy, self.r_en
        return o


class StreamRegister(wiring.Component):
    """A payload taken on ``i`` leaves on ``o`` from a register a cycle later, one a cycle
    through; ``i.ready`` follows ``o.ready`` combinationally: only the forward path is cut.

    Parameters
    ----------
    shape : shape-like
        Of the payload.
    ram_output : bool
        For a slice right after a block RAM (a queue's read data): the payload register has no
        reset and loads only what is taken, so that it has one enable and no reset, and
        synthesis can make it the RAM's own output register (``hw.synth``). It then holds
        nothing but payloads, never what the RAM gives before its first write. Otherwise it
        loads whenever ``i.ready`` is high (an enable that does not wait for ``i.valid``) and
        is reset with ``o.valid``.

    Members
    -------
    i : In(stream.Signature(shape))
    o : Out(stream.Signature(shape))
    """

    def __init__(self, shape, *, ram_output=False):
        self._shape = shape
        self._ram_output = ram_output
        super().__init__({
            "i": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.i.ready):
            m.d.sync += self.o.valid.eq(self.i.valid)
        if self._ram_output:
            payload = Signal(self._shape, reset_less=True)
            m.d.comb += self.o.payload.eq(payload)
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += payload.eq(self.i.payload)
        else:
            with m.If(self.i.ready):
                m.d.sync += self.o.payload.eq(self.i.payload)
        return m


class HalfRateRegister(wiring.Component):
    """A payload taken on ``i`` is held on ``o`` from a register, from the next cycle until it
    is taken; ``i.ready`` is high only while ``o`` holds nothing. Neither side's logic reaches
    the other: ``o.ready`` goes no further than the register's valid, and ``i.ready`` is that
    register. The price is throughput: a payload every second cycle at most.

    Parameters
    ----------
    shape : shape-like
        Of the payload.

    Members
    -------
    i : In(stream.Signature(shape))
    o : Out(stream.Signature(shape))
    """

    def __init__(self, shape):
        super().__init__({
            "i": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.i.ready.eq(~self.o.valid)
        with m.If(self.o.valid):
            with m.If(self.o.ready):
                m.d.sync += self.o.valid.eq(0)
        with m.Elif(self.i.valid):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(self.i.payload)]
        return m
