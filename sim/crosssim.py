"""Cross-simulation: the exported Verilog of the core, run by Icarus Verilog and Verilator,
against the Amaranth simulator, cycle by cycle.

    python -m sim.crosssim [--simulator icarus|verilator ...] [--keep DIR]

A register and frame test runs on the Amaranth simulator with the whole bench (host memory, link
partner, PHY): MMIO writes and reads, a ring of transmit descriptors and one of receive
descriptors, a frame out through TX and one in through RX, then registers and counters read back.
Every cycle, the core's inputs and outputs are recorded at the clock edge. The core's Verilog
(``hw.export``, the same as ``make verilog``) then runs under each simulator in a generated
Verilog test bench that first holds the reset for a few cycles with every input unknown (as a
test bench starts), where every output must already be defined, then replays the recorded inputs
cycle by cycle and prints the core's outputs at every edge; these must equal the Amaranth
simulator's in every bit of every cycle. Equal
outputs mean the same MMIO answers (register values), the same DMA commands and write data (host
memory contents), the same bytes on GMII (frames on the wire) and the same interrupt line, at the
same cycles. The first difference is reported with the cycle and the ports that differ.

Amaranth 0.5 exports synchronous memory read ports with an undefined initial value (so that
other tools infer block RAM) while its simulator starts them at zero; Icarus keeps such values X,
so any output that depends on a memory's read data before the first read shows up here as a
difference (it did, in the DMA arbiter, which now looks at its tag FIFOs only while they hold
an entry).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from amaranth.hdl import Value
from amaranth.lib import wiring

from hw.bus import Space
from hw.core import E1000
from hw.desc import TXD_CMD, RxDescriptor, TxDescriptor
from hw.regmap import reg

from . import regvalues
from .bench import Bench
from .ethernet import to_wire
from .phy import PHYModel
from .pysim import AmaranthBackend


__all__ = ["record", "run_simulator", "compare", "SIMULATORS", "main"]


# Icarus twice: as Verilog-2005 and as SystemVerilog (-g2012, what cocotb's flow uses), whose
# scheduling differs at time zero.
SIMULATORS = ("icarus", "icarus-2012", "verilator")
RESET_CYCLES = 4

_HINTS = {"icarus": "iverilog (Debian: apt-get install iverilog)",
          "icarus-2012": "iverilog (Debian: apt-get install iverilog)",
          "verilator": "verilator (Debian: apt-get install verilator)"}


def ports(core):
    """(name, signal, is_input) of the core's ports, as the Verilog export names them."""
    result = []
    for path, member, value in core.signature.flatten(core):
        result.append(("__".join(map(str, path)), Value.cast(value), member.flow == wiring.In))
    return result


async def _scenario(backend):
    """Registers, a frame out and a frame in, through descriptor DMA."""
    async def write(register, value, n=0):
        await backend.mmio(Space.MEM, register.at(n), write=True, data=value)

    async def read(register, n=0):
        return await backend.mmio(Space.MEM, register.at(n))

    mem = backend.bench.hostmem.base
    tx_ring, rx_ring, tx_buf, rx_buf = mem, mem + 0x1000, mem + 0x2000, mem + 0x4000
    guest = bytes.fromhex("525400123456")
    out = guest[::-1] + guest + b"\x08\x00" + bytes(range(50))      # 64 bytes with padding
    back = guest + bytes.fromhex("52550a000202") + b"\x08\x00" + bytes(range(100, 186))

    backend.set_bus_master(1)
    await backend.cycles(220)                                       # autonegotiation
    await read(reg.ICR)
    await write(reg.IMS, reg.ICR.TXDW.mask | reg.ICR.RXT0.mask)
    await write(reg.RAL, 0x1234_5678, n=3)
    await write(reg.MTA, 0xFFFF_0000, n=5)
    registers = [await read(reg.STATUS), await read(reg.RAL, n=3), await read(reg.MTA, n=5),
                 await read(reg.IMS)]
    # Transmit: one frame, odd alignment, through a ring of 8.
    backend.mem_write(tx_buf + 3, out)
    desc = TxDescriptor.const({"buffer_addr": tx_buf + 3, "length": len(out),
                               "cmd": TXD_CMD.EOP | TXD_CMD.IFCS | TXD_CMD.RS}).as_bits()
    backend.mem_write(tx_ring, desc.to_bytes(16, "little"))
    await write(reg.TDBAL, tx_ring)
    await write(reg.TDLEN, 16 * 8)
    await write(reg.TIPG, regvalues.TIPG)
    await write(reg.TCTL, regvalues.TCTL)
    # Receive: a ring of 8 with 2 KiB buffers.
    for i in range(8):
        desc = RxDescriptor.const({"buffer_addr": rx_buf + 2048 * i}).as_bits()
        backend.mem_write(rx_ring + 16 * i, desc.to_bytes(16, "little"))
    await write(reg.RDBAL, rx_ring)
    await write(reg.RDLEN, 16 * 8)
    await write(reg.RDT, 7)
    await write(reg.RCTL, regvalues.RCTL)
    await write(reg.TDT, 1)
    backend.send(to_wire(back), not_before=backend.now + 300)
    await backend.wait_irq(5000)
    await backend.cycles(2500)
    for r in (reg.ICR, reg.TDH, reg.RDH, reg.GPTC, reg.GPRC, reg.GOTCL, reg.GORCL, reg.TPR):
        registers.append(await read(r))
    return registers


