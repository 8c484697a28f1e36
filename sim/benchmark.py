"""Benchmarks: line rate in simulated time, simulator speed, and the wall time of `make sim`.

    python -m sim.benchmark [--backend auto|cxxrtl|amaranth] [--frames N] [--json build/bench.json]

Transmit: a driver-like loop keeps a 256-descriptor ring full (each frame written to its buffer
as its descriptor is handed over, TDT moved in batches as descriptors complete); the rate is
taken from the times the first and the last frame started on the wire. Receive: the partner
sends the burst back to back (the minimum gap of 12 bytes) while the loop hands descriptors back
as it finds them done; the rate is taken from the times frames were written back (DD seen, in
steps of 32 cycles) after a warm-up of a quarter of the burst, and counts only frames delivered.
Host memory answers DMA reads after 1 us. Rates are in simulated time, compared with the line
rate of a 1 Gb/s wire (preamble and gap included): 1,488,095 frames/s for 64-byte frames,
234,962 for 512 bytes, 81,274 for 1518 bytes.
"""

import argparse
import gc
import json
import os
import platform
import sys
import time

from amaranth.lib import data

from hw.bus import Space
from hw.desc import RXD_STA, TXD_CMD, RxDescriptor, TxDescriptor
from hw.regmap import reg

from . import backends, regvalues
from .bench import Bench, CLOCK_HZ
from .ethernet import to_wire
from .hostmem import HostMemory
from .outputs import OutputError, prepare
from .progress import Progress

SIZES = (64, 512, 1518)         # bytes on the wire from destination to FCS
RING = 0x0010_0000
BUFFERS = 0x0011_0000
SLOTS = 256                     # descriptors in the ring, one buffer of 2 KiB each
FRAMES = {                      # default burst lengths per backend
    "cxxrtl": {64: 4000, 512: 2000, 1518: 1000},
    "amaranth": {64: 128, 512: 48, 1518: 24},
}


def line_rate(size):
    return 1e9 / ((size + 20) * 8)


def _frame(size, n):
    body = bytes.fromhex("525400123456") + bytes.fromhex("52550a000202") + b"\x88\xb5"
    return body + n.to_bytes(4, "little") + bytes([n & 0xFF]) * (size - 8 - len(body))


async def _write(backend, register, value):
    await backend.mmio(Space.MEM, register.offset, write=True, data=value)


async def _tx(backend, size, count, progress):
    def hand(i):
        slot = i % SLOTS
        frame = _frame(size, i)
        backend.mem_write(BUFFERS + slot * 2048, frame)
        d = TxDescriptor.const({"buffer_addr": BUFFERS + slot * 2048, "length": len(frame),
                                "cmd": TXD_CMD.EOP | TXD_CMD.IFCS | TXD_CMD.RS})
        backend.mem_write(RING + 16 * slot, d.as_bits().to_bytes(16, "little"))

    await _write(backend, reg.TDBAL, RING)
    await _write(backend, reg.TDLEN, 16 * SLOTS)
    await _write(backend, reg.TIPG, regvalues.TIPG)
    await _write(backend, reg.TCTL, regvalues.TCTL)
    handed = min(count, SLOTS - 1)
    for i in range(handed):
        hand(i)
    await _write(backend, reg.TDT, handed % SLOTS)
    while len(backend.wire_log) < count:
        await backend.cycles(256)
        progress(len(backend.wire_log))
        # Frames on the wire have left their buffers: reuse them.
        free = min(count, len(backend.wire_log) + SLOTS - 1)
        if free - handed >= 16 or (free == count and free > handed):
            for i in range(handed, free):
                hand(i)
            handed = free
            await _write(backend, reg.TDT, handed % SLOTS)
    frames = [f.frame[:-4] for _, _, f in backend.wire_log]
    if frames != [_frame(size, i) for i in range(count)]:
        raise AssertionError("the frames on the wire are not the frames handed over")
    return [start for _, start, _ in backend.wire_log]


