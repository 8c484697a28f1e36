"""The receive FIFO on its own: a writer that commits some frames and rolls others back, and
a reader that takes statuses and words at random. Exactly the committed frames come out, whole
and in order; a frame that finds no room is rolled back without harm to the others; the level
counts the words in the RAM."""

import random

from hw.rxfifo import RxFIFO

from peers import simulate

DEPTH = 64


def run(seed, frames=60, cycles=6000):
    dut = RxFIFO(depth=DEPTH, frames=4)
    rng = random.Random(seed)
    committed, out = [], []
    levels = []
    missed = []                 # frames rolled back for want of room

    async def bench(ctx):
        # The writer's state: the frame being written and its words so far.
        plan = [(n, rng.randrange(1, 24), rng.random() < 0.25) for n in range(frames)]
        writing, word_in_frame, committing = None, 0, False
        reading = None          # (tci, words left) of the frame being read
        outstanding = 0         # words written (kept or not yet ended) and not read
        for _ in range(cycles):
            # Writer.
            w_en = rollback = False
            if writing is None and plan:
                writing, word_in_frame, committing = plan.pop(0), 0, False
            if writing is not None and not committing:
                n, length, discard = writing
                if word_in_frame < length:
                    if ctx.get(dut.write.room):
                        w_en = rng.random() < 0.8
                    else:
                        rollback = True                     # no room: the frame is missed
                        missed.append(n)
                elif discard:
                    rollback = True
                else:
                    committing = True
            ctx.set(dut.write.en, w_en)
            ctx.set(dut.write.data, ((writing[0] if writing else 0) << 32) | word_in_frame)
            ctx.set(dut.write.rollback, rollback)
            ctx.set(dut.write.commit.valid, committing)
            if committing:
                ctx.set(dut.write.commit.payload, {"length": 8 * writing[1], "tci": writing[0]})
            # Reader.
            status_ready = reading is None and rng.random() < 0.5
            words_ready = reading is not None and rng.random() < 0.6
            ctx.set(dut.status.ready, status_ready)
            ctx.set(dut.words.ready, words_ready)
            levels.append((ctx.get(dut.level), outstanding))
            # This cycle's handshakes.
            if w_en:
                word_in_frame += 1
                outstanding += 1
            if rollback:
                outstanding -= word_in_frame
                writing = None
            if committing and ctx.get(dut.write.commit.ready):
                committed.append(writing[0])
                writing, committing = None, False
            if status_ready and ctx.get(dut.status.valid):
                status = ctx.get(dut.status.payload)
                reading = (status.tci, status.length // 8, [])
            if words_ready and ctx.get(dut.words.valid):
                word = ctx.get(dut.words.payload)
                tci, left, words = reading
                words.append(word)
                outstanding -= 1
                reading = (tci, left - 1, words) if left > 1 else None
                if left == 1:
                    out.append((tci, words))
            await ctx.tick()

    simulate(dut, bench)
    return committed, out, levels, missed


def test_exactly_the_committed_frames_come_out_whole_and_in_order():
    for seed in range(4):
        committed, out, _, _ = run(seed)
        assert len(committed) > 20
        assert [tci for tci, _ in out] == committed
        for tci, words in out:
            assert words == [(tci << 32) | k for k in range(len(words))]


def test_frames_that_find_no_room_are_rolled_back_and_the_rest_go_on():
    # A slow reader and frames up to 23 words in a 64-word FIFO: some frames must miss.
    committed, out, _, missed = run(seed=11, frames=80)
    assert missed and len(committed) > 20
    assert not set(missed) & set(committed)
    assert [tci for tci, _ in out] == committed


def test_the_level_counts_words_not_yet_read():
    _, _, levels, _ = run(seed=3)
    # The words in the RAM, registered: up to three more wait in the read-ahead registers, and
    # the count may be a cycle or two behind.
    for k in range(2, len(levels)):
        recent = [levels[j][1] for j in range(k - 2, k + 1)]
        assert min(recent) - 3 <= levels[k][0] <= max(recent), (k, levels[k - 2:k + 1])
    assert max(level for level, _ in levels) > DEPTH // 2
