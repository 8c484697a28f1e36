"""A whole simulated machine: the card on its bus, the host, the guest kernel and its shell.

``Machine`` builds the bench (core, PHY, host memory), the backend that runs it, and, inside
the simulation, the host model (firmware enumeration, MMIO routing, DMA memory, the IRQ line),
the guest kernel and the shell. ``run_script`` types command lines at the shell; ``run`` hands a
scenario coroutine a ``World`` with all of those pieces, for tests that need to reach in.
"""

from dataclasses import dataclass

from driver.kernel import Kernel
from driver.shell import Shell
from hw.core import DEFAULT_MAC, E1000

from . import backends
from .backend import Backend
from .bench import Bench, CLOCK_HZ
from .gateway import Gateway
from .hostmem import HostMemory
from .pcap import write_pcap
from .pci import Host
from .phy import PHYModel


__all__ = ["Machine", "World", "default_traces"]


@dataclass
class World:
    backend: Backend
    host: Host
    kernel: Kernel
    shell: Shell
    devices: list
    gateway: Gateway = None

    def adapter(self, index=0):
        """The e1000 driver's adapter for the ``index``-th probed device."""
        return self.kernel.modules["e1000"].adapters[index]


def default_traces(bench):
    """The curated waveform set, grouped by block."""
    core = bench.core
    mmio = core.mmio_target
    control = core.control
    irq = core.interrupts
    eeprom = core.eeprom
    mdio = core.mdio_master
    phy = bench.phy
    return {
        "MMIO bus": {
            "req_valid": core.mmio.req.valid, "req_ready": core.mmio.req.ready,
            "req": core.mmio.req.payload,
            "resp_valid": core.mmio.resp.valid, "resp_ready": core.mmio.resp.ready,
            "resp_data": core.mmio.resp.payload,
            "cpu_posted": bench.mmio.posted, "cpu_done": bench.mmio.done,
            "state": mmio.fsm_state,
        },
        "Register file": {
            "addr": mmio.bus.addr, "r_stb": mmio.bus.r_stb, "w_stb": mmio.bus.w_stb,
            "w_data": mmio.bus.w_data, "w_mask": mmio.bus.w_mask, "r_data": mmio.bus.r_data,
            "ctrl": control.ctrl, "device_reset": control.device_reset,
            "link_up": control.link_up,
        },
        "Interrupts": {
            "icr": irq.icr, "ims": irq.ims, "itr": irq.itr, "causes": irq.causes,
            "irq": bench.irq,
        },
        "EEPROM": {
            "sk": eeprom.sk, "cs": eeprom.cs, "di": eeprom.di, "do": eeprom.do,
            "microwire": eeprom.fsm_state,
        },
        "TX DMA": {
            "tdh": core.txdma.head, "frame_ready": core.txdma.frame_ready,
            "writeback": core.txdma.fsm_state, "fetch": core.txdma.fetch.fsm_state,
            "txdw": core.txdma.txdw, "txqe": core.txdma.txqe,
        },
        "TX MAC": {
            "state": core.txmac.fsm_state, "tx_en": core.gmii.tx_en, "txd": core.gmii.txd,
        },
        "RX MAC": {
            "rx_dv": core.gmii.rx_dv, "rxd": core.gmii.rxd, "rx_er": core.gmii.rx_er,
            "state": core.rxmac.fsm_state, "overrun": core.rxmac.overrun,
        },
        "RX DMA": {
            "rdh": core.rxdma.head, "state": core.rxdma.fsm_state, "rxt0": core.rxdma.rxt0,
            "rxdmt0": core.rxdma.rxdmt0, "rxo": core.rxdma.rxo,
        },
        "DMA port": {
            "rd_cmd_valid": core.dma.rd_cmd.valid, "rd_cmd_ready": core.dma.rd_cmd.ready,
            "rd_cmd": core.dma.rd_cmd.payload,
            "rd_data_valid": core.dma.rd_data.valid, "rd_data": core.dma.rd_data.payload,
            "wr_cmd_valid": core.dma.wr_cmd.valid, "wr_cmd": core.dma.wr_cmd.payload,
            "wr_data_valid": core.dma.wr_data.valid, "wr_data": core.dma.wr_data.payload,
            "bus_master": bench.bus_master,
        },
        "MDIO and PHY": {
            "mdc": core.mdio.mdc, "mdio_o": core.mdio.mdio_o, "mdio_oe": core.mdio.mdio_oe,
            "mdio_i": core.mdio.mdio_i, "master": mdio.fsm_state, "phy": phy.fsm_state,
            "phy_mdio_oe": phy.mdio_oe, "cable": bench.cable, "link": phy.link,
        },
    }


