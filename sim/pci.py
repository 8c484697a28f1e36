"""The host model: PCI configuration space, BAR assignment, MMIO routing, DMA memory, the IRQ.

Simulation only. ``PciFunction`` is the e1000's type 0 configuration header (on an FPGA the PCIe
endpoint provides it): identity from the EEPROM image, BAR0 as 128 KiB of 32-bit
non-prefetchable memory, BAR1 as 64 bytes of I/O, interrupt pin A, and a COMMAND register whose
Memory, I/O and BusMaster bits gate decoding and DMA. ``Host`` enumerates it the way firmware
does (write all ones to each BAR, read back the size, assign an aligned address), routes CPU
accesses to the BAR they hit (an access that hits nothing, or a BAR whose decoding is off, ends
in a master abort: reads return all ones, writes vanish), and implements the kernel's
``Platform`` over the simulation. ``SimPciDevice`` is the driver's view of the function.

Like the 82540EM's, the header has a capabilities list with one entry, PCI power management at
0xDC (version 1.1, D0 and D3hot, no PME): a real kernel's PCI core looks for it and moves the
function between D0 and D3hot through its PMCSR. Nothing else in the model depends on the state.
"""

from hw.bus import Space
from hw.regmap import BAR0_SIZE, BAR1_SIZE

from driver.kernel import Platform
from driver.pci import (DmaBuffer, IoMem, PciDevice, PciError, IORESOURCE_IO, IORESOURCE_MEM,
                        PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY)


__all__ = ["PciFunction", "Host", "SimPciDevice"]


_COMMAND_WRITABLE = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | (1 << 6) | (1 << 8) \
    | (1 << 10)                         # + parity, SERR#, interrupt disable

MMIO_WINDOW = 0xFEB0_0000               # where firmware places memory BARs
IO_WINDOW = 0xC000                      # and I/O BARs
IRQ_LINE = 11

PM_CAPABILITY = 0xDC                    # where the 82540EM has it
_PMC = 0x0002                           # PCI PM 1.1; no D1/D2, no PME
_STATUS_CAP_LIST = 1 << 4


class PciFunction:
    """Configuration space of the e1000 function."""

    def __init__(self, *, vendor=0x8086, device=0x100E, revision=0x03, class_code=0x020000,
                 subsystem_vendor=0x8086, subsystem_device=0x100E):
        self.bars = [
            {"size": BAR0_SIZE, "io": False, "space": Space.MEM},
            {"size": BAR1_SIZE, "io": True, "space": Space.IO},
        ]
        self.base = [0, 0]
        self.command = 0
        self.status = _STATUS_CAP_LIST
        self.power_state = 0            # PMCSR.PowerState: D0 or D3hot (3)
        self.interrupt_line = 0
        self.ident = {
            0x00: vendor, 0x02: device, 0x08: revision | class_code << 8,
            0x2C: subsystem_vendor, 0x2E: subsystem_device,
        }
        self.on_command = None          # called with the new COMMAND value

    def _dword(self, where):
        if where == 0x00:
            return self.ident[0x00] | self.ident[0x02] << 16
        if where == 0x04:
            return self.command | self.status << 16
        if where == 0x08:
            return self.ident[0x08]
        if where == 0x0C:
            return 0x00000000           # cache line 0, latency 0, header type 0, no BIST
        if 0x10 <= where < 0x28:
            n = (where - 0x10) // 4
            if n >= len(self.bars):
                return 0
            return self.base[n] | (1 if self.bars[n]["io"] else 0)
        if where == 0x2C:
            return self.ident[0x2C] | self.ident[0x2E] << 16
        if where == 0x34:
            return PM_CAPABILITY
        if where == PM_CAPABILITY:
            return 0x01 | _PMC << 16                    # PM capability, last in the list
        if where == PM_CAPABILITY + 4:
            return self.power_state
        if where == 0x3C:
            return self.interrupt_line | 0x01 << 8      # interrupt pin A
        return 0

    def read(self, where, size):
        if size not in (1, 2, 4) or where % size or not 0 <= where < 256:
            raise PciError(f"bad configuration read of {size} bytes at {where:#x}")
        shift = (where % 4) * 8
        return (self._dword(where & ~3) >> shift) & ((1 << (8 * size)) - 1)

    def write(self, where, size, value):
        if size not in (1, 2, 4) or where % size or not 0 <= where < 256:
            raise PciError(f"bad configuration write of {size} bytes at {where:#x}")
        aligned = where & ~3
        shift = (where % 4) * 8
        mask = ((1 << (8 * size)) - 1) << shift
        value = (value << shift) & mask
        if aligned == 0x04 and mask & 0xFFFF:
            self.command = ((self.command & ~mask) | value) & _COMMAND_WRITABLE
            if self.on_command:
                self.on_command(self.command)
        elif 0x10 <= aligned < 0x10 + 4 * len(self.bars):
            n = (aligned - 0x10) // 4
            size_mask = ~(self.bars[n]["size"] - 1) & 0xFFFFFFFF
            merged = (self.base[n] & ~mask) | value
            self.base[n] = merged & size_mask
        elif aligned == 0x3C and mask & 0xFF:
            self.interrupt_line = value & 0xFF
        elif aligned == PM_CAPABILITY + 4 and mask & 0x3:
            state = value & 0x3
            if state in (0, 3):                         # D1 and D2 are not supported
                self.power_state = state

    def decodes(self, n):
        bar = self.bars[n]
        return bool(self.command & (PCI_COMMAND_IO if bar["io"] else PCI_COMMAND_MEMORY))


