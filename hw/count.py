"""Counts that go up and down by a few one-bit events in a cycle, as one addition.

Written as ``value + a - b``, such a count becomes a multi-operand adder in Yosys: the one-bit
operands are first summed into the value's width in LUTs, a LUT or two per bit, then added in a
carry chain. As ``value + change``, with the change worked out as a small signed number from
the events and sign-extended, it is one carry chain and a LUT or two for the change: an 11-bit
count with one event each way takes six carry cells and 2 LUT4 instead of six carry cells and
12 LUT4 (measured on the ECP5 with the pinned Yosys).
"""

import functools
import itertools
import operator

from amaranth.hdl import Cat, Const, Value


__all__ = ["stepped"]


def stepped(value, *, up=(), down=()):
    """``value`` plus how many of the one-bit ``up`` terms are high, less how many of the
    ``down`` terms are, modulo 2 to the width of ``value`` (unsigned)."""
    value = Value.cast(value)
    assert not value.shape().signed
    terms = [Value.cast(term) for term in (*up, *down)]
    assert all(len(term) == 1 for term in terms) and terms
    # The change as a two's complement number wide enough for its range, one bit at a time: an
    # OR of the combinations of the terms that set that bit.
    width = max(len(up), len(down)).bit_length() + 1
    bits = []
    for bit in range(width):
        products = []
        for levels in itertools.product((0, 1), repeat=len(terms)):
            change = sum(levels[:len(up)]) - sum(levels[len(up):])
            if (change >> bit) & 1:
                products.append(functools.reduce(operator.and_, (
                    term if level else ~term for term, level in zip(terms, levels))))
        bits.append(functools.reduce(operator.or_, products, Const(0, 1)))
    if len(value) > width:
        bits.append(bits[-1].replicate(len(value) - width))
    return (value + Cat(*bits))[:len(value)]