def record(scenario=_scenario):
    """Run ``scenario`` on the Amaranth simulator; returns (ports, rows, result), rows being
    ``(inputs, outputs)`` integers at every clock edge."""
    bench = Bench(core=E1000(mdc_half_period=4), phy=PHYModel(autoneg_cycles=200))
    backend = AmaranthBackend(bench, mmio_read_latency=16, mmio_write_latency=4)
    table = ports(bench.core)
    signals = [signal for _, signal, _ in table]
    rows = []

    async def recorder(ctx):
        async for _, _, *values in ctx.tick().sample(*signals):
            inputs = outputs = 0
            for (_, signal, is_input), value in zip(table, values):
                if is_input:
                    inputs = (inputs << len(signal)) | value
                else:
                    outputs = (outputs << len(signal)) | value
            rows.append((inputs, outputs))

    backend.sim.add_process(recorder)
    result = backend.run(scenario)
    return table, rows, result


def export():
    """The core's Verilog, as ``make verilog`` writes it."""
    from hw.export import export as export_core
    with tempfile.TemporaryDirectory() as scratch:
        return export_core(os.path.join(scratch, "e1000.v"))


def _testbench(table, cycles):
    inputs = [(n, s) for n, s, i in table if i]
    outputs = [(n, s) for n, s, i in table if not i]
    width_in = sum(len(s) for _, s in inputs)
    width_out = sum(len(s) for _, s in outputs)
    lines = ["`timescale 1ns/1ps",
             "// Generated by sim/crosssim.py: replays recorded inputs into the core, prints its",
             "// outputs at every clock edge.",
             "module tb;",
             "    reg clk = 0;",
             f"    reg [{width_in - 1}:0] stimulus [0:{cycles - 1}];",
             f"    reg [{width_in - 1}:0] in = 0;",
             "    reg rst = 0;"]
    lines += [f"    wire [{len(s) - 1}:0] o_{n};" for n, s in outputs]
    connections = [".clk(clk)", ".rst(rst)"]
    offset = width_in
    for n, s in inputs:
        offset -= len(s)
        connections.append(f".{n}(in[{offset + len(s) - 1}:{offset}])")
    connections += [f".{n}(o_{n})" for n, _ in outputs]
    lines.append("    e1000 dut(" + ", ".join(connections) + ");")
    concat = "{" + ", ".join(f"o_{n}" for n, _ in outputs) + "}"
    lines += ["    integer i, f;",
              "    initial begin",
              '        $readmemh("stimulus.hex", stimulus);',
              '        f = $fopen("reset.hex", "w");',
              "        // Reset held with every input unknown, as a test bench starts: the outputs",
              "        // must be defined all the same.",
              f"        in = {{{width_in}{{1'bx}}}};",
              "        rst = 1;",
              f"        for (i = 0; i < {RESET_CYCLES}; i = i + 1) begin",
              "            #4;",
              "            clk = 1;",
              "            #1;",
              f'            $fdisplay(f, "%h", {concat});',
              "            #3;",
              "            clk = 0;",
              "        end",
              "        rst = 0;",
              "        $fclose(f);",
              '        f = $fopen("outputs.hex", "w");',
              f"        for (i = 0; i < {cycles}; i = i + 1) begin",
              "            in = stimulus[i];",
              "            #4;",
              f'            $fdisplay(f, "%h", {concat});',
              "            clk = 1;",
              "            #4;",
              "            clk = 0;",
              "        end",
              "        $fclose(f);",
              "        $finish;",
              "    end",
              "endmodule", ""]
    return "\n".join(lines), width_in, width_out


