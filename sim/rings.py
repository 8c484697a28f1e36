"""Register-level access to the device, without a driver: for the tests, the fault campaign and
anyone poking at the model from Python.

``Registers`` reads and writes the core's registers by name (``hw.regmap``) or offset, straight
over the bench's MMIO port (no PCI host in between). ``Rings`` puts descriptor rings in host
memory and programs them the way the Linux driver does (e1000_configure_tx/rx: base, length,
head, tail, then the control register), with descriptors made only from the shared layouts of
``hw.desc`` and register values from ``sim.regvalues``.
"""

from amaranth.lib import data

from hw.bus import Space
from hw.desc import (TXD_CMD, TXD_DTYP, RxDescriptor, TxContextDescriptor, TxDataDescriptor,
                     TxDescriptor)
from hw.regmap import Register, reg

from . import regvalues


__all__ = ["Registers", "Rings", "MEM", "TX_RING", "RX_RING", "TX_BUFFERS", "RX_BUFFERS"]

# Where ``Rings`` puts things unless told otherwise: a megabyte into host memory.
MEM = 0x0010_0000
TX_RING = MEM
RX_RING = MEM + 0x1000
TX_BUFFERS = MEM + 0x2000
RX_BUFFERS = MEM + 0x40000

_TX = data.Layout.cast(TxDescriptor)
_RX = data.Layout.cast(RxDescriptor)
DESCRIPTOR = 16


class Registers:
    """Register access by name (a ``hw.regmap`` register, with ``n`` for an array's entry) or
    by byte offset."""

    def __init__(self, backend):
        self.backend = backend

    @staticmethod
    def _offset(register, n):
        return register.at(n) if isinstance(register, Register) else register

    async def read(self, register, n=0):
        return await self.backend.mmio(Space.MEM, self._offset(register, n))

    async def write(self, register, value, n=0, be=0xF):
        await self.backend.mmio(Space.MEM, self._offset(register, n), write=True, data=value,
                                be=be)

    async def io_read(self, offset):
        return await self.backend.mmio(Space.IO, offset)

    async def io_write(self, offset, value, be=0xF):
        await self.backend.mmio(Space.IO, offset, write=True, data=value, be=be)

    async def flush(self):
        """Wait until the writes posted so far have landed, as a driver does: a read completes
        only after them."""
        await self.read(reg.STATUS)


class Rings:
    """A transmit ring at ``tx_ring`` and a receive ring at ``rx_ring`` (each below 4 GiB),
    receive buffers from ``rx_buffers`` on, ``rx_buffer`` bytes apart, unless ``rx_setup`` is
    given their addresses."""

    def __init__(self, backend, regs, *, tx_ring=TX_RING, rx_ring=RX_RING, rx_buffers=RX_BUFFERS):
        self.backend, self.regs = backend, regs
        self.tx_ring, self.rx_ring, self.rx_buffers = tx_ring, rx_ring, rx_buffers
        self.tx_count = self.rx_count = 0
        self.rx_buffer = 2048
        self.rx_addrs = None

    def _ring_write(self, base, i, value):
        self.backend.mem_write(base + DESCRIPTOR * i, value.as_bits().to_bytes(DESCRIPTOR,
                                                                              "little"))

    def _ring_read(self, base, layout, i):
        raw = self.backend.mem_read(base + DESCRIPTOR * i, DESCRIPTOR)
        return layout.from_bits(int.from_bytes(raw, "little"))

    async def tx_setup(self, count=8, tctl=regvalues.TCTL, tipg=regvalues.TIPG, *, flush=True):
        """An empty ring of ``count`` descriptors, programmed, with TDH = TDT = 0."""
        self.tx_count = count
        self.backend.mem_write(self.tx_ring, bytes(DESCRIPTOR * count))
        await self._program("T", self.tx_ring, count, 0)
        await self.regs.write(reg.TIPG, tipg)
        await self.regs.write(reg.TCTL, tctl)
        if flush:
            await self.regs.flush()

    async def _program(self, side, base, count, tail):
        regs = self.regs
        await regs.write(getattr(reg, f"{side}DBAL"), base & 0xFFFF_FFFF)
        await regs.write(getattr(reg, f"{side}DBAH"), base >> 32)
        await regs.write(getattr(reg, f"{side}DLEN"), DESCRIPTOR * count)
        await regs.write(getattr(reg, f"{side}DH"), 0)
        await regs.write(getattr(reg, f"{side}DT"), tail)

    def tx_desc(self, i, addr, length, cmd):
        """A legacy descriptor in slot ``i``."""
        self.tx_legacy(i, addr, length, cmd)

    def tx_legacy(self, i, addr, length, cmd, **fields):
        """A legacy descriptor with any of its other fields (``cso``, ``css``, ...)."""
        self._ring_write(self.tx_ring, i, TxDescriptor.const(
            {"buffer_addr": addr, "length": length, "cmd": cmd, **fields}))

    def tx_context(self, i, tucmd=0, **fields):
        """A TCP/IP context descriptor (DEXT set)."""
        self._ring_write(self.tx_ring, i, TxContextDescriptor.const(
            {"dtyp": TXD_DTYP.CONTEXT, "tucmd": tucmd | TXD_CMD.DEXT, **fields}))

    def tx_data(self, i, addr, length, dcmd, popts=0, **fields):
        """A TCP/IP data descriptor (DEXT set)."""
        self._ring_write(self.tx_ring, i, TxDataDescriptor.const(
            {"buffer_addr": addr, "length": length, "dtyp": TXD_DTYP.DATA,
             "dcmd": dcmd | TXD_CMD.DEXT, "popts": popts, **fields}))

    def tx_status(self, i):
        """Slot ``i`` as the device left it (a legacy descriptor's view)."""
        return self._ring_read(self.tx_ring, _TX, i)

    async def rx_setup(self, count=8, rctl=regvalues.RCTL, buffer=2048, give=None, *,
                       addrs=None):
        """A ring of ``count`` descriptors, each posted with its buffer (``buffer`` bytes, at
        ``addrs`` if given), programmed with RDT = ``give`` (all but one slot by default), then
        RCTL; the writes have landed when it returns."""
        self.rx_count = count
        self.rx_buffer = buffer
        self.rx_addrs = addrs
        for i in range(count):
            self.rx_reset(i)
        await self._program("R", self.rx_ring, count, count - 1 if give is None else give)
        await self.regs.write(reg.RCTL, rctl)
        await self.regs.flush()

    async def flush(self):
        await self.regs.flush()

    def rx_buffer_addr(self, i):
        if self.rx_addrs is not None:
            return self.rx_addrs[i]
        return self.rx_buffers + i * self.rx_buffer

    def rx_reset(self, i):
        """Slot ``i`` posted again with its buffer, its status clear."""
        self._ring_write(self.rx_ring, i, RxDescriptor.const(
            {"buffer_addr": self.rx_buffer_addr(i)}))

    def rx_status(self, i):
        return self._ring_read(self.rx_ring, _RX, i)

    def rx_data(self, i):
        return self.backend.mem_read(self.rx_buffer_addr(i), self.rx_status(i).length)

    async def settle(self, cycles=2000):
        """Let the wire and the DMA engines finish what they have."""
        await self.backend.cycles(cycles)
