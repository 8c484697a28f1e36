"""The simulated machine: the e1000 core, its PHY, host memory, and a backend to drive them.

``Bench`` is the top-level design the simulator runs: the core with the PHY model on its MDIO
pins and link input, host memory on its DMA port, and a cycle counter. Everything that works every
cycle is in there. ``Backend`` runs Python on top at the transaction level only: one MMIO access,
a wait for the interrupt line, N cycles, memory contents. It owns the one simulator context and
is what the host model (``sim.pci``) builds the driver's PCI device on.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hw.bus import MMIOSignature, Space
from hw.core import E1000
from .hostmem import HostMemory
from .partner import RECORDS, RING_BYTES, LinkPartner
from .phy import PHYModel


__all__ = ["Bench", "Backend", "CLOCK_HZ", "SimulationError", "WireFrame"]


CLOCK_HZ = 125_000_000
PERIOD = 1 / CLOCK_HZ


class SimulationError(Exception):
    """The simulated hardware did something a real system would not survive."""


class WireFrame:
    """Bytes as they crossed GMII (preamble to FCS), with the cycle of the last one."""

    def __init__(self, raw, end, error):
        self.raw = raw
        self.end = end
        self.error = error

    @property
    def frame(self):
        """The frame without preamble and start delimiter (FCS included), or None if the
        start delimiter is missing."""
        sfd = self.raw.find(b"\xd5")
        if sfd < 0 or any(b != 0x55 for b in self.raw[:sfd]):
            return None
        return self.raw[sfd + 1:]


def _unwrap(value, now, bits):
    """A cycle number kept modulo 2**bits, placed at or before ``now``."""
    span = 1 << bits
    return now - ((now - value) % span)


class Bench(wiring.Component):
    """Members
    -------
    mmio : In(MMIOSignature)
        The core's MMIO target, driven by the host model.
    bus_master : In(1)
        PCI COMMAND.BusMaster.
    cable : In(1)
        The PHY's cable.
    irq : Out(1)
        INTx.
    cycle : Out(64)
        Cycles since the start of the simulation.
    """
    mmio: In(MMIOSignature)
    bus_master: In(1)
    cable: In(1, init=1)
    irq: Out(1)
    cycle: Out(64)

    def __init__(self, *, core=None, phy=None, hostmem=None):
        super().__init__()
        self.core = core if core is not None else E1000()
        self.phy = phy if phy is not None else PHYModel()
        self.hostmem = hostmem if hostmem is not None else HostMemory()
        self.partner = LinkPartner()

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        m.submodules.phy = phy = self.phy
        m.submodules.hostmem = hostmem = self.hostmem
        m.submodules.partner = partner = self.partner

        wiring.connect(m, wiring.flipped(self.mmio), core.mmio)
        wiring.connect(m, core.dma, hostmem.dma)
        m.d.comb += [
            core.bus_master.eq(self.bus_master),
            hostmem.bus_master.eq(self.bus_master),
            self.irq.eq(core.irq),
            phy.cable.eq(self.cable),
            core.phy_link.eq(phy.link),
            partner.txd.eq(core.gmii.txd),
            partner.tx_en.eq(core.gmii.tx_en),
            partner.tx_er.eq(core.gmii.tx_er),
            core.gmii.rxd.eq(partner.rxd),
            core.gmii.rx_dv.eq(partner.rx_dv),
            core.gmii.rx_er.eq(partner.rx_er),
            partner.link.eq(phy.link),
            partner.cycle.eq(self.cycle),
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


class Backend:
    """Runs a scenario on the Amaranth simulator, one transaction at a time.

    Parameters
    ----------
    bench : Bench
    mmio_read_latency, mmio_write_latency : int
        Cycles a CPU spends on a non-posted read (the round trip) and on a posted write before
        the device sees it; 64 and 16 cycles (512 ns, 128 ns) are typical of PCI Express.
    """

    name = "amaranth"

    def __init__(self, bench, *, mmio_read_latency=64, mmio_write_latency=16):
        self.bench = bench
        self.read_latency = mmio_read_latency
        self.write_latency = mmio_write_latency
        self.sim = Simulator(bench)
        self.sim.add_clock(PERIOD)
        self._ctx = None
        self.cycles_run = 0
        self.wire_log = []          # ("tx" | "rx", start cycle, WireFrame), in order of discovery
        self.tx_listeners = []      # called with each frame the MAC transmits
        self._tx_seen = 0
        self._rx_logged = 0
        self._rx_write = 0
        self._rx_pending = []
        self.mmio_reads = 0
        self.mmio_writes = 0

    # Running.

    def run(self, scenario, *, vcd=None, gtkw=None, traces=None, trace_all=False):
        """Run ``await scenario(self)`` to its end and return its result.

        ``vcd``/``gtkw`` are file names for waveforms: ``traces`` (a dict of groups) chooses the
        signals, or ``trace_all`` records every signal of the design.
        """
        result = {}

        async def main(ctx):
            self._ctx = ctx
            await ctx.tick()        # from here on Python always runs just after a clock edge
            try:
                result["value"] = await scenario(self)
                self.check_faults(ctx)
            finally:
                self.cycles_run = ctx.get(self.bench.cycle)
                self._ctx = None

        self.sim.add_testbench(main)
        if vcd is None:
            self.sim.run()
        elif trace_all:
            with self.sim.write_vcd(vcd, gtkw, traces=traces or ()):
                self.sim.run()
        else:
            from .trace import Tracer
            with Tracer(self.sim, self.bench.cycle, PERIOD, vcd, gtkw, traces or {}):
                self.sim.run()
        return result.get("value")

    def check_faults(self, ctx=None):
        ctx = ctx or self._ctx
        if ctx.get(self.bench.hostmem.fault):
            addr = ctx.get(self.bench.hostmem.fault_addr)
            raise SimulationError(f"DMA fault at bus address {addr:#x}: outside host memory, "
                                  f"unaligned, or while bus mastering was disabled")

    @property
    def ctx(self):
        if self._ctx is None:
            raise RuntimeError("the simulation is not running")
        return self._ctx

    # Time.

    @property
    def now(self):
        """Cycles since the start."""
        return self.ctx.get(self.bench.cycle)

    def ns(self, cycles):
        return cycles * 1e9 / CLOCK_HZ

    def cycles_for_ns(self, ns):
        return max(1, round(ns * CLOCK_HZ / 1e9))

    async def cycles(self, n):
        """Let ``n`` clock cycles pass without waking Python in between."""
        if n <= 0:
            return
        # Land half-way before the n-th edge, then wake just after it.
        await self.ctx.delay((n - 0.5) * PERIOD)
        await self.ctx.tick()
        self._poll_wire()

    # The interrupt line.

    @property
    def irq(self):
        return bool(self.ctx.get(self.bench.irq))

    async def wait_irq(self, timeout):
        """Wait up to ``timeout`` cycles for INTx; return whether it is asserted."""
        start = self.now
        while True:
            self._poll_wire()
            if self.irq or self.now - start >= timeout:
                return self.irq
            left = timeout - (self.now - start)
            await self.ctx.posedge(self.bench.irq).changed(self.bench.partner.tx_frames) \
                .delay(left * PERIOD)
            # Realign to a clock edge before touching signals again.
            await self.ctx.delay(PERIOD / 2)
            await self.ctx.tick()

    # MMIO.

    async def mmio(self, space, addr, *, write=False, data=0, be=0xF):
        """One access to the core's BAR0 (``Space.MEM``) or BAR1 (``Space.IO``) at byte
        offset ``addr``. Returns the read data, or None for a (posted) write."""
        ctx = self.ctx
        req, resp = self.bench.mmio.req, self.bench.mmio.resp
        latency = self.write_latency if write else self.read_latency // 2
        await self.cycles(latency)
        ctx.set(req.payload, {"addr": addr, "space": Space(space), "write": write,
                              "data": data, "be": be})
        ctx.set(req.valid, 1)
        await ctx.tick().until(req.ready)
        ctx.set(req.valid, 0)
        if write:
            self.mmio_writes += 1
            return None
        ctx.set(resp.ready, 1)
        value, = await ctx.tick().sample(resp.payload).until(resp.valid)
        ctx.set(resp.ready, 0)
        await self.cycles(self.read_latency - self.read_latency // 2)
        self.mmio_reads += 1
        return value

    # Host memory, read and written without spending cycles.

    def _row_span(self, addr, length):
        mem = self.bench.hostmem
        if addr < mem.base or addr + length > mem.base + mem.size:
            raise ValueError(f"{addr:#x}+{length} is outside host memory "
                             f"({mem.base:#x}..{mem.base + mem.size:#x})")
        first = (addr - mem.base) // 8
        last = (addr + length - mem.base + 7) // 8
        return first, last

    def mem_read(self, addr, length):
        first, last = self._row_span(addr, length)
        rows = self.bench.hostmem.data
        raw = b"".join(self.ctx.get(rows[i]).to_bytes(8, "little") for i in range(first, last))
        skip = (addr - self.bench.hostmem.base) % 8
        return raw[skip:skip + length]

    def mem_write(self, addr, payload):
        payload = bytes(payload)
        if not payload:
            return
        first, last = self._row_span(addr, len(payload))
        skip = (addr - self.bench.hostmem.base) % 8
        raw = bytearray(self.mem_read(self.bench.hostmem.base + first * 8, (last - first) * 8))
        raw[skip:skip + len(payload)] = payload
        rows = self.bench.hostmem.data
        for i in range(last - first):
            self.ctx.set(rows[first + i], int.from_bytes(raw[8 * i:8 * i + 8], "little"))

    # The wire: whole frames in and out of the link partner.

    def _poll_wire(self):
        """Collect frames the MAC sent and frames the partner started sending since last time."""
        ctx, partner = self.ctx, self.bench.partner
        now = ctx.get(self.bench.cycle)
        sent = ctx.get(partner.rx_sent)
        while self._rx_logged != sent:
            start = ctx.get(partner.rx_log.data[self._rx_logged % RECORDS])
            frame = self._rx_pending.pop(0)
            self.wire_log.append(("rx", _unwrap(start, now, 32), frame))
            self._rx_logged += 1
        count = ctx.get(partner.tx_frames)
        if count - self._tx_seen > RECORDS:
            raise SimulationError("the test bench fell behind the wire: TX capture records lost")
        new = []
        while self._tx_seen != count:
            record = ctx.get(partner.tx_records.data[self._tx_seen % RECORDS])
            data = bytes(ctx.get(partner.tx_bytes.data[(record.start + i) % RING_BYTES])
                         for i in range(record.length))
            frame = WireFrame(data, _unwrap(record.end, now, 31), bool(record.tx_er))
            self.wire_log.append(("tx", frame.end - len(data) + 1, frame))
            new.append(frame)
            self._tx_seen += 1
        for frame in new:
            for listener in self.tx_listeners:
                listener(frame)

    def send(self, raw, *, not_before=0, rx_er=False):
        """Queue ``raw`` (preamble, start delimiter, frame, FCS: exactly what goes on the wire)
        for the partner to send, no earlier than cycle ``not_before``."""
        ctx, partner = self.ctx, self.bench.partner
        raw = bytes(raw)
        if not 0 < len(raw) < 0x10000:
            raise ValueError(f"cannot send a frame of {len(raw)} bytes")
        posted = ctx.get(partner.rx_posted)
        if posted - ctx.get(partner.rx_sent) >= RECORDS:
            raise SimulationError("the partner's send queue is full")
        start = self._rx_write
        for i, b in enumerate(raw):
            ctx.set(partner.rx_bytes.data[(start + i) % RING_BYTES], b)
        self._rx_write = (start + len(raw)) % RING_BYTES
        ctx.set(partner.rx_records.data[posted % RECORDS],
                {"start": start, "length": len(raw), "not_before": not_before % (1 << 31),
                 "rx_er": rx_er})
        self._rx_pending.append(WireFrame(raw, None, rx_er))
        ctx.set(partner.rx_posted, (posted + 1) % (1 << 32))

    @property
    def frames_queued(self):
        """Frames queued with ``send`` that have not started on the wire yet."""
        return self.ctx.get(self.bench.partner.rx_posted) - self.ctx.get(self.bench.partner.rx_sent)

    # The world around the card.

    def set_bus_master(self, enabled):
        self.ctx.set(self.bench.bus_master, int(bool(enabled)))

    def set_cable(self, plugged):
        self.ctx.set(self.bench.cable, int(bool(plugged)))
