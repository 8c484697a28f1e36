"""Waveforms of a chosen set of signals: a VCD file and a GTKWave save file with groups.

The simulator's own VCD writer records every signal of the design, which costs time and
tens of megabytes per hundred thousand cycles. ``Tracer`` records only the signals it is given,
grouped by block, from a simulator process that wakes when one of them changes; state machines
and enumerations are written as their names. Timestamps come from the bench's cycle counter.
"""

import enum as py_enum
import math
import os
import re
from dataclasses import dataclass

from amaranth.hdl import Shape, Signal, Value
from amaranth.lib import data, enum
from amaranth.lib.wiring import Signature
import vcd
import vcd.gtkw


__all__ = ["Trace", "Tracer", "flatten", "state_names", "trace_of", "write_gtkw"]


def flatten(prefix, obj):
    """(name, Signal) pairs of an interface object, a Signal, a view or a dict of them."""
    if isinstance(obj, dict):
        for name, item in obj.items():
            yield from flatten(f"{prefix}.{name}" if prefix else name, item)
    elif hasattr(obj, "signature") and isinstance(obj.signature, Signature):
        for name in obj.signature.members:
            yield from flatten(f"{prefix}.{name}", getattr(obj, name))
    elif isinstance(obj, enum.EnumView):
        yield prefix, Value.cast(obj), obj.shape()
    elif isinstance(obj, data.View):
        # A struct: one trace per field, cut from the underlying signal.
        signal = Value.cast(obj)
        for name, field in data.Layout.cast(obj.shape()):
            yield (f"{prefix}_{name}", signal,
                   _Slice(field.offset, Shape.cast(field.shape).width, field.shape))
    elif isinstance(obj, Signal):
        yield prefix, obj, None
    else:
        value = Value.cast(obj)
        if not isinstance(value, Signal):
            raise TypeError(f"{prefix}: only signals can be traced, not {value!r}")
        yield prefix, value, None


class _Slice:
    """A field of a struct-shaped signal."""
    def __init__(self, offset, width, shape):
        self.offset, self.width, self.shape = offset, width, shape


def _decoder(signal, enum_shape):
    if isinstance(enum_shape, _Slice):
        field = enum_shape
        mask = (1 << field.width) - 1
        if isinstance(field.shape, type) and issubclass(field.shape, py_enum.Enum):
            names = {m.value: m.name for m in field.shape}
            return lambda v: names.get((v >> field.offset) & mask, "?")
        return lambda v: (v >> field.offset) & mask
    if enum_shape is not None:
        members = {m.value: m.name for m in enum_shape}
        return lambda v: members.get(v, str(v))
    if signal.decoder is not None and not isinstance(signal.decoder, py_enum.EnumMeta):
        # FSM states decode as "NAME/index".
        return lambda v: signal.decoder(v).split("/")[0]
    return None


class Tracer:
    """Record ``groups`` (``{group: {name: signal or interface}}``) while the simulation runs.

    Use as a context manager around ``Simulator.run()``.
    """

    def __init__(self, sim, cycle, period, vcd_path, gtkw_path, groups, *, markers=None,
                 focus=None, window=None):
        self.markers = markers if markers is not None else {}
        self.focus = focus
        self.window = window
        self._sim = sim
        self._cycle = cycle
        self._period_ns = period * 1e9
        self._vcd_path = vcd_path
        self._gtkw_path = gtkw_path
        self._groups = {g: list(flatten("", items)) for g, items in groups.items()}

    def __enter__(self):
        self._file = open(self._vcd_path, "w")
        self._writer = vcd.VCDWriter(self._file, timescale="1 ns", comment="e1000 co-simulation")
        self._vars = []         # (signal, var, decoder) in the order of the process's values
        self._names = {}        # group -> [(full name, width, is_string)]
        for group, items in self._groups.items():
            scope = group.replace(" ", "_")
            self._names[group] = []
            for name, signal, enum_shape in items:
                name = name.lstrip(".")
                decode = _decoder(signal, enum_shape)
                width = len(signal)
                is_string = decode is not None
                if isinstance(enum_shape, _Slice):
                    width = enum_shape.width
                    is_string = isinstance(decode(signal.init), str)
                if is_string:
                    var = self._writer.register_var(scope, name, "string", init=decode(signal.init))
                else:
                    var = self._writer.register_var(scope, name, "wire", size=width,
                                                    init=decode(signal.init) if decode else signal.init)
                self._vars.append((signal, var, decode))
                self._names[group].append((f"{scope}.{name}", width, is_string))

        signals, watchers = [], []       # per distinct signal: its (var, decode) traces
        position = {}                       # by id(): signals compare as expressions
        for signal, var, decode in self._vars:
            if id(signal) not in position:
                position[id(signal)] = len(signals)
                signals.append(signal)
                watchers.append([])
            watchers[position[id(signal)]].append((var, decode))
        writer = self._writer
        period = self._period_ns

        self._end_ns = 0

        async def process(ctx):
            last = [s.init for s in signals]
            async for *values, cycle in ctx.changed(*signals).sample(self._cycle):
                t = round(cycle * period)
                self._end_ns = t
                for i, value in enumerate(values):
                    if value != last[i]:
                        last[i] = value
                        for var, decode in watchers[i]:
                            writer.change(var, t, decode(value) if decode else value)

        self._sim.add_process(process)
        return self

    def __exit__(self, *exc):
        self._writer.close()
        self._file.close()
        if self._gtkw_path:
            self._write_gtkw()
        return False

    def _write_gtkw(self):
        groups = {group: [Trace(name, name.split(".", 1)[1], width, string=is_string)
                          for name, width, is_string in names]
                  for group, names in self._names.items()}
        write_gtkw(self._gtkw_path, self._vcd_path, self._end_ns, groups, markers=self.markers,
                   focus=self.focus, window=self.window)


