"""Command line: run a scenario on the simulated e1000 and write waveforms.

    python -m sim                      the main scenario (driver bring-up and link up)
    python -m sim -c 'insmod e1000'    your own commands, one per -c
    python -m sim --script FILE        commands from a file, one per line
    python -m sim --interactive        type commands at the guest's prompt
    python -m sim tap [-- COMMAND]     real Linux at both ends, through TAPs (root; see sim.tap)
    python -m sim qemu                 the real e1000.ko in a kernel under QEMU (see sim.qemu)
"""

import argparse
import json
import os
import shutil
import sys
import time

from hw.core import DEFAULT_MAC
from hw.eeprom import eeprom_image

from .backend import SimulationError
from .bench import CLOCK_HZ
from .cxxrtl import CompilerMissing
from .machine import Machine
from .outputs import (PCAP_HELP, OutputError, add_backend_option, add_output_options,
                      prepare)
from .trace import to_fst


MAIN_SCENARIO = [
    "insmod e1000",
    "ip link set eth0 up",
    "ip addr add 10.0.2.15/255.255.255.0 dev eth0",
    "ping 10.0.2.2",
    "ping 192.168.0.113",
    "ip route add default via 10.0.2.2",
    "ping 192.168.0.113",
    "ping 110.242.68.66",
]


def parse_mac(text):
    parts = text.split(":")
    try:
        mac = bytes(int(p, 16) for p in parts)
    except ValueError:
        mac = b""
    if len(parts) != 6 or len(mac) != 6 or any(len(p) != 2 for p in parts):
        raise argparse.ArgumentTypeError(f"'{text}' is not a MAC address like 52:54:00:12:34:56")
    return mac


def positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"'{text}' must be positive")
        return value
    return parse


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m sim",
        description="Run the e1000 co-simulation: the Amaranth model of an Intel 82540EM, "
                    "cycle by cycle, driven by the Python driver through a simulated PCI host.",
        epilog="With no commands, runs the main scenario: " + "; ".join(MAIN_SCENARIO) + ". "
               "'python -m sim tap --help': the kernel's own ip and ping over the simulated NIC.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("-c", "--command", action="append", metavar="CMD",
                     help="a shell command for the guest (repeatable); replaces the main scenario")
    src.add_argument("--script", metavar="FILE",
                     help="a file of guest shell commands, one per line (# starts a comment)")
    src.add_argument("-i", "--interactive", action="store_true",
                     help="type commands at the guest's prompt (exit or Ctrl-D ends); simulated "
                          "time stands still while the prompt waits")
    add_backend_option(p)
    # The main scenario writes build/sim.*, other runs build/run.* (the defaults, left None here).
    w = add_output_options(p, pcap=None, vcd=None, window=True,
                           pcap_help=PCAP_HELP + ": build/sim.pcapng for the main scenario, "
                                     "build/run.pcapng for other runs",
                           vcd_help="VCD output: build/sim.vcd for the main scenario, "
                                    "build/run.vcd for other runs")
    w.add_argument("--no-vcd", action="store_true",
                   help="write no waveforms (fastest); removes the run's old VCD and .gtkw")
    w.add_argument("--fst", action="store_true",
                   help="waveforms as FST, GTKWave's compact format for long runs (the VCD "
                        "converted with GTKWave's vcd2fst, then removed)")
    w.add_argument("--json", default=None, metavar="PATH",
                   help="a summary of the run: each command with its status and output, cycles, "
                        "frames, the driver's counters")
    w.add_argument("--trace", choices=("curated", "all"), default="curated",
                   help="which signals: the curated set grouped by block, or every signal of "
                        "the design (large, slower) (default: %(default)s)")
    d = p.add_argument_group("device and link")
    d.add_argument("--mac", type=parse_mac, default=DEFAULT_MAC,
                   help="the card's MAC address, written into its EEPROM (default: 52:54:00:12:34:56)")
    d.add_argument("--bad-eeprom-checksum", action="store_true",
                   help="corrupt the EEPROM checksum word (the driver must refuse the card)")
    d.add_argument("--eeprom", choices=("eerd", "microwire"), default=None,
                   help="how the driver reads the EEPROM (added to insmod e1000; default: eerd)")
    d.add_argument("--autoneg-us", type=positive(float), default=20.0, metavar="US",
                   help="simulated time autonegotiation takes (default: %(default)s)")
    d.add_argument("--mdc-half-period", type=positive(int), default=25, metavar="CYCLES",
                   help="MDC half period in 125 MHz cycles; 25 is 2.5 MHz (default: %(default)s)")
    return p


