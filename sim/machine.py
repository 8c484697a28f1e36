"""A whole simulated machine: the card on its bus, the host, the guest kernel and its shell.

``Machine`` builds the bench (core, PHY, host memory), the backend that runs it, and, inside
the simulation, the host model (firmware enumeration, MMIO routing, DMA memory, the IRQ line),
the guest kernel and the shell. ``run_script`` types command lines at the shell; ``run`` hands a
scenario coroutine a ``World`` with all of those pieces, for tests that need to reach in.
"""

import os
import signal
import sys
import time
from dataclasses import dataclass

from driver.kernel import Kernel
from driver.shell import Shell
from hw.core import DEFAULT_MAC, E1000
from hw.eeprom import eeprom_image

from . import backends
from .backend import Backend
from .bench import Bench, CLOCK_HZ
from .gateway import Gateway
from .hostmem import HostMemory
from .pcap import Capture
from .trace import trim_vcd
from .pci import Host
from .phy import PHYModel


__all__ = ["Machine", "World", "default_traces"]


async def _gather_counters(kernel):
    """{device: {counter: value}} from each network device's ethtool statistics."""
    counters = {}
    for name, netdev in kernel.netdevs.items():
        get = getattr(netdev.ops, "get_ethtool_stats", None)
        if get is not None:
            counters[name] = dict(await get(netdev) or ())
    return counters


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
    """The curated waveform set, grouped by block: what the core's blocks show
    (``E1000.waveforms``), with the bench's side of the MMIO initiator, the interrupt line,
    bus mastering, the PHY and the cable beside them."""
    groups = bench.core.waveforms()
    phy = bench.phy
    groups["MMIO bus"].update({"cpu_posted": bench.mmio.posted, "cpu_done": bench.mmio.done})
    groups["DMA port"]["bus_master"] = bench.bus_master
    groups["MDIO and PHY"].update({"phy": phy.waveforms()["state"], "phy_mdio_oe": phy.mdio_oe,
                                   "cable": bench.cable, "link": phy.link})
    return groups


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
        # The core is the same design whatever the EEPROM holds (the bench loads the image
        # into it at run time), so one compiled model serves every MAC address.
        self.core = E1000(mdc_half_period=mdc_half_period)
        self.eeprom_words = list(eeprom) if eeprom is not None else eeprom_image(mac)
        words = self.eeprom_words
        self.mac = bytes([words[0] & 0xFF, words[0] >> 8, words[1] & 0xFF, words[1] >> 8,
                          words[2] & 0xFF, words[2] >> 8])
        self.phy = PHYModel(autoneg_cycles=max(1, round(autoneg_us * CLOCK_HZ / 1e6)),
                            partner_pause=partner_pause)
        self.hostmem = HostMemory(read_latency=dma_read_latency)
        self.bench = Bench(core=self.core, phy=self.phy, hostmem=self.hostmem,
                           eeprom=self.eeprom_words)
        self.backend = backends.create(self.bench, backend, log=log,
                                       mmio_read_latency=mmio_read_latency,
                                       mmio_write_latency=mmio_write_latency)
        self.console = console
        self.link_wait_us = link_wait_us
        self.gateway = gateway
        self.gateway_latency_us = gateway_latency_us
        self.far_latency_us = far_latency_us
        self.world = None           # the World of the last run, once it started
        self.cycles = None          # cycles the last run's scenario took
        self.counters = {}          # the driver's counters after the last run, by device
        self.idle_s = 0.0           # wall time an interactive run spent at the prompt

    def run(self, scenario, *, vcd=None, gtkw=None, trace_all=False, pcap=None, counters=False,
            window=None):
        """Run ``await scenario(world)`` in the simulation and return its result; write the
        frames that cross the wire to the capture file ``pcap`` if given, as they cross it
        (pcapng, or pcap for a name ending in ``.pcap``: see ``sim.pcap``). With ``counters``,
        the driver's statistics are gathered after the scenario (``summary``): that takes MMIO
        reads, which ``cycles`` does not count. ``window`` (first cycle, last cycle or None)
        keeps that part of the run in the VCD."""
        for path in (vcd, gtkw, pcap):
            if path:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        capture = None
        if window is not None:
            start, end = window
            self.backend.window_ns = (round(self.backend.ns(start)),
                                      None if end is None else round(self.backend.ns(end)))
        if pcap is not None:
            capture = self.capture(pcap)

        async def main(backend):
            host = Host(backend)
            devices = host.enumerate()
            kernel = Kernel(host.platform(), console=self.console)
            shell = Shell(kernel, devices, out=self.console, link_wait_us=self.link_wait_us)
            gateway = None
            if self.gateway:
                gateway = Gateway(backend, latency_us=self.gateway_latency_us,
                                  far_latency_us=self.far_latency_us)
            self.world = World(backend, host, kernel, shell, devices, gateway)
            result = await scenario(self.world)
            self.cycles = backend.now
            self._mark_milestones()
            if counters:
                self.counters = await _gather_counters(kernel)
            return result
        try:
            # With trace_all every signal is recorded; the curated groups still arrange the view.
            return self.backend.run(main, vcd=vcd, gtkw=gtkw, traces=default_traces(self.bench),
                                    trace_all=trace_all)
        finally:
            if self.cycles is None:
                self.cycles = self.backend.cycles_run
            if vcd is not None and self.backend.window_ns is not None:
                trim_vcd(vcd, *self.backend.window_ns)
            if capture is not None:
                self.backend.wire_listeners.remove(capture.add)
                capture.close()

    def _mark_milestones(self):
        """Named markers for the waveforms at the moments a reader looks for first: the driver's
        probe, link up, the first ARP request and the first echo request and reply."""
        world, backend = self.world, self.backend
        backend.focus = "first ARP"         # the first frame: DMA, MAC and wire at work
        for result in world.shell.results:
            if result["command"].startswith("insmod"):
                backend.mark("probe", backend.cycles_for_ns(result["start_ns"]))
                break
        for message, ns in zip(world.kernel.log, world.kernel.log_ns):
            if "Link is Up" in message:
                backend.mark("link up", backend.cycles_for_ns(ns))
                break
        for _, start, wire_frame in backend.wire_log:
            frame = wire_frame.frame or b""
            if frame[12:14] == b"\x08\x06" and frame[20:22] == b"\x00\x01":
                backend.mark("first ARP", start)
            elif frame[12:14] == b"\x08\x00" and frame[23:24] == b"\x01" and len(frame) > 34:
                kind = frame[14 + 4 * (frame[14] & 0xF)]
                if kind == 8:
                    backend.mark("first echo request", start)
                elif kind == 0:
                    backend.mark("first echo reply", start)

    def summary(self):
        """What the last run did, for ``--json``: each command with its status and output, the
        kernel's log, cycles and simulated time, frames each way, and the driver's counters
        (with ``run(counters=True)``)."""
        world = self.world
        frames = {"to_nic": 0, "from_nic": 0}
        for direction, _, _ in self.backend.wire_log:
            frames["to_nic" if direction == "rx" else "from_nic"] += 1
        return {
            "commands": [] if world is None else [
                {"command": r["command"], "status": r["status"], "output": r["output"],
                 "start_us": r["start_ns"] / 1e3, "end_us": r.get("end_ns", 0) / 1e3}
                for r in world.shell.results],
            "kernel_log": [] if world is None else list(world.kernel.log),
            "cycles": self.cycles,
            "simulated_us": (self.cycles or 0) / CLOCK_HZ * 1e6,
            "frames": frames,
            "counters": self.counters,
        }

    def wire_frames(self):
        """(start cycle, frame without preamble and FCS, direction) of every frame on the wire."""
        frames = []
        for direction, start, wire_frame in self.backend.wire_log:
            frame = wire_frame.frame
            frame = wire_frame.raw if frame is None else frame[:-4]
            frames.append((start, frame, direction))
        return frames

    def capture(self, path, **kwargs):
        """Open a ``sim.pcap.Capture`` at ``path`` holding the frames on the wire so far and
        every frame from now on (until ``close()`` and removal from ``wire_listeners``)."""
        capture = Capture(path, clock_hz=CLOCK_HZ, **kwargs)
        for entry in self.backend.wire_log:
            capture.add(*entry)
        self.backend.wire_listeners.append(capture.add)
        return capture

    def run_script(self, lines, **kwargs):
        """Type ``lines`` at the guest's shell; return the exit status of the script."""
        async def scenario(world):
            return await world.shell.script(lines)
        return self.run(scenario, **kwargs)

    def run_interactive(self, read_line, **kwargs):
        """Read command lines with ``read_line(prompt)`` until it returns None or EOF.

        As in a shell, Ctrl-C (SIGINT) stops the running command where it sleeps, and at the
        prompt it abandons the line; ``idle_s`` adds up the wall time spent at the prompt."""
        self.idle_s = 0.0

        async def scenario(world):
            def interrupt(signum, frame):
                world.kernel.signal_pending = True

            def prompt(text):
                began = time.perf_counter()
                signal.signal(signal.SIGINT, signal.default_int_handler)
                try:
                    while True:
                        try:
                            return read_line(text)
                        except KeyboardInterrupt:
                            print(file=sys.stderr)          # a new prompt for a new line
                finally:
                    signal.signal(signal.SIGINT, interrupt)
                    self.idle_s += time.perf_counter() - began

            previous = signal.signal(signal.SIGINT, interrupt)
            try:
                return await world.shell.interactive(prompt)
            finally:
                signal.signal(signal.SIGINT, previous)
        return self.run(scenario, **kwargs)

