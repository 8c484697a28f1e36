"""Receive: delivery into buffers, every filter path, bad frames, buffers running out,
multi-buffer frames, ring wraps, and the receive interrupts."""

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from hw.desc import RXD_ERR, RXD_STA
from hw.regmap import reg, rx_buffer_bits
from sim.ethernet import PREAMBLE, fcs, to_wire

from harness import COMPILED, RX_BUFFERS, nic_run

OURS = "52:54:00:12:34:56"
RCTL = reg.RCTL
BASE_RCTL = RCTL.EN.mask | RCTL.SECRC.mask
# A frame's last descriptor with the checksum offloads off (RXCSUM at reset): IXSM too.
DD_EOP = RXD_STA.DD | RXD_STA.EOP | RXD_STA.IXSM


def frame(dst, size=98, tag=0):
    body = bytes(Ether(src="52:55:0a:00:02:02", dst=dst) / IP(src="10.0.2.2", dst="10.0.2.15")
                 / ICMP(id=tag) / bytes(max(0, size - 42)))
    return body[:size]


def delivered(rings, count):
    return [(rings.rx_status(i).status, rings.rx_data(i)) for i in range(count)]


def test_delivery_with_and_without_the_fcs():
    f1, f2 = frame(OURS, 98, 1), frame(OURS, 1514, 2)

    async def tb(backend, regs, rings):
        await rings.rx_setup(rctl=BASE_RCTL)
        backend.send(to_wire(f1))
        backend.send(to_wire(f2))
        await rings.settle(4000)
        stripped = delivered(rings, 2)
        await regs.write(reg.RCTL, RCTL.EN.mask)          # keep the FCS
        backend.send(to_wire(f1))
        await rings.settle(1000)
        counters = {r.name: await regs.read(r) for r in (reg.GPRC, reg.GORCL, reg.TPR, reg.TORL,
                                                         reg.PRC127, reg.PRC1522, reg.RDH)}
        return stripped, delivered(rings, 3)[2], counters

    stripped, kept, counters = nic_run(tb)
    assert stripped == [(DD_EOP, f1), (DD_EOP, f2)]
    assert kept == (DD_EOP, f1 + fcs(f1))
    assert counters == {"GPRC": 3, "GORCL": 102 + 1518 + 102, "TPR": 3, "TORL": 102 + 1518 + 102,
                        "PRC127": 2, "PRC1522": 1, "RDH": 3}


def test_every_filter_path():
    # (destination, RCTL bits, extra set-up) -> accepted?
    mcast = "01:00:5e:00:00:fb"
    cases = [
        (OURS, 0, None, True),                                  # RA[0], valid from the EEPROM
        ("52:54:00:aa:bb:cc", 0, None, False),
        ("52:54:00:aa:bb:cc", RCTL.UPE.mask, None, True),       # unicast promiscuous
        ("52:54:00:aa:bb:cc", 0, "ra1", True),                  # RA[1] programmed, valid
        ("ff:ff:ff:ff:ff:ff", 0, None, False),
        ("ff:ff:ff:ff:ff:ff", RCTL.BAM.mask, None, True),
        (mcast, 0, None, False),
        (mcast, RCTL.MPE.mask, None, True),                     # multicast promiscuous
        (mcast, 0, "mta0", True),                               # hash hit, offset 0 (bits 47:36)
        (mcast, RCTL.MO.put(RCTL.MO.BITS_43_32), "mta0", False),   # the same bit, other offset
        (mcast, RCTL.MO.put(RCTL.MO.BITS_43_32), "mta3", True),    # offset 3 (bits 43:32)
        (mcast, RCTL.UPE.mask, None, False),                    # UPE is for unicast only
    ]

    def mta_bit(mac, mo):
        b = bytes.fromhex(mac.replace(":", ""))
        value = ((b[5] << 8) | b[4]) >> (4, 3, 2, 0)[mo] & 0xFFF
        return value >> 5, value & 31

    async def tb(backend, regs, rings):
        results = []
        for n, (dst, bits, setup, _) in enumerate(cases):
            await regs.write(reg.RCTL, 0)
            await regs.write(reg.RAH, 0, 1)
            for mo in (0, 3):
                await regs.write(reg.MTA, 0, mta_bit(mcast, mo)[0])
            if setup == "ra1":
                mac = bytes.fromhex("525400aabbcc")
                await regs.write(reg.RAL, int.from_bytes(mac[:4], "little"), 1)
                await regs.write(reg.RAH, int.from_bytes(mac[4:], "little") | 1 << 31, 1)
            elif setup in ("mta0", "mta3"):
                row, bit = mta_bit(dst, 0 if setup == "mta0" else 3)
                await regs.write(reg.MTA, 1 << bit, row)
            await rings.rx_setup(count=8, rctl=BASE_RCTL | bits)
            backend.send(to_wire(frame(dst, 80, n)))
            await rings.settle(600)
            results.append(bool(rings.rx_status(0).status & RXD_STA.DD))
        return results

    assert nic_run(tb) == [accepted for *_, accepted in cases]


