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
