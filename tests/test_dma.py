"""The DMA arbiter on its own: initiators that ask at random, a port peer that stalls at random.
Each initiator's reads come back to it alone and in order, a write's beats are never interleaved
with another's, acknowledgements go to their writers in order, every address is the offset from
the base the command names (its ring's or its own), and no initiator that keeps asking is passed
over more than once by each of the others."""

import random

from hw.dma import DMAArbiter, Initiator

from peers import simulate

# As the core has them: ring 0 is shared by a reader and a writer, and a writer names either
# its ring or a base of its own.
KINDS = {"r": (Initiator(ring=0, own=False), Initiator(), Initiator(ring=1, own=False)),
         "w": (Initiator(ring=0, own=False), Initiator(ring=1))}
READERS, WRITERS = len(KINDS["r"]), len(KINDS["w"])
RING_BASES = (0x7_1234_5670, 0x9_8765_4320)


def address(kind, i, command):
    """Where a command goes: from its ring's base where it names the ring."""
    ring = KINDS[kind][i].ring
    return (RING_BASES[ring] if command["ring"] else command["base"]) + command["offset"]


def run(seed, commands=12, cycles=4000, answer_reads=True):
    dut = DMAArbiter(readers=KINDS["r"], writers=KINDS["w"], rings=len(RING_BASES))
    rng = random.Random(seed)
    log = {"rd_grants": [], "rd_waiting": [], "wr_grants": [], "wr_beats": []}
    got = {("r", i): [] for i in range(READERS)} | {("w", i): [] for i in range(WRITERS)}
    sent = {("r", i): [] for i in range(READERS)} | {("w", i): [] for i in range(WRITERS)}

    def plan(kind, i):
        """Each initiator's commands: its number in the base, a random offset and length, and
        the ring named where the initiator has one (always, where it has no base of its own)."""
        own, ring = KINDS[kind][i].own, KINDS[kind][i].ring is not None
        return [{"base": (0x100 + 0x10 * (kind == "w") + i) << 32,
                 "offset": 8 * rng.randrange(0, 1 << 16), "len": rng.randrange(0, 4),
                 "ring": ring and (not own or rng.random() < 0.5)}
                for _ in range(commands)]

    plans = {key: plan(*key) for key in sent}

    queue = {key: list(p) for key, p in plans.items()}
    # Each writer's granted writes whose beats are still to send: a writer may offer its next
    # command while its last write's beats go, as the receive engine's does.
    writing = {i: [] for i in range(WRITERS)}
    reads, writes, acks = [], [], []                 # what the port owes

    def drive(ctx):
        """Every input of this cycle, both sides; returns the port's choices."""
        for key, port in [(("r", i), dut.readers[i]) for i in range(READERS)] + \
                         [(("w", i), dut.writers[i]) for i in range(WRITERS)]:
            cmd = port.rd_cmd if key[0] == "r" else port.wr_cmd
            busy = key[0] == "w" and len(writing[key[1]]) > 1   # two writes' data to send
            if queue[key] and not busy and (ctx.get(cmd.valid) or rng.random() < 0.3):
                ctx.set(cmd.valid, 1)
                ctx.set(cmd.payload, queue[key][0])
            else:
                ctx.set(cmd.valid, 0)
        for i in range(READERS):
            ctx.set(dut.readers[i].rd_data.ready, rng.random() < 0.7)
        for i in range(WRITERS):
            ctx.set(dut.writers[i].wr_done.ready, rng.random() < 0.7)
            beats = writing[i][0] if writing[i] else None
            offer = bool(beats) and rng.random() < 0.7
            ctx.set(dut.writers[i].wr_data.valid, offer)
            if offer:
                ctx.set(dut.writers[i].wr_data.payload,
                        {"data": (i << 56) | len(beats), "strb": 0xFF, "last": len(beats) == 1})
        rd_ready, wr_ready = rng.random() < 0.6, rng.random() < 0.6
        ctx.set(dut.dma.rd_cmd.ready, rd_ready)
        # The port takes write commands while earlier writes' data is still owed, as the
        # register slice of ``hw.dmadrain`` does.
        ctx.set(dut.dma.wr_cmd.ready, wr_ready)
        beat = reads[0] if answer_reads and reads and rng.random() < 0.7 else None
        ctx.set(dut.dma.rd_data.valid, beat is not None)
        if beat is not None:
            ctx.set(dut.dma.rd_data.payload, {"data": beat[0], "last": beat[1]})
        data_ready = bool(writes) and rng.random() < 0.7
        ctx.set(dut.dma.wr_data.ready, data_ready)
        ctx.set(dut.dma.wr_done.valid, bool(acks))
        return rd_ready, wr_ready, beat, data_ready

    def observe(ctx, rd_ready, wr_ready, beat, data_ready):
        """The handshakes of this cycle, once every input is set."""
        asking = [ctx.get(dut.readers[i].rd_cmd.valid) for i in range(READERS)]
        granted = [i for i in range(READERS)
                   if asking[i] and ctx.get(dut.readers[i].rd_cmd.ready)]
        log["rd_waiting"].append((asking, granted[0] if granted else None))
        for key in list(queue):
            port = dut.readers[key[1]] if key[0] == "r" else dut.writers[key[1]]
            cmd = port.rd_cmd if key[0] == "r" else port.wr_cmd
            if ctx.get(cmd.valid) and ctx.get(cmd.ready):
                done = queue[key].pop(0)
                sent[key].append(done)
                if key[0] == "w":
                    writing[key[1]].append(list(range(done["len"] + 1)))
        for i in range(READERS):
            port = dut.readers[i].rd_data
            if ctx.get(port.valid) and ctx.get(port.ready):
                got[("r", i)].append(ctx.get(port.payload.data))
        for i in range(WRITERS):
            port = dut.writers[i].wr_data
            if ctx.get(port.valid) and ctx.get(port.ready):
                writing[i][0].pop()
                if not writing[i][0]:
                    writing[i].pop(0)
            done = dut.writers[i].wr_done
            if ctx.get(done.valid) and ctx.get(done.ready):
                got[("w", i)].append("done")
        if rd_ready and ctx.get(dut.dma.rd_cmd.valid):
            cmd = ctx.get(dut.dma.rd_cmd.payload)
            log["rd_grants"].append(cmd.addr)
            n = cmd.len + 1
            reads.extend(((cmd.addr << 2) | k, k == n - 1) for k in range(n))
        if wr_ready and ctx.get(dut.dma.wr_cmd.valid):
            cmd = ctx.get(dut.dma.wr_cmd.payload)
            log["wr_grants"].append(cmd.addr)
            writes.append(cmd.len + 1)
        if beat is not None and ctx.get(dut.dma.rd_data.ready):
            reads.pop(0)
        if acks and ctx.get(dut.dma.wr_done.ready):     # offered in this cycle
            acks.pop(0)
        if data_ready and ctx.get(dut.dma.wr_data.valid):
            log["wr_beats"].append(ctx.get(dut.dma.wr_data.payload.data) >> 56)
            writes[0] -= 1
            if writes[0] == 0:
                writes.pop(0)
                acks.append(1)

    async def bench(ctx):
        for ring, base in enumerate(RING_BASES):
            ctx.set(dut.ring_bases[ring], base)
        for _ in range(cycles):
            choices = drive(ctx)
            observe(ctx, *choices)
            await ctx.tick()

    simulate(dut, bench)
    return plans, sent, got, log


