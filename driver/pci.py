"""A Linux-shaped PCI device API: what a driver may do with its device, and nothing more.

The driver sees configuration space, BAR windows with 32-bit accessors (``pci_iomap``), coherent
DMA memory (``dma_alloc_coherent``) and an interrupt line number (``pdev.irq``, for the kernel's
``request_irq``). Every access that reaches the device is a coroutine, so a backend may take
simulated time to complete it. A simulation backend implements this (see ``sim.pci``); another
backend can implement it without any change to the driver.
"""

from abc import ABC, abstractmethod


__all__ = [
    "PciDevice", "IoMem", "DmaBuffer", "PciError",
    "PCI_VENDOR_ID", "PCI_DEVICE_ID", "PCI_COMMAND", "PCI_STATUS", "PCI_REVISION_ID",
    "PCI_CLASS_REVISION", "PCI_HEADER_TYPE", "PCI_BASE_ADDRESS_0", "PCI_SUBSYSTEM_VENDOR_ID",
    "PCI_SUBSYSTEM_ID", "PCI_INTERRUPT_LINE", "PCI_INTERRUPT_PIN",
    "PCI_COMMAND_IO", "PCI_COMMAND_MEMORY", "PCI_COMMAND_MASTER", "PCI_COMMAND_INTX_DISABLE",
    "IORESOURCE_IO", "IORESOURCE_MEM",
]


# Configuration space header, type 0 (PCI Local Bus Specification 3.0, 6.1).
PCI_VENDOR_ID = 0x00
PCI_DEVICE_ID = 0x02
PCI_COMMAND = 0x04
PCI_STATUS = 0x06
PCI_REVISION_ID = 0x08
PCI_CLASS_REVISION = 0x08
PCI_HEADER_TYPE = 0x0E
PCI_BASE_ADDRESS_0 = 0x10
PCI_SUBSYSTEM_VENDOR_ID = 0x2C
PCI_SUBSYSTEM_ID = 0x2E
PCI_INTERRUPT_LINE = 0x3C
PCI_INTERRUPT_PIN = 0x3D

PCI_COMMAND_IO = 1 << 0
PCI_COMMAND_MEMORY = 1 << 1
PCI_COMMAND_MASTER = 1 << 2
PCI_COMMAND_INTX_DISABLE = 1 << 10

IORESOURCE_IO = 0x100
IORESOURCE_MEM = 0x200


class PciError(Exception):
    pass


class IoMem(ABC):
    """A mapped BAR: 32-bit accesses at byte offsets into it."""

    def __init__(self, name, size):
        self.name = name
        self.size = size

    def _check(self, offset):
        if not isinstance(offset, int) or offset % 4 or not 0 <= offset <= self.size - 4:
            raise ValueError(f"{self.name}: offset {offset!r} is not an aligned 32-bit register "
                             f"within 0..{self.size - 4:#x}")

    async def read32(self, offset):
        self._check(offset)
        return await self._read32(offset)

    async def write32(self, offset, value):
        self._check(offset)
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"{self.name}: {value!r} does not fit in 32 bits")
        await self._write32(offset, value)

    @abstractmethod
    async def _read32(self, offset): ...

    @abstractmethod
    async def _write32(self, offset, value): ...


class DmaBuffer(ABC):
    """Coherent DMA memory: the CPU reads and writes it directly, the device at ``dma_handle``."""

    def __init__(self, dma_handle, size):
        self.dma_handle = dma_handle
        self.size = size

    def _check(self, offset, length):
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ValueError(f"{offset:#x}+{length} is outside this {self.size}-byte DMA buffer")

    def read(self, offset, length):
        self._check(offset, length)
        return self._read(offset, length)

    def write(self, offset, data):
        self._check(offset, len(data))
        self._write(offset, bytes(data))

    def read32(self, offset):
        return int.from_bytes(self.read(offset, 4), "little")

    def write32(self, offset, value):
        self.write(offset, value.to_bytes(4, "little"))

    @abstractmethod
    def _read(self, offset, length): ...

    @abstractmethod
    def _write(self, offset, data): ...


class PciDevice(ABC):
    """One PCI function, as ``struct pci_dev`` presents it to a driver.

    Attributes set by enumeration: ``vendor``, ``device``, ``revision``, ``subsystem_vendor``,
    ``subsystem_device``, ``irq`` (the interrupt line), and ``slot_name`` ("0000:00:03.0").
    """

    vendor = device = revision = subsystem_vendor = subsystem_device = None
    irq = None
    slot_name = None

    # Configuration space.
    @abstractmethod
    async def config_read(self, where, size): ...

    @abstractmethod
    async def config_write(self, where, size, value): ...

    async def read_config_byte(self, where):
        return await self.config_read(where, 1)

    async def read_config_word(self, where):
        return await self.config_read(where, 2)

    async def read_config_dword(self, where):
        return await self.config_read(where, 4)

    async def write_config_byte(self, where, value):
        await self.config_write(where, 1, value)

    async def write_config_word(self, where, value):
        await self.config_write(where, 2, value)

    async def write_config_dword(self, where, value):
        await self.config_write(where, 4, value)

    # Enabling.
    async def enable_device(self):
        """Turn on decoding of the BARs the device has (``pci_enable_device``)."""
        cmd = await self.read_config_word(PCI_COMMAND)
        want = cmd
        for bar in range(6):
            flags = self.resource_flags(bar)
            if flags & IORESOURCE_IO:
                want |= PCI_COMMAND_IO
            if flags & IORESOURCE_MEM:
                want |= PCI_COMMAND_MEMORY
        if want != cmd:
            await self.write_config_word(PCI_COMMAND, want)

    async def disable_device(self):
        cmd = await self.read_config_word(PCI_COMMAND)
        await self.write_config_word(PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY
                                                          | PCI_COMMAND_MASTER))

    async def set_master(self):
        cmd = await self.read_config_word(PCI_COMMAND)
        await self.write_config_word(PCI_COMMAND, cmd | PCI_COMMAND_MASTER)

    async def clear_master(self):
        cmd = await self.read_config_word(PCI_COMMAND)
        await self.write_config_word(PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER)

    # Resources, as assigned by enumeration.
    @abstractmethod
    def resource_start(self, bar): ...

    @abstractmethod
    def resource_len(self, bar): ...

    @abstractmethod
    def resource_flags(self, bar): ...

    @abstractmethod
    def iomap(self, bar):
        """Map a memory or I/O BAR; returns an ``IoMem``."""

    # DMA.
    @abstractmethod
    def set_dma_mask(self, bits): ...

    @abstractmethod
    def dma_alloc_coherent(self, size, align=128):
        """Allocate ``size`` bytes the device can reach; returns a ``DmaBuffer``, or None when
        there is no memory for it."""

    @abstractmethod
    def dma_free_coherent(self, buffer): ...
