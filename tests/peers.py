"""Peers for the per-block tests, in the style of Glasgow's: a host memory that answers a block's
DMA reads after random delays with random gaps, one that takes its writes at random, and stream
ends that offer and take at random.

Each peer has ``drive(ctx)``, which sets its inputs of the block for this cycle, and
``observe(ctx)``, which looks at the handshakes once every peer has driven; a test's one
testbench calls every peer's ``drive``, then every peer's ``observe``, then ticks, so that all
of them see the same cycle."""


def _address(request, ring):
    """The address a ``DMARequest`` names, with ``ring`` as the base of the initiator's ring
    (as the DMA arbiter adds it up)."""
    if request.ring:
        assert ring is not None, "a command names a ring the test gave no base for"
        return ring + request.offset
    return request.base + request.offset


class ReadMemory:
    """Host memory behind a ``DMAReadSignature`` port: ``read(address)`` gives the 8 bytes at an
    aligned address (as an integer, byte 0 lowest). Commands (their offsets from ``ring`` where
    they name the ring) are taken with probability ``take``; their beats come ``delay`` (a
    range) cycles later, each offered with probability ``offer``, in order. ``commands``
    records each as (address, beats)."""

    def __init__(self, port, read, rng, *, ring=None, take=0.7, delay=range(2, 40), offer=0.8):
        self.port, self.read, self.rng, self.ring = port, read, rng, ring
        self.take, self.delay, self.offer = take, delay, offer
        self.commands = []
        self._owed = []         # (cycle due, data, last)
        self._now = 0
        self._ready = self._beat = None

    def drive(self, ctx):
        self._ready = self.rng.random() < self.take
        ctx.set(self.port.rd_cmd.ready, self._ready)
        owed = self._owed
        self._beat = owed[0] if owed and owed[0][0] <= self._now and \
            self.rng.random() < self.offer else None
        ctx.set(self.port.rd_data.valid, self._beat is not None)
        if self._beat is not None:
            ctx.set(self.port.rd_data.payload, {"data": self._beat[1], "last": self._beat[2]})

    def observe(self, ctx):
        cmd = self.port.rd_cmd
        if self._ready and ctx.get(cmd.valid):
            request = ctx.get(cmd.payload)
            at, beats = _address(request, self.ring), request.len + 1
            self.commands.append((at, beats))
            due = self._now + self.rng.choice(self.delay)
            for k in range(beats):
                self._owed.append((due + k, self.read(at + 8 * k), k == beats - 1))
        if self._beat is not None and ctx.get(self.port.rd_data.ready):
            self._owed.pop(0)
        self._now += 1


class WriteMemory:
    """Host memory behind a ``DMAWriteSignature`` port: commands and beats are taken with
    probability ``take``; ``written`` maps each byte address a strobe covered to its byte (a
    second write of one byte is an error); ``commands`` records each as (address, beats), with
    the offsets of commands that name the ring from ``ring``. Each write is reported done
    ``delay`` (a range) cycles after its last beat, in order."""

    def __init__(self, port, rng, *, ring=None, take=0.6, delay=range(1, 20)):
        self.port, self.rng, self.take, self.delay, self.ring = port, rng, take, delay, ring
        self.written, self.commands = {}, []
        self._cmd_ready = self._data_ready = self._done = False
        self._current = None            # [address, beats left]
        self._owed = []                 # cycles the completions are due
        self._now = 0

    def drive(self, ctx):
        self._cmd_ready = self._current is None and self.rng.random() < self.take
        self._data_ready = self._current is not None and self.rng.random() < self.take
        self._done = bool(self._owed) and self._owed[0] <= self._now
        ctx.set(self.port.wr_cmd.ready, self._cmd_ready)
        ctx.set(self.port.wr_data.ready, self._data_ready)
        ctx.set(self.port.wr_done.valid, self._done)

    def observe(self, ctx):
        if self._done and ctx.get(self.port.wr_done.ready):
            self._owed.pop(0)
        if self._data_ready and ctx.get(self.port.wr_data.valid):
            beat = ctx.get(self.port.wr_data.payload)
            address, left = self._current
            for lane in range(8):
                if beat.strb >> lane & 1:
                    assert address + lane not in self.written, hex(address + lane)
                    self.written[address + lane] = beat.data >> (8 * lane) & 0xFF
            assert bool(beat.last) == (left == 1)
            self._current = None if left == 1 else [address + 8, left - 1]
            if left == 1:
                self._owed.append(self._now + self.rng.choice(self.delay))
        if self._cmd_ready and ctx.get(self.port.wr_cmd.valid):
            request = ctx.get(self.port.wr_cmd.payload)
            at = _address(request, self.ring)
            assert at % 8 == 0
            self.commands.append((at, request.len + 1))
            self._current = [at, request.len + 1]
        self._now += 1


class Taker:
    """The end of a stream that takes with probability ``take`` (``when()`` also true) and
    keeps what it took in ``taken``."""

    def __init__(self, stream, rng, *, take=0.5, when=lambda: True):
        self.stream, self.rng, self.take, self.when = stream, rng, take, when
        self.taken = []
        self._ready = False

    def drive(self, ctx):
        self._ready = self.when() and self.rng.random() < self.take
        ctx.set(self.stream.ready, self._ready)

    def observe(self, ctx):
        if self._ready and ctx.get(self.stream.valid):
            self.taken.append(ctx.get(self.stream.payload))


class Offerer:
    """The start of a stream that offers ``items`` in order, each from a cycle with probability
    ``offer`` on, and holds it until taken."""

    def __init__(self, stream, items, rng, *, offer=0.5):
        self.stream, self.items, self.rng, self.offer = stream, list(items), rng, offer
        self._valid = False

    def drive(self, ctx):
        if self.items and (self._valid or self.rng.random() < self.offer):
            self._valid = True
            ctx.set(self.stream.payload, self.items[0])
        else:
            self._valid = False
        ctx.set(self.stream.valid, self._valid)

    def observe(self, ctx):
        if self._valid and ctx.get(self.stream.ready):
            self.items.pop(0)
            self._valid = False

    @property
    def done(self):
        return not self.items


class Queue:
    """The end of a stream that is a queue of ``depth`` entries, drained with probability
    ``drain`` a cycle: ready whenever it has room, as ``amaranth.lib.fifo`` is. ``taken`` keeps
    everything that went in."""

    def __init__(self, stream, rng, *, depth=8, drain=0.3):
        self.stream, self.rng, self.depth, self.drain = stream, rng, depth, drain
        self.taken = []
        self.level = 0
        self._ready = False

    def drive(self, ctx):
        self._ready = self.level < self.depth
        ctx.set(self.stream.ready, self._ready)

    def observe(self, ctx):
        if self._ready and ctx.get(self.stream.valid):
            self.taken.append(ctx.get(self.stream.payload))
            self.level += 1
        if self.level and self.rng.random() < self.drain:
            self.level -= 1


def simulate(dut, bench, *, period=1e-8):
    """Run the testbench ``bench`` (``async def bench(ctx)``) on ``dut`` with a clock."""
    from amaranth.sim import Simulator
    sim = Simulator(dut)
    sim.add_clock(period)
    sim.add_testbench(bench)
    sim.run()
