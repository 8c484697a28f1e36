"""The e1000 core: an Intel 82540EM-compatible Gigabit Ethernet controller.

Reference: Intel 8254x Family of Gigabit Ethernet Controllers Software Developer's Manual.

The host sees the core through an MMIO target port (BAR0 registers and the BAR1 I/O window) and
a DMA initiator port to host memory; the line side is GMII to a PHY plus the PHY's management
pins (MDC/MDIO) and its link status. PCI configuration space is not part of the core: a PCI(e)
endpoint in front of it provides that, and tells the core whether bus mastering is enabled.

Blocks, each owning its registers on the internal register bus:

    MMIOTarget -- register bus --+-- Control (CTRL, STATUS, software reset, link)
                                 +-- RegisterFile (storage registers, RA, MTA, VFTA)
                                 +-- EEPROM (EERD, EECD/Microwire)
                                 +-- MDIOMaster (MDIC)
                                 +-- InterruptController (ICR, ICS, IMS, IMC, ITR) --> irq
                                 +-- Statistics (0x4000-0x40FC)

CTRL.RST resets every block but the MMIO target and Control, which sequences the reset.
"""

from amaranth.hdl import Module, ResetInserter
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bus import DMASignature, GMIISignature, MDIOSignature, MMIOSignature
from .control import Control
from .eeprom import EEPROM, eeprom_image
from .irq import InterruptController
from .mdio import MDIOMaster
from .mmio import MMIOTarget
from .regfile import RegisterFile
from .regmap import reg
from .stats import Statistics


__all__ = ["E1000", "DEFAULT_MAC"]


DEFAULT_MAC = bytes.fromhex("525400123456")


class E1000(wiring.Component):
    """Parameters
    ----------
    mac : bytes
        MAC address written into the default EEPROM image.
    eeprom : list of int, optional
        A 64-word EEPROM image instead of the default; receive address 0 resets to the MAC
        address in its first three words.
    mdc_half_period : int
        Clock cycles per half period of MDC (25: 2.5 MHz at 125 MHz).
    reset_cycles : int
        How long a software reset (CTRL.RST) lasts: 128 to 255 cycles (1 to 2 us), as the
        reset clears the 128-row tables one row per cycle.

    Members
    -------
    mmio : In(MMIOSignature)
    dma : Out(DMASignature)
    gmii : Out(GMIISignature)
    mdio : Out(MDIOSignature)
    phy_link : In(1)
        Link status from the PHY.
    bus_master : In(1)
        PCI COMMAND.BusMaster: DMA may be initiated.
    irq : Out(1)
        INTx, active high.
    """
    mmio: In(MMIOSignature)
    dma: Out(DMASignature)
    gmii: Out(GMIISignature)
    mdio: Out(MDIOSignature)
    phy_link: In(1)
    bus_master: In(1)
    irq: Out(1)

    def __init__(self, *, mac=DEFAULT_MAC, eeprom=None, mdc_half_period=25, reset_cycles=128):
        self.eeprom_words = list(eeprom) if eeprom is not None else eeprom_image(mac)
        w = self.eeprom_words
        self.mac = bytes([w[0] & 0xFF, w[0] >> 8, w[1] & 0xFF, w[1] >> 8, w[2] & 0xFF, w[2] >> 8])
        super().__init__()
        self.mmio_target = MMIOTarget()
        self.control = Control(reset_cycles=reset_cycles)
        self.regfile = RegisterFile(mac=self.mac)
        self.eeprom = EEPROM(self.eeprom_words)
        self.mdio_master = MDIOMaster(mdc_half_period=mdc_half_period)
        self.interrupts = InterruptController()
        self.stats = Statistics()

    def elaborate(self, platform):
        m = Module()
        m.submodules.mmio = self.mmio_target
        m.submodules.control = self.control
        device_reset = ResetInserter(self.control.device_reset)
        for name in ("regfile", "eeprom", "mdio_master", "interrupts", "stats"):
            m.submodules[name] = device_reset(getattr(self, name))

        wiring.connect(m, wiring.flipped(self.mmio), self.mmio_target.mmio)

        # The register bus: one initiator, every block a target; read data is ORed.
        bus = self.mmio_target.bus
        targets = [self.control, self.regfile, self.eeprom, self.mdio_master, self.interrupts,
                   self.stats]
        r_data = 0
        for target in targets:
            for name in ("addr", "r_stb", "w_stb", "w_data", "w_mask"):
                m.d.comb += getattr(target.bus, name).eq(getattr(bus, name))
            r_data = r_data | target.bus.r_data
        m.d.comb += bus.r_data.eq(r_data)

        m.d.comb += self.control.phy_link.eq(self.phy_link)
        for block in (self.regfile, self.stats):
            m.d.comb += [
                block.clear.eq(self.control.device_reset),
                block.clear_row.eq(self.control.reset_step - 1),
            ]
        wiring.connect(m, self.mdio_master.mdio, wiring.flipped(self.mdio))

        causes = ((self.control.lsc << reg.ICR.LSC.lsb) |
                  (self.mdio_master.mdac << reg.ICR.MDAC.lsb))
        m.d.comb += [
            self.interrupts.causes.eq(causes),
            self.irq.eq(self.interrupts.irq),
        ]
        return m