class Host:
    """The CPU side of the machine: one PCI function at 00:03.0 on the simulated core."""

    slot = "0000:00:03.0"

    def __init__(self, backend, *, function=None):
        self.backend = backend
        words = backend.bench.eeprom_words
        self.function = function or PciFunction(subsystem_device=words[0x0B],
                                                subsystem_vendor=words[0x0C])
        self.function.on_command = self._command_changed
        mem = backend.bench.hostmem
        self._dma_free = [(mem.base, mem.size)]     # (base, size) holes, in address order
        self.master_aborts = 0

    def _command_changed(self, command):
        self.backend.set_bus_master(command & PCI_COMMAND_MASTER)

    # Firmware.

    def enumerate(self):
        """Size and place each BAR, as firmware does; leave decoding off for the OS to enable."""
        f = self.function
        next_mem, next_io = MMIO_WINDOW, IO_WINDOW
        for n in range(6):
            where = 0x10 + 4 * n
            f.write(where, 4, 0xFFFFFFFF)
            probe = f.read(where, 4)
            if not probe:
                continue
            io = probe & 1
            size = (~(probe & (~0x3 if io else ~0xF)) + 1) & 0xFFFFFFFF
            if io:
                base = (next_io + size - 1) // size * size
                next_io = base + size
            else:
                base = (next_mem + size - 1) // size * size
                next_mem = base + size
            f.write(where, 4, base)
        f.write(0x3C, 1, IRQ_LINE)
        return [SimPciDevice(self)]

    # CPU accesses.

    def _route(self, address, io):
        f = self.function
        for n, bar in enumerate(f.bars):
            if bar["io"] == io and f.base[n] <= address < f.base[n] + bar["size"] and f.base[n]:
                return (n, address - f.base[n]) if f.decodes(n) else None
        return None

    async def cpu_read32(self, address, *, io=False):
        hit = self._route(address, io)
        if hit is None:
            self.master_aborts += 1
            await self.backend.cycles(self.backend.read_latency)
            return 0xFFFFFFFF
        n, offset = hit
        return await self.backend.mmio(self.function.bars[n]["space"], offset)

    async def cpu_write32(self, address, value, *, io=False):
        hit = self._route(address, io)
        if hit is None:
            self.master_aborts += 1
            await self.backend.cycles(self.backend.write_latency)
            return
        n, offset = hit
        await self.backend.mmio(self.function.bars[n]["space"], offset, write=True, data=value)

    # DMA memory: first fit over host memory's holes.

    def dma_alloc(self, size, align):
        """The bus address of ``size`` free bytes aligned to ``align``, or None when no hole
        is large enough (as the kernel's allocator returns NULL)."""
        for i, (hole, length) in enumerate(self._dma_free):
            base = (hole + align - 1) // align * align
            if base + size <= hole + length:
                pieces = [(hole, base - hole), (base + size, hole + length - base - size)]
                self._dma_free[i:i + 1] = [(b, n) for b, n in pieces if n > 0]
                return base
        return None

    def dma_free(self, base, size):
        """Give back what ``dma_alloc`` returned; neighbouring holes merge."""
        holes = sorted(self._dma_free + [(base, size)])
        merged = []
        for hole, length in holes:
            if merged and merged[-1][0] + merged[-1][1] > hole:
                raise ValueError(f"DMA memory at {base:#x} freed twice or never allocated")
            if merged and merged[-1][0] + merged[-1][1] == hole:
                merged[-1] = (merged[-1][0], merged[-1][1] + length)
            else:
                merged.append((hole, length))
        self._dma_free = merged

    # The kernel's platform.

    def platform(self):
        return _SimPlatform(self)


