"""Running the core on the bench at the register level, for tests."""

from hw.bus import Space
from hw.core import E1000
from hw.regmap import Register
from sim.bench import Backend, Bench
from sim.phy import PHYModel


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
        write_latency=0, vcd=None):
    """Run ``await testbench(backend, regs)`` on a fresh bench; returns its result."""
    bench = Bench(core=E1000(mdc_half_period=mdc_half_period, eeprom=eeprom),
                  phy=PHYModel(autoneg_cycles=autoneg_cycles))
    backend = Backend(bench, mmio_read_latency=read_latency, mmio_write_latency=write_latency)

    async def main(backend):
        return await testbench(backend, Regs(backend))
    return backend.run(main, vcd=vcd, trace_all=vcd is not None)
