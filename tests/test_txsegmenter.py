"""The segmenter on its own: super-packets at random alignments and stalls, against a reference.

The checksum fields are left as handed over here (the checksum unit fills them in); what the
segmenter owes is the header copies with their edits, the payload cut at MSS, each segment's
command with its TCP length, and every input word's ``desc_end`` kept.
"""

import random

import pytest

from amaranth.sim import Simulator

from hw.txtso import TxSegmenter

from test_txchecksum import words_of


def reference(frame, hdrlen, mss, paylen, *, ipcss=14, tucss=34):
    """The segments of a super-packet whose data is ``frame`` (data and PAYLEN matching), each
    with its TCP length."""
    head, payload = frame[:hdrlen], frame[hdrlen:hdrlen + paylen]
    ip_id = int.from_bytes(head[ipcss + 4:ipcss + 6], "big")
    seq = int.from_bytes(head[tucss + 4:tucss + 8], "big")
    out = []
    for k, at in enumerate(range(0, paylen, mss)):
        piece = payload[at:at + mss]
        h = bytearray(head)
        h[ipcss + 2:ipcss + 4] = (hdrlen - ipcss + len(piece)).to_bytes(2, "big")
        h[ipcss + 4:ipcss + 6] = ((ip_id + k) & 0xFFFF).to_bytes(2, "big")
        h[tucss + 4:tucss + 8] = ((seq + at) & 0xFFFFFFFF).to_bytes(4, "big")
        if at + mss < paylen:
            h[tucss + 13] &= ~0x09
        out.append((bytes(h) + piece, hdrlen - tucss + len(piece)))
    return out


def work(hdrlen=0, mss=0, paylen=0, tse=1, tucss=34):
    return {"offload": {"ip": 1, "ipcss": 14, "ipcso": 24, "ipcse": 33, "tu": 1,
                        "tucss": tucss, "tucso": tucss + 16},
            "tso": {"tse": tse, "ipv4": 1, "tcp": 1, "hdrlen": hdrlen, "mss": mss,
                    "paylen": paylen}}


def run(frames, *, seed=1, stall=0.3):
    """Each of ``frames`` is (bytes, work dict). Returns the frames that came out, each as
    (bytes, error, tso_last, tu_init), the input words' and output words' counts, the
    desc_ends in and out, the words flagged extra, and (``sent``) for each word that went out,
    the cycle, whether it was a skip word and the bytes of its frame before it."""
    dut = TxSegmenter()
    rng = random.Random(seed)
    inputs = [(f, w, words_of(f, rng)) for f, w in frames]
    for _, _, words in inputs:
        for word in words:
            word["desc_end"] = rng.random() < 0.2 or word["eop"]
    n_in = sum(len(words) for _, _, words in inputs)
    ends_in = sum(word["desc_end"] for _, _, words in inputs for word in words)
    out, stats = [], {"words": 0, "desc_ends": 0, "extra": 0, "sent": []}

    async def feed_work(ctx):
        # Each frame's work is queued ahead of its words, as the fetcher does.
        for _, w, _ in inputs:
            ctx.set(dut.work.payload, w)
            ctx.set(dut.work.valid, 1)
            await ctx.tick().until(dut.work.ready)
        ctx.set(dut.work.valid, 0)

    async def feed(ctx):
        for _, _, words in inputs:
            for word in words:
                while rng.random() < stall:
                    ctx.set(dut.fetched.valid, 0)
                    await ctx.tick()
                ctx.set(dut.fetched.valid, 1)
                ctx.set(dut.fetched.payload.word, word)
                await ctx.tick().until(dut.fetched.ready)
        ctx.set(dut.fetched.valid, 0)

    async def take(ctx):
        frame, cmd = bytearray(), None
        idle = cycle = 0
        while idle < 2000:
            cycle += 1
            ready = rng.random() >= stall
            ctx.set(dut.words.ready, ready)
            ctx.set(dut.spare, rng.random() >= stall)
            _, _, valid, word, command, extra = await ctx.tick().sample(
                dut.words.valid, dut.words.payload.word, dut.command, dut.extra)
            idle += 1
            if not (valid and ready):
                continue
            idle = 0
            stats["words"] += 1
            stats["desc_ends"] += word.desc_end
            stats["extra"] += extra
            stats["sent"].append((cycle, word.skip, len(frame)))
            if word.skip:
                assert not word.eop
                continue
            if not frame and cmd is None:
                cmd = command
            data = word.data.to_bytes(8, "little")
            frame += data[word.first:word.first + word.count]
            if word.eop:
                out.append((bytes(frame), word.abort, word.tso_last, cmd.tu_init))
                frame, cmd = bytearray(), None

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(feed_work, background=True)
    sim.add_testbench(feed, background=True)
    sim.add_testbench(take)
    sim.run()
    return out, n_in, ends_in, stats