def test_bad_frames_are_counted_and_dropped():
    # Each in the one counter SDM 13.7 names for it.
    good = frame(OURS, 98)
    runt = frame(OURS, 50)              # 54 bytes with FCS
    giant = frame(OURS, 1530)           # 1534 bytes with FCS
    other = frame("52:54:00:aa:bb:cc", 98)

    def bad_fcs(f):
        return PREAMBLE + f + bytes(4)

    async def tb(backend, regs, rings):
        await rings.rx_setup(rctl=BASE_RCTL)
        backend.send(bad_fcs(good))                             # CRCERRS
        backend.send(to_wire(runt, pad=False))                  # RUC
        backend.send(to_wire(giant))                            # ROC
        backend.send(to_wire(good), rx_er=True)                 # RXERRC
        backend.send(bad_fcs(runt))                             # RFC
        backend.send(bad_fcs(giant))                            # RJC
        backend.send(bad_fcs(other))                            # not for us: counted nowhere
        backend.send(bad_fcs(other[:40]))                       # RFC, for us or not
        backend.send(to_wire(good))
        await rings.settle(8000)
        counts = {r.name: await regs.read(r) for r in (
            reg.CRCERRS, reg.RUC, reg.ROC, reg.RXERRC, reg.RFC, reg.RJC, reg.GPRC, reg.TPR)}
        first = delivered(rings, 1)
        # Long frames allowed; bad ones stored (SBP) with their error bit, and not counted as
        # good.
        await regs.write(reg.RCTL, BASE_RCTL | RCTL.LPE.mask | RCTL.SBP.mask)
        backend.send(to_wire(giant))
        backend.send(bad_fcs(good))
        backend.send(bad_fcs(other))                            # SBP keeps only ours
        await rings.settle(5000)
        later = [(rings.rx_status(i).status, rings.rx_status(i).errors, rings.rx_status(i).length)
                 for i in (1, 2, 3)]
        return counts, first, later, await regs.read(reg.GPRC), await regs.read(reg.CRCERRS)

    counts, first, later, good_after, crc_after = nic_run(tb, backend=COMPILED)
    assert counts == {"CRCERRS": 1, "RUC": 1, "ROC": 1, "RXERRC": 1, "RFC": 2, "RJC": 1,
                      "GPRC": 1, "TPR": 9}
    assert first == [(DD_EOP, good)]
    assert later == [(DD_EOP, 0, 1530), (DD_EOP, RXD_ERR.CE, 98), (0, 0, 0)]
    assert (good_after, crc_after) == (1, 1)


