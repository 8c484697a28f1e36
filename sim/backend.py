"""Driving the bench from Python, one transaction at a time, on any simulator.

A backend runs a scenario coroutine against a ``Bench``. Python never works per cycle: it does one
MMIO access, waits for the interrupt line or a frame, lets N cycles pass, reads or writes memory
contents, hands the link partner a whole frame. Everything here is written once, on a handful of
primitives each simulator provides:

- ``get(signal)`` / ``set(signal, value)`` on the bench's ports and a few named registers;
- ``memory(data)``: a row-level view of one of the bench's memories (``Bench.memories``);
- ``await cycles(n)``: exactly ``n`` rising clock edges;
- ``await _until(signal, value, limit)``: edges until ``signal`` equals ``value`` (the edge that
  samples it not run), at most ``limit``;
- ``await _wait_event(limit)``: edges until the interrupt line rises or the MAC finishes a frame,
  then one more;
- ``run(scenario, ...)``.

The wire's half of the protocol with the link partner lives in ``sim.wire``; a backend owns one.

Between calls the simulation sits just after a rising edge with everything settled, as an Amaranth
testbench does after ``await ctx.tick()``; that is what makes cycle counts identical on every
backend. ``sim.backends`` picks one.
"""

from abc import ABC, abstractmethod

from amaranth.hdl import Shape
from amaranth.lib import data

from hw.bus import MMIORequest, Space
from .bench import CLOCK_HZ
from .errors import SimulationError
from .wire import Wire, WireFrame


__all__ = ["Backend", "SimulationError", "WireFrame"]


# Cycles an MMIO access may wait for the core beyond its latencies (a PCI Express completion
# timeout is 50 us at the least).
MMIO_TIMEOUT = 50_000 * 125 // 1000


