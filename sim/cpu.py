"""The CPU's side of MMIO: one access at a time, with the latency of the way to the device.

Simulation only. Python describes an access on ``control`` (the request and two latencies) and
counts it in ``posted``; the initiator then works every cycle on its own:

- it waits ``delay`` cycles (the CPU's write or read travelling to the device), then offers the
  request until the core takes it;
- a write is then done (writes are posted);
- a read waits for the core's response, keeps its data in ``rdata``, and waits ``tail`` more
  cycles (the completion travelling back) before it is done.

``done`` counts finished accesses, so Python waits for ``done == posted`` and never works per
cycle. Python holds the request and latencies unchanged until then.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.bus import MMIORequest, MMIOSignature


__all__ = ["MMIOControlSignature", "MMIOInitiator"]


# From the point of view of whoever posts accesses (Python, through the bench's ports).
MMIOControlSignature = wiring.Signature({
    "request": Out(MMIORequest),
    "delay":   Out(16),     # cycles before the request is offered
    "tail":    Out(16),     # cycles after a read's response before it is done
    "posted":  Out(16),     # accesses posted so far, modulo 2**16
    "done":    In(16),      # accesses finished so far, modulo 2**16
    "rdata":   In(32),      # the data of the last read
})


class MMIOInitiator(wiring.Component):
    """Members
    -------
    control : In(MMIOControlSignature)
    mmio : Out(MMIOSignature)
        To the core's MMIO target.
    """
    control: In(MMIOControlSignature)
    mmio: Out(MMIOSignature)

    def elaborate(self, platform):
        m = Module()
        control, req, resp = self.control, self.mmio.req, self.mmio.resp
        count = Signal(16)

        m.d.comb += req.payload.eq(control.request)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(control.posted != control.done):
                    m.d.sync += count.eq(control.delay)
                    m.next = "REQUEST"
            with m.State("REQUEST"):
                with m.If(count != 0):
                    m.d.sync += count.eq(count - 1)
                with m.Else():
                    m.d.comb += req.valid.eq(1)
                    with m.If(req.ready & control.request.write):
                        m.d.sync += control.done.eq(control.done + 1)
                        m.next = "IDLE"
                    with m.Elif(req.ready):
                        m.next = "RESPONSE"
            with m.State("RESPONSE"):
                m.d.comb += resp.ready.eq(1)
                with m.If(resp.valid):
                    m.d.sync += [control.rdata.eq(resp.payload), count.eq(control.tail)]
                    m.next = "TAIL"
            with m.State("TAIL"):
                with m.If(count != 0):
                    m.d.sync += count.eq(count - 1)
                with m.Else():
                    m.d.sync += control.done.eq(control.done + 1)
                    m.next = "IDLE"
        return m
