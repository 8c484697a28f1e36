"""Running the core on the bench at the register level, for tests."""

import struct

from hw.bus import Space
from hw.core import E1000
from hw.regmap import Register
from sim import regvalues
from sim.backends import create
from sim.bench import Bench
from sim.phy import PHYModel


# Tests that are about the model rather than the simulator run on the compiled backend (built once
# per design: this harness's and the machine's default); tests/test_backends.py checks that both
# backends agree, and tests that change the design (EEPROM images) use the Amaranth simulator.
COMPILED = "cxxrtl"


class Regs:
    """Register access by name or offset, straight to the core (no PCI host in between)."""

    def __init__(self, backend):
        self.backend = backend

    @staticmethod
    def _offset(register, n):
        return register.at(n) if isinstance(register, Register) else register

    async def read(self, register, n=0):
        return await self.backend.mmio(Space.MEM, self._offset(register, n))

    async def write(self, register, value, n=0, be=0xF):
        await self.backend.mmio(Space.MEM, self._offset(register, n), write=True, data=value, be=be)

    async def io_read(self, offset):
        return await self.backend.mmio(Space.IO, offset)

    async def io_write(self, offset, value, be=0xF):
        await self.backend.mmio(Space.IO, offset, write=True, data=value, be=be)


def run(testbench, *, autoneg_cycles=200, mdc_half_period=4, eeprom=None, read_latency=0,
        write_latency=0, vcd=None, backend="amaranth"):
    """Run ``await testbench(backend, regs)`` on a fresh bench on the given backend; returns
    its result."""
    bench = Bench(core=E1000(mdc_half_period=mdc_half_period),
                  phy=PHYModel(autoneg_cycles=autoneg_cycles), eeprom=eeprom)
    backend = create(bench, backend, mmio_read_latency=read_latency,
                     mmio_write_latency=write_latency)

    async def main(backend):
        return await testbench(backend, Regs(backend))
    return backend.run(main, vcd=vcd, trace_all=vcd is not None)


# Rings in host memory, set up directly (no driver), for datapath tests.

from amaranth.lib import data as _data

from hw.desc import (TXD_CMD, TXD_DTYP, RxDescriptor, TxContextDescriptor, TxDataDescriptor,
                     TxDescriptor)
from hw.regmap import reg as _reg

MEM = 0x0010_0000
TX_RING = MEM
RX_RING = MEM + 0x1000
TX_BUFFERS = MEM + 0x2000
RX_BUFFERS = MEM + 0x40000
_TX = _data.Layout.cast(TxDescriptor)
_RX = _data.Layout.cast(RxDescriptor)


