"""Benchmarks: line rate in simulated time, simulator speed, and the wall time of `make sim`.

    python -m sim.benchmark [--frames N] [--json build/bench.json]

Transmit: descriptors for a burst of equal frames are handed to the core at once (one TDT
write); the rate is taken from the times the first and the last frame started on the wire.
Receive: the partner sends the burst back to back (the minimum gap of 12 bytes) into a ring with
a free descriptor for every frame; the rate is taken from the times the first and the last frame
were written back to host memory (DD seen), and counts only frames delivered. Host memory answers
DMA reads after 1 us. Rates are in simulated time, compared with the line rate of a 1 Gb/s wire
(preamble and gap included): 1,488,095 frames/s for 64-byte frames, 234,962 for 512 bytes,
81,274 for 1518 bytes.
"""

import argparse
import json
import os
import platform
import sys
import time

from amaranth.lib import data

from hw.bus import Space
from hw.desc import RXD_STA, TXD_CMD, RxDescriptor, TxDescriptor
from hw.regmap import reg

from .bench import Backend, Bench, CLOCK_HZ
from .ethernet import to_wire
from .hostmem import HostMemory

SIZES = (64, 512, 1518)         # bytes on the wire from destination to FCS
RING = 0x0010_0000
BUFFERS = 0x0011_0000


def line_rate(size):
    return 1e9 / ((size + 20) * 8)


def _frame(size, n):
    body = bytes.fromhex("525400123456") + bytes.fromhex("52550a000202") + b"\x88\xb5"
    return (body + bytes([n & 0xFF]) * (size - 4 - len(body)))


async def _write(backend, register, value):
    await backend.mmio(Space.MEM, register.offset, write=True, data=value)


async def _read(backend, register):
    return await backend.mmio(Space.MEM, register.offset)


def _burst(direction, size, count):
    """Run one burst on a fresh bench; return (frames per simulated second, cycles, wall s)."""
    bench = Bench(hostmem=HostMemory(read_latency=125))
    if count * 2048 > bench.hostmem.size - (BUFFERS - RING):
        raise ValueError("too many frames for host memory")
    backend = Backend(bench)
    ring = (count + 8) // 8 * 8              # room for the burst, one slot always empty

    async def scenario(backend):
        backend.set_bus_master(1)
        await backend.cycles(1300)                      # autonegotiation
        if direction == "tx":
            for i in range(count):
                frame = _frame(size, i)
                backend.mem_write(BUFFERS + i * 2048, frame)
                d = TxDescriptor.const({"buffer_addr": BUFFERS + i * 2048, "length": len(frame),
                                        "cmd": TXD_CMD.EOP | TXD_CMD.IFCS | TXD_CMD.RS})
                backend.mem_write(RING + 16 * i, d.as_bits().to_bytes(16, "little"))
            await _write(backend, reg.TDBAL, RING)
            await _write(backend, reg.TDLEN, 16 * ring)
            await _write(backend, reg.TIPG, 0x00602008)
            await _write(backend, reg.TCTL, 0x0004010A)
            await _write(backend, reg.TDT, count)
            while len(backend.wire_log) < count:
                await backend.cycles(500)
            return [start for _, start, _ in backend.wire_log]
        for i in range(ring):
            d = RxDescriptor.const({"buffer_addr": BUFFERS + i * 2048})
            backend.mem_write(RING + 16 * i, d.as_bits().to_bytes(16, "little"))
        await _write(backend, reg.RDBAL, RING)
        await _write(backend, reg.RDLEN, 16 * ring)
        await _write(backend, reg.RDT, ring - 1)
        await _write(backend, reg.RCTL, 0x04008002)
        for i in range(count):
            backend.send(to_wire(_frame(size, i)))
        layout = data.Layout.cast(RxDescriptor)

        def done(i):
            raw = backend.mem_read(RING + 16 * i, 16)
            return layout.from_bits(int.from_bytes(raw, "little")).status & RXD_STA.DD

        # Note when each frame is written back, polling every cycle; stop when nothing more
        # arrives for a while (frames were dropped).
        times, idle = [], 0
        while len(times) < count and idle < 4000:
            if done(len(times)):
                times.append(backend.now)
                idle = 0
                continue
            await backend.cycles(1)
            idle += 1
        return times

    wall = time.perf_counter()
    times = backend.run(scenario)
    wall = time.perf_counter() - wall
    if direction == "tx":
        rate = (count - 1) * CLOCK_HZ / (times[-1] - times[0])
    elif len(times) < count:
        # Frames were lost: the share delivered of what the wire offered.
        starts = [start for _, start, _ in backend.wire_log]
        offered = (count - 1) * CLOCK_HZ / (starts[-1] - starts[0])
        rate = offered * len(times) / count
    else:
        # The first frame waits for its descriptor's fetch: take the rate after a warm-up.
        k = count // 4
        rate = (count - 1 - k) * CLOCK_HZ / (times[-1] - times[k])
    return rate, backend.cycles_run, wall


def _make_sim():
    from .__main__ import MAIN_SCENARIO
    from .machine import Machine
    os.makedirs("build", exist_ok=True)
    machine = Machine(console=lambda line: None)
    start = time.perf_counter()
    machine.run_script(MAIN_SCENARIO, vcd="build/bench-sim.vcd", gtkw="build/bench-sim.gtkw",
                       pcap="build/bench-wire.pcap")
    return time.perf_counter() - start, machine.backend.cycles_run


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m sim.benchmark", description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=None,
                   help="frames per burst (default: 128, 48 and 24 for the three sizes)")
    p.add_argument("--json", default="build/bench.json", help="where to write the figures")
    args = p.parse_args(argv)
    if args.frames is not None and not 2 <= args.frames <= 1024:
        p.error("a burst has 2 to 1024 frames")

    results = {"tx": {}, "rx": {}}
    cycles = wall = 0
    print(f"{'burst':<12}{'frames/s':>14}{'line rate':>12}{'% of line':>11}{'cycles':>10}{'wall s':>9}")
    for direction in ("tx", "rx"):
        for size in SIZES:
            count = args.frames or {64: 128, 512: 48, 1518: 24}[size]
            rate, c, w = _burst(direction, size, count)
            pct = 100 * rate / line_rate(size)
            results[direction][str(size)] = round(pct, 1)
            cycles += c
            wall += w
            print(f"{direction} {size:>5} B{rate:>16,.0f}{line_rate(size):>12,.0f}{pct:>10.1f}%"
                  f"{c:>10}{w:>9.1f}", flush=True)
    results["sim_cycles_per_s"] = round(cycles / wall)
    sim_wall, sim_cycles = _make_sim()
    results["make_sim_wall_s"] = round(sim_wall, 1)
    results["backend"] = "amaranth"
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"simulator: {results['sim_cycles_per_s']:,} cycles/s (Amaranth simulator)")
    print(f"make sim scenario: {sim_wall:.1f} s wall for {sim_cycles:,} cycles, waveforms included")
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