@dataclass
class Trace:
    """One trace of a GTKWave save file.

    ``name`` is the VCD variable's full name (scopes joined by dots), ``width`` its width.
    ``string``: a string variable (names already decoded by the Amaranth simulator's tracer).
    ``field``: (offset, width) of a field of a struct-shaped variable, shown as a vector of its
    own. ``names``: {value: name} for a translate filter (state machines and enumerations on
    the compiled backend, whose VCD holds numbers)."""
    name: str
    alias: str
    width: int
    string: bool = False
    field: tuple = None
    names: dict = None


def trace_of(vcd_name, width, alias, shape):
    """The ``Trace`` of what ``flatten`` yields as (alias, signal, shape) for a numeric VCD
    variable ``vcd_name`` of ``width`` bits (the compiled backend's)."""
    if isinstance(shape, _Slice):
        names = None
        if isinstance(shape.shape, type) and issubclass(shape.shape, py_enum.Enum):
            names = {m.value: m.name for m in shape.shape}
        return Trace(vcd_name, alias, width, field=(shape.offset, shape.width), names=names)
    if shape is not None:
        return Trace(vcd_name, alias, width, names={m.value: m.name for m in shape})
    return Trace(vcd_name, alias, width)


def state_names(signal):
    """{value: name} of a state machine's state signal (its decoder), else None."""
    decoder = getattr(signal, "decoder", None)
    if decoder is None or isinstance(decoder, py_enum.EnumMeta) or len(signal) > 8:
        return None
    names = {}
    for value in range(1 << len(signal)):
        try:
            text = decoder(value)
        except (KeyError, ValueError):  # not a state
            continue
        if "/" in text:                 # "NAME/value" for the states there are
            names[value] = text.split("/")[0]
    return names or None


