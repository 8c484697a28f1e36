"""802.3x flow control: when to ask the link partner to pause, and how long this side pauses.

Reference: IEEE 802.3 annex 31B (PAUSE); SDM 3.x (flow control), 13.4.12-13.4.14 (FCAL, FCAH,
FCT), 13.4.29-13.4.31 (FCTTV, FCRTL, FCRTH).

``PauseRequest`` decides the PAUSE frames this side sends, from the receive FIFO's level. With
CTRL.TFCE, once the level reaches FCRTH it asks for an XOFF (a pause of FCTTV quanta); while
the level stays at or above FCRTL it asks again each time half of that pause has gone by, so
that the partner stays paused; once the level falls under FCRTL it asks for an XON (a pause of
0) if FCRTL.XONE is set, and stops asking. Contract: ``request`` is a stream of pause times,
valid until the MAC takes it; the level is compared a cycle after it changes.

``PauseTimer`` is this side's pause: a PAUSE received with CTRL.RFCE loads its time
(``PauseSignature``), in quanta of 512 bit times (64 cycles of the 125 MHz byte clock), and
``paused`` stays high until it runs out; a PAUSE of 0 ends it at once. Contract: ``paused`` is
registered, high from the cycle after ``load``.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


__all__ = ["PauseSignature", "PauseRequest", "PauseTimer", "QUANTUM_CYCLES"]

QUANTUM_CYCLES = 64         # 512 bit times at a byte a cycle


class PauseSignature(wiring.Signature):
    """A pause to take, from its source: ``load`` is high for a cycle with its ``time``, in
    quanta (0 ends a pause)."""

    def __init__(self):
        super().__init__({"load": Out(1), "time": Out(16)})


class PauseTimer(wiring.Component):
    """``pause.load`` (a one-cycle pulse) loads ``pause.time`` quanta of 64 cycles; ``paused`` is high
    from the next cycle until they have run out, and a load of 0 ends a pause at once.

    Members
    -------
    pause : In(PauseSignature())
    paused : Out(1)
    """
    pause: In(PauseSignature())
    paused: Out(1)

    def elaborate(self, platform):
        m = Module()
        quanta = Signal(16)
        slot = Signal(range(QUANTUM_CYCLES))
        with m.If(self.pause.load):
            m.d.sync += [quanta.eq(self.pause.time), slot.eq(0),
                         self.paused.eq(self.pause.time != 0)]
        with m.Elif(self.paused):
            m.d.sync += slot.eq(slot + 1)
            with m.If(slot == QUANTUM_CYCLES - 1):
                m.d.sync += [quanta.eq(quanta - 1), self.paused.eq(quanta != 1)]
        return m


class PauseRequest(wiring.Component):
    """``request`` is a stream of pause times, valid until the MAC takes it: an XOFF (FCTTV) when the
    level reaches FCRTH and again each half pause while it stays at or above FCRTL, an XON (0)
    when it falls under FCRTL with XONE. The level is compared a cycle after it changes.

    Parameters
    ----------
    level_bits : int
        Width of the receive FIFO's level, in 8-byte words.

    Members
    -------
    level : In(level_bits)
    enable : In(1)
        CTRL.TFCE.
    high, low : In(13), In(13)
        FCRTH and FCRTL, in 8-byte units (their bits 15:3).
    xon : In(1)
        FCRTL.XONE.
    time : In(16)
        FCTTV.
    request : Out(stream.Signature(16))
        The pause time of the next PAUSE frame to send.
    """

    def __init__(self, *, level_bits):
        super().__init__({
            "level": In(level_bits),
            "enable": In(1),
            "high": In(13),
            "low": In(13),
            "xon": In(1),
            "time": In(16),
            "request": Out(stream.Signature(16)),
        })

    def elaborate(self, platform):
        m = Module()
        above, below = Signal(), Signal()
        m.d.sync += [above.eq(self.level >= self.high), below.eq(self.level < self.low)]
        # Half the pause asked for, counted down in quanta once the XOFF has gone.
        m.submodules.refresh = refresh = PauseTimer()
        m.d.comb += refresh.pause.time.eq(self.time >> 1)

        def ask(time):
            m.d.sync += [self.request.valid.eq(1), self.request.payload.eq(time)]

        with m.If(self.request.ready):
            m.d.sync += self.request.valid.eq(0)
        with m.FSM(name="flow"):
            with m.State("FLOWING"):
                with m.If(self.enable & above & ~self.request.valid):
                    ask(self.time)
                    m.next = "XOFF"
            with m.State("XOFF"):
                # Refreshed from when the XOFF left.
                m.d.comb += refresh.pause.load.eq(self.request.valid & self.request.ready)
                with m.If(~self.enable):
                    m.next = "FLOWING"
                with m.Elif(below & ~self.request.valid):
                    with m.If(self.xon):
                        ask(0)
                    m.next = "FLOWING"
                with m.Elif(~refresh.paused & ~self.request.valid & ~refresh.pause.load
                            & (self.time[1:] != 0)):
                    ask(self.time)
        return m
