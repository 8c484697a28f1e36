"""A register slice for a stream: the payload leaves from flip-flops.

Placed behind a block RAM FIFO (whose read data arrives late in the cycle) or in front of a long
path, it cuts the timing path at the cost of one cycle of latency, and keeps full throughput:
the slice takes a new payload in the cycle its current one leaves. ``ready`` passes through
combinationally, so only the forward path is cut.
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


__all__ = ["StreamRegister"]


class StreamRegister(wiring.Component):
    """Parameters
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
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.i.ready):
            m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload)]
        return m