class Machine:
    """Parameters
    ----------
    mac : bytes
        The card's MAC address (in its EEPROM).
    eeprom : list of int, optional
        A whole EEPROM image instead (e.g. one with a bad checksum).
    mdc_half_period : int
        MDC half period in cycles (25: the 2.5 MHz of clause 22).
    autoneg_us : float
        Simulated time autonegotiation takes.
    partner_pause : bool
        The link partner advertises pause (802.3x flow control), so the driver turns on both
        directions.
    console : callable
        Where the guest's console output goes.
    backend : str
        The simulator: ``"auto"`` (compiled when a C++ compiler is there), ``"cxxrtl"`` or
        ``"amaranth"`` (see ``sim.backends``).
    log : callable
        Where notes about the backend (building the compiled model, falling back) go.
    """

    def __init__(self, *, mac=DEFAULT_MAC, eeprom=None, mdc_half_period=25, autoneg_us=20.0,
                 mmio_read_latency=64, mmio_write_latency=16, console=print, link_wait_us=5_000,
                 gateway=True, gateway_latency_us=2.0, far_latency_us=20.0,
                 dma_read_latency=125, backend="auto", log=print, partner_pause=False):
        self.core = E1000(mac=mac, eeprom=eeprom, mdc_half_period=mdc_half_period)
        self.phy = PHYModel(autoneg_cycles=max(1, round(autoneg_us * CLOCK_HZ / 1e6)),
                            partner_pause=partner_pause)
        self.hostmem = HostMemory(read_latency=dma_read_latency)
        self.bench = Bench(core=self.core, phy=self.phy, hostmem=self.hostmem)
        self.backend = backends.create(self.bench, backend, log=log,
                                       mmio_read_latency=mmio_read_latency,
                                       mmio_write_latency=mmio_write_latency)
        self.console = console
        self.link_wait_us = link_wait_us
        self.gateway = gateway
        self.gateway_latency_us = gateway_latency_us
        self.far_latency_us = far_latency_us

    def run(self, scenario, *, vcd=None, gtkw=None, trace_all=False, pcap=None):
        """Run ``await scenario(world)`` in the simulation and return its result; write the
        frames that crossed the wire to ``pcap`` if given."""
        async def main(backend):
            host = Host(backend)
            devices = host.enumerate()
            kernel = Kernel(host.platform(), console=self.console)
            shell = Shell(kernel, devices, out=self.console, link_wait_us=self.link_wait_us)
            gateway = None
            if self.gateway:
                gateway = Gateway(backend, latency_us=self.gateway_latency_us,
                                  far_latency_us=self.far_latency_us)
            return await scenario(World(backend, host, kernel, shell, devices, gateway))
        try:
            # With trace_all every signal is recorded; the curated groups still arrange the view.
            return self.backend.run(main, vcd=vcd, gtkw=gtkw, traces=default_traces(self.bench),
                                    trace_all=trace_all)
        finally:
            if pcap is not None:
                self.write_pcap(pcap)

    def wire_frames(self):
        """(start cycle, frame without preamble and FCS, direction) of every frame on the wire."""
        frames = []
        for direction, start, wire_frame in self.backend.wire_log:
            frame = wire_frame.frame
            frame = wire_frame.raw if frame is None else frame[:-4]
            frames.append((start, frame, direction))
        return frames

    def write_pcap(self, path):
        return write_pcap(path, [(start, frame) for start, frame, _ in self.wire_frames()],
                          clock_hz=CLOCK_HZ)

    def run_script(self, lines, **kwargs):
        """Type ``lines`` at the guest's shell; return the exit status of the script."""
        async def scenario(world):
            return await world.shell.script(lines)
        return self.run(scenario, **kwargs)

    def run_interactive(self, read_line, **kwargs):
        """Read command lines with ``read_line(prompt)`` until it returns None or EOF."""
        async def scenario(world):
            return await world.shell.interactive(read_line)
        return self.run(scenario, **kwargs)

