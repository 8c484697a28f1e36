"""Transmit: frames on the wire byte for byte, the gap in cycles, descriptors, rings, interrupts."""

import zlib

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from hw.desc import TXD_CMD, TXD_STA
from hw.regmap import reg
from sim import regvalues

from harness import COMPILED, TX_BUFFERS, nic_run

EOP, IFCS, RS, IDE = TXD_CMD.EOP, TXD_CMD.IFCS, TXD_CMD.RS, TXD_CMD.IDE
GUEST, GATEWAY = "52:54:00:12:34:56", "52:55:0a:00:02:02"


def frames():
    arp = bytes(Ether(src=GUEST, dst="ff:ff:ff:ff:ff:ff") / ARP(
        hwsrc=GUEST, psrc="10.0.2.15", pdst="10.0.2.2"))
    ping = bytes(Ether(src=GUEST, dst=GATEWAY) / IP(src="10.0.2.15", dst="10.0.2.2", ttl=64)
                 / ICMP(id=7, seq=1) / bytes(range(56)))
    big = bytes(Ether(src=GUEST, dst=GATEWAY) / IP(src="10.0.2.15", dst="10.0.2.2")
                / bytes((i * 7) & 0xFF for i in range(1500 - 20)))
    return arp, ping, big


def expected_wire(frame, *, pad=True, fcs=True):
    if pad and len(frame) < 60:
        frame = frame + bytes(60 - len(frame))
    return b"\x55" * 7 + b"\xd5" + frame + (zlib.crc32(frame).to_bytes(4, "little") if fcs else b"")


def test_frames_on_the_wire_are_byte_exact():
    arp, ping, big = frames()
    assert len(arp) == 42 and len(ping) == 98 and len(big) == 1514

    async def tb(backend, regs, rings):
        await rings.tx_setup()
        for i, (frame, offset) in enumerate(((arp, 0), (ping, 3), (big, 5))):
            addr = TX_BUFFERS + i * 2048 + offset          # any alignment
            backend.mem_write(addr, frame)
            rings.tx_desc(i, addr, len(frame), EOP | IFCS | RS)
        await regs.write(reg.TDT, 3)
        await rings.settle(3000)
        return ([f.raw for _, _, f in backend.wire_log],
                [rings.tx_status(i).sta for i in range(3)],
                await regs.read(reg.TDH), await regs.read(reg.ICR),
                {r.name: await regs.read(r) for r in (reg.GPTC, reg.TPT, reg.GOTCL, reg.TOTL,
                                                      reg.PTC64, reg.PTC127, reg.PTC1522,
                                                      reg.BPTC, reg.MPTC)})

    wire, status, tdh, icr, counters = nic_run(tb)
    assert wire == [expected_wire(arp), expected_wire(ping), expected_wire(big)]
    assert status == [TXD_STA.DD] * 3 and tdh == 3
    assert icr == reg.ICR.TXDW.mask | reg.ICR.TXQE.mask
    assert counters == {"GPTC": 3, "TPT": 3, "GOTCL": 64 + 102 + 1518, "TOTL": 64 + 102 + 1518,
                        "PTC64": 1, "PTC127": 1, "PTC1522": 1, "BPTC": 1, "MPTC": 0}


def test_no_fcs_and_no_padding_when_not_asked_for():
    arp, ping, _ = frames()

    async def tb(backend, regs, rings):
        await rings.tx_setup(tctl=reg.TCTL.EN.mask)      # no PSP
        backend.mem_write(TX_BUFFERS, arp)
        backend.mem_write(TX_BUFFERS + 2048, ping)
        rings.tx_desc(0, TX_BUFFERS, len(arp), EOP | IFCS)
        rings.tx_desc(1, TX_BUFFERS + 2048, len(ping), EOP)
        await regs.write(reg.TDT, 2)
        await rings.settle()
        return [f.raw for _, _, f in backend.wire_log], rings.tx_status(0).sta

    wire, sta = nic_run(tb)
    assert wire == [expected_wire(arp, pad=False), expected_wire(ping, fcs=False)]
    assert sta == 0                     # no RS: no write-back


