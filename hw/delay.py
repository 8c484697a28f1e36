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
    """Parameters
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

        m.d.sync += self.fire.eq(0)
        with m.If(immediate | (event & no_packet_delay)):
            m.d.sync += [self.fire.eq(1), packet.eq(0), absolute.eq(0)]
        with m.Elif(event):
            m.d.sync += packet.eq(packet_delay)
            with m.If((absolute == 0) & absolute_delay_set):
                m.d.sync += absolute.eq(absolute_delay)
        with m.Elif(tick):
            with m.If((packet == 1) | (absolute == 1)):
                m.d.sync += [self.fire.eq(1), packet.eq(0), absolute.eq(0)]
            with m.Else():
                with m.If(packet != 0):
                    m.d.sync += packet.eq(packet - 1)
                with m.If(absolute != 0):
                    m.d.sync += absolute.eq(absolute - 1)
        return m
