"""The interrupt delay timers on their own: when ``fire`` comes for each kind of request, in
cycles, with a short unit (8 cycles) so that every case runs in a few hundred cycles."""

import pytest

from hw.delay import InterruptDelay

from peers import simulate

UNIT = 8


def fires(packet_delay, absolute_delay, events, cycles=400):
    """Pulse ``event`` (or another request) at the cycles in ``events`` ({cycle: name}); return
    the cycles in which ``fire`` is high."""
    dut = InterruptDelay(clk_per_unit=UNIT)
    fired = []

    async def bench(ctx):
        ctx.set(dut.packet_delay, packet_delay)
        ctx.set(dut.absolute_delay, absolute_delay)
        for cycle in range(cycles):
            for name in ("event", "immediate", "flush"):
                ctx.set(getattr(dut, name), events.get(cycle) == name)
            if ctx.get(dut.fire):
                fired.append(cycle)
            await ctx.tick()

    simulate(dut, bench)
    return fired


@pytest.mark.parametrize("delay", [1, 2, 5])
def test_a_packet_delay_of_n_fires_n_minus_1_to_n_units_after_the_event(delay):
    for start in range(40, 40 + UNIT):         # every phase of the prescaler
        fired = fires(delay, 0, {start: "event"})
        assert len(fired) == 1
        assert (delay - 1) * UNIT < fired[0] - start <= delay * UNIT + 3, (start, fired)


def test_each_event_restarts_the_packet_timer_and_the_absolute_timer_caps_it():
    events = {50 + 10 * k: "event" for k in range(30)}      # one every 10 cycles
    last = 50 + 10 * 29
    fired = fires(3, 0, events)
    assert len(fired) == 1 and 2 * UNIT < fired[0] - last <= 3 * UNIT + 3
    capped = fires(3, 6, events)
    assert len(capped) >= 2 and 5 * UNIT < capped[0] - 50 <= 6 * UNIT + 3


@pytest.mark.parametrize("request_", ["immediate", "flush"])
def test_immediate_and_flush_fire_two_cycles_later_and_stop_the_timers(request_):
    assert fires(4, 8, {30: "event", 35: request_}) == [37]
    assert fires(0, 0, {30: request_}) == [32]


def test_a_packet_delay_of_zero_fires_at_once():
    assert fires(0, 5, {30: "event"}) == [32]


def test_nothing_fires_without_a_request():
    assert fires(1, 1, {}) == []
