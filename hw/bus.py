"""The core's ports and its internal register bus.

Each signature is declared from the initiator's point of view: the core takes ``In(MMIOSignature)``
(it is the target of MMIO) and ``Out(DMASignature)`` (it is the initiator of DMA).

- MMIO: one 32-bit access at a time, as a PCI target sees it (BAR0 memory space or the BAR1 I/O
  window). Writes are posted: only reads produce a response.
- DMA: AXI-like channels with bursts of 64-bit beats (SDM 3.2 and 3.3 describe the descriptor
  traffic that rides on it). Addresses are byte addresses aligned to 8; ``len`` is beats - 1.
  Inside the core, an initiator names the address as an offset from a base: its descriptor
  ring's, or one it holds (a buffer's) (``DMARequest``); the DMA arbiter adds them up once, for
  all of them.
- GMII: IEEE 802.3 clause 35, 8 bits per 125 MHz cycle.
- MDIO: IEEE 802.3 clause 22 management pins, with a separate output enable so that a board
  top can build the tristate buffer.
"""



from amaranth.hdl import Mux, Signal, unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out


__all__ = ["Space", "MMIORequest", "MMIOSignature", "RegBusSignature", "DMACommand", "DMARequest",
           "DMAReadBeat", "DMAWriteBeat", "DMAWriteDone", "DMAReadSignature", "DMAWriteSignature",
           "DMASignature", "GMIISignature", "GMIITxSignature", "GMIIRxSignature", "MDIOSignature", "masked", "decode", "read_mux",
           "share", "NO_RW_CHECK"]


# Attributes for a memory whose synchronous reads never depend on what they return in the cycle
# a write to the same row lands (the reader discards that data, or takes the write's data
# instead). A read port is specified to return the old data then, and block RAM read and written
# through different ports does not promise it, so Yosys would add a register for every data bit
# and a bypass multiplexer, which also sits between the RAM and whatever it feeds: the
# ``no_rw_check`` attribute tells it not to. Each use says why it holds.
NO_RW_CHECK = {"no_rw_check": 1}


class Space(enum.IntEnum, shape=unsigned(1)):
    MEM = 0   # BAR0
    IO = 1    # BAR1: IOADDR at +0, IODATA at +4


class MMIORequest(data.Struct):
    addr: 17        # byte address within the space
    space: Space
    write: 1
    data: 32
    be: 4           # byte enables, bit n for data[8n+7:8n]


MMIOSignature = wiring.Signature({
    "req":  Out(stream.Signature(MMIORequest)),
    "resp": In(stream.Signature(32)),           # read data, one per read request
})


# The register bus inside the core: every block that owns registers listens to it. ``addr`` (a
# BAR0 word index) is on the bus from two cycles before the strobe, so a block decodes it into
# registers (``decode``, or in two steps where one is not enough) and takes the side effects of
# a read or write in the cycle the strobe is high, straight from those registers. Read data is
# sampled in the second cycle after the strobe, straight from registers (zero when the address
# is not the block's), so the core only ORs the blocks' read data together. Registers in
# flip-flops load it in the cycle after the strobe and hold it; registers in block RAM, whose
# read data comes late in the cycle after the address, load it a cycle later. ``soon`` is high
# in the two cycles before each strobe, while the address is being decoded: a block whose own
# pipeline writes what its reads return keeps new work out of that pipeline then, so that a
# read finds nothing still on its way to the row it reads.
RegBusSignature = wiring.Signature({
    "addr":   Out(15),
    "soon":   Out(1),
    "r_stb":  Out(1),
    "w_stb":  Out(1),
    "w_data": Out(32),
    "w_mask": Out(32),    # byte enables expanded to bits
    "r_data": In(32),
})


def masked(old, bus):
    """The value of a read/write register after a write with byte enables."""
    return (old & ~bus.w_mask) | (bus.w_data & bus.w_mask)


def decode(m, bus, condition, *, name=None):
    """``condition`` (on ``bus.addr``), registered: ready from a flip-flop in the strobe's cycle,
    as the address is on the bus before."""
    hit = Signal(name=name)
    m.d.sync += hit.eq(condition)
    return hit