class _SimPlatform(Platform):
    def __init__(self, host):
        self.host = host
        self.backend = host.backend

    def now_ns(self):
        return self.backend.ns(self.backend.now)

    def asserted_irqs(self):
        return {self.host.function.interrupt_line} if self.backend.irq else set()

    async def wait_irq(self, timeout_ns):
        if await self.backend.wait_irq(self.backend.cycles_for_ns(timeout_ns)):
            return {self.host.function.interrupt_line}
        return set()

    async def udelay(self, us):
        await self.backend.cycles(self.backend.cycles_for_ns(us * 1000))


class _SimIoMem(IoMem):
    def __init__(self, host, base, size, io):
        super().__init__(f"{'I/O' if io else 'MMIO'} window at {base:#x}", size)
        self._host, self._base, self._io = host, base, io

    async def _read32(self, offset):
        return await self._host.cpu_read32(self._base + offset, io=self._io)

    async def _write32(self, offset, value):
        await self._host.cpu_write32(self._base + offset, value, io=self._io)


class _SimDmaBuffer(DmaBuffer):
    def __init__(self, backend, dma_handle, size):
        super().__init__(dma_handle, size)
        self._backend = backend

    def _read(self, offset, length):
        return self._backend.mem_read(self.dma_handle + offset, length)

    def _write(self, offset, data):
        self._backend.mem_write(self.dma_handle + offset, data)


class SimPciDevice(PciDevice):
    def __init__(self, host):
        self.host = host
        f = host.function
        self.vendor, self.device = f.read(0x00, 2), f.read(0x02, 2)
        self.revision = f.read(0x08, 1)
        self.subsystem_vendor, self.subsystem_device = f.read(0x2C, 2), f.read(0x2E, 2)
        self.irq = f.read(0x3C, 1)
        self.slot_name = host.slot
        self.dma_mask_bits = 32

    async def config_read(self, where, size):
        return self.host.function.read(where, size)

    async def config_write(self, where, size, value):
        self.host.function.write(where, size, value)

    def resource_start(self, bar):
        f = self.host.function
        return f.base[bar] if bar < len(f.bars) else 0

    def resource_len(self, bar):
        f = self.host.function
        return f.bars[bar]["size"] if bar < len(f.bars) else 0

    def resource_flags(self, bar):
        f = self.host.function
        if bar >= len(f.bars) or not f.base[bar]:
            return 0
        return IORESOURCE_IO if f.bars[bar]["io"] else IORESOURCE_MEM

    def iomap(self, bar):
        if not self.resource_flags(bar):
            raise PciError(f"{self.slot_name}: BAR {bar} is not assigned")
        return _SimIoMem(self.host, self.resource_start(bar), self.resource_len(bar),
                         bool(self.resource_flags(bar) & IORESOURCE_IO))

    def set_dma_mask(self, bits):
        mem = self.host.backend.bench.hostmem
        if mem.base + mem.size > 1 << bits:
            raise PciError(f"host memory is not reachable with a {bits}-bit DMA mask")
        self.dma_mask_bits = bits

    def dma_alloc_coherent(self, size, align=128):
        handle = self.host.dma_alloc(size, align)
        if handle is None:
            return None
        buffer = _SimDmaBuffer(self.host.backend, handle, size)
        buffer.write(0, bytes(size))
        return buffer

    def dma_free_coherent(self, buffer):
        self.host.dma_free(buffer.dma_handle, buffer.size)