def test_gap_between_back_to_back_frames():
    _, ping, _ = frames()

    def gaps(ipgt):
        async def tb(backend, regs, rings):
            await rings.tx_setup(tipg=ipgt)
            backend.mem_write(TX_BUFFERS, ping)
            for i in range(4):
                rings.tx_desc(i, TX_BUFFERS, len(ping), EOP | IFCS)
            await regs.write(reg.TDT, 4)
            await rings.settle(2000)
            spans = [(start, f.end) for _, start, f in backend.wire_log]
            return [b[0] - a[1] - 1 for a, b in zip(spans, spans[1:])]
        return nic_run(tb)

    # Idle cycles between the last FCS byte and the next preamble: TIPG.IPGT, at least 12.
    assert gaps(8) == [12, 12, 12]
    assert gaps(20) == [20, 20, 20]


def test_frame_across_descriptors_with_empty_ones():
    _, ping, _ = frames()
    parts = [ping[:13], ping[13:14], ping[14:60], ping[60:]]

    async def tb(backend, regs, rings):
        await rings.tx_setup()
        layout = [(parts[0], 1, 0), (parts[1], 7, RS), (b"", 0, RS), (parts[2], 2, 0),
                  (parts[3], 4, IFCS), (b"", 0, EOP | IFCS | RS)]
        for i, (part, offset, cmd) in enumerate(layout):
            addr = TX_BUFFERS + i * 256 + offset
            backend.mem_write(addr, part)
            rings.tx_desc(i, addr, len(part), cmd | IFCS)
        await regs.write(reg.TDT, len(layout))
        await rings.settle()
        return ([f.raw for _, _, f in backend.wire_log],
                [rings.tx_status(i).sta for i in range(len(layout))], await regs.read(reg.TDH))

    wire, status, tdh = nic_run(tb)
    assert wire == [expected_wire(ping)]
    assert status == [0, TXD_STA.DD, TXD_STA.DD, 0, 0, TXD_STA.DD]
    assert tdh == 6


def test_ring_wraps_and_interrupt_delay():
    _, ping, _ = frames()

    async def tb(backend, regs, rings):
        await rings.tx_setup(count=8)
        await regs.write(reg.IMS, reg.IMS.TXDW.mask)
        sent = 0
        tail = 0
        for batch in (5, 7, 6, 7):          # 25 frames through an 8-descriptor ring
            for _ in range(batch):
                frame = ping[:-1] + bytes([sent])
                addr = TX_BUFFERS + tail * 2048
                backend.mem_write(addr, frame)
                rings.tx_desc(tail, addr, len(frame), EOP | IFCS | RS)
                tail = (tail + 1) % 8
                sent += 1
            await regs.write(reg.TDT, tail)
            while await regs.read(reg.TDH) != tail:
                await backend.cycles(100)
        wire = [f.raw for _, _, f in backend.wire_log]
        # With IDE, TXDW waits for TIDV (4 x 1.024 us) after the write-back.
        await regs.read(reg.ICR)
        await regs.write(reg.TIDV, 4)
        rings.tx_desc(tail, TX_BUFFERS, len(ping), EOP | IFCS | RS | IDE)
        await regs.write(reg.TDT, (tail + 1) % 8)
        while rings.tx_status(tail).sta != TXD_STA.DD:
            await backend.cycles(8)
        written = backend.now
        while not backend.irq:
            await backend.cycles(8)
        return wire, backend.now - written

    wire, delay = nic_run(tb, backend=COMPILED)
    assert [w[-5] for w in wire] == list(range(25))      # every frame, in order
    assert 3 * 128 <= delay <= 4 * 128 + 16


def test_nonsense_rings_never_hang_or_fault():
    _, ping, _ = frames()

    async def tb(backend, regs, rings):
        await rings.tx_setup()
        # The ring is programmed with the engine off (written while it runs, TDLEN is ignored).
        await regs.write(reg.TCTL, 0)
        await regs.write(reg.TDLEN, 0)          # no ring at all
        await regs.write(reg.TDT, 5)
        await regs.write(reg.TCTL, regvalues.TCTL)
        await rings.settle(500)
        await regs.write(reg.TCTL, 0)
        await regs.write(reg.TDT, 200)          # a tail beyond the ring
        await regs.write(reg.TDLEN, 128)
        await regs.write(reg.TCTL, regvalues.TCTL)
        await rings.settle(500)
        quiet = (len(backend.wire_log), await regs.read(reg.TDH))
        # Put it right: the engine works.
        await regs.write(reg.TCTL, 0)
        await regs.write(reg.TDT, 0)
        await regs.write(reg.TDH, 0)
        backend.mem_write(TX_BUFFERS, ping)
        rings.tx_desc(0, TX_BUFFERS, len(ping), EOP | IFCS | RS)
        await regs.write(reg.TCTL, regvalues.TCTL)
        await regs.write(reg.TDT, 1)
        await rings.settle()
        return quiet, len(backend.wire_log), await regs.read(reg.TDH)

    quiet, frames_sent, tdh = nic_run(tb)
    assert quiet == (0, 0)
    assert (frames_sent, tdh) == (1, 1)