def test_frames_wait_for_buffers_and_none_is_lost():
    # Two buffers for six frames: the third waits in the receive FIFO (counted once in RNBC),
    # the fourth behind it, until software hands buffers back. Nothing is missed.
    frames = [frame(OURS, 100, tag) for tag in range(6)]

    async def tb(backend, regs, rings):
        await regs.write(reg.IMS, reg.IMS.RXO.mask)
        await rings.rx_setup(count=8, rctl=BASE_RCTL, give=2)      # two buffers only
        marker = b"\xee" * 64
        for i in range(8):
            backend.mem_write(rings.rx_buffer_addr(i), marker)
        for f in frames[:4]:
            backend.send(to_wire(f))
        await rings.settle(3000)
        first = delivered(rings, 3)
        untouched = [backend.mem_read(rings.rx_buffer_addr(i), 64) == marker for i in range(2, 8)]
        counts = {r.name: await regs.read(r) for r in (reg.MPC, reg.RNBC, reg.GPRC)}
        icr = await regs.read(reg.ICR)
        # Software hands the two buffers back and gives four more: the two frames that waited
        # go first, in order, then the two sent after.
        for i in range(2):
            rings.rx_reset(i)
        await regs.write(reg.RDT, 6)
        await rings.settle(1000)
        for f in frames[4:]:
            backend.send(to_wire(f))
        await rings.settle(3000)
        later = {r.name: await regs.read(r) for r in (reg.MPC, reg.RNBC, reg.GPRC)}
        return (first, untouched, counts, icr, delivered(rings, 6)[2:], await regs.read(reg.RDH),
                later)

    first, untouched, counts, icr, resumed, rdh, later = nic_run(tb)
    assert first == [(DD_EOP, frames[0]), (DD_EOP, frames[1]), (0, b"")]
    assert all(untouched)
    assert counts == {"MPC": 0, "RNBC": 1, "GPRC": 2}
    assert icr & reg.ICR.RXO.mask == 0
    assert resumed == [(DD_EOP, f) for f in frames[2:]]
    assert rdh == 6
    assert later == {"MPC": 0, "RNBC": 0, "GPRC": 4}


def test_a_frame_waits_in_the_middle_for_more_buffers():
    # 256-byte buffers and one free: a 600-byte frame fills it, then waits for the rest of its
    # buffers rather than being handed up cut off.
    big = frame(OURS, 600, 1)
    after = frame(OURS, 98, 2)

    async def tb(backend, regs, rings):
        await rings.rx_setup(count=8, rctl=BASE_RCTL | rx_buffer_bits(256), buffer=256, give=1)
        backend.send(to_wire(big))
        backend.send(to_wire(after))
        await rings.settle(3000)
        waiting = [(rings.rx_status(i).status, rings.rx_status(i).length) for i in range(2)]
        rnbc = await regs.read(reg.RNBC)
        await regs.write(reg.RDT, 5)
        await rings.settle(3000)
        parts = [(rings.rx_status(i).status, rings.rx_status(i).length) for i in range(5)]
        data = b"".join(rings.rx_data(i) for i in range(3))
        counts = {r.name: await regs.read(r) for r in (reg.MPC, reg.RNBC, reg.GPRC, reg.RDH)}
        return waiting, rnbc, parts, data, rings.rx_data(3), counts

    waiting, rnbc, parts, data, second, counts = nic_run(tb)
    assert waiting == [(RXD_STA.DD, 256), (0, 0)]
    assert rnbc == 1
    assert parts == [(RXD_STA.DD, 256), (RXD_STA.DD, 256), (DD_EOP, 88), (DD_EOP, 98), (0, 0)]
    assert data == big
    assert second == after
    assert counts == {"MPC": 0, "RNBC": 0, "GPRC": 2, "RDH": 4}


def test_a_full_receive_fifo_drops_whole_frames_and_counts_them():
    # No buffers at all, and more frames than the receive FIFO can queue: those that find no
    # room are missed (MPC, ICR.RXO); the others are delivered in order, byte for byte, once
    # buffers come.
    frames = [frame(OURS, 60, tag) for tag in range(48)]

    async def tb(backend, regs, rings):
        await regs.write(reg.IMS, reg.IMS.RXO.mask)
        await rings.rx_setup(count=64, rctl=BASE_RCTL, give=0)
        for f in frames:
            backend.send(to_wire(f))
        await rings.settle(48 * 90 + 500)
        missed, icr = await regs.read(reg.MPC), await regs.read(reg.ICR)
        await regs.write(reg.RDT, 63)
        await rings.settle(8000)
        kept = [rings.rx_data(i) for i in range(63) if rings.rx_status(i).status == DD_EOP]
        return missed, icr, kept, await regs.read(reg.RNBC), await regs.read(reg.GPRC)

    missed, icr, kept, rnbc, good = nic_run(tb, backend=COMPILED)
    assert 0 < missed < 48 - 32
    assert icr & reg.ICR.RXO.mask
    assert kept == frames[:48 - missed]
    assert (rnbc, good) == (1, 48 - missed)


