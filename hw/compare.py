"""Comparisons of a value with a constant, as logic.

Yosys maps every magnitude comparison to a carry chain on the ECP5 (a CCU2C for each two bits,
two LUT4's worth), even when one side is a constant. With the constant's bits known, the
comparison is a chain of ANDs and ORs of the value's bits, which becomes a few LUTs: a 16-bit
``x >= 20`` takes seven carry cells (14 LUT4) as a carry chain and 5 LUT4 as logic.
"""

from amaranth.hdl import Const, Value


__all__ = ["at_least", "below"]


def at_least(value, constant):
    """``value >= constant`` for an unsigned ``value`` and an integer ``constant``."""
    value = Value.cast(value)
    assert not value.shape().signed
    if constant <= 0:
        return Const(1, 1)
    if constant >= 1 << len(value):
        return Const(0, 1)
    # From the least significant bit up: the bits so far are at least the constant's when this
    # bit is above the constant's, or equal to it and the lower bits are at least theirs.
    result = Const(1, 1)
    for i in range(len(value)):
        if (constant >> i) & 1:
            result = value[i] & result
        else:
            result = value[i] | result
    return result


def below(value, constant):
    """``value < constant`` for an unsigned ``value`` and an integer ``constant``."""
    return ~at_least(value, constant)
