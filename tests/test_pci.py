"""The host model: configuration space, BAR sizing and assignment, decode and bus mastering."""

import pytest

from driver.pci import (IORESOURCE_IO, IORESOURCE_MEM, PCI_COMMAND, PCI_COMMAND_IO,
                        PCI_COMMAND_MEMORY, PciError)
from hw.regmap import reg
from sim.machine import Machine
from sim.pci import PciFunction


def test_configuration_header():
    f = PciFunction()
    assert f.read(0x00, 2) == 0x8086 and f.read(0x02, 2) == 0x100E
    assert f.read(0x08, 1) == 0x03
    assert f.read(0x08, 4) >> 8 == 0x020000              # Ethernet controller
    assert f.read(0x0E, 1) == 0x00                       # header type 0
    assert f.read(0x3D, 1) == 0x01                       # INTA#
    with pytest.raises(PciError):
        f.read(0x02, 4)                                  # misaligned
    with pytest.raises(PciError):
        f.write(0x100, 4, 0)


def test_bar_sizing_the_way_firmware_does_it():
    f = PciFunction()
    sizes = []
    for n in range(6):
        f.write(0x10 + 4 * n, 4, 0xFFFFFFFF)
        sizes.append(f.read(0x10 + 4 * n, 4))
    assert sizes == [0xFFFE0000, 0xFFFFFFC1, 0, 0, 0, 0]
    f.write(0x10, 4, 0xFEBC1234)                         # low bits are not writable
    assert f.read(0x10, 4) == 0xFEBC0000
    f.write(0x04, 2, 0xFFFF)
    assert f.read(0x04, 2) == 0x0547                     # only implemented COMMAND bits


def test_enumeration_decode_and_bus_master():
    machine = Machine(console=lambda line: None)

    async def scenario(world):
        backend, host = world.backend, world.host
        pdev = world.devices[0]
        seen = {
            "ids": (pdev.vendor, pdev.device, pdev.revision, pdev.subsystem_vendor,
                    pdev.subsystem_device, pdev.irq, pdev.slot_name),
            "bars": [(pdev.resource_start(n), pdev.resource_len(n), pdev.resource_flags(n))
                     for n in range(3)],
            "command": await pdev.read_config_word(PCI_COMMAND),
        }
        bar0, bar1 = pdev.iomap(0), pdev.iomap(1)
        # Decoding is off until the driver enables the device: master aborts, nothing reaches it.
        seen["before"] = await bar0.read32(reg.STATUS.offset)
        await bar0.write32(reg.FCAL.offset, 0x12345678)
        seen["device accesses before"] = backend.mmio_reads + backend.mmio_writes
        seen["aborts"] = host.master_aborts
        await pdev.enable_device()
        seen["command enabled"] = await pdev.read_config_word(PCI_COMMAND)
        seen["fcal"] = await bar0.read32(reg.FCAL.offset)      # the early write was lost
        await bar1.write32(0, reg.VET.offset)
        seen["vet via io"] = await bar1.read32(4)
        seen["bus master before"] = backend.bus_master
        await pdev.set_master()
        seen["bus master after"] = backend.bus_master
        await pdev.disable_device()
        seen["bus master disabled"] = backend.bus_master
        seen["after disable"] = await bar0.read32(reg.STATUS.offset)
        with pytest.raises(ValueError):
            await bar0.read32(0x2)                 # unaligned
        with pytest.raises(ValueError):
            await bar0.read32(0x20000)             # past the BAR
        with pytest.raises(PciError):
            pdev.iomap(2)
        buffer = pdev.dma_alloc_coherent(256)
        buffer.write(8, b"\x01\x02\x03")
        seen["dma"] = (buffer.dma_handle % 128, buffer.read(6, 6),
                       backend.mem_read(buffer.dma_handle + 8, 3))
        with pytest.raises(ValueError):
            buffer.read(250, 8)
        return seen

    seen = machine.run(scenario)
    assert seen["ids"] == (0x8086, 0x100E, 3, 0x8086, 0x100E, 11, "0000:00:03.0")
    (start0, len0, flags0), (start1, len1, flags1), unused = seen["bars"]
    assert len0 == 128 * 1024 and start0 % len0 == 0 and flags0 == IORESOURCE_MEM
    assert len1 == 64 and start1 % 64 == 0 and flags1 == IORESOURCE_IO
    assert unused == (0, 0, 0)
    assert seen["command"] == 0
    assert seen["before"] == 0xFFFFFFFF and seen["device accesses before"] == 0
    assert seen["aborts"] == 2
    assert seen["command enabled"] == PCI_COMMAND_IO | PCI_COMMAND_MEMORY
    assert seen["fcal"] == 0
    assert seen["vet via io"] == 0x8100
    assert (seen["bus master before"], seen["bus master after"],
            seen["bus master disabled"]) == (0, 1, 0)
    assert seen["after disable"] == 0xFFFFFFFF
    assert seen["dma"] == (0, b"\x00\x00\x01\x02\x03\x00", b"\x01\x02\x03")
