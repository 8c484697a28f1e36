"""The transmit fetcher on its own, against a host memory that stalls at random and a word
queue that a MAC drains at random: every descriptor's bytes come out once, in order, at every
alignment of its buffer and with empty descriptors among them; each descriptor's last word
says so, each frame's last word has EOP, and each descriptor is reported done once, in order;
no read leaves the descriptor's buffer."""

import random

import pytest

from hw.txdma import TxFetch

from peers import Offerer, Queue, ReadMemory, Taker, simulate

SPACE = 64
BUFFERS = 0x20_0000


def memory_byte(address):
    return (address * 7 + (address >> 8)) & 0xFF


def read(address):
    return int.from_bytes(bytes(memory_byte(address + k) for k in range(8)), "little")


def frames_of(rng, count):
    """Frames as lists of (address, length) descriptors: every alignment, lengths from 0 up,
    the last descriptor of each frame with EOP (an empty one now and then)."""
    frames, address = [], BUFFERS
    for _ in range(count):
        descs = []
        for k in range(rng.randrange(1, 4)):
            length = rng.choice([0, 1, 2, 7, 8, 9, 15, 64, 200, 300]) if k else rng.randrange(1, 300)
            descs.append((address + rng.randrange(8), length))
            address += 0x400
        if rng.random() < 0.2:
            descs.append((address, 0))          # an empty EOP descriptor ends the frame
            address += 0x400
        frames.append(descs)
    return frames


def run(seed, count=12, cycles=20000):
    rng = random.Random(seed)
    frames = frames_of(rng, count)
    requests = []
    for descs in frames:
        for k, (address, length) in enumerate(descs):
            requests.append({"addr": address, "length": length, "eop": k == len(descs) - 1,
                             "ifcs": 1, "rs": 1, "first": k == 0})
    dut = TxFetch(space=SPACE)
    memory = ReadMemory(dut.dma, read, rng)
    offer = Offerer(dut.descs, requests, rng)
    words = Taker(dut.words, rng, take=0.6)
    # ``done`` and ``offload`` are written without waiting on ready in the cycle: their
    # consumers are queues, whose ready falls only when they are full.
    done = Queue(dut.done, rng, depth=4)
    work = Queue(dut.offload, rng, depth=4)
    peers = [memory, offer, words, done, work]
    queued = []                 # words in the queue, which the MAC drains

    async def bench(ctx):
        dequeued = False
        for _ in range(cycles):
            for peer in peers:
                peer.drive(ctx)
            ctx.set(dut.dequeued, dequeued)         # a word taken last cycle, counted late
            ctx.set(dut.extra, 0)
            before = len(words.taken)
            for peer in peers:
                peer.observe(ctx)
            queued.extend(words.taken[before:])
            assert len(queued) <= SPACE, "the fetcher overfilled the queue"
            dequeued = bool(queued) and rng.random() < 0.3
            if dequeued:
                queued.pop(0)
            await ctx.tick()

    simulate(dut, bench)
    return frames, memory.commands, words.taken, done.taken, work.taken


@pytest.mark.parametrize("seed", range(4))
def test_every_descriptors_bytes_come_out_once_in_order(seed):
    frames, commands, taken, done, work = run(seed)
    got, frame = [], b""
    ends = []
    for tagged in taken:
        word = tagged.word
        assert not word.skip and 1 <= word.count <= 8 and word.first + word.count <= 8
        data = word.data.to_bytes(8, "little") if isinstance(word.data, int) else \
            int(word.data).to_bytes(8, "little")
        frame += data[word.first:word.first + word.count]
        ends.append(word.desc_end)
        if word.eop:
            got.append(frame)
            frame = b""
    expected = [b"".join(bytes(memory_byte(a + k) for k in range(n)) for a, n in descs)
                for descs in frames]
    assert got == expected
    # One done per descriptor, in order; empty ones say so.
    assert [bool(d.empty) for d in done] == [n == 0 for descs in frames for _, n in descs]
    # The frame's work is queued once per frame with data.
    assert len(work) == len(frames)
    # Each descriptor with data ends on a word that says so.
    assert sum(ends) == sum(1 for descs in frames for _, n in descs if n)


@pytest.mark.parametrize("seed", range(2))
def test_reads_stay_inside_the_buffers(seed):
    frames, commands, *_ = run(seed)
    spans = [(a & ~7, (a + n + 7) & ~7) for descs in frames for a, n in descs if n]
    for address, beats in commands:
        assert any(lo <= address and address + 8 * beats <= hi for lo, hi in spans), \
            (hex(address), beats)
    assert sum(beats for _, beats in commands) == sum((hi - lo) // 8 for lo, hi in spans)