def share(m, bus, targets):
    """Connect the register bus ``bus`` (as its targets' parent sees it) to each of
    ``targets``' ``bus`` members; their read data, zero where the address is not theirs, is
    ORed into ``bus.r_data``."""
    r_data = 0
    for target in targets:
        for name in ("addr", "soon", "r_stb", "w_stb", "w_data", "w_mask"):
            m.d.comb += getattr(target.bus, name).eq(getattr(bus, name))
        r_data = r_data | target.bus.r_data
    m.d.comb += bus.r_data.eq(r_data)


def read_mux(m, bus, values, *, into=None):
    """Register the read data of a block: ``values`` maps BAR0 word indices to expressions.

    The result, loaded at each read strobe and held until the next, goes to ``bus.r_data``, or
    to ``into`` when the block has other read data to add. Each index is decoded ahead
    (``decode``), so the selection is an AND-OR of values with one-hot flags.

    The register is reloaded at every read strobe, so it needs no reset: without one, the
    flip-flops' reset input is free for the zero of an address that is not the block's (a
    block's device reset would otherwise take it, and the zero would cost a LUT per bit).
    """
    r_data = Signal(32, reset_less=True, name="read_data")
    m.d.comb += (bus.r_data if into is None else into).eq(r_data)
    selected = 0
    for index, value in values.items():
        selected = selected | Mux(decode(m, bus, bus.addr == index, name=f"read_{index:04x}"),
                                  value, 0)
    with m.If(bus.r_stb):
        m.d.sync += r_data.eq(selected)


class DMACommand(data.Struct):
    addr: 64        # byte address, 8-byte aligned
    len: 8          # burst length in beats, minus one


class DMARequest(data.Struct):
    """A command as an initiator inside the core gives it. The address is an offset from a
    base: from the initiator's descriptor ring's base with ``ring``, which the DMA arbiter
    holds, or else from ``base``, the initiator's own (a buffer's address). What varies from
    one command to the next is only the offset, so the 64-bit sum is worked out in one place
    (the DMA arbiter) instead of in every initiator, and each ring's base reaches it once."""
    base: 64        # a buffer's address, 8-byte aligned (without ``ring``)
    offset: 20      # bytes, a multiple of 8: within a ring (xDLEN) or a buffer
    len: 8          # burst length in beats, minus one
    ring: 1         # the offset is from the initiator's ring's base, not from ``base``


class DMAReadBeat(data.Struct):
    data: 64
    last: 1


class DMAWriteBeat(data.Struct):
    data: 64
    strb: 8         # byte strobes
    last: 1


class DMAWriteDone(data.Struct):
    error: 1        # the write did not complete (e.g. a master abort)


# An initiator inside the core that only reads (or only writes) has only those channels, with
# its commands as requests; the core's port has both, with addresses, as an AXI master has.
DMAReadSignature = wiring.Signature({
    "rd_cmd":  Out(stream.Signature(DMARequest)),
    "rd_data": In(stream.Signature(DMAReadBeat)),
})

DMAWriteSignature = wiring.Signature({
    "wr_cmd":  Out(stream.Signature(DMARequest)),
    "wr_data": Out(stream.Signature(DMAWriteBeat)),
    "wr_done": In(stream.Signature(DMAWriteDone)),   # one per write command, once in memory
})

DMASignature = wiring.Signature({
    **DMAReadSignature.members, **DMAWriteSignature.members,
    "rd_cmd":  Out(stream.Signature(DMACommand)),
    "wr_cmd":  Out(stream.Signature(DMACommand)),
})


# GMII's halves, each from the side that drives it: the MAC transmits, the PHY receives.
GMIITxSignature = wiring.Signature({
    "txd":   Out(8),
    "tx_en": Out(1),
    "tx_er": Out(1),
})
GMIIRxSignature = wiring.Signature({
    "rxd":   Out(8),
    "rx_dv": Out(1),
    "rx_er": Out(1),
})

# The core's GMII port: both halves, flat (the pins' names).
GMIISignature = wiring.Signature({
    "txd":   Out(8),
    "tx_en": Out(1),
    "tx_er": Out(1),
    "rxd":   In(8),
    "rx_dv": In(1),
    "rx_er": In(1),
})


MDIOSignature = wiring.Signature({
    "mdc":     Out(1),
    "mdio_o":  Out(1),
    "mdio_oe": Out(1),
    "mdio_i":  In(1),
})