def tcp_super_packet(rng, hdrlen, paylen):
    head = bytearray(rng.randbytes(hdrlen))
    head[14] = 0x45
    head[47] = 0x19 | rng.choice((0, 0x10))         # FIN, PSH, maybe ACK
    return bytes(head) + rng.randbytes(paylen)


@pytest.mark.parametrize("seed", [3, 8, 13])
def test_segments_at_random_alignments_and_stalls(seed):
    rng = random.Random(seed)
    frames, expected = [], []
    for n in range(12):
        hdrlen = rng.choice((54, 66, 55, 80))
        mss = rng.choice((1, 7, 8, 9, 100, 536, 1448))
        paylen = rng.randint(1, 2000 if mss > 8 else 40)
        frame = tcp_super_packet(rng, hdrlen, paylen)
        frames.append((frame, work(hdrlen, mss, paylen)))
        expected += [(f, 0, k == len(segs) - 1, tl) for segs in [reference(frame, hdrlen, mss,
                                                                           paylen)]
                     for k, (f, tl) in enumerate(segs)]
        if n % 3 == 0:      # a plain frame between
            plain = rng.randbytes(rng.randint(1, 100))
            frames.append((plain, work(tse=0)))
            expected.append((plain, 0, 0, 0))
    out, n_in, ends_in, stats = run(frames, seed=seed)
    assert out == expected
    assert stats["desc_ends"] == ends_in
    assert stats["words"] - n_in == stats["extra"]


def test_a_tcp_header_at_an_odd_offset_gets_its_length_as_a_number():
    # The checksum unit adds the bytes from TUCSS as 16-bit values whatever TUCSS's alignment,
    # so the segment's TCP length goes in as it is.
    rng = random.Random(4)
    frame = tcp_super_packet(rng, 55, 30)
    out, _, _, _ = run([(frame, work(55, 20, 30, tucss=35))], stall=0)
    # The TCP lengths, 20 header bytes and 20, then 10, payload bytes.
    assert [tu_init for _, _, _, tu_init in out] == [0x0028, 0x001E]


def test_mismatched_contexts_end_in_an_aborted_segment():
    rng = random.Random(5)
    frame = tcp_super_packet(rng, 54, 100)
    out, _, ends_in, stats = run([
        (frame, work(54, 40, 120)),         # data ends 20 bytes early: the last one aborted
        (frame, work(54, 40, 70)),          # data goes on past PAYLEN: the second aborted
        (frame, work(54, 0, 100)),          # MSS 0: one aborted frame
        (frame[:30], work(54, 40, 100)),    # the data ends in the header: likewise
        (frame, work(54, 40, 100)),         # and a good one
    ])
    # The frames that fail before a segment is cut are the last input word's bytes.
    assert [(len(f) if len(f) > 8 else None, error, last) for f, error, last, _ in out] == [
        (94, 0, 0), (94, 0, 0), (74, 1, 1),
        (94, 0, 0), (84, 1, 1),
        (None, 1, 1),
        (None, 1, 1),
        (94, 0, 0), (94, 0, 0), (74, 0, 1)]
    assert stats["desc_ends"] == ends_in


def test_payload_words_go_every_second_cycle():
    # Without stalls: a header copy, then the payload, a word every two cycles (the decision
    # whether a word crosses the segment's end is registered first).
    rng = random.Random(6)
    frame = tcp_super_packet(rng, 56, 400)
    out, _, _, stats = run([(frame, work(56, 1000, 400))], stall=0)
    assert out == [(f, 0, 1, tl) for f, tl in reference(frame, 56, 1000, 400)]
    payload = [cycle for cycle, skip, before in stats["sent"] if not skip and before >= 56]
    assert len(payload) >= 50
    assert {b - a for a, b in zip(payload, payload[1:])} == {2}