def test_a_good_frame_right_after_a_short_fragment_is_received():
    # A fragment of every length from 1 to 24 bytes (no valid FCS), then a good frame at the
    # minimum gap: the fragment is counted in RFC, the good frame delivered. The shortest
    # fragments end before the filter has looked at their address.
    good = [frame(OURS, 98, n) for n in range(24)]

    async def tb(backend, regs, rings):
        await rings.rx_setup(count=32, rctl=BASE_RCTL)
        for n in range(1, 25):
            backend.send(to_wire(good[n - 1])[:8 + n])
            backend.send(to_wire(good[n - 1]))
        await rings.settle(24 * 250)
        counts = {r.name: await regs.read(r) for r in (reg.RFC, reg.CRCERRS, reg.GPRC, reg.TPR,
                                                       reg.MPC)}
        return delivered(rings, 25), counts

    frames, counts = nic_run(tb, backend=COMPILED)
    assert frames == [(DD_EOP, f) for f in good] + [(0, b"")]
    assert counts == {"RFC": 24, "CRCERRS": 0, "GPRC": 24, "TPR": 48, "MPC": 0}


def test_frames_across_buffers_and_ring_laps():
    big = frame(OURS, 600)

    async def tb(backend, regs, rings):
        # 256-byte buffers: 600 bytes (FCS stripped) take three descriptors.
        await rings.rx_setup(count=8, rctl=BASE_RCTL | rx_buffer_bits(256), buffer=256)
        backend.send(to_wire(big))
        await rings.settle(2000)
        parts = [(rings.rx_status(i).status, rings.rx_status(i).length) for i in range(3)]
        data = b"".join(rings.rx_data(i) for i in range(3))
        # Three laps of the ring, software returning buffers as it goes.
        await regs.write(reg.RCTL, 0)
        await rings.rx_setup(count=8, rctl=BASE_RCTL)
        seen, head = [], 0
        for n in range(24):
            backend.send(to_wire(frame(OURS, 70, n)))
            while not rings.rx_status(head).status & RXD_STA.DD:
                await backend.cycles(50)
            seen.append(rings.rx_data(head)[-28:])
            rings.rx_reset(head)
            await regs.write(reg.RDT, head)
            head = (head + 1) % 8
        return parts, data, seen

    parts, data, seen = nic_run(tb, backend=COMPILED)
    assert parts == [(RXD_STA.DD, 256), (RXD_STA.DD, 256), (DD_EOP, 88)]
    assert data == big
    assert seen == [frame(OURS, 70, n)[-28:] for n in range(24)]


