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
                                 +-- Statistics (0x4000-0x40FC) <-- StatsEvents
                                 +-- TxDMA (TDH) --> TxMAC --> GMII TX
                                 +-- RxDMA (RDH) <-- RxFIFO <-- RxMAC <-- GMII RX
    TxDMA, RxDMA (five initiators) --> DMAArbiter --> DMADrain --> DMA port

CTRL.RST resets every block but the MMIO target, Control, which sequences the reset, and the
DMA port's last stage, which settles what host memory still owes from before it.
"""

from amaranth.hdl import Cat, Module, ResetInserter
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bus import DMASignature, GMIISignature, MDIOSignature, MMIOSignature, share
from .control import Control
from .dma import DMAArbiter, Initiator
from .dmadrain import DMADrain
from .eeprom import EEPROM, eeprom_image
from .flow import PauseRequest
from .irq import InterruptController
from .mdio import MDIOMaster
from .mmio import MMIOTarget
from .regfile import RegisterFile
from .regmap import reg
from .rxdma import RxDeliveryStats, RxDMA
from .rxfifo import RxFIFO
from .rxmac import RxFrameStats, RxMAC
from .stats import Statistics, StatsEvents
from .txdma import TxDMA
from .txmac import TxFrameStats, TxMAC


__all__ = ["E1000", "DEFAULT_MAC"]


DEFAULT_MAC = bytes.fromhex("525400123456")


class E1000(wiring.Component):
    """The whole device in one 125 MHz clock domain: MMIO accesses on ``mmio``, one at a time; DMA
    on ``dma``, reads answered in order by host memory; GMII at a byte a cycle each way; MDIO;
    INTx on ``irq``. Every output is defined from the first cycle after reset.

    Parameters
    ----------
    mac : bytes
        MAC address written into the default EEPROM image.
    eeprom : list of int, optional
        A 64-word EEPROM image instead of the default: the EEPROM's contents at power-up.
        Receive address 0 is loaded from its first three words after each reset.
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

    # Submodules by name: the software reset leaves the first three alone.
    RESET_BLOCKS = ("regfile", "eeprom", "mdio_master", "interrupts", "stats", "stats_events",
                    "txdma", "txmac", "rxmac", "rxfifo", "rxdma", "dma_arbiter", "pause_request")
    BLOCKS = ("mmio", "control", "dma_drain") + RESET_BLOCKS

    def __init__(self, *, mac=DEFAULT_MAC, eeprom=None, mdc_half_period=25, reset_cycles=128):
        self.eeprom_words = list(eeprom) if eeprom is not None else eeprom_image(mac)
        w = self.eeprom_words
        self.mac = bytes([w[0] & 0xFF, w[0] >> 8, w[1] & 0xFF, w[1] >> 8, w[2] & 0xFF, w[2] >> 8])
        super().__init__()
        self.mmio_target = MMIOTarget()
        self.control = Control(reset_cycles=reset_cycles)
        self.regfile = RegisterFile()
        self.eeprom = EEPROM(self.eeprom_words)
        self.mdio_master = MDIOMaster(mdc_half_period=mdc_half_period)
        self.interrupts = InterruptController()
        self.stats = Statistics()
        self.stats_events = StatsEvents(TxFrameStats, RxFrameStats, RxDeliveryStats)
        self.txdma = TxDMA()
        self.txmac = TxMAC()
        self.rxmac = RxMAC()
        # 32 KiB of packet buffer: the largest frame (16,128 bytes with RCTL.LPE) and as much
        # again behind it while the host catches up.
        self.rxfifo = RxFIFO(depth=4096)
        self.rxdma = RxDMA()
        self.pause_request = PauseRequest(level_bits=13)
        # Reads: TX descriptors, TX buffers, RX descriptors; writes: TX status, RX buffers and
        # status. Ring 0 is the transmit ring, ring 1 the receive ring.
        tx_ring, rx_ring = Initiator(ring=0, own=False), Initiator(ring=1, own=False)
        self.dma_arbiter = DMAArbiter(readers=(tx_ring, Initiator(), rx_ring),
                                      writers=(tx_ring, Initiator(ring=1)), rings=2)
        # Outside the reset: what host memory still owes when CTRL.RST comes is settled here.
        self.dma_drain = DMADrain()

    def waveforms(self):
        """What a waveform viewer shows of the core, once elaborated: {group: {name: signal or
        interface}}, each block's own choice (its ``waveforms()``) beside the core's ports."""
        bus = self.mmio_target.bus
        return {
            "MMIO bus": {"req_valid": self.mmio.req.valid, "req_ready": self.mmio.req.ready,
                         "req": self.mmio.req.payload, "resp_valid": self.mmio.resp.valid,
                         "resp_ready": self.mmio.resp.ready, "resp_data": self.mmio.resp.payload,
                         **self.mmio_target.waveforms()},
            "Register file": {"addr": bus.addr, "r_stb": bus.r_stb, "w_stb": bus.w_stb,
                              "w_data": bus.w_data, "w_mask": bus.w_mask, "r_data": bus.r_data,
                              **self.control.waveforms()},
            "Interrupts": {**self.interrupts.waveforms(), "irq": self.irq},
            "EEPROM": self.eeprom.waveforms(),
            "TX DMA": self.txdma.waveforms(),
            "TX MAC": {**self.txmac.waveforms(), "tx_en": self.gmii.tx_en, "txd": self.gmii.txd},
            "RX MAC": {"rx_dv": self.gmii.rx_dv, "rxd": self.gmii.rxd, "rx_er": self.gmii.rx_er,
                       **self.rxmac.waveforms()},
            "RX DMA": self.rxdma.waveforms(),
            "DMA port": {"rd_cmd_valid": self.dma.rd_cmd.valid,
                         "rd_cmd_ready": self.dma.rd_cmd.ready, "rd_cmd": self.dma.rd_cmd.payload,
                         "rd_data_valid": self.dma.rd_data.valid,
                         "rd_data": self.dma.rd_data.payload,
                         "wr_cmd_valid": self.dma.wr_cmd.valid, "wr_cmd": self.dma.wr_cmd.payload,
                         "wr_data_valid": self.dma.wr_data.valid,
                         "wr_data": self.dma.wr_data.payload},
            "MDIO and PHY": self.mdio_master.waveforms(),
        }

    def elaborate(self, platform):
        m = Module()
        m.submodules.mmio = self.mmio_target
        m.submodules.control = self.control
        device_reset = ResetInserter(self.control.device_reset)
        for name in self.RESET_BLOCKS:
            m.submodules[name] = device_reset(getattr(self, name))

        wiring.connect(m, wiring.flipped(self.mmio), self.mmio_target.mmio)

        # The register bus: one initiator, every block a target; read data is ORed.
        bus = self.mmio_target.bus
        targets = [self.control, self.regfile, self.eeprom, self.mdio_master, self.interrupts,
                   self.stats, self.txdma, self.rxdma]
        share(m, bus, targets)

        m.d.comb += self.control.phy_link.eq(self.phy_link)
        for block in (self.regfile, self.stats):
            m.d.comb += [
                block.clear.eq(self.control.device_reset),
                block.clear_row.eq(self.control.reset_row),
            ]
        wiring.connect(m, self.mdio_master.mdio, wiring.flipped(self.mdio))
        wiring.connect(m, self.eeprom.station, self.regfile.station_load)

        regs = self.regfile.regs
        ctrl = reg.CTRL.view(self.control.ctrl)

        # Flow control: PAUSE frames received stop the transmitter; the receive FIFO's level
        # asks for PAUSE frames to be sent.
        fca = Cat(regs.FCAL, regs.FCAH[:16])
        pause_request = self.pause_request
        m.d.comb += [
            pause_request.level.eq(self.rxfifo.level),
            pause_request.enable.eq(ctrl.tfce),
            pause_request.high.eq(regs.FCRTH[3:16]),
            pause_request.low.eq(regs.FCRTL[3:16]),
            pause_request.xon.eq(reg.FCRTL.view(regs.FCRTL).xone),
            pause_request.time.eq(regs.FCTTV[:16]),
        ]

        self._transmit(m, regs, ctrl, fca)
        self._receive(m, regs, ctrl, fca)
        txdma, txmac, rxmac, rxdma = self.txdma, self.txmac, self.rxmac, self.rxdma

        # Both engines' initiators share the DMA port.
        arbiter = self.dma_arbiter
        wiring.connect(m, txdma.descriptors, arbiter.readers[0])
        wiring.connect(m, txdma.buffers, arbiter.readers[1])
        wiring.connect(m, rxdma.descriptors, arbiter.readers[2])
        wiring.connect(m, txdma.writeback, arbiter.writers[0])
        wiring.connect(m, rxdma.buffers, arbiter.writers[1])
        m.d.comb += [arbiter.ring_bases[0].eq(Cat(regs.TDBAL, regs.TDBAH)),
                     arbiter.ring_bases[1].eq(Cat(regs.RDBAL, regs.RDBAH))]
        m.submodules.dma_drain = drain = self.dma_drain
        wiring.connect(m, arbiter.dma, drain.up)
        wiring.connect(m, drain.dma, wiring.flipped(self.dma))
        m.d.comb += drain.reset.eq(self.control.device_reset)

        # Statistics.
        wiring.connect(m, txmac.stats, self.stats_events.tx)
        wiring.connect(m, rxmac.stats, self.stats_events.rx)
        wiring.connect(m, rxdma.stats, self.stats_events.rx_delivery)
        wiring.connect(m, self.stats_events.inc, self.stats.inc)

        causes = reg.ICR.view(self.interrupts.causes)
        m.d.comb += [
            causes.lsc.eq(self.control.lsc),
            causes.mdac.eq(self.mdio_master.mdac),
            causes.txdw.eq(txdma.txdw),
            causes.txqe.eq(txdma.txqe),
            causes.rxt0.eq(rxdma.rxt0),
            causes.rxdmt0.eq(rxdma.rxdmt0),
            causes.rxo.eq(rxmac.overrun | rxdma.rxo),
            self.irq.eq(self.interrupts.irq),
        ]
        return m

    def _transmit(self, m, regs, ctrl, fca):
        """Transmit: DMA engine, then MAC onto GMII."""
        tctl = reg.TCTL.view(regs.TCTL)
        bus_master = self.bus_master
        txdma, txmac = self.txdma, self.txmac
        m.d.comb += [
            txdma.ring.enable.eq(tctl.en & bus_master),
            txdma.ring.length.eq(regs.TDLEN),
            txdma.ring.tail.eq(regs.TDT),
            txdma.tidv.eq(regs.TIDV),
            txdma.tadv.eq(regs.TADV),
            txmac.pad.eq(tctl.psp),
            txmac.gap.eq(regs.TIPG[:10]),
            txmac.vme.eq(ctrl.vme),
            txmac.vet.eq(regs.VET[:16]),
            txmac.fca.eq(fca),
            txmac.station.eq(self.regfile.station),
            txmac.frame_ready.eq(txdma.frame_ready),
            self.gmii.txd.eq(txmac.gmii.txd),
            self.gmii.tx_en.eq(txmac.gmii.tx_en),
            self.gmii.tx_er.eq(txmac.gmii.tx_er),
        ]
        wiring.connect(m, txdma.words, txmac.words)
        wiring.connect(m, txdma.checksums, txmac.checksums)
        wiring.connect(m, txdma.tags, txmac.tags)
        wiring.connect(m, self.pause_request.request, txmac.control)

    def _receive(self, m, regs, ctrl, fca):
        """Receive: MAC into the FIFO, then the DMA engine."""
        rctl = reg.RCTL.view(regs.RCTL)
        bus_master = self.bus_master
        rxmac, rxfifo, rxdma, txmac = self.rxmac, self.rxfifo, self.rxdma, self.txmac
        m.d.comb += [
            rxmac.gmii.rxd.eq(self.gmii.rxd),
            rxmac.gmii.rx_dv.eq(self.gmii.rx_dv),
            rxmac.gmii.rx_er.eq(self.gmii.rx_er),
            rxmac.enable.eq(rctl.en & self.control.link_up),
            rxmac.rctl.eq(regs.RCTL),
            rxmac.vme.eq(ctrl.vme),
            rxmac.vet.eq(regs.VET[:16]),
            rxmac.rfce.eq(ctrl.rfce),
            rxmac.fca.eq(fca),
            rxmac.fct.eq(regs.FCT[:16]),
            rxdma.ring.enable.eq(rctl.en & bus_master),
            rxdma.ring.length.eq(regs.RDLEN),
            rxdma.ring.tail.eq(regs.RDT),
            rxdma.rctl.eq(regs.RCTL),
            rxdma.rxcsum.eq(regs.RXCSUM),
            rxdma.rdtr.eq(regs.RDTR),
            rxdma.radv.eq(regs.RADV),
        ]
        wiring.connect(m, rxmac.tables, self.regfile.tables)
        wiring.connect(m, rxmac.pause, txmac.pause)
        wiring.connect(m, rxmac.fifo, rxfifo.write)
        wiring.connect(m, rxfifo.status, rxdma.status)
        wiring.connect(m, rxfifo.words, rxdma.words)
