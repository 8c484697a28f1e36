"""The transmit write-back on its own: descriptors retire in ring order, each with data only after
the MAC took its last word, DD written (one byte) only for RS and before the retirement, TXDW at
once without IDE, TXQE when the head reaches the tail; against a host memory that takes writes
and reports them done at random."""

import random

from hw.desc import TXD_STA
from hw.txdma import TxWriteBack

from peers import Offerer, WriteMemory, simulate

RING = 0x30_0000
COUNT = 8


def test_retires_in_order_after_the_data_and_the_write_back():
    dut = TxWriteBack(depth=64)
    rng = random.Random(7)
    # (rs, ide, empty) per descriptor, from head 0.
    records = [(1, 0, 0), (0, 0, 0), (1, 0, 1), (1, 0, 0), (0, 0, 1), (1, 0, 0)]
    done = Offerer(dut.done, [{"rs": rs, "ide": ide, "empty": empty}
                              for rs, ide, empty in records], rng, offer=0.6)
    memory = WriteMemory(dut.dma, rng, ring=RING, take=0.5)
    with_data = [k for k, (_, _, empty) in enumerate(records) if not empty]
    took_at = {k: 60 + 40 * n for n, k in enumerate(with_data)}     # the MAC takes them late
    retired, txdw, txqe = [], [], []

    async def bench(ctx):
        head = 0
        tail = len(records)
        for cycle in range(600):
            ctx.set(dut.status_offset, head * 16 + 8)
            ctx.set(dut.at_tail, head == tail)
            ctx.set(dut.took, cycle in took_at.values())
            done.drive(ctx)
            memory.drive(ctx)
            done.observe(ctx)
            memory.observe(ctx)
            if ctx.get(dut.retire):
                retired.append((head, cycle))
                # Its DD is in memory before it retires, when it asked for it.
                rs = records[head][0]
                assert memory.written.get(RING + head * 16 + 12) == (TXD_STA.DD if rs else None)
                head = (head + 1) % COUNT
            txdw.append(ctx.get(dut.txdw))
            txqe.append(ctx.get(dut.txqe))
            await ctx.tick()
    simulate(dut, bench)

    assert [k for k, _ in retired] == list(range(len(records)))
    for k, cycle in retired:
        if k in took_at:
            assert cycle > took_at[k] + 1
    cycles = [cycle for _, cycle in retired]
    assert all(b - a >= 3 for a, b in zip(cycles, cycles[1:]))
    # One-byte writes of DD at each RS descriptor's status byte, nothing else.
    assert memory.written == {RING + k * 16 + 12: TXD_STA.DD
                              for k, (rs, _, _) in enumerate(records) if rs}
    # TXDW once per RS descriptor (no IDE: at once), TXQE once, after the last retirement.
    assert sum(txdw) == sum(rs for rs, _, _ in records)
    assert sum(txqe) == 1 and txqe.index(1) == cycles[-1] + 2
