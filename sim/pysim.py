"""The Amaranth simulator as a backend: every signal visible, the curated waveforms, slow.

The scenario runs as one testbench; it owns the simulator context from its first clock edge to
its end.
"""

from amaranth.hdl import Shape, Value
from amaranth.sim import BrokenTrigger, Simulator

from .backend import Backend
from .bench import PERIOD


__all__ = ["AmaranthBackend"]


class _Rows:
    def __init__(self, ctx, data):
        self._ctx, self._data = ctx, data
        self._bytes = (Shape.cast(data.shape).width + 7) // 8

    def get(self, i):
        return self._ctx.get(Value.cast(self._data[i]))

    def set(self, i, value):
        self._ctx.set(Value.cast(self._data[i]), value)

    def load(self, first, count):
        n = self._bytes
        return b"".join(self.get(i).to_bytes(n, "little") for i in range(first, first + count))

    def store(self, first, raw):
        n = self._bytes
        for i in range(len(raw) // n):
            self.set(first + i, int.from_bytes(raw[n * i:n * i + n], "little"))


class AmaranthBackend(Backend):
    name = "amaranth"

    def __init__(self, bench, **kwargs):
        super().__init__(bench, **kwargs)
        self.sim = Simulator(bench)
        self.sim.add_clock(PERIOD)
        self._ctx = None

    def run(self, scenario, *, vcd=None, gtkw=None, traces=None, trace_all=False):
        result = {}

        async def main(ctx):
            self._ctx = ctx
            for data, rows in self.bench.preload().items():
                for i, value in enumerate(rows):
                    ctx.set(data[i], value)
            await ctx.tick()        # from here on Python always runs just after a clock edge
            try:
                result["value"] = await scenario(self)
                self.check_faults()
            finally:
                self.cycles_run = ctx.get(self.bench.cycle)
                self._ctx = None

        self.sim.add_testbench(main)
        if vcd is None:
            self.sim.run()
        elif trace_all:
            with self.sim.write_vcd(vcd, gtkw, traces=traces or ()):
                self.sim.run()
        else:
            from .trace import Tracer
            with Tracer(self.sim, self.bench.cycle, PERIOD, vcd, gtkw, traces or {},
                        markers=self.markers, focus=self.focus, window=self.window_ns):
                self.sim.run()
        return result.get("value")

    @property
    def ctx(self):
        """The simulator context, for tests that look inside the design."""
        if self._ctx is None:
            raise RuntimeError("the simulation is not running")
        return self._ctx

    def get(self, signal):
        return self.ctx.get(Value.cast(signal))

    def set(self, signal, value):
        self.ctx.set(Value.cast(signal), value)

    def memory(self, data):
        return _Rows(self.ctx, data)

    async def cycles(self, n):
        if n <= 0:
            return
        # Land half-way before the n-th edge, then wake just after it.
        await self.ctx.delay((n - 0.5) * PERIOD)
        await self.ctx.tick()
        self._poll_wire()

    async def _until(self, signal, value, limit):
        ctx = self.ctx
        start = ctx.get(self.bench.cycle)
        end = start + limit
        # Woken by changes rather than at every edge: a change shows just after the edge that
        # made it, where a testbench stands after `await ctx.tick()`.
        while ctx.get(signal) != value and ctx.get(self.bench.cycle) < end:
            try:
                await ctx.changed(signal).delay((end - ctx.get(self.bench.cycle)) * PERIOD)
            except BrokenTrigger:
                pass
        return ctx.get(self.bench.cycle) - start

    async def _wait_event(self, limit):
        ctx = self.ctx
        try:
            await ctx.posedge(self.bench.irq).changed(self.bench.partner.tx_frames) \
                .delay(limit * PERIOD)
        except BrokenTrigger:
            # Two of the awaited events came in one time step (a frame ended at the edge that
            # raised the line, or at the time-out): it fired all the same, at this step.
            pass
        # Realign to a clock edge before touching signals again.
        await ctx.delay(PERIOD / 2)
        await ctx.tick()
