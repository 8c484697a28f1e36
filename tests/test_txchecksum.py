"""The transmit checksum block on its own: words at every alignment, sums against a reference."""

import random

from amaranth.sim import Simulator

from hw.txcsum import TxChecksum

from harness import sum16


def reference(frame, start, end, udp=False):
    """The complemented sum of ``frame[start:end + 1]`` (to the end for ``end == 0``)."""
    value = ~sum16(frame[start:(end + 1) if end else len(frame)]) & 0xFFFF
    return 0xFFFF if udp and value == 0 else value


def words_of(frame, rng):
    """The frame as the fetcher queues it: pieces at random offsets in eight-byte words."""
    out, at = [], 0
    while at < len(frame):
        first = rng.randrange(8)
        count = min(rng.randint(1, 8 - first), len(frame) - at)
        data = bytearray(rng.randbytes(8))
        data[first:first + count] = frame[at:at + count]
        at += count
        out.append({"data": int.from_bytes(data, "little"), "first": first, "count": count,
                    "eop": at == len(frame)})
    return out


def run(frames, *, gaps=0.3, seed=1):
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
            for word in words_of(frame, rng):
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
    for n in range(60):
        frame = rng.randbytes(rng.randint(1, 300))
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
    results, _ = run(frames)
    for got, want in zip(results, expected, strict=True):
        assert {k: got[k] if k.endswith("so") else int(got[k]) for k in want} == want


def test_one_word_frames_back_to_back_the_rate_and_the_latency():
    # Frames that ask for checksums go in at a word every two cycles, others at one a cycle;
    # either way their results come out in order, LATENCY cycles after their last word at most.
    asks = [(bytes([n, n + 1, n + 2]), dict(tu=1, tucss=0, tucse=0, tucso=0)) for n in range(20)]
    plain = [(bytes([n] * 5), dict()) for n in range(20)]
    results, latency = run(asks + plain, gaps=0)
    assert [int(r.tu_sum) for r in results[:20]] == [reference(f, 0, 0) for f, _ in asks]
    assert [int(r.tu) for r in results] == [1] * 20 + [0] * 20
    assert set(latency[:20]) == {TxChecksum.LATENCY}
    assert set(latency[20:]) == {TxChecksum.LATENCY - 1}


def test_words_go_in_at_one_or_two_cycles_each():
    # Eight full words offered back to back: taken one a cycle, or one every two cycles when
    # the frame asks for a checksum.
    def cycles_taken(offload):
        dut = TxChecksum()
        words = [{"data": i, "first": 0, "count": 8, "eop": i == 7} for i in range(8)]
        taken = []

        async def feed(ctx):
            ctx.set(dut.commands.payload, offload)
            ctx.set(dut.commands.valid, 1)
            ctx.set(dut.results.ready, 1)
            for cycle in range(40):
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

    assert cycles_taken(dict()) == list(range(8))
    assert cycles_taken(dict(ip=1, ipcss=0, ipcse=19, ipcso=10)) == list(range(0, 16, 2))