def test_jumbo_frames_and_long_descriptor_chains_go_out_whole():
    # Frames larger than the word queue (512 words, 4 KiB) or spread over more descriptors
    # than the done queue holds (33) used to stall the transmitter for good: the MAC waited for
    # the whole frame and the fetcher for room the MAC would free. 16,128 bytes is the largest
    # frame the Linux driver sends; it splits buffers at 4 KiB.
    _, ping, _ = frames()
    jumbo = bytes(Ether(src=GUEST, dst=GATEWAY) / IP(src="10.0.2.15", dst="10.0.2.2")
                  / bytes((i * 13) & 0xFF for i in range(16128 - 34)))
    chained = bytes((i * 5) & 0xFF for i in range(2000))
    plan = [(jumbo, 4096), (chained, 50), (ping, len(ping))]     # (frame, bytes a descriptor)

    async def tb(backend, regs, rings):
        await rings.tx_setup(count=64)
        i, at = 0, TX_BUFFERS
        for frame, step in plan:
            backend.mem_write(at, frame)
            pieces = [frame[k:k + step] for k in range(0, len(frame), step)]
            for k, piece in enumerate(pieces):
                rings.tx_desc(i, at + k * step, len(piece),
                              IFCS | RS | (EOP if k == len(pieces) - 1 else 0))
                i += 1
            at += (len(frame) + 63) // 64 * 64
        await regs.write(reg.TDT, i)
        await rings.settle(16128 + 2000 + 6000)
        return [w.raw for _, _, w in backend.wire_log], await regs.read(reg.TDH), i

    sent, tdh, used = nic_run(tb, backend=COMPILED)
    assert sent == [expected_wire(frame) for frame, _ in plan]
    assert tdh == used == 4 + 40 + 1


def test_a_chain_without_eop_costs_one_bad_frame_and_the_ring_goes_on():
    # Twenty 4 KiB descriptors and no EOP until the twenty-first: the frame is cut where it
    # would pass 16 KiB and ended with an error (TX_ER and a wrong FCS), the rest of the chain is
    # retired unread. A single descriptor longer than any frame sends nothing. The ring goes on.
    _, ping, _ = frames()
    junk = bytes((i * 3) & 0xFF for i in range(4096))
    ping_at = TX_BUFFERS + 0x8000

    async def tb(backend, regs, rings):
        await rings.tx_setup(count=64)
        backend.mem_write(TX_BUFFERS, junk)
        backend.mem_write(ping_at, ping)
        for i in range(20):
            rings.tx_desc(i, TX_BUFFERS, len(junk), IFCS | RS)
        rings.tx_desc(20, TX_BUFFERS, 100, IFCS | RS | EOP)
        rings.tx_desc(21, TX_BUFFERS, 40000, IFCS | RS | EOP)
        rings.tx_desc(22, ping_at, len(ping), IFCS | RS | EOP)
        await regs.write(reg.TDT, 23)
        await rings.settle(16384 + 8000)
        wire = [(w.error, w.raw) for _, _, w in backend.wire_log]
        done = [rings.tx_status(i).sta & TXD_STA.DD for i in range(23)]
        counts = {r.name: await regs.read(r) for r in (reg.TPT, reg.GPTC, reg.TDH)}
        return wire, done, counts

    wire, done, counts = nic_run(tb, backend=COMPILED)
    assert len(wire) == 2
    (error, cut), (ping_error, sent) = wire
    assert error and len(cut) == 8 + 4 * len(junk) + 4
    assert cut[8:-4] == junk * 4
    assert cut[-4:] != zlib.crc32(junk * 4).to_bytes(4, "little")
    assert (ping_error, sent) == (False, expected_wire(ping))
    assert all(done)
    assert counts == {"TPT": 2, "GPTC": 1, "TDH": 23}