class Backend(ABC):
    """Parameters
    ----------
    bench : Bench
    mmio_read_latency, mmio_write_latency : int
        Cycles a CPU spends on a non-posted read (the round trip) and on a posted write before
        the device sees it; 64 and 16 cycles (512 ns, 128 ns) are typical of PCI Express.
    """

    name = None

    def __init__(self, bench, *, mmio_read_latency=64, mmio_write_latency=16):
        self.bench = bench
        self.read_latency = mmio_read_latency
        self.write_latency = mmio_write_latency
        self.cycles_run = 0
        self.wire = Wire(self)
        self.markers = {}           # name -> ns: named markers for the waveforms' save file
        self.focus = None           # the marker the save file's view opens on
        self.window_ns = None       # (start, end or None): the part of the run waveforms keep
        self.mmio_reads = 0
        self.mmio_writes = 0
        # The CPU's MMIO initiator (``sim.cpu``), its signals looked up once: an interface's
        # attributes cost microseconds.
        control = bench.mmio
        self._mmio_request, self._mmio_delay, self._mmio_tail = \
            control.request, control.delay, control.tail
        self._mmio_posted, self._mmio_done, self._mmio_rdata = \
            control.posted, control.done, control.rdata
        self._mmio_count = 0
        self._mmio_latencies = (0, 0)       # as the initiator's inputs start
        # (offset, width) of each request field: packed by hand, as building a struct constant
        # per access would cost more than the access itself on the compiled backend.
        self._req_fields = {name: (field.offset, Shape.cast(field.shape).width)
                            for name, field in data.Layout.cast(MMIORequest)}

    # What each simulator provides.

    @abstractmethod
    def run(self, scenario, *, vcd=None, gtkw=None, traces=None, trace_all=False):
        """Run ``await scenario(self)`` to its end and return its result.

        ``vcd``/``gtkw`` are file names for waveforms: ``traces`` (a dict of groups) chooses the
        signals, or ``trace_all`` records every signal of the design.
        """

    @abstractmethod
    def get(self, signal):
        """The value of a signal of the bench, as an integer."""

    @abstractmethod
    def set(self, signal, value):
        """Drive one of the bench's inputs."""

    @abstractmethod
    def memory(self, data):
        """Rows of one of ``Bench.memories()``: ``get(i)``, ``set(i, value)``, and
        ``load(first, count)``/``store(first, raw)`` of whole rows as little-endian bytes."""

    @abstractmethod
    async def cycles(self, n):
        """Let ``n`` clock cycles pass without waking Python in between."""

    @abstractmethod
    async def _until(self, signal, value, limit):
        """Run cycles until ``signal`` (64 bits at most) equals ``value``, at most ``limit``;
        the edge that will sample it equal has not happened yet."""

    @abstractmethod
    async def _wait_event(self, limit):
        """Run until the edge after INTx rises or the partner captures a frame, or ``limit``
        cycles and one more pass."""

    # Time.

    @property
    def now(self):
        """Cycles since the start."""
        return self.get(self.bench.cycle)

    def mark(self, name, cycle=None):
        """Name a moment (``cycle``, or now) for the waveforms' save file; the first mark of a
        name stands."""
        self.markers.setdefault(name, round(self.ns(self.now if cycle is None else cycle)))

    def ns(self, cycles):
        return cycles * 1e9 / CLOCK_HZ

    def cycles_for_ns(self, ns):
        return max(1, round(ns * CLOCK_HZ / 1e9))

    # Whether a DMA fault stops the simulation (``SimulationError``); a test that provokes
    # faults on purpose turns this off and collects them with ``take_fault``.
    faults_fatal = True

    def check_faults(self):
        if self.faults_fatal and self.get(self.bench.hostmem.fault):
            addr = self.get(self.bench.hostmem.fault_addr)
            raise SimulationError(f"DMA fault at bus address {addr:#x}: outside host memory, "
                                  f"unaligned, or while bus mastering was disabled")

    async def take_fault(self):
        """The bus address of the first DMA fault since the last call, or None; forgets it."""
        if not self.get(self.bench.hostmem.fault):
            return None
        addr = self.get(self.bench.hostmem.fault_addr)
        self.set(self.bench.fault_clear, 1)
        await self.cycles(1)
        self.set(self.bench.fault_clear, 0)
        return addr

    # The interrupt line.

    @property
    def irq(self):
        return bool(self.get(self.bench.irq))

    async def wait_irq(self, timeout):
        """Wait up to ``timeout`` cycles for INTx; return whether it is asserted."""
        start = self.now
        while True:
            self._poll_wire()
            if self.irq or self.now - start >= timeout:
                return self.irq
            await self._wait_event(timeout - (self.now - start))

    # MMIO.

    async def mmio(self, space, addr, *, write=False, data=0, be=0xF):
        """One access to the core's BAR0 (``Space.MEM``) or BAR1 (``Space.IO``) at byte
        offset ``addr``. Returns the read data, or None for a (posted) write."""
        limit = self._post_mmio(space, addr, write=write, data=data, be=be)
        ran = await self._until(self._mmio_done, self._mmio_count, limit)
        if ran >= limit and self.get(self._mmio_done) != self._mmio_count:
            raise SimulationError(
                f"MMIO {'write' if write else 'read'} of {Space(space).name} {addr:#x} not "
                f"completed in {MMIO_TIMEOUT} cycles: the core stopped answering its target port")
        self._poll_wire()
        if write:
            self.mmio_writes += 1
            return None
        self.mmio_reads += 1
        return self.get(self._mmio_rdata)

    def _post_mmio(self, space, addr, *, write, data=0, be=0xF):
        """Hand an access to the CPU's initiator; returns the cycles it may take at most."""
        payload = 0
        for name, value in (("addr", addr), ("space", Space(space).value), ("write", int(write)),
                            ("data", data), ("be", be)):
            offset, width = self._req_fields[name]
            if not 0 <= value < 1 << width:
                raise ValueError(f"MMIO {name} {value:#x} does not fit in {width} bits")
            payload |= value << offset
        delay = self.write_latency if write else self.read_latency // 2
        tail = self.read_latency - self.read_latency // 2
        self.set(self._mmio_request, payload)
        if (delay, tail) != self._mmio_latencies:    # the initiator holds them
            self.set(self._mmio_delay, delay)
            self.set(self._mmio_tail, tail)
            self._mmio_latencies = (delay, tail)
        self._mmio_count = (self._mmio_count + 1) % (1 << 16)
        self.set(self._mmio_posted, self._mmio_count)
        return delay + tail + MMIO_TIMEOUT

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
        raw = self.memory(self.bench.hostmem.data).load(first, last - first)
        skip = (addr - self.bench.hostmem.base) % 8
        return bytes(raw[skip:skip + length])

    def mem_write(self, addr, payload):
        payload = bytes(payload)
        if not payload:
            return
        first, last = self._row_span(addr, len(payload))
        rows = self.memory(self.bench.hostmem.data)
        skip = (addr - self.bench.hostmem.base) % 8
        raw = bytearray(rows.load(first, last - first))
        raw[skip:skip + len(payload)] = payload
        rows.store(first, raw)

    # The wire: whole frames in and out of the link partner (``sim.wire``).

    @property
    def wire_log(self):
        """("tx" | "rx", start cycle, WireFrame) of every frame on the wire, in order of
        discovery."""
        return self.wire.log

    @property
    def tx_listeners(self):
        """Called with each frame the MAC transmits."""
        return self.wire.tx_listeners

    @property
    def wire_listeners(self):
        """Called with each new ``wire_log`` entry, as it is logged."""
        return self.wire.listeners

    def _poll_wire(self):
        self.wire.poll()

    def send(self, raw, *, not_before=0, rx_er=False):
        """Queue ``raw`` (preamble, start delimiter, frame, FCS: exactly what goes on the wire)
        for the partner to send, no earlier than cycle ``not_before``."""
        self.wire.send(raw, not_before=not_before, rx_er=rx_er)

    @property
    def send_room(self):
        """Bytes the partner's send queue can still take."""
        return self.wire.send_room

    @property
    def frames_queued(self):
        """Frames queued with ``send`` that have not started on the wire yet."""
        return self.wire.frames_queued

    # The world around the card.

    @property
    def bus_master(self):
        return bool(self.get(self.bench.bus_master))

    def set_bus_master(self, enabled):
        self.set(self.bench.bus_master, int(bool(enabled)))

    def set_cable(self, plugged):
        self.set(self.bench.cable, int(bool(plugged)))