def test_buffers_of_any_alignment_take_only_the_frame_bytes():
    # Each buffer starts at another byte offset. Around what a frame fills, host memory keeps
    # what was there: only the byte strobes of a buffer's first and last beats ensure that.
    sizes = [60, 61, 67, 98, 255, 600]          # delivered without the FCS (SECRC)
    frames = [frame(OURS, size, n) for n, size in enumerate(sizes)]
    spacing, guard = 512, 0xEE

    def buffer_addr(i):
        return RX_BUFFERS + i * spacing + (3 * i + 1) % 8

    async def tb(backend, regs, rings):
        rings.rx_buffer_addr = buffer_addr
        backend.mem_write(RX_BUFFERS, bytes([guard]) * (16 * spacing))
        # 256-byte buffers: the last frame takes three of them.
        await rings.rx_setup(count=16, rctl=BASE_RCTL | rx_buffer_bits(256), buffer=256)
        for f in frames:
            backend.send(to_wire(f))
        await rings.settle(4000)
        return ([(rings.rx_status(i).status, rings.rx_status(i).length) for i in range(9)],
                backend.mem_read(RX_BUFFERS, 16 * spacing))

    statuses, memory = nic_run(tb, backend=COMPILED)
    lengths = sizes[:-1] + [256, 256, 88]
    assert statuses == [(DD_EOP, n) for n in lengths[:5]] + [
        (RXD_STA.DD, 256), (RXD_STA.DD, 256), (DD_EOP, 88), (0, 0)]
    expected = bytearray([guard]) * (16 * spacing)
    data = b"".join(frames)
    at = 0
    for i, n in enumerate(lengths):
        offset = buffer_addr(i) - RX_BUFFERS
        expected[offset:offset + n] = data[at:at + n]
        at += n
    assert memory == bytes(expected)



@pytest.mark.parametrize("first, second", [(5, 3), (1, 1)])
def test_a_long_frame_takes_several_write_bursts_per_buffer(first, second):
    # 4096-byte buffers (BSEX) and a 6000-byte frame (LPE): the first buffer, which starts
    # ``first`` bytes into its quadword, takes 513 beats, more than one write burst (256 beats)
    # carries. One byte in, its last beat holds one byte, right after two full bursts: that byte
    # used to leave before its own write command, and land a quadword past the buffer.
    head = bytes(Ether(src="52:55:0a:00:02:02", dst=OURS, type=0x88B5))
    long = head + bytes((7 * i + 3) % 251 for i in range(6000 - len(head)))
    guard = 0xEE

    def buffer_addr(i):
        return RX_BUFFERS + i * 8192 + (first if i == 0 else second)

    async def tb(backend, regs, rings):
        rings.rx_buffer_addr = buffer_addr
        backend.mem_write(RX_BUFFERS, bytes([guard]) * 16384)
        rctl = BASE_RCTL | RCTL.LPE.mask | rx_buffer_bits(4096)
        await rings.rx_setup(count=8, rctl=rctl, buffer=4096)
        backend.send(to_wire(long))
        await rings.settle(16000)
        return ([(rings.rx_status(i).status, rings.rx_status(i).length) for i in range(3)],
                backend.mem_read(RX_BUFFERS, 16384))

    statuses, memory = nic_run(tb, backend=COMPILED)
    assert statuses == [(RXD_STA.DD, 4096), (DD_EOP, 1904), (0, 0)]
    expected = bytearray([guard]) * 16384
    expected[first:first + 4096] = long[:4096]
    expected[8192 + second:8192 + second + 1904] = long[4096:]
    assert memory == bytes(expected)


def test_rdt_before_the_ring_starts_nothing():
    async def tb(backend, regs, rings):
        # The order of the driver that pings: RDT first, ring base and RCTL.EN later.
        await regs.write(reg.RDBAL, 0xDEAD0000)            # nowhere: a fetch would fault
        await regs.write(reg.RDLEN, 128)
        await regs.write(reg.RDT, 7)
        backend.send(to_wire(frame(OURS)))
        await rings.settle(1000)
        fault = backend.ctx.get(backend.bench.hostmem.fault)
        return fault, await regs.read(reg.RDH), await regs.read(reg.MPC)

    # RX is off: the frame is not taken, nothing is fetched, nothing is counted as missed.
    assert nic_run(tb) == (0, 0, 0)