def run_simulator(simulator, verilog, table, rows, directory):
    """Replay ``rows`` into ``verilog`` under ``simulator``; returns the output rows."""
    tool = {"icarus": "iverilog", "icarus-2012": "iverilog", "verilator": "verilator"}[simulator]
    if shutil.which(tool) is None:
        raise FileNotFoundError(f"{simulator} needs {_HINTS[simulator]}")
    text, width_in, width_out = _testbench(table, len(rows))
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "tb.v"), "w") as f:
        f.write(text)
    with open(os.path.join(directory, "e1000.v"), "w") as f:
        f.write(verilog)
    digits = (width_in + 3) // 4
    with open(os.path.join(directory, "stimulus.hex"), "w") as f:
        f.writelines(f"{inputs:0{digits}x}\n" for inputs, _ in rows)
    if simulator.startswith("icarus"):
        standard = "-g2012" if simulator == "icarus-2012" else "-g2005"
        steps = [["iverilog", standard, "-o", "tb.vvp", "-s", "tb", "tb.v", "e1000.v"],
                 ["vvp", "-n", "tb.vvp"]]
    else:
        steps = [["verilator", "--binary", "--timing", "-Wno-fatal", "-Wno-lint", "-Wno-style",
                  "--top-module", "tb", "-O1", "-CFLAGS", "-O1", "--Mdir", "obj", "-o", "tb",
                  "tb.v", "e1000.v"],
                 [os.path.join("obj", "tb")]]
    for step in steps:
        result = subprocess.run(step, cwd=directory, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{simulator}: {' '.join(step)} failed:\n"
                               f"{(result.stderr or result.stdout)[-3000:]}")
    with open(os.path.join(directory, "reset.hex")) as f:
        during_reset = [line.strip() for line in f if line.strip()]
    with open(os.path.join(directory, "outputs.hex")) as f:
        return during_reset, [line.strip() for line in f if line.strip()]


def _bits(line, width):
    """A printed hex value as a string of bits, most significant first, with x for unknown."""
    bits = "".join(format(int(d, 16), "04b") if d in "0123456789abcdefABCDEF" else "xxxx"
                   for d in line)     # x, X, z or Z: some bit of the digit is unknown
    return bits[len(bits) - width:].rjust(width, "0")


def undefined(table, lines, simulator):
    """The outputs that are not all 0 or 1 in any of ``lines`` (printed while the reset is
    held with unknown inputs), described, or None."""
    outputs = [(n, len(s)) for n, s, i in table if not i]
    width = sum(w for _, w in outputs)
    for cycle, line in enumerate(lines):
        got = _bits(line, width)
        if "x" not in got and "z" not in got:
            continue
        names, at = [], 0
        for name, w in outputs:
            if "x" in got[at:at + w]:
                names.append(name)
            at += w
        return (f"{simulator}: in reset cycle {cycle + 1}, with every input unknown, these "
                f"outputs are undefined: {', '.join(names[:12])}")
    return None


def compare(table, rows, lines, simulator):
    """The first difference between the recorded outputs and ``lines``, described, or None."""
    outputs = [(n, len(s)) for n, s, i in table if not i]
    width = sum(w for _, w in outputs)
    digits = (width + 3) // 4
    if len(lines) != len(rows):
        return f"{simulator} printed {len(lines)} cycles, the Amaranth simulator {len(rows)}"
    for cycle, ((_, expected), line) in enumerate(zip(rows, lines)):
        if line == f"{expected:0{digits}x}":
            continue
        want, got = format(expected, f"0{width}b"), _bits(line, width)
        differences, at = [], 0
        for name, w in outputs:
            if want[at:at + w] != got[at:at + w]:
                shown = got[at:at + w]
                shown = f"{int(shown, 2):#x}" if "x" not in shown else f"0b{shown}"
                differences.append(f"{name} = {int(want[at:at + w], 2):#x} vs {shown}")
            at += w
        return (f"cycle {cycle + 1}: the Amaranth simulator and {simulator} differ: "
                + "; ".join(differences[:8]))
    return None


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m sim.crosssim", description=__doc__.split("\n")[0])
    p.add_argument("--simulator", action="append", choices=SIMULATORS,
                   help="run only this one (repeatable; default: both)")
    p.add_argument("--keep", metavar="DIR", help="keep the test benches and outputs in DIR")
    args = p.parse_args(argv)
    simulators = args.simulator or list(SIMULATORS)

    start = time.perf_counter()
    table, rows, registers = record()
    print(f"amaranth: {len(rows)} cycles recorded in {time.perf_counter() - start:.1f} s; "
          f"registers read: {' '.join(f'{r:#x}' for r in registers)}")
    with tempfile.TemporaryDirectory() as scratch:
        base = args.keep or scratch
        verilog = export()
        status = 0
        for simulator in simulators:
            start = time.perf_counter()
            try:
                during_reset, lines = run_simulator(simulator, verilog, table, rows,
                                                    os.path.join(base, simulator))
            except FileNotFoundError as e:
                print(f"error: {e}", file=sys.stderr)
                status = 2
                continue
            difference = (undefined(table, during_reset, simulator)
                          or compare(table, rows, lines, simulator))
            took = time.perf_counter() - start
            if difference:
                print(f"{simulator}: MISMATCH after {took:.1f} s: {difference}")
                status = 1
            else:
                print(f"{simulator}: all {len(rows)} cycles identical ({took:.1f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
