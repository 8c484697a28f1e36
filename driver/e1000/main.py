"""The e1000 driver proper: probe, open, the interrupt handler, the link watchdog, stop, remove.

Shaped like the Linux driver's e1000_main.c. It talks to the device only through the PCI device
API (``driver.pci``) and to the rest of the system only through the kernel (``driver.kernel``).
"""

from hw.regmap import reg

from ..netdev import NetDevice, NetDeviceOps, RtnlLinkStats64, format_mac
from ..pci import IORESOURCE_IO, IORESOURCE_MEM, PciError
from .hw import E1000HW, EepromError, PhyError


__all__ = ["E1000Driver", "E1000Adapter", "ProbeError", "IMS_ENABLE_MASK"]


DRIVER_NAME = "e1000"
DRIVER_BANNER = "Intel(R) PRO/1000 Network Driver"
DRIVER_COPYRIGHT = "Copyright (c) 1999-2006 Intel Corporation."
ID_TABLE = {(0x8086, 0x100E)}           # 82540EM

# Causes the driver takes interrupts for.
IMS_ENABLE_MASK = (reg.IMS.TXDW.mask | reg.IMS.RXDMT0.mask | reg.IMS.RXSEQ.mask
                   | reg.IMS.LSC.mask | reg.IMS.RXT0.mask)


class ProbeError(Exception):
    pass


class E1000Adapter(NetDeviceOps):
    """The driver's private state for one device (``struct e1000_adapter``)."""

    def __init__(self, kernel, pdev, *, eeprom_access="eerd"):
        self.kernel = kernel
        self.pdev = pdev
        self.eeprom_access = eeprom_access
        self.netdev = NetDevice(self)
        self.netdev.priv = self
        self.hw = None
        self.irq_registered = False
        self.interrupts = 0

    # Messages, as dev_info()/netdev_info() print them.

    def dev_info(self, message):
        self.kernel.printk(f"{DRIVER_NAME} {self.pdev.slot_name}: {message}")

    def netdev_info(self, message):
        self.kernel.printk(f"{DRIVER_NAME} {self.pdev.slot_name} {self.netdev.name}: {message}")

    def dev_err(self, message):
        self.dev_info(message)

    # Probe and remove.

    async def probe(self):
        pdev = self.pdev
        await pdev.enable_device()
        bars = [bar for bar in range(6) if pdev.resource_flags(bar)]
        mem_bar = next((b for b in bars if pdev.resource_flags(b) & IORESOURCE_MEM), None)
        io_bar = next((b for b in bars if pdev.resource_flags(b) & IORESOURCE_IO), None)
        if mem_bar is None:
            raise ProbeError("no memory BAR")
        await pdev.set_master()
        pdev.set_dma_mask(32)

        self.hw = E1000HW(self.kernel, pdev.iomap(mem_bar),
                          pdev.iomap(io_bar) if io_bar is not None else None,
                          eeprom_access=self.eeprom_access)
        hw = self.hw
        await hw.reset_hw()

        try:
            await hw.validate_eeprom_checksum()
        except EepromError as e:
            self.dev_err(str(e))
            await pdev.disable_device()
            raise ProbeError(str(e)) from None
        mac = await hw.read_mac_addr()
        if mac[0] & 1 or not any(mac):
            self.dev_err(f"Invalid MAC Address {format_mac(mac)}")
            await pdev.disable_device()
            raise ProbeError("invalid MAC address")
        self.netdev.dev_addr = mac
        await hw.rar_set(mac, 0)
        for n in range(reg.MTA.count):
            await hw.ew32(reg.MTA, 0, n)

        try:
            phy_id = await hw.detect_gig_phy()
            await hw.setup_copper_link()
        except PhyError as e:
            self.dev_err(str(e))
            await pdev.disable_device()
            raise ProbeError(str(e)) from None
        self.dev_info(f"PHY {phy_id:#010x} (M88E1011) at address 1, autonegotiation restarted")

        self.kernel.register_netdev(self.netdev)
        self.netdev.netif_carrier_off()
        self.netdev_info(f"({await hw.bus_info()}) {format_mac(mac)}")
        self.netdev_info("Intel(R) PRO/1000 Network Connection")

    async def remove(self):
        if self.netdev.up:
            await self.ndo_stop(self.netdev)
        self.kernel.unregister_netdev(self.netdev)
        await self.hw.reset_hw()
        await self.pdev.disable_device()

    # Open and stop.

    async def ndo_open(self, netdev):
        hw = self.hw
        self.kernel.request_irq(self.pdev.irq, self.intr, netdev.name)
        self.irq_registered = True
        netdev.up = True
        await hw.ew32(reg.IMS, IMS_ENABLE_MASK)
        # Raise a link status change so that the watchdog looks at the link straight away.
        await hw.ew32(reg.ICS, reg.ICS.LSC.mask)

    async def ndo_stop(self, netdev):
        hw = self.hw
        netdev.up = False
        await hw.ew32(reg.IMC, 0xFFFFFFFF)
        await hw.write_flush()
        if self.irq_registered:
            self.kernel.free_irq(self.pdev.irq, self.intr)
            self.irq_registered = False
        await hw.er32(reg.ICR)
        netdev.netif_carrier_off()

    async def ndo_get_stats64(self, netdev):
        return RtnlLinkStats64()

    # Interrupts.

    async def intr(self, irq):
        icr = await self.hw.er32(reg.ICR)
        if not icr:
            return 0                    # not ours (shared line)
        self.interrupts += 1
        if icr & (reg.ICR.LSC.mask | reg.ICR.RXSEQ.mask):
            self.kernel.schedule_work(self.watchdog)
        return 1

    async def watchdog(self):
        """Report link changes and follow them with the carrier."""
        hw = self.hw
        netdev = self.netdev
        link = await hw.check_for_link()
        if link and not netdev.carrier:
            speed, duplex = await hw.get_speed_and_duplex()
            flow = await hw.flow_control()
            self.kernel.printk(f"{DRIVER_NAME}: {netdev.name} NIC Link is Up {speed} Mbps "
                               f"{duplex} Duplex, Flow Control: {flow}")
            netdev.netif_carrier_on()
        elif not link and netdev.carrier:
            self.kernel.printk(f"{DRIVER_NAME}: {netdev.name} NIC Link is Down")
            netdev.netif_carrier_off()


class E1000Driver:
    """The PCI driver: binds to every 82540EM on the bus (``module_init``)."""

    name = DRIVER_NAME

    def __init__(self, kernel, **params):
        self.kernel = kernel
        self.params = params
        self.adapters = []

    async def init(self, devices):
        self.kernel.printk(f"{DRIVER_NAME}: {DRIVER_BANNER}")
        self.kernel.printk(f"{DRIVER_NAME}: {DRIVER_COPYRIGHT}")
        for pdev in devices:
            if (pdev.vendor, pdev.device) not in ID_TABLE:
                continue
            adapter = E1000Adapter(self.kernel, pdev, **self.params)
            try:
                await adapter.probe()
            except (ProbeError, PciError) as e:
                self.kernel.printk(f"{DRIVER_NAME}: probe of {pdev.slot_name} failed: {e}")
                continue
            self.adapters.append(adapter)
        return self.adapters

    async def exit(self):
        for adapter in self.adapters:
            await adapter.remove()
        self.adapters = []
