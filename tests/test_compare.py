"""Comparisons with constants as logic, checked for every value of small widths."""

from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from hw.compare import at_least, below


def test_every_value_and_constant():
    width = 5
    constants = range(-1, (1 << width) + 2)
    m = Module()
    x = Signal(width)
    ge = [Signal(name=f"ge_{i}") for i, _ in enumerate(constants)]
    lt = [Signal(name=f"lt_{i}") for i, _ in enumerate(constants)]
    for c, g, b in zip(constants, ge, lt):
        m.d.comb += [g.eq(at_least(x, c)), b.eq(below(x, c))]
    sim = Simulator(m)
    seen = []

    async def tb(ctx):
        for value in range(1 << width):
            ctx.set(x, value)
            got = [(ctx.get(g), ctx.get(b)) for g, b in zip(ge, lt)]
            assert got == [(int(value >= c), int(value < c)) for c in constants], value
            seen.append(value)
    sim.add_testbench(tb)
    sim.run()
    assert seen == list(range(1 << width))