def main(argv=None):
    began = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["tap"]:
        from .tap import main as tap_main
        return tap_main(argv[1:])
    if argv[:1] == ["qemu"]:
        from .qemu import main as qemu_main
        return qemu_main(argv[1:])
    args = build_parser().parse_args(argv)

    if args.interactive:
        lines = None
    elif args.command:
        lines = args.command
    elif args.script:
        try:
            with open(args.script) as f:
                lines = [l.rstrip("\n") for l in f if l.strip() and not l.lstrip().startswith("#")]
        except (OSError, UnicodeDecodeError) as e:
            print(f"error: cannot read the script: {e}", file=sys.stderr)
            return 2
    else:
        lines = list(MAIN_SCENARIO)
    if args.eeprom and lines:
        lines = [l + f" eeprom={args.eeprom}" if l.startswith("insmod e1000") else l
                 for l in lines]

    eeprom = None
    if args.bad_eeprom_checksum:
        eeprom = eeprom_image(args.mac)
        eeprom[0x3F] ^= 0x0001

    # The main scenario's files are not overwritten by other runs unless asked for by name.
    stem = "build/sim" if not (args.command or args.script or args.interactive) else "build/run"
    vcd = gtkw = None
    try:
        vcd_path = prepare(_given(args.vcd, stem + ".vcd"), "--vcd")
        gtkw_path = prepare(_given(args.gtkw, os.path.splitext(vcd_path)[0] + ".gtkw"), "--gtkw")
        if not args.no_vcd:
            vcd, gtkw = vcd_path, gtkw_path
        pcap = prepare(_given(args.pcap, stem + ".pcapng"), "--pcap")
        summary_path = prepare(args.json, "--json") if args.json is not None else None
    except OutputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    fst_path = os.path.splitext(vcd_path)[0] + ".fst"
    if args.no_vcd:
        # Waveforms left from an earlier run would not match this run's capture.
        for stale in (vcd_path, gtkw_path, fst_path):
            if os.path.isfile(stale):
                os.remove(stale)
        shutil.rmtree(os.path.splitext(gtkw_path)[0] + ".filters", ignore_errors=True)
    elif args.fst and shutil.which("vcd2fst") is None:
        print("error: --fst needs GTKWave's vcd2fst (Debian: apt-get install gtkwave)",
              file=sys.stderr)
        return 2
    if args.trace_end is not None and args.trace_end <= args.trace_start:
        print("error: --trace-end must come after --trace-start", file=sys.stderr)
        return 2
    window = None
    if args.trace_start or args.trace_end is not None:
        window = (args.trace_start, args.trace_end)

    def note(message):
        print(f"-- {message}", file=sys.stderr)

    try:
        machine = Machine(mac=args.mac, eeprom=eeprom, autoneg_us=args.autoneg_us,
                          mdc_half_period=args.mdc_half_period, backend=args.backend, log=note)
    except (ValueError, CompilerMissing, SimulationError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted while the model was being built; nothing half-built was kept",
              file=sys.stderr)
        return 130

    what = "interactive" if lines is None else f"{len(lines)} command(s)"
    backend = machine.backend
    engine = {"cxxrtl": "compiled model (CXXRTL)", "amaranth": "Amaranth simulator"}[backend.name]
    note(f"design elaborated and simulator ready in {time.perf_counter() - began:.1f} s")
    print(f"e1000 co-simulation: {engine}, 125 MHz; {what}", file=sys.stderr)
    start = time.perf_counter()
    prompt = None
    try:
        outputs = dict(vcd=vcd, gtkw=gtkw, trace_all=args.trace == "all", pcap=pcap,
                       counters=summary_path is not None, window=window)
        if lines is None:
            from .prompt import LinePrompt
            prompt = LinePrompt(machine)
            status = machine.run_interactive(prompt, **outputs)
        else:
            status = machine.run_script(lines, **outputs)
    except SimulationError as e:
        print(f"simulation error: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        # The waveform and capture files are closed on the way out, up to where it stopped.
        print(f"\ninterrupted after {machine.backend.cycles_run:,} cycles", file=sys.stderr)
        return 130
    finally:
        if prompt is not None:
            prompt.close()
    wall = time.perf_counter() - start - machine.idle_s
    sys.stdout.flush()
    cycles = machine.cycles
    idle = f", {machine.idle_s:.1f} s at the prompt not counted" if machine.idle_s >= 0.05 else ""
    print(f"-- {cycles} cycles ({cycles / CLOCK_HZ * 1e6:.1f} us simulated) in {wall:.1f} s "
          f"({cycles / max(wall, 1e-9):,.0f} cycles/s{idle})", file=sys.stderr)
    if vcd and args.fst:
        try:
            to_fst(vcd, fst_path, gtkw)
        except OSError as e:
            print(f"error: --fst: {e}", file=sys.stderr)
            return 2
        vcd = fst_path
    if vcd:
        print(f"-- waveforms: {vcd}, {gtkw} (open with: gtkwave {gtkw})", file=sys.stderr)
    print(f"-- {len(machine.backend.wire_log)} frames on the wire: {pcap}", file=sys.stderr)
    if summary_path:
        try:
            write_summary(summary_path, machine, status=status, wall_s=wall, backend=engine,
                          files={"vcd": vcd, "gtkw": gtkw, "pcap": pcap})
        except OSError as e:
            print(f"error: --json: cannot write {summary_path}: {e.strerror}", file=sys.stderr)
            return 2
        print(f"-- summary: {summary_path}", file=sys.stderr)
    return status


def _given(value, default):
    return default if value is None else value


def write_summary(path, machine, **fields):
    """The run's summary as JSON (see ``Machine.summary``)."""
    summary = {**fields, **machine.summary()}
    with open(path, "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