def test_receive_interrupts_and_delay_timer():
    async def tb(backend, regs, rings):
        await regs.write(reg.IMS, reg.IMS.RXT0.mask | reg.IMS.RXDMT0.mask)
        await rings.rx_setup(count=16, rctl=BASE_RCTL)      # threshold: 16 >> 1 = 8 free
        backend.send(to_wire(frame(OURS)))
        await rings.settle(800)
        first = await regs.read(reg.ICR)
        for n in range(6):                                   # 15 - 7 = 8 free after these
            backend.send(to_wire(frame(OURS, tag=n)))
        await rings.settle(3000)
        second = await regs.read(reg.ICR)
        # RDTR: RXT0 waits 3 x 1.024 us after the write-back.
        await regs.write(reg.RDTR, 3)
        backend.send(to_wire(frame(OURS, tag=9)))
        while not rings.rx_status(7).status & RXD_STA.DD:
            await backend.cycles(8)
        written = backend.now
        while not backend.irq:
            await backend.cycles(8)
        return first, second, backend.now - written

    first, second, delay = nic_run(tb)
    assert first == reg.ICR.RXT0.mask
    assert second == reg.ICR.RXT0.mask | reg.ICR.RXDMT0.mask
    assert 2 * 128 <= delay <= 3 * 128 + 16


def test_descriptor_minimum_threshold_after_the_tail_wraps():
    # RXDMT0 counts the free descriptors around the end of the ring: with the tail behind the
    # head, tail - head + RDLEN / 16 of them.
    async def tb(backend, regs, rings):
        await rings.rx_setup(count=16, rctl=BASE_RCTL, give=12)  # threshold: 8 free
        for n in range(12):
            backend.send(to_wire(frame(OURS, tag=n)))
        await rings.settle(6000)
        head = await regs.read(reg.RDH)
        await regs.write(reg.RDT, 5)                         # 5 - 12 + 16 = 9 free
        await regs.read(reg.ICR)
        backend.send(to_wire(frame(OURS, tag=12)))           # 8 free after this one
        await rings.settle(800)
        return head, await regs.read(reg.RDH), await regs.read(reg.ICR)

    first_head, head, icr = nic_run(tb)
    assert (first_head, head) == (12, 13)
    assert icr & reg.ICR.RXDMT0.mask


def test_address_table_reads_while_the_filter_scans_it():
    # The last entry only matches once the filter has read all sixteen, while software keeps
    # taking the table's read port with reads of another entry.
    other = "02:aa:bb:cc:dd:0f"
    f = frame(other, 98, 9)

    async def tb(backend, regs, rings):
        await regs.write(reg.RAL, 0xCCBB_AA02, n=15)
        await regs.write(reg.RAH, 0x0F_DD | reg.RAH.AV.mask, n=15)
        await regs.write(reg.RAL, 0x1111_1111, n=3)
        await rings.rx_setup(rctl=BASE_RCTL)
        got = []
        for delay in range(4):                          # the reads fall on every scan step
            backend.send(to_wire(f), not_before=backend.now + delay)
            start = backend.now
            reads = []
            while backend.now - start < 120:            # preamble, address, scan and more
                reads.append(await regs.read(reg.RAL, n=3))
            await rings.settle(500)
            got.append(set(reads))
        return got, delivered(rings, 4)

    reads, got = nic_run(tb)
    assert reads == [{0x1111_1111}] * 4
    assert got == [(DD_EOP, f)] * 4


def test_the_largest_jumbo_frame_is_received_whole():
    # 16,128 bytes (Linux's largest jumbo frame) with LPE into 16 KiB buffers (BSEX), and a
    # frame right behind it. The receive FIFO held 8 KiB, so any frame over that was dropped
    # and counted as missed whatever the buffers.
    head = bytes(Ether(src="52:55:0a:00:02:02", dst=OURS, type=0x88B5))
    jumbo = head + bytes((11 * i + 5) % 253 for i in range(16128 - len(head)))
    after = frame(OURS, 98, 9)

    async def tb(backend, regs, rings):
        rctl = BASE_RCTL | RCTL.LPE.mask | rx_buffer_bits(16384)
        await rings.rx_setup(count=8, rctl=rctl, buffer=16384)
        backend.send(to_wire(jumbo))
        backend.send(to_wire(after))
        await rings.settle(40000)
        return (delivered(rings, 3), await regs.read(reg.MPC), await regs.read(reg.GPRC))

    frames, missed, good = nic_run(tb, backend=COMPILED)
    assert frames[:2] == [(DD_EOP, jumbo), (DD_EOP, after)]
    assert frames[2][0] == 0
    assert (missed, good) == (0, 2)


