"""The transmit checksum block on its own: words at every alignment, sums against a reference."""

import random

from amaranth.sim import Simulator

from hw.txcsum import TxChecksum

from harness import sum16


def reference(frame, start, end, udp=False):
    """The complemented sum of ``frame[start:end + 1]`` (to the end for ``end == 0``)."""
    value = ~sum16(frame[start:(end + 1) if end else len(frame)]) & 0xFFFF
    return 0xFFFF if udp and value == 0 else value


def words_of(frame, rng, aligned=False):
    """The frame as the fetcher queues it: pieces at random offsets in eight-byte words (whole
    words from byte 0 when ``aligned``)."""
    out, at = [], 0
    while at < len(frame):
        first = 0 if aligned else rng.randrange(8)
        count = min(8 if aligned else rng.randint(1, 8 - first), len(frame) - at)
        data = bytearray(rng.randbytes(8))
        data[first:first + count] = frame[at:at + count]
        at += count
        out.append({"data": int.from_bytes(data, "little"), "first": first, "count": count,
                    "eop": at == len(frame)})
    return out


def run(frames, *, gaps=0.3, seed=1, aligned=False):
    """Each of ``frames`` is (bytes, offload dict); returns the results in order, and for each
    the cycles from the one in which its frame's last word was taken to the one in which the
    result was offered."""
    dut = TxChecksum(depth=16)
    rng = random.Random(seed)
    results, latency, ends = [], [], []

    async def feed(ctx):
        for frame, offload in frames:
            ctx.set(dut.commands.payload, offload)
            ctx.set(dut.commands.valid, 1)
            for word in words_of(frame, rng, aligned):
                while rng.random() < gaps:
                    ctx.set(dut.words.valid, 0)
                    await ctx.tick()
                ctx.set(dut.words.valid, 1)
                ctx.set(dut.words.payload, word)
                await ctx.tick().until(dut.words.ready)
        ctx.set(dut.words.valid, 0)

    async def take(ctx):
        ctx.set(dut.results.ready, 1)
        cycle = 0
        while len(results) < len(frames):
            _, _, valid, payload, shown, ready, eop = await ctx.tick().sample(
                dut.results.valid, dut.results.payload, dut.words.valid, dut.words.ready,
                dut.words.payload.eop)
            if shown and ready and eop:
                ends.append(cycle)
            if valid:
                results.append(payload)
                latency.append(cycle - ends[len(results) - 1])
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(feed, background=True)
    sim.add_testbench(take)
    sim.run()
    return results, latency


def test_sums_at_every_alignment_and_range():
    rng = random.Random(7)
    frames, expected = [], []
    for n in range(70):
        frame = rng.randbytes(rng.randint(1, 300))
        if n >= 66:
            # Words from 512 bytes on, which no 8-bit offset reaches.
            frame = rng.randbytes(rng.randint(520, 1200))
        elif n >= 60:
            # Sums that reach the largest values a 16-bit word can take, and zero.
            frame = bytes([0xFF if n % 2 else 0]) * len(frame)
        top = min(len(frame) + 2, 256)
        ipcss, tucss = rng.randrange(40), rng.randrange(60)
        ipcse = rng.choice([0, ipcss + rng.randrange(40)])
        tucse = rng.choice([0, 0, tucss + rng.randrange(200)])
        ipcso, tucso = rng.randrange(top), rng.randrange(top)
        udp = rng.random() < 0.5
        offload = dict(ip=n % 3 != 1, ipcss=ipcss, ipcso=ipcso, ipcse=ipcse, tu=n % 3 != 2,
                       tucss=tucss, tucso=tucso, tucse=tucse, udp=udp)
        frames.append((frame, offload))

        def inside(css, cso):
            return css < len(frame) and cso + 1 < len(frame)
        expected.append({
            "ip": offload["ip"] and inside(ipcss, ipcso), "ipcso": ipcso,
            "ip_sum": reference(frame, ipcss, ipcse),
            "tu": offload["tu"] and inside(tucss, tucso), "tucso": tucso,
            "tu_sum": reference(frame, tucss, tucse, udp)})
    # Words back to back, and with gaps.
    for gaps in (0, 0.3):
        results, _ = run(frames, gaps=gaps)
        for got, want in zip(results, expected, strict=True):
            assert {k: got[k] if k.endswith("so") else int(got[k]) for k in want} == want


def test_frames_back_to_back_the_rate_and_the_latency():
    # Whole words from byte 0: a frame that asks for checksums takes eight cycles a word (its
    # last word's result comes LATENCY cycles after it is taken), others one a cycle (seven
    # cycles sooner); either way the results come out in order.
    asks = [(bytes(range(n, n + 8)), dict(tu=1, tucss=0, tucse=0, tucso=0)) for n in range(20)]
    plain = [(bytes([n] * 5), dict()) for n in range(20)]
    results, latency = run(asks + plain, gaps=0, aligned=True)
    assert [int(r.tu_sum) for r in results[:20]] == [reference(f, 0, 0) for f, _ in asks]
    assert [int(r.tu) for r in results] == [1] * 20 + [0] * 20
    assert set(latency[:20]) == {TxChecksum.LATENCY}
    assert set(latency[20:]) == {TxChecksum.LATENCY - 7}


def test_a_word_takes_a_cycle_per_byte_and_a_frame_two_more():
    # Words offered back to back: taken one a cycle, or, when the frame asks for a checksum, a
    # cycle for each of their bytes; after a frame's last word, two cycles close its sums.
    layout = [(0, 8), (0, 8), (1, 1), (1, 2), (3, 3), (2, 4), (7, 1), (0, 3), (5, 3), (6, 2)]
    ends = {4, len(layout) - 1}         # two frames

    def cycles_taken(offload):
        dut = TxChecksum()
        words = [{"data": i, "first": first, "count": count, "eop": i in ends}
                 for i, (first, count) in enumerate(layout)]
        taken = []

        async def feed(ctx):
            ctx.set(dut.commands.payload, offload)
            ctx.set(dut.commands.valid, 1)
            ctx.set(dut.results.ready, 1)
            for cycle in range(80):
                ctx.set(dut.words.valid, bool(words))
                if words:
                    ctx.set(dut.words.payload, words[0])
                _, _, ready = await ctx.tick().sample(dut.words.ready)
                if words and ready:
                    words.pop(0)
                    taken.append(cycle)
        sim = Simulator(dut)
        sim.add_clock(1e-6)
        sim.add_testbench(feed)
        sim.run()
        return taken

    def expected(cycles_per_word):
        at, out = 0, []
        for i, cycles in enumerate(cycles_per_word):
            out.append(at)
            at += cycles + (2 if i in ends else 0)
        return out

    assert cycles_taken(dict()) == expected([1] * len(layout))
    assert expected([1] * len(layout)) == [0, 1, 2, 3, 4, 7, 8, 9, 10, 11]
    asks = cycles_taken(dict(ip=1, ipcss=0, ipcse=19, ipcso=10))
    assert asks == expected([count for _, count in layout])
    assert asks[:6] == [0, 8, 16, 17, 19, 24]
