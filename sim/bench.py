"""The simulated machine: the e1000 core, its PHY, host memory and the link partner.

``Bench`` is the top-level design every simulator backend runs: the core with the CPU's MMIO
initiator on its target port, the PHY model on its MDIO pins and link input, host memory on its
DMA port, the link partner on its GMII pins, and a cycle counter. Everything that works every cycle is in there, in Amaranth, so the Amaranth
simulator and the compiled backend simulate the very same design; Python (``sim.backend``) works
on top of it at the transaction level only.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.core import E1000
from .cpu import MMIOControlSignature, MMIOInitiator
from .hostmem import HostMemory
from .partner import LinkPartner
from .phy import PHYModel


__all__ = ["Bench", "CLOCK_HZ", "PERIOD"]


CLOCK_HZ = 125_000_000
PERIOD = 1 / CLOCK_HZ


class Bench(wiring.Component):
    """Members
    -------
    mmio : In(MMIOControlSignature)
        The CPU's MMIO accesses, posted by the host model (see ``sim.cpu``).
    bus_master : In(1)
        PCI COMMAND.BusMaster.
    cable : In(1)
        The PHY's cable.
    fault_clear : In(1)
        Forget host memory's DMA fault (see ``sim.hostmem``).
    irq : Out(1)
        INTx.
    cycle : Out(64)
        Cycles since the start of the simulation.
    rx_posted : In(32)
        Frames queued for the link partner to send (see ``sim.partner``).
    """
    mmio: In(MMIOControlSignature)
    bus_master: In(1)
    cable: In(1, init=1)
    fault_clear: In(1)
    irq: Out(1)
    cycle: Out(64)
    rx_posted: In(32)

    def __init__(self, *, core=None, phy=None, hostmem=None, eeprom=None):
        super().__init__()
        self.core = core if core is not None else E1000()
        # The EEPROM's contents this run: loaded before the first clock edge when they differ
        # from the core's own, so that another MAC address is not another design to compile.
        self.eeprom_words = list(eeprom) if eeprom is not None else list(self.core.eeprom_words)
        self.phy = phy if phy is not None else PHYModel()
        self.hostmem = hostmem if hostmem is not None else HostMemory()
        self.partner = LinkPartner()
        self.cpu = MMIOInitiator()

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        m.submodules.phy = phy = self.phy
        m.submodules.hostmem = hostmem = self.hostmem
        m.submodules.partner = partner = self.partner
        m.submodules.cpu = cpu = self.cpu

        wiring.connect(m, wiring.flipped(self.mmio), cpu.control)
        wiring.connect(m, cpu.mmio, core.mmio)
        wiring.connect(m, core.dma, hostmem.dma)
        m.d.comb += [
            core.bus_master.eq(self.bus_master),
            hostmem.bus_master.eq(self.bus_master),
            hostmem.fault_clear.eq(self.fault_clear),
            self.irq.eq(core.irq),
            phy.cable.eq(self.cable),
            core.phy_link.eq(phy.link),
            partner.tx.txd.eq(core.gmii.txd),
            partner.tx.tx_en.eq(core.gmii.tx_en),
            partner.tx.tx_er.eq(core.gmii.tx_er),
            core.gmii.rxd.eq(partner.rx.rxd),
            core.gmii.rx_dv.eq(partner.rx.rx_dv),
            core.gmii.rx_er.eq(partner.rx.rx_er),
            partner.link.eq(phy.link),
            partner.cycle.eq(self.cycle),
            partner.rx_posted.eq(self.rx_posted),
        ]

        # MDIO is open drain with a pull-up: low when either end drives a 0.
        mdio = Signal(init=1)
        m.d.comb += [
            mdio.eq(~((core.mdio.mdio_oe & ~core.mdio.mdio_o) | (phy.mdio_oe & ~phy.mdio_o))),
            core.mdio.mdio_i.eq(mdio),
            phy.mdio_i.eq(mdio),
            phy.mdc.eq(core.mdio.mdc),
        ]
        m.d.sync += self.cycle.eq(self.cycle + 1)
        return m

    def preload(self):
        """{memory data: rows} every backend writes before the first clock edge."""
        if self.eeprom_words == list(self.core.eeprom_words):
            return {}
        return {self.core.eeprom.rom.data: self.eeprom_words}

    def memories(self):
        """The memories Python reads and writes, by their path in the design."""
        partner = self.partner
        return {
            "hostmem mem": self.hostmem.data,
            "core eeprom rom": self.core.eeprom.rom.data,
            "partner tx_bytes": partner.tx_bytes.data,
            "partner tx_records": partner.tx_records.data,
            "partner rx_bytes": partner.rx_bytes.data,
            "partner rx_records": partner.rx_records.data,
            "partner rx_log": partner.rx_log.data,
        }
