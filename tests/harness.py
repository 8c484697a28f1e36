"""Running the core on the bench at the register level, for tests."""

import struct

from hw.core import E1000
from hw.regmap import reg
from sim.backends import create
from sim.bench import Bench
from sim.phy import PHYModel
from sim.rings import (MEM, RX_BUFFERS, RX_RING, TX_BUFFERS, TX_RING,  # noqa: F401 (for tests)
                       Registers, Rings)


# Tests that are about the model rather than the simulator run on the compiled backend (built once
# per design: this harness's and the machine's default); tests/test_backends.py checks that both
# backends agree, and tests that change the design (EEPROM images) use the Amaranth simulator.
COMPILED = "cxxrtl"


def run(testbench, *, autoneg_cycles=200, mdc_half_period=4, eeprom=None, read_latency=0,
        write_latency=0, vcd=None, backend="amaranth"):
    """Run ``await testbench(backend, regs)`` on a fresh bench on the given backend; returns
    its result."""
    bench = Bench(core=E1000(mdc_half_period=mdc_half_period),
                  phy=PHYModel(autoneg_cycles=autoneg_cycles), eeprom=eeprom)
    backend = create(bench, backend, mmio_read_latency=read_latency,
                     mmio_write_latency=write_latency)

    async def main(backend):
        return await testbench(backend, Registers(backend))
    return backend.run(main, vcd=vcd, trace_all=vcd is not None)


def nic_run(testbench, **kwargs):
    """``await testbench(backend, regs, rings)`` with the link up and bus mastering on."""
    async def tb(backend, regs):
        backend.set_bus_master(1)
        await backend.cycles(220)
        await regs.read(reg.ICR)
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
            await regs.write(reg.CTRL, await regs.read(reg.CTRL) | ctrl)
        await rings.tx_setup(count=count)
        at = [TX_BUFFERS + 3]

        def put(data):
            addr = at[0]
            backend.mem_write(addr, data)
            at[0] += (len(data) + 64) | 1
            return addr
        used = plan(rings, put)
        await regs.write(reg.TDT, used)
        if settle is not None:
            await rings.settle(settle)
        else:
            seen = -1
            while seen != len(backend.wire_log) or await regs.read(reg.TDH) != used:
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
