"""Counts stepped by one-bit events in one addition, checked for every value and every
combination of events at a small width, where the count wraps both ways."""

import itertools

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from hw.count import stepped


@pytest.mark.parametrize("ups, downs", [(1, 1), (2, 1), (1, 2), (1, 0), (0, 1), (3, 0)])
def test_every_value_and_events(ups, downs):
    width = 4
    m = Module()
    value = Signal(width)
    up = [Signal(name=f"up_{i}") for i in range(ups)]
    down = [Signal(name=f"down_{i}") for i in range(downs)]
    result = Signal(width)
    m.d.comb += result.eq(stepped(value, up=up, down=down))
    sim = Simulator(m)
    checked = []

    async def tb(ctx):
        for v in range(1 << width):
            for levels in itertools.product((0, 1), repeat=ups + downs):
                ctx.set(value, v)
                for signal, level in zip(up + down, levels):
                    ctx.set(signal, level)
                expected = (v + sum(levels[:ups]) - sum(levels[ups:])) % (1 << width)
                assert ctx.get(result) == expected, (v, levels)
                checked.append((v, levels))
    sim.add_testbench(tb)
    sim.run()
    assert len(checked) == (1 << width) << (ups + downs)


def test_a_one_bit_count_wraps():
    m = Module()
    value, up, down, result = Signal(), Signal(), Signal(), Signal()
    m.d.comb += result.eq(stepped(value, up=(up,), down=(down,)))
    sim = Simulator(m)

    async def tb(ctx):
        for v, u, d in itertools.product((0, 1), repeat=3):
            ctx.set(value, v)
            ctx.set(up, u)
            ctx.set(down, d)
            assert ctx.get(result) == (v + u - d) % 2
    sim.add_testbench(tb)
    sim.run()