def test_reads_come_back_to_their_readers_whole_and_in_order():
    for seed in range(3):
        plans, sent, got, log = run(seed)
        for i in range(READERS):
            assert sent[("r", i)] == plans[("r", i)]
            expected = [(address("r", i, c) << 2) | k
                        for c in plans[("r", i)] for k in range(c["len"] + 1)]
            assert got[("r", i)] == expected
        assert sorted(log["rd_grants"]) == sorted(address("r", i, c) for i in range(READERS)
                                                  for c in plans[("r", i)])


def test_writes_are_not_interleaved_and_acknowledged_to_their_writers():
    for seed in range(3):
        plans, sent, got, log = run(seed)
        owners = {address("w", i, c): (i, c["len"] + 1)
                  for i in range(WRITERS) for c in plans[("w", i)]}
        assert sorted(log["wr_grants"]) == sorted(owners)
        expected = [owners[addr][0] for addr in log["wr_grants"] for _ in range(owners[addr][1])]
        assert log["wr_beats"] == expected          # each write's beats together, its writer's
        for i in range(WRITERS):
            assert got[("w", i)] == ["done"] * len(plans[("w", i)])


def test_a_reader_that_keeps_asking_is_served_in_its_turn():
    """While reader i asks, from its first cycle of asking to its grant, each other reader is
    granted at most once: round robin."""
    for seed in range(3):
        plans, sent, got, log = run(seed, commands=30)
        for i in range(READERS):
            others = []         # granted to others while i waits
            for asking, granted in log["rd_waiting"]:
                if not asking[i]:
                    continue
                if granted == i:
                    assert all(others.count(o) <= 1 for o in range(READERS)), (seed, i, others)
                    others = []
                elif granted is not None:
                    others.append(granted)


def test_writes_go_on_while_reads_wait_for_their_answers():
    """Host memory that takes read commands but never answers them: once the reads in flight
    are as many as the arbiter keeps track of (its ``outstanding``, 8), readers wait, and the
    writers' commands are still granted, their beats sent and acknowledged."""
    plans, sent, got, log = run(5, commands=20, answer_reads=False)
    assert sum(len(sent[("r", i)]) for i in range(READERS)) == 8
    for i in range(WRITERS):
        assert sent[("w", i)] == plans[("w", i)]
        assert got[("w", i)] == ["done"] * len(plans[("w", i)])