def _filter_lines(names, width):
    """A translate filter: each value as GTKWave may show it in hex (with or without leading
    zeros; GTKWave compares them without case), then its name."""
    digits = max(1, (width + 3) // 4)
    lines = []
    for value, name in sorted(names.items()):
        shown = {f"{value:0{n}X}" for n in range(1, digits + 1)}
        lines += [f"{text} {name}" for text in sorted(shown, key=len)]
    return "\n".join(lines) + "\n"


# The window GTKWave opens with, and how much of the run the first view shows around the
# first marked event.
WINDOW = (1600, 900)
FIRST_VIEW_NS = 40_000


def write_gtkw(path, vcd_path, end_ns, groups, *, markers=None, focus=None, window=None):
    """A GTKWave save file for ``vcd_path`` showing ``groups`` (``{group: [Trace]}``), its
    translate filters in ``<save file>.filters/``. ``markers`` ({name: ns}) become named markers
    A, B, ... in time order; the view opens on the one named ``focus`` (or the first), with the
    primary marker there, else on the whole run. ``window`` (start, end or None, in ns): the
    part of the run the dump file holds; markers outside it are left out.

    Paths are written in full, with the save file's own: GTKWave finds the dump file and the
    filters relative to the save file when the folder has been moved or copied."""
    path = os.path.abspath(path)
    filters = os.path.splitext(path)[0] + ".filters"
    written = {}                # filter text -> (number, file)
    first, last = window or (0, None)
    markers = dict(sorted(((name, ns) for name, ns in (markers or {}).items()
                           if first <= ns and (last is None or ns <= last)),
                          key=lambda item: item[1]))
    end_ns = end_ns if last is None else min(end_ns, last)
    with open(path, "w") as f:
        save = vcd.gtkw.GTKWSave(f)
        save.dumpfile(os.path.abspath(vcd_path), abspath=True)
        save.savefile(path)
        save.size(*WINDOW)
        save.pos(-1, -1)
        primary = markers.get(focus, next(iter(markers.values()), -1))
        if markers:
            save.timestart(max(first, primary - FIRST_VIEW_NS // 10))
            span = FIRST_VIEW_NS
        else:
            save.timestart(first)
            span = max(end_ns - first, 2)
        # About ``span`` across the window.
        zoom = -math.ceil(math.log2(max(span, 2) / 2))
        named = {chr(ord("a") + i): ns for i, ns in enumerate(list(markers.values())[:26])}
        save.zoom_markers(zoom, primary, **named)
        for letter, name in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", markers):
            f.write(f"[markername] {letter}{name}\n")
        save.signals_width(300)
        for group, traces in groups.items():
            with save.group(group):
                for trace in traces:
                    _write_trace(f, trace, filters, written)


def _write_trace(f, trace, filters, written):
    """One trace, with its flags and filter written out each time (GTKWave takes them as they
    come). ``written``: {filter text: (number, file)} of the filters so far."""
    whole = f"{trace.name}[{trace.width - 1}:0]" if trace.width > 1 and not trace.string \
        else trace.name
    flags = vcd.gtkw.GTKWFlag.rjustify
    flags |= vcd.gtkw.GTKWFlag.ascii if trace.string else vcd.gtkw.GTKWFlag.hex
    if trace.names:
        text = _filter_lines(trace.names, trace.field[1] if trace.field else trace.width)
        if text not in written:
            os.makedirs(filters, exist_ok=True)
            stem = re.sub(r"[^A-Za-z0-9_]+", "_", trace.alias).strip("_") or "filter"
            file = os.path.join(filters, f"{len(written):02d}_{stem}.txt")
            with open(file, "w") as g:
                g.write(text)
            written[text] = (len(written) + 1, file)
        number, file = written[text]
        f.write(f"@{(flags | vcd.gtkw.GTKWFlag.ftranslated).value:x}\n^{number} {file}\n")
    else:
        f.write(f"@{flags.value:x}\n")
    if trace.field is None:
        f.write(f"+{{{trace.alias}}} {whole}\n")
        return
    # A field: its bits of the whole vector, most significant first, counted from the top as
    # GTKWave counts them ("(0)" is bit width-1).
    offset, width = trace.field
    top = trace.width - 1
    if width == 1 and not trace.names:
        f.write(f"+{{{trace.alias}}} ({top - offset}){whole}\n")
    else:           # a vector, even of one bit: GTKWave translates vectors only
        bits = " ".join(f"({top - bit}){whole}" for bit in range(offset + width - 1, offset - 1, -1))
        f.write(f"#{{{trace.alias}}} {bits}\n")


def trim_vcd(path, start_ns, end_ns=None):
    """Keep only ``start_ns`` to ``end_ns`` of the VCD at ``path`` (rewritten in place): every
    variable's value at the start, then the changes up to the end."""
    scale = 1           # ns per VCD time unit
    values = {}
    with open(path) as f, open(path + ".part", "w") as out:
        for line in f:                      # the header, as it is
            out.write(line)
            words = line.split()
            if words[:1] == ["$timescale"]:
                unit = " ".join(words[1:-1]) if words[-1] == "$end" else " ".join(words[1:])
                number, unit = re.fullmatch(r"(\d+)\s*(s|ms|us|ns|ps|fs)", unit).groups()
                scale = int(number) * {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1, "ps": 1e-3,
                                       "fs": 1e-6}[unit]
            if words[:1] == ["$enddefinitions"]:
                break
        started = False
        for line in f:
            if line.startswith("#"):
                ns = int(line[1:]) * scale
                if end_ns is not None and ns > end_ns:
                    break
                if not started and ns >= start_ns:
                    started = True
                    out.write(f"#{round(start_ns / scale)}\n$dumpvars\n")
                    out.writelines(values.values())
                    out.write("$end\n")
                    if ns == start_ns:
                        continue
                if started:
                    out.write(line)
                continue
            if started:
                out.write(line)
            elif line[:1] in "01xzXZ" and len(line) > 2:
                values[line[1:].strip()] = line             # scalar: value then id
            elif line[:1] in "bBrRsS":
                values[line.split()[-1]] = line             # vector: value, space, id
    os.replace(path + ".part", path)


def to_fst(vcd_path, fst_path, gtkw_path=None):
    """Convert a VCD to FST with GTKWave's vcd2fst, remove the VCD, and point the save file at
    the FST. Raises OSError if vcd2fst fails."""
    import subprocess
    result = subprocess.run(["vcd2fst", vcd_path, fst_path], capture_output=True, text=True)
    if result.returncode != 0:
        raise OSError(f"vcd2fst failed: {result.stderr.strip().splitlines()[-1:]}")
    os.remove(vcd_path)
    if gtkw_path:
        with open(gtkw_path) as f:
            text = f.read()
        text = text.replace(f'[dumpfile] "{os.path.abspath(vcd_path)}"',
                            f'[dumpfile] "{os.path.abspath(fst_path)}"', 1)
        with open(gtkw_path, "w") as f:
            f.write(text)