def test_the_longest_legal_frame_is_received_whole():
    # With RCTL.LPE a frame may be 16,384 bytes with its FCS: one more than a 14-bit length
    # holds. It is delivered whole; one byte more is oversize.
    head = bytes(Ether(src="52:55:0a:00:02:02", dst=OURS, type=0x88B5))
    longest = head + bytes((3 * i + 1) % 249 for i in range(16380 - len(head)))

    async def tb(backend, regs, rings):
        rctl = BASE_RCTL | RCTL.LPE.mask | rx_buffer_bits(16384)
        await rings.rx_setup(count=8, rctl=rctl, buffer=16384)
        backend.send(to_wire(longest))
        backend.send(to_wire(longest + b"\x01"))
        await rings.settle(36000)
        counts = {r.name: await regs.read(r) for r in (reg.GPRC, reg.ROC, reg.GORCL, reg.TORL)}
        return delivered(rings, 2), counts

    frames, counts = nic_run(tb, backend=COMPILED)
    assert frames == [(DD_EOP, longest), (0, b"")]
    assert counts == {"GPRC": 1, "ROC": 1, "GORCL": 16384, "TORL": 16384 + 16385}


def test_checksum_offload_results_in_the_descriptor():
    # RXCSUM.IPOFL and TUOFL: IPCS and TCPCS in the last descriptor's status when the checks
    # were made, IPE and TCPE in its errors when they failed; IXSM only with both off.
    from scapy.layers.inet import TCP, UDP
    head = Ether(src="52:55:0a:00:02:02", dst=OURS) / IP(src="10.0.2.2", dst="10.0.2.15")
    tcp = bytes(head / TCP(sport=80, dport=4321, seq=5, flags="A") / (b"t" * 300))
    udp = bytes(head / UDP(sport=53, dport=999) / (b"u" * 40))
    bad_ip = tcp[:24] + bytes([tcp[24] ^ 0xFF]) + tcp[25:]
    bad_tcp = tcp[:-1] + bytes([tcp[-1] ^ 0xFF])
    ping = frame(OURS, 98)
    frames = [tcp, udp, bad_ip, bad_tcp, ping]
    RXCSUM = reg.RXCSUM

    async def tb(backend, regs, rings):
        results = []
        for rxcsum in (RXCSUM.IPOFL.mask | RXCSUM.TUOFL.mask, RXCSUM.TUOFL.mask, 0):
            await regs.write(reg.RXCSUM, rxcsum)
            await rings.rx_setup(count=8, rctl=BASE_RCTL)
            for f in frames:
                backend.send(to_wire(f))
            await rings.settle(3000)
            results.append([(rings.rx_status(i).status, rings.rx_status(i).errors)
                            for i in range(len(frames))])
            assert [rings.rx_data(i) for i in range(len(frames))] == frames
            await regs.write(reg.RCTL, 0)
        return results

    both, tcp_only, off = nic_run(tb, backend=COMPILED)
    DD, EOP, IPCS, TCPCS, IXSM = (RXD_STA.DD, RXD_STA.EOP, RXD_STA.IPCS, RXD_STA.TCPCS,
                                  RXD_STA.IXSM)
    IPE, TCPE = RXD_ERR.IPE, RXD_ERR.TCPE
    assert both == [(DD | EOP | IPCS | TCPCS, 0), (DD | EOP | IPCS | TCPCS, 0),
                    (DD | EOP | IPCS | TCPCS, IPE), (DD | EOP | IPCS | TCPCS, TCPE),
                    (DD | EOP | IPCS, 0)]
    assert tcp_only == [(DD | EOP | TCPCS, 0), (DD | EOP | TCPCS, 0), (DD | EOP | TCPCS, 0),
                        (DD | EOP | TCPCS, TCPE), (DD | EOP, 0)]
    assert off == [(DD | EOP | IXSM, 0)] * 5
