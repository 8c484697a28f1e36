"""The receive engine's blocks on their own: the buffer writer at every alignment and size
against a host-memory peer that takes commands and beats at random, the byte reader, and the
ring head (shared with the transmit engine)."""

import random

import pytest

from hw.regmap import reg
from hw.ring import RingHead
from hw.rxdma import RxBufferWriter, RxFrameBytes

from peers import Offerer, Taker, WriteMemory, simulate

BUFFER = 0x20_0000
RING = 0x10_0000
STATUS_OFFSET = 5 * 16 + 8
STATUS = 0x0123_4567_89AB_CDEF


def write_buffer(lane, size, *, seed):
    """One job: ``size`` random bytes into a buffer at ``BUFFER + lane``. Returns the bytes,
    the memory peer and the cycles ``done`` was high in."""
    dut = RxBufferWriter()
    rng = random.Random(seed)
    data = bytes(rng.randrange(256) for _ in range(size))
    job = Offerer(dut.job, [{"address": BUFFER + lane, "size": size, "empty": size == 0}], rng,
                  offer=0.5)
    source = Offerer(dut.bytes, list(data), rng, offer=0.7)
    memory = WriteMemory(dut.dma, rng, ring=RING)
    done = []

    async def bench(ctx):
        ctx.set(dut.status_offset, STATUS_OFFSET)
        ctx.set(dut.status, STATUS)
        for cycle in range(40 * size + 200):
            for peer in (job, source, memory):
                peer.drive(ctx)
            for peer in (job, source, memory):
                peer.observe(ctx)
            if ctx.get(dut.done):
                done.append(cycle)
            await ctx.tick()
    simulate(dut, bench)
    assert job.done and source.done
    return data, memory, done


@pytest.mark.parametrize("lane", range(8))
@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 64, 300])
def test_writer_puts_exactly_the_buffer_then_the_status(lane, size):
    data, memory, done = write_buffer(lane, size, seed=lane * 10007 + size)
    status_at = RING + STATUS_OFFSET
    expected = {BUFFER + lane + i: b for i, b in enumerate(data)}
    expected.update({status_at + i: STATUS >> (8 * i) & 0xFF for i in range(8)})
    assert memory.written == expected        # nothing outside the buffer and the status
    assert len(done) == 1
    # The status goes last, in a command of its own.
    assert memory.commands[-1] == (status_at, 1)
    assert all(beats <= 256 for _, beats in memory.commands)


def test_writer_cuts_a_large_buffer_into_bursts_of_256_beats():
    data, memory, done = write_buffer(3, 5000, seed=5)
    # 5,003 bytes from the buffer's quadword: 626 beats, the status after them.
    assert memory.commands == [(BUFFER, 256), (BUFFER + 2048, 256), (BUFFER + 4096, 114),
                               (RING + STATUS_OFFSET, 1)]
    assert bytes(memory.written[BUFFER + 3 + i] for i in range(5000)) == data


def test_byte_reader_gives_the_frame_in_order_and_drains_the_rest():
    dut = RxFrameBytes()
    rng = random.Random(3)
    frames = [bytes(rng.randrange(256) for _ in range(n)) for n in (13, 8, 1, 30)]
    words = []
    for frame in frames:
        padded = frame + bytes(-len(frame) % 8)
        words += [int.from_bytes(padded[i:i + 8], "little") for i in range(0, len(padded), 8)]
    source = Offerer(dut.words, words, rng, offer=0.7)
    got = []

    async def bench(ctx):
        for n, frame in enumerate(frames):
            ctx.set(dut.frame.length, len(frame))
            ctx.set(dut.frame.start, 1)
            await ctx.tick()
            ctx.set(dut.frame.start, 0)
            # Read the first half a byte at a time (a taker at random), drain the rest.
            sink = Taker(dut.bytes, rng, take=0.6)
            while len(sink.taken) < len(frame) // 2:
                source.drive(ctx)
                sink.drive(ctx)
                source.observe(ctx)
                sink.observe(ctx)
                await ctx.tick()
            ctx.set(dut.bytes.ready, 0)
            got.append(bytes(sink.taken))
            ctx.set(dut.frame.drain, 1)
            while not ctx.get(dut.frame.all_taken):
                source.drive(ctx)
                source.observe(ctx)
                await ctx.tick()
            ctx.set(dut.frame.drain, 0)
        assert source.done
    simulate(dut, bench)
    assert got == [frame[:len(frame) // 2] for frame in frames]


class RegBus:
    """Register accesses as the core's bus makes them: the address two cycles ahead of the
    strobe, read data two cycles after it."""

    def __init__(self, bus):
        self.bus = bus

    async def write(self, ctx, index, value, *, mask=0xFFFF_FFFF, during=None):
        ctx.set(self.bus.addr, index)
        await ctx.tick().repeat(2)
        ctx.set(self.bus.w_data, value)
        ctx.set(self.bus.w_mask, mask)
        ctx.set(self.bus.w_stb, 1)
        if during:
            during(ctx)
        await ctx.tick()
        ctx.set(self.bus.w_stb, 0)

    async def read(self, ctx, index):
        ctx.set(self.bus.addr, index)
        await ctx.tick().repeat(2)
        ctx.set(self.bus.r_stb, 1)
        await ctx.tick()
        ctx.set(self.bus.r_stb, 0)
        await ctx.tick()
        return ctx.get(self.bus.r_data)


def test_ring_head_moves_wraps_and_takes_writes_only_while_off():
    dut = RingHead(reg.RDH)
    bus = RegBus(dut.bus)

    async def advance(ctx):
        ctx.set(dut.advance, 1)
        await ctx.tick()
        ctx.set(dut.advance, 0)
        await ctx.tick()

    async def bench(ctx):
        ctx.set(dut.config.length, 8 * 16)           # eight descriptors
        ctx.set(dut.config.tail, 6)
        await ctx.tick().repeat(2)
        assert ctx.get(dut.ring.count) == 8
        assert ctx.get(dut.free) == 6 and not ctx.get(dut.empty)
        # Software's write while the engine is off.
        await bus.write(ctx, reg.RDH.index, 5)
        assert ctx.get(dut.ring.head) == 5
        assert ctx.get(dut.status_offset) == 5 * 16 + 8
        assert await bus.read(ctx, reg.RDH.index) == 5
        assert await bus.read(ctx, reg.RDT.index) == 0      # not its register
        await ctx.tick()
        assert ctx.get(dut.free) == 1
        # Advances, wrapping at the ring's end; the tail behind the head counts modulo the ring.
        await advance(ctx)
        await ctx.tick()
        assert ctx.get(dut.ring.head) == 6 and ctx.get(dut.empty) and ctx.get(dut.free) == 0
        ctx.set(dut.config.tail, 2)
        await advance(ctx)
        await advance(ctx)
        await ctx.tick()
        assert ctx.get(dut.ring.head) == 0 and ctx.get(dut.free) == 2
        # While the engine is on, software's writes are ignored.
        ctx.set(dut.config.enable, 1)
        await bus.write(ctx, reg.RDH.index, 3)
        assert ctx.get(dut.ring.head) == 0
        # A write with byte enables, and a write in the cycle of an advance: the write wins.
        ctx.set(dut.config.enable, 0)
        await bus.write(ctx, reg.RDH.index, 0x0104, mask=0x0000_00FF)
        assert ctx.get(dut.ring.head) == 4
        await bus.write(ctx, reg.RDH.index, 1, during=lambda ctx: ctx.set(dut.advance, 1))
        ctx.set(dut.advance, 0)
        assert ctx.get(dut.ring.head) == 1
    simulate(dut, bench)
