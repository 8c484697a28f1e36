"""Interrupt moderation timers: a packet timer and an absolute timer per direction.

Reference: SDM 3.4.1 (receive RDTR/RADV), 3.4.3 (transmit TIDV/TADV); units of 1.024 us.

An ``event`` (a descriptor written back with delay enabled) restarts the packet timer and starts
the absolute timer if it is not running; the cause fires when either expires. A zero packet
delay, or ``immediate`` (a write-back without delay), or ``flush`` fires at once and stops both.
Time counts in whole units of a free-running prescaler, so a delay of N fires after N - 1 to N
units.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


__all__ = ["InterruptDelay"]


class InterruptDelay(wiring.Component):
    """``event``, ``immediate`` and ``flush`` are one-cycle pulses; ``fire`` pulses for a cycle when
    a timer expires, N - 1 to N units of 1.024 us after the event for a delay of N (and up to
    three cycles: the requests and the unit's boundary are registered), or two cycles after
    ``immediate``, ``flush`` or an event with a packet delay of zero.

    Parameters
    ----------
    clk_per_unit : int
        Clock cycles per 1.024 us (128 at 125 MHz).

    Members
    -------
    event, immediate, flush : In(1)
    packet_delay, absolute_delay : In(16)
    fire : Out(1)
        One-cycle pulse: raise the cause.
    """
    event: In(1)
    immediate: In(1)
    flush: In(1)
    packet_delay: In(16)
    absolute_delay: In(16)
    fire: Out(1)

    def __init__(self, *, clk_per_unit=128):
        self._unit = clk_per_unit
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        # The unit boundary and whether each delay is set, from registers: the event comes from
        # a DMA engine's state machine, and the settings from the register file across the core.
        prescaler = Signal(range(self._unit))
        tick = Signal()
        m.d.sync += [prescaler.eq(prescaler + 1), tick.eq(prescaler == self._unit - 1)]
        with m.If(prescaler == self._unit - 1):
            m.d.sync += prescaler.eq(0)
        no_packet_delay = Signal()
        absolute_delay_set = Signal()
        m.d.sync += [no_packet_delay.eq(self.packet_delay == 0),
                     absolute_delay_set.eq(self.absolute_delay != 0)]

        # The requests and the delays are taken a cycle late, from registers, for the same
        # reasons.
        event = Signal()
        immediate = Signal()
        packet_delay = Signal(16)
        absolute_delay = Signal(16)
        m.d.sync += [event.eq(self.event), immediate.eq(self.immediate | self.flush),
                     packet_delay.eq(self.packet_delay), absolute_delay.eq(self.absolute_delay)]

        packet = Signal(16)         # units left; 0 = not running
        absolute = Signal(16)
        # Whether each timer runs and whether it is in its last unit, kept in step with it as
        # flags: the decision at a unit boundary then starts from flip-flops, not from 16-bit
        # comparisons of the counts.
        packet_runs, packet_last = Signal(), Signal()
        absolute_runs, absolute_last = Signal(), Signal()
        packet_delay_one, absolute_delay_one = Signal(), Signal()
        m.d.sync += [packet_delay_one.eq(self.packet_delay == 1),
                     absolute_delay_one.eq(self.absolute_delay == 1)]

        m.d.sync += self.fire.eq(0)
        stop = [self.fire.eq(1), packet.eq(0), absolute.eq(0), packet_runs.eq(0),
                packet_last.eq(0), absolute_runs.eq(0), absolute_last.eq(0)]
        with m.If(immediate | (event & no_packet_delay)):
            m.d.sync += stop
        with m.Elif(event):
            m.d.sync += [packet.eq(packet_delay), packet_runs.eq(1),
                         packet_last.eq(packet_delay_one)]
            with m.If(~absolute_runs & absolute_delay_set):
                m.d.sync += [absolute.eq(absolute_delay), absolute_runs.eq(1),
                             absolute_last.eq(absolute_delay_one)]
        with m.Elif(tick):
            with m.If(packet_last | absolute_last):
                m.d.sync += stop
            with m.Else():
                with m.If(packet_runs):
                    m.d.sync += [packet.eq(packet - 1), packet_last.eq(packet == 2)]
                with m.If(absolute_runs):
                    m.d.sync += [absolute.eq(absolute - 1), absolute_last.eq(absolute == 2)]
        return m
