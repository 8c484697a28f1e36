"""Waveforms of a chosen set of signals: a VCD file and a GTKWave save file with groups.

The simulator's own VCD writer records every signal of the design, which costs time and
tens of megabytes per hundred thousand cycles. ``Tracer`` records only the signals it is given,
grouped by block, from a simulator process that wakes when one of them changes; state machines
and enumerations are written as their names. Timestamps come from the bench's cycle counter.
"""

import enum as py_enum
import math
import os

from amaranth.hdl import Shape, Signal, Value
from amaranth.lib import data, enum
from amaranth.lib.wiring import Signature
import vcd
import vcd.gtkw


__all__ = ["Tracer", "flatten", "write_gtkw"]


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

    def __init__(self, sim, cycle, period, vcd_path, gtkw_path, groups):
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
        groups = {group: [(name, name.split(".", 1)[1], width, is_string)
                          for name, width, is_string in names]
                  for group, names in self._names.items()}
        write_gtkw(self._gtkw_path, self._vcd_path, self._end_ns, groups)


def write_gtkw(path, vcd_path, end_ns, groups):
    """A GTKWave save file for ``vcd_path`` showing ``groups``
    (``{group: [(trace name, alias, width, is_string)]}``)."""
    with open(path, "w") as f:
        save = vcd.gtkw.GTKWSave(f)
        # GTKWave looks for a relative dump file from where it is started, not from the save
        # file, so the save file names it in full, as GTKWave's own save files do.
        save.dumpfile(os.path.abspath(vcd_path), abspath=True)
        # Zoom so that the whole run fits a window of about a thousand pixels.
        save.zoom_markers(-math.ceil(math.log2(max(end_ns, 2) / 2)))
        save.signals_width(300)
        for group, traces in groups.items():
            with save.group(group):
                for name, alias, width, is_string in traces:
                    shown = f"{name}[{width - 1}:0]" if width > 1 and not is_string else name
                    save.trace(shown, alias=alias, datafmt="ascii" if is_string else "hex")