async def _rx(backend, size, count, progress):
    layout = data.Layout.cast(RxDescriptor)
    for i in range(SLOTS):
        d = RxDescriptor.const({"buffer_addr": BUFFERS + i * 2048})
        backend.mem_write(RING + 16 * i, d.as_bits().to_bytes(16, "little"))
    await _write(backend, reg.RDBAL, RING)
    await _write(backend, reg.RDLEN, 16 * SLOTS)
    await _write(backend, reg.RDT, SLOTS - 1)
    await _write(backend, reg.RCTL, regvalues.RCTL)
    # Writes are posted: read one back before frames arrive, so the receiver is on by then.
    await backend.mmio(Space.MEM, reg.STATUS.offset)

    def done(i):
        raw = backend.mem_read(RING + 16 * (i % SLOTS), 16)
        return layout.from_bits(int.from_bytes(raw, "little")).status & RXD_STA.DD

    sent, times, given, idle = 0, [], SLOTS - 1, 0
    wire = to_wire(_frame(size, 0))
    while len(times) < count and idle < 4000:
        while sent < count and backend.send_room >= 2 * len(wire) and backend.frames_queued < 64:
            backend.send(to_wire(_frame(size, sent)))
            sent += 1
        found = False
        while len(times) < count and done(len(times)):
            n = len(times)
            got = backend.mem_read(BUFFERS + (n % SLOTS) * 2048, size - 4)
            if got != _frame(size, n):
                raise AssertionError(f"frame {n} was delivered wrong")
            times.append(backend.now)
            backend.mem_write(RING + 16 * (n % SLOTS) + 8, bytes(8))   # clear status for reuse
            found = True
        if found:
            progress(len(times))
            idle = 0
            handed = len(times) + SLOTS - 1
            if handed - given >= 16:
                given = handed
                await _write(backend, reg.RDT, given % SLOTS)
        await backend.cycles(32)
        idle += 32
    return times


def _burst(backend_name, direction, size, count):
    """Run one burst on a fresh bench; return (frames per simulated second, cycles, wall s,
    the backend's name, receive latencies in cycles: from a frame's last byte on the wire to
    its descriptor seen done, for each frame delivered)."""
    bench = Bench(hostmem=HostMemory(read_latency=125))
    backend = backends.create(bench, backend_name, log=lambda line: print(line, flush=True))
    progress = Progress(count, f"{direction} {size} B")

    async def scenario(backend):
        backend.set_bus_master(1)
        await backend.cycles(1300)                      # autonegotiation
        return await (_tx if direction == "tx" else _rx)(backend, size, count, progress)

    wall = time.perf_counter()
    with progress:
        times = backend.run(scenario)
    wall = time.perf_counter() - wall
    latencies = []
    if direction == "tx":
        rate = (count - 1) * CLOCK_HZ / (times[-1] - times[0])
    elif len(times) < count:
        # Frames were lost: the share delivered of what the wire offered.
        starts = [start for _, start, _ in backend.wire_log]
        offered = (len(starts) - 1) * CLOCK_HZ / (starts[-1] - starts[0])
        rate = offered * len(times) / count
    else:
        # The first frames wait for their descriptors' fetch: take the rate after a warm-up.
        k = count // 4
        rate = (count - 1 - k) * CLOCK_HZ / (times[-1] - times[k])
        # Every frame delivered, in the order it came: the n-th on the wire is the n-th done.
        latencies = [done - (start + len(frame.raw))
                     for done, (_, start, frame) in zip(times, backend.wire_log)]
    return rate, backend.cycles_run, wall, backend.name, latencies


