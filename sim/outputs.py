"""Where a run writes its files (waveforms, captures, traces): checked before the run starts, so
that a bad path costs a one-line error instead of a finished simulation's results."""

import argparse
import os
import re


__all__ = ["OutputError", "prepare", "sim_time"]

CLOCK_HZ = 125_000_000


class OutputError(Exception):
    """An output file cannot be written where it was asked for."""


def prepare(path, what):
    """Make the folder of ``path`` and check that ``path`` can be written; ``what`` names the
    file in the error ("--pcap", say)."""
    if not path or not str(path).strip():
        raise OutputError(f"{what} needs a file name")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise OutputError(f"{what}: {path} is a folder, not a file")
    folder = os.path.dirname(path) or "."
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{what}: cannot make the folder {folder}: {e.strerror}") from None
    # Tried, not inferred from permission bits: a folder owned by another user (a build/ made
    # with sudo), a read-only file system, or root on a pseudo file system.
    existed = os.path.exists(path)
    try:
        with open(path, "ab"):
            pass
    except OSError as e:
        raise OutputError(f"{what}: cannot write {path}: {e.strerror}") from None
    if not existed:
        os.remove(path)
    return path


def sim_time(text):
    """A point of simulated time for the command line: cycles, or a number with s, ms, us or ns;
    returns cycles."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*(s|ms|us|ns)?\s*", text)
    try:
        number = float(match.group(1)) if match else None
    except ValueError:
        number = None
    if number is None:
        raise argparse.ArgumentTypeError(f"'{text}' is not a time (cycles, or e.g. 20us)")
    scale = {None: 1, "s": CLOCK_HZ, "ms": CLOCK_HZ / 1e3, "us": CLOCK_HZ / 1e6,
             "ns": CLOCK_HZ / 1e9}[match.group(2)]
    return round(number * scale)


PCAP_HELP = ("every frame on the wire as it crosses it, with its direction (pcapng; pcap for a "
             "name ending in .pcap)")


def add_output_options(parser, *, pcap, vcd=None, vcd_help="VCD output", pcap_help=None,
                       window=False):
    """The options every command that runs the model shares, defined once: ``--pcap`` (default
    ``pcap``), ``--vcd`` (default ``vcd``), ``--gtkw`` and, with ``window``, ``--trace-start`` and
    ``--trace-end``. A default of None is the command's to choose (its help says which).
    Returns the argument group, for a command's own options beside them."""
    def shown(default):
        return f" (default: {default})" if default is not None else ""
    group = parser.add_argument_group("outputs")
    group.add_argument("--pcap", default=pcap, metavar="PATH",
                       help=(pcap_help or PCAP_HELP) + shown(pcap))
    group.add_argument("--vcd", default=vcd, metavar="PATH", help=vcd_help + shown(vcd))
    group.add_argument("--gtkw", default=None, metavar="PATH",
                       help="GTKWave save file (default: the VCD path with .gtkw)")
    if window:
        group.add_argument("--trace-start", type=sim_time, default=0, metavar="TIME",
                           help="keep waveforms from this point of simulated time: cycles, or "
                                "a number with s, ms, us or ns (default: the start)")
        group.add_argument("--trace-end", type=sim_time, default=None, metavar="TIME",
                           help="keep waveforms up to this point (default: the end)")
    return group


def add_backend_option(parser, note=""):
    """``--backend``, the simulator, for every command that runs the model."""
    from .backends import BACKENDS
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="the simulator: cxxrtl (the design compiled to C++, built once per "
                             "design and kept in ~/.cache/e1000-cosim), amaranth (Amaranth's "
                             "simulator: a hundred times slower, every signal visible), or "
                             "auto: cxxrtl when a C++ compiler is there (default: auto)" + note)