class Rings:
    def __init__(self, backend, regs):
        self.backend, self.regs = backend, regs
        self.tail = 0

    async def tx_setup(self, count=8, tctl=regvalues.TCTL, tipg=regvalues.TIPG):
        self.tx_count = count
        self.backend.mem_write(TX_RING, bytes(16 * count))
        await self.regs.write(_reg.TDBAL, TX_RING)
        await self.regs.write(_reg.TDLEN, 16 * count)
        await self.regs.write(_reg.TIPG, tipg)
        await self.regs.write(_reg.TCTL, tctl)
        await self.flush()

    def tx_desc(self, i, addr, length, cmd):
        value = TxDescriptor.const({"buffer_addr": addr, "length": length, "cmd": cmd}).as_bits()
        self.backend.mem_write(TX_RING + 16 * i, value.to_bytes(16, "little"))

    def tx_legacy(self, i, addr, length, cmd, **fields):
        """A legacy descriptor with any of its other fields (``cso``, ``css``, ...)."""
        value = TxDescriptor.const({"buffer_addr": addr, "length": length, "cmd": cmd,
                                    **fields}).as_bits()
        self.backend.mem_write(TX_RING + 16 * i, value.to_bytes(16, "little"))

    def tx_context(self, i, tucmd=0, **fields):
        value = TxContextDescriptor.const({"dtyp": TXD_DTYP.CONTEXT,
                                           "tucmd": tucmd | TXD_CMD.DEXT, **fields}).as_bits()
        self.backend.mem_write(TX_RING + 16 * i, value.to_bytes(16, "little"))

    def tx_data(self, i, addr, length, dcmd, popts=0, **fields):
        value = TxDataDescriptor.const({"buffer_addr": addr, "length": length,
                                        "dtyp": TXD_DTYP.DATA, "dcmd": dcmd | TXD_CMD.DEXT,
                                        "popts": popts, **fields}).as_bits()
        self.backend.mem_write(TX_RING + 16 * i, value.to_bytes(16, "little"))

    def tx_status(self, i):
        return _TX.from_bits(int.from_bytes(self.backend.mem_read(TX_RING + 16 * i, 16), "little"))

    async def rx_setup(self, count=8, rctl=regvalues.RCTL, buffer=2048, give=None):
        self.rx_count = count
        self.rx_buffer = buffer
        for i in range(count):
            self.rx_reset(i)
        await self.regs.write(_reg.RDBAL, RX_RING)
        await self.regs.write(_reg.RDLEN, 16 * count)
        await self.regs.write(_reg.RDH, 0)
        await self.regs.write(_reg.RDT, count - 1 if give is None else give)
        await self.regs.write(_reg.RCTL, rctl)
        await self.flush()

    async def flush(self):
        """Wait until the writes posted so far have landed, as a driver does: a read completes
        only after them."""
        await self.regs.read(_reg.STATUS)

    def rx_buffer_addr(self, i):
        return RX_BUFFERS + i * self.rx_buffer

    def rx_reset(self, i):
        value = RxDescriptor.const({"buffer_addr": self.rx_buffer_addr(i)}).as_bits()
        self.backend.mem_write(RX_RING + 16 * i, value.to_bytes(16, "little"))

    def rx_status(self, i):
        return _RX.from_bits(int.from_bytes(self.backend.mem_read(RX_RING + 16 * i, 16), "little"))

    def rx_data(self, i):
        return self.backend.mem_read(self.rx_buffer_addr(i), self.rx_status(i).length)

    async def settle(self, cycles=2000):
        """Let the wire and the DMA engines finish what they have."""
        await self.backend.cycles(cycles)


def nic_run(testbench, **kwargs):
    """``await testbench(backend, regs, rings)`` with the link up and bus mastering on."""
    async def tb(backend, regs):
        backend.set_bus_master(1)
        await backend.cycles(220)
        await regs.read(_reg.ICR)
        return await testbench(backend, regs, Rings(backend, regs))
    return run(tb, **kwargs)


def send_ring(plan, *, count=16, counters=(), settle=None, ctrl=0, **kwargs):
    """Run ``plan(rings, put)``, which writes transmit descriptors from slot 0 and returns how
    many (``put(data)`` stores data at the next odd address and returns it), then hand the ring
    over: for ``settle`` cycles, or until TDH reaches the end and the wire is quiet. Returns the
    wire frames, the descriptors' status bytes and the ``counters`` (registers) by name.
    ``ctrl``: CTRL bits to set first (VME)."""
    async def tb(backend, regs, rings):
        if ctrl:
            await regs.write(_reg.CTRL, await regs.read(_reg.CTRL) | ctrl)
        await rings.tx_setup(count=count)
        at = [TX_BUFFERS + 3]

        def put(data):
            addr = at[0]
            backend.mem_write(addr, data)
            at[0] += (len(data) + 64) | 1
            return addr
        used = plan(rings, put)
        await regs.write(_reg.TDT, used)
        if settle is not None:
            await rings.settle(settle)
        else:
            seen = -1
            while seen != len(backend.wire_log) or await regs.read(_reg.TDH) != used:
                seen = len(backend.wire_log)
                await rings.settle(3000)
        return ([w for _, _, w in backend.wire_log], [rings.tx_status(i).sta for i in range(used)],
                {r.name: await regs.read(r) for r in counters})
    return nic_run(tb, **kwargs)


def sum16(data):
    """The ones'-complement sum of ``data``'s 16-bit big-endian words (an odd last byte padded),
    folded to 16 bits: a checksum is its complement."""
    data = bytes(data) + b"\0" * (len(data) & 1)
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total