def _scenario(backend_name, *, waveforms):
    """The reference scenario: (wall s, cycles, backend name)."""
    from .__main__ import MAIN_SCENARIO
    from .machine import Machine
    os.makedirs("build", exist_ok=True)
    machine = Machine(console=lambda line: None, backend=backend_name,
                      log=lambda line: print(line, flush=True))
    outputs = {}
    if waveforms:
        outputs = dict(vcd="build/bench-sim.vcd", gtkw="build/bench-sim.gtkw",
                       pcap="build/bench-wire.pcapng")
    gc.collect()        # the runs before are cleaned up now, not while this one is timed
    start = time.perf_counter()
    machine.run_script(MAIN_SCENARIO, **outputs)
    return time.perf_counter() - start, machine.backend.cycles_run, machine.backend.name


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m sim.benchmark", description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=backends.BACKENDS, default="auto",
                   help="the simulator for the bursts (default: %(default)s; the reference "
                        "scenario's speed is measured on both)")
    p.add_argument("--frames", type=int, default=None,
                   help="frames per burst (default: 4000, 2000 and 1000 for the three sizes on "
                        "the compiled backend, 128, 48 and 24 on the Amaranth simulator)")
    p.add_argument("--json", default="build/bench.json",
                   help="where to write the figures (default: %(default)s; the pictures go "
                        "beside it)")
    p.add_argument("--no-plots", action="store_true",
                   help="no pictures (they need matplotlib: pip install -e '.[plot]')")
    args = p.parse_args(argv)
    if args.frames is not None and not 2 <= args.frames <= 100_000:
        p.error("a burst has 2 to 100000 frames")
    try:
        prepare(args.json, "--json")        # before the run, not after it
    except OutputError as e:
        p.error(str(e))

    # Build (or find) the compiled model first, so that its build is not counted as running.
    t = time.perf_counter()
    name = backends.create(Bench(hostmem=HostMemory(read_latency=125)), args.backend,
                           log=lambda line: print(line, flush=True)).name
    setup = time.perf_counter() - t
    results = {"backend": name, "tx": {}, "rx": {}}
    latencies = {}          # frame size -> receive latencies in ns
    cycles = wall = 0
    print(f"bursts on the {name} backend")
    print(f"{'burst':<12}{'frames':>8}{'frames/s':>14}{'line rate':>12}{'% of line':>11}"
          f"{'cycles':>10}{'wall s':>9}")
    for direction in ("tx", "rx"):
        for size in SIZES:
            count = args.frames or FRAMES[name][size]
            rate, c, w, _, waits = _burst(name, direction, size, count)
            if waits:
                latencies[size] = [cycles * 1e9 / CLOCK_HZ for cycles in waits]
            pct = 100 * rate / line_rate(size)
            results[direction][str(size)] = round(pct, 1)
            results.setdefault("frames", {})[f"{direction} {size}"] = count
            cycles += c
            wall += w
            print(f"{direction} {size:>5} B{count:>8}{rate:>14,.0f}{line_rate(size):>12,.0f}"
                  f"{pct:>10.1f}%{c:>10}{w:>9.1f}", flush=True)
    results["burst_cycles_per_s"] = round(cycles / wall)
    results["rx_latency_ns"] = {str(size): _percentiles(values)
                                for size, values in latencies.items()}
    for size, values in latencies.items():
        p = results["rx_latency_ns"][str(size)]
        print(f"rx {size:>5} B latency, last byte on the wire to descriptor done: median "
              f"{p['50']:.0f} ns, 99th percentile {p['99']:.0f} ns, worst {p['100']:.0f} ns")
    print(f"bursts: {cycles / wall:,.0f} cycles/s with the benchmark's Python in the loop")

    # The reference scenario (driver, stack, gateway, no waveforms) on each backend there is.
    results["sim_cycles_per_s"] = {}
    # A run of the compiled backend takes a tenth of a second, where other load on the machine
    # shows: the best of five.
    for backend_name in (("cxxrtl", "amaranth") if name == "cxxrtl" else ("amaranth",)):
        runs = 5 if backend_name == "cxxrtl" else 1
        if backend_name == "amaranth":
            print("reference scenario on amaranth: running (about a minute) ...", flush=True)
        w, c, _ = min(_scenario(backend_name, waveforms=False) for _ in range(runs))
        results["sim_cycles_per_s"][backend_name] = round(c / w)
        print(f"reference scenario on {backend_name}: {c:,} cycles in {w:.2f} s "
              f"({c / w:,.0f} cycles/s, Python included"
              f"{f', best of {runs} runs' if runs > 1 else ''})", flush=True)
    sim_wall, sim_cycles, _ = _scenario(name, waveforms=True)
    results["make_sim_wall_s"] = round(sim_wall, 2)
    results["setup_s"] = round(setup, 1)
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"make sim scenario on {name}: {sim_wall:.2f} s wall for {sim_cycles:,} cycles, "
          f"waveforms and capture included (plus {setup:.1f} s to elaborate and load the model)")
    try:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    except OSError as e:
        print(f"error: --json: cannot write {args.json}: {e.strerror}", file=sys.stderr)
        return 2
    print(f"written to {args.json}")
    if not args.no_plots:
        from .plots import PlotsUnavailable, draw_bench
        try:
            for path in draw_bench(results, latencies, os.path.dirname(args.json) or "."):
                print(f"drawn: {path}")
        except PlotsUnavailable as e:
            print(f"no pictures: {e}", file=sys.stderr)
    return 0


def _percentiles(values):
    """The 50th, 90th, 99th and 100th percentiles of ``values``, by rank."""
    ordered = sorted(values)
    return {str(p): round(ordered[min(len(ordered) - 1, len(ordered) * p // 100)], 1)
            for p in (50, 90, 99, 100)}


if __name__ == "__main__":
    sys.exit(main())
