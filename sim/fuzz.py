"""The fault campaign: the device under hostile traffic, hostile rings and injected faults.

    python -m sim.fuzz [--seed N] [--rounds N] [--json build/fuzz.json] [--backend cxxrtl]

One simulated machine (compiled backend by default) lives through the whole campaign, a
sequence of rounds drawn from the seed; round ``i`` depends only on the seed and on ``i``, so a
failure is reproduced by running the same seed up to that round. Each round is one of:

``rx``
    Register level, from CTRL.RST: a receive ring of random size and buffer size (BSIZE and
    BSEX), random RCTL (LPE, SECRC, SBP, UPE, MPE, BAM, MO), a random multicast table and a
    second receive address; then a burst of frames of every kind (for us, broadcast, multicast
    in and out of the table, other unicast, bad FCS, runts, fragments, giants with and without
    LPE up to 16,128 bytes and beyond, garbage, RX_ER) at random gaps down to the minimum,
    while software hands buffers back at a random, sometimes slow, pace. Every frame must be
    delivered byte for byte with the right status, or counted in the counter SDM 13.7 names for
    it, or filtered; a frame the FIFO had no room for counts in MPC instead. Host memory is
    compared before and after: nothing outside the ring and the posted buffers may change.
``tx``
    Register level, from CTRL.RST: a transmit ring of random size fed with frames in 1 to 4
    descriptors at any alignment, with empty descriptors, jumbo frames, and the hostile cases of
    QEMU's e1000 advisories: zero-length descriptors, chains with no EOP (CVE-2015-6815,
    CVE-2016-1981), single descriptors longer than any frame (CVE-2012-6075), buffers outside
    host memory; frames with checksums to insert, and frames to segment (TSE, with random
    header lengths, offsets and MSS), frames with VLE and a tag in some of their descriptors
    (inserted, with CTRL.VME in half the rounds, from the last); and, now and then, a ring
    outside host memory or of length 0 (CVE-2021-20257).
    The wire must carry exactly the frames the descriptors describe (byte for byte, a chain cut at
    16 KiB ended with an error), every descriptor must come back with DD, and TDH reach TDT.
``fault``
    Through the driver: bring the interface up, start a transmit, a reception or both, and
    after a random number of cycles inject CTRL.RST, a cable pull, bus mastering switched off,
    or a burst of random register writes. Then ``rmmod e1000``, ``insmod e1000``, bring the
    interface up again and ping the gateway: it must answer.

The campaign stops at the first failure and prints its seed and round; it exits with status 1.
"""

import argparse
import json
import random
import sys
import time
import zlib
from dataclasses import dataclass, field

from amaranth.lib import data

from driver.netdev import SkBuff
from hw.bus import Space
from hw.core import DEFAULT_MAC
from hw.desc import (RXD_ERR, RXD_STA, TXD_CMD, TXD_DCMD, TXD_DTYP, TXD_POPTS, TXD_TUCMD,
                     RxDescriptor, TxContextDescriptor, TxDataDescriptor, TxDescriptor)
from hw.regmap import REGISTERS, RX_BUFFER_SIZES, STATS, reg
from hw.rxmac import MAX_FRAME, MAX_LONG_FRAME, MIN_FRAME
from hw.txdma import MAX_FRAME_DATA

from .ethernet import PREAMBLE, vlan_tag
from .machine import Machine
from .outputs import OutputError, prepare
from .rings import Registers, Rings


__all__ = ["Campaign", "FuzzFailure", "main"]

REGION = 608 * 1024             # host memory the register-level rounds use
RESET_CYCLES = 3000             # after CTRL.RST, before the first access of a round
HANG_CYCLES = 400_000           # no progress for this long is a hang
UP = ["insmod e1000", "ip link set eth0 up", "ip addr add 10.0.2.15/24 dev eth0"]
_RX = data.Layout.cast(RxDescriptor)
_TX = data.Layout.cast(TxDescriptor)
_BUFFER_SIZES = [(bsex, bsize, size)      # all but the reserved code
                 for (bsex, bsize), size in RX_BUFFER_SIZES.items() if (bsex, bsize) != (1, 0)]
_MTA_SHIFT = (4, 3, 2, 0)


class FuzzFailure(Exception):
    """The device broke a rule; the message says which."""


def _fcs(frame):
    return zlib.crc32(frame).to_bytes(4, "little")


@dataclass
class Totals:
    rounds: dict = field(default_factory=lambda: {"rx": 0, "tx": 0, "fault": 0})
    rx_frames: int = 0          # frames the partner sent
    rx_delivered: int = 0
    rx_missed: int = 0          # counted in MPC
    tx_frames: int = 0          # frames put in transmit descriptors
    tx_descriptors: int = 0
    resets: int = 0             # CTRL.RST, by the campaign or injected
    faults: dict = field(default_factory=dict)
    dma_faults: int = 0         # DMA outside host memory that a round provoked on purpose
    tso_frames: int = 0         # frames sent to be segmented (their segments are in tx_frames)
    tx_tagged: int = 0          # frames sent with an 802.1Q tag the device inserted
    cycles: int = 0


@dataclass
class _Offload:
    work: dict                  # for ``inserted``
    describe: object            # describe(k, addr, length, cmd): the descriptor of piece k


class Nic(Registers):
    """Register access for the register-level rounds, with the reset they start from."""

    async def reset(self):
        """Bus mastering on (``rmmod`` turns it off) and CTRL.RST, then wait for the link;
        every counter reads zero afterwards."""
        self.backend.set_bus_master(1)
        await self.write(reg.CTRL, reg.CTRL.RST.mask | reg.CTRL.SLU.mask)
        await self.backend.cycles(RESET_CYCLES)
        await self.write(reg.CTRL, reg.CTRL.SLU.mask | reg.CTRL.FD.mask)
        await self.write(reg.IMC, 0xFFFFFFFF)
        for _ in range(100):
            if await self.read(reg.STATUS) & reg.STATUS.LU.mask:
                break
            await self.backend.cycles(1000)
        else:
            raise FuzzFailure("the link did not come up after CTRL.RST")
        await self.read(reg.ICR)

    async def counters(self, *names):
        values = {}
        for name in names:
            r = getattr(reg, name, None) or getattr(reg, name + "L")
            values[name] = await self.read(r)
        return values


# Receive: what the device must do with each frame (SDM 13.7 and hw/rxmac.py's precedence).

def _fold(total):
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _sum16(data):
    """The 16-bit big-endian words of ``data`` (an odd last byte padded), added up."""
    data = bytes(data) + b"\0" * (len(data) & 1)
    return sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))


def checksum_verdict(frame):
    """(ipv4, ip_ok, l4, l4_ok) of a frame (its FCS included) under SDM 3.2.9's receive
    checksum offload, worked out independently of hw/rxcsum.py."""
    kind = frame[12:14]
    start = 14
    if kind == b"\x81\x00":
        kind, start = frame[16:18], 18
    datagram = frame[start:]                # the FCS comes with it
    if kind != b"\x08\x00" or not datagram or datagram[0] >> 4 != 4 or datagram[0] & 15 < 5:
        return (0, 0, 0, 0)
    header = (datagram[0] & 15) * 4
    if len(datagram) < header:
        return (0, 0, 0, 0)
    ip_ok = _fold(_sum16(datagram[:header])) == 0xFFFF
    total = int.from_bytes(datagram[2:4], "big")
    fragment = bool(datagram[6] & 0x3F or datagram[7])
    proto = datagram[9]
    udp_zero = datagram[header + 6:header + 8] in (b"", b"\0", b"\0\0")
    whole = len(datagram) >= total + 4 and total >= header
    checked = whole and not fragment and (
        (proto == 6 and total >= header + 20)
        or (proto == 17 and total >= header + 8 and not udp_zero))
    if not checked:
        return (1, int(ip_ok), 0, 0)
    pseudo = _sum16(datagram[12:20]) + proto + (total - header)
    return (1, int(ip_ok), 1, int(_fold(pseudo + _sum16(datagram[header:total])) == 0xFFFF))


def inserted(frame, *, ip=False, ipcss=0, ipcso=0, ipcse=0, tu=False, tucss=0, tucso=0, tucse=0,
             udp=False, tu_add=0):
    """``frame`` with the checksums a transmit offload asks for put in (SDM 3.3.3, 3.3.5-3.3.7),
    worked out independently of hw/txcsum.py: each the complement of the ones'-complement sum
    from its start to its end (inclusive; 0: the frame's end) over the frame as handed over,
    stored big-endian at its offset; left out when its start or either of its bytes is outside
    the frame. The TCP/UDP one goes in last, over the IP one where they meet; ``tu_add`` is
    added to its sum (a segment's TCP length)."""
    out = bytearray(frame)
    for wanted, css, cso, cse, nozero, add in ((ip, ipcss, ipcso, ipcse, False, 0),
                                               (tu, tucss, tucso, tucse, udp, tu_add)):
        if not wanted or css >= len(frame) or cso + 1 >= len(frame):
            continue
        end = len(frame) if cse == 0 else min(cse + 1, len(frame))
        covered = frame[css:end] if css < end else b""
        value = ~_fold(_sum16(covered) + add) & 0xFFFF     # its first byte is a high byte
        if nozero and value == 0:
            value = 0xFFFF
        out[cso:cso + 2] = value.to_bytes(2, "big")
    return bytes(out)


def segmented(frame, *, hdrlen, mss, ipcss, tucss, ipv4, tcp, work):
    """The segments a frame sent with TSE becomes (SDM 3.5), worked out independently of
    hw/txtso.py: the first ``hdrlen`` bytes copied in front of each ``mss`` bytes of the rest,
    with the IPv4 total length and identification (``ipv4``) and the TCP sequence number and
    flags (``tcp``) made each segment's, then its checksums put in, the TCP length added to the
    TCP/UDP sum."""
    head, payload = frame[:hdrlen], frame[hdrlen:]
    ip_id = int.from_bytes(head[ipcss + 4:ipcss + 6], "big") if ipv4 else 0
    seq = int.from_bytes(head[tucss + 4:tucss + 8], "big") if tcp else 0
    out = []
    for k, at in enumerate(range(0, len(payload), mss)):
        piece = payload[at:at + mss]
        h = bytearray(head)

        def put(offset, value, size):
            for i in range(size):       # only where the header has the byte
                if offset + i < hdrlen:
                    h[offset + i] = (value >> (8 * (size - 1 - i))) & 0xFF
        # Where fields meet, the IPv4 length comes first, then the identification, the
        # sequence number and the flags: applied in the reverse order.
        if tcp and at + mss < len(payload) and tucss + 13 < hdrlen:
            h[tucss + 13] &= ~0x09
        if tcp:
            put(tucss + 4, (seq + at) & 0xFFFFFFFF, 4)
        if ipv4:
            put(ipcss + 4, (ip_id + k) & 0xFFFF, 2)
            put(ipcss + 2, hdrlen - ipcss + len(piece), 2)
        tcp_len = (hdrlen - tucss + len(piece)) & 0xFFFF
        out.append(inserted(bytes(h) + piece, **work, tu_add=tcp_len))
    return out


def ipv4_frame(rng, dest):
    """A random IPv4 TCP or UDP frame with right checksums (maybe an 802.1Q tag, IP options)."""
    options = bytes(rng.choice((0, 4, 8)))
    proto = rng.choice((6, 17))
    payload = rng.randbytes(rng.randrange(0, 1400))
    src, dst = rng.randbytes(4), rng.randbytes(4)
    if proto == 6:
        l4 = (rng.randbytes(4) + rng.randbytes(8) + bytes([0x50, 0x18]) + rng.randbytes(2)
              + b"\0\0" + b"\0\0" + payload)
        at = 16
    else:
        l4 = rng.randbytes(4) + (8 + len(payload)).to_bytes(2, "big") + b"\0\0" + payload
        at = 6
    total = 20 + len(options) + len(l4)
    ip = (bytes([0x45 + len(options) // 4, 0]) + total.to_bytes(2, "big") + rng.randbytes(2)
          + b"\x40\x00" + bytes([64, proto]) + b"\0\0" + src + dst + options)
    ip = ip[:10] + (~_fold(_sum16(ip)) & 0xFFFF).to_bytes(2, "big") + ip[12:]
    pseudo = _sum16(src + dst) + proto + len(l4)
    check = ~_fold(pseudo + _sum16(l4)) & 0xFFFF
    if proto == 17 and check == 0:
        check = 0xFFFF
    l4 = l4[:at] + check.to_bytes(2, "big") + l4[at + 2:]
    tag = bytes.fromhex("8100") + rng.randbytes(2) if rng.random() < 0.2 else b""
    return dest + bytes.fromhex("52550a000202") + tag + b"\x08\x00" + ip + l4

@dataclass
class RxSetup:
    rctl: int
    buffer: int
    lpe: bool
    secrc: bool
    sbp: bool
    mta: set            # 12-bit hashes set in the multicast table
    ra1: bytes
    rxcsum: int = 0

    def hash(self, dest):
        shift = _MTA_SHIFT[reg.RCTL.MO.get(self.rctl)]
        return ((dest[4] | dest[5] << 8) >> shift) & 0xFFF

    def passes(self, dest):
        bit = lambda name: bool(self.rctl & getattr(reg.RCTL, name).mask)     # noqa: E731
        broadcast = dest == b"\xff" * 6
        multicast = bool(dest[0] & 1)
        return (dest in (DEFAULT_MAC, self.ra1) or (broadcast and bit("BAM"))
                or (multicast and bit("MPE")) or (not multicast and bit("UPE"))
                or (multicast and not broadcast and self.hash(dest) in self.mta))

    def verdict(self, body, rx_er, hurried):
        """The frame's ``Expected`` fate."""
        n = len(body)
        crc_ok = n >= 4 and _fcs(body[:-4]) == body[-4:]
        passed = n >= 6 and self.passes(body[:6])
        runt, too_long = n < MIN_FRAME, n > (MAX_LONG_FRAME if self.lpe else MAX_FRAME)
        if rx_er:
            counter = "RXERRC"
        elif not crc_ok and runt:
            counter = "RFC"
        elif not crc_ok and too_long:
            counter = "RJC"
        elif not passed:
            counter = "FILTERED"
        elif not crc_ok:
            counter = "CRCERRS"
        elif runt:
            counter = "RUC"
        elif too_long:
            counter = "ROC"
        else:
            counter = "GPRC"
        keep = counter == "GPRC" or (self.sbp and passed)
        # A frame so short that the next one may start before the filter has looked at it is
        # taken as not for us when it does (hw/rxmac.py): counted as filtered instead of in a
        # counter that needs the filter, and not kept.
        hurried = hurried and counter in ("CRCERRS", "RUC", "ROC", "GPRC") or (hurried and keep)
        delivered = None
        if keep:
            ipofl = bool(self.rxcsum & reg.RXCSUM.IPOFL.mask)
            tuofl = bool(self.rxcsum & reg.RXCSUM.TUOFL.mask)
            ipv4, ip_ok, l4, l4_ok = checksum_verdict(body)
            status = ((RXD_STA.IXSM if not (ipofl or tuofl) else 0)
                      | (RXD_STA.IPCS if ipofl and ipv4 else 0)
                      | (RXD_STA.TCPCS if tuofl and l4 else 0))
            errors = ((RXD_ERR.CE if not crc_ok else 0) | (RXD_ERR.RXE if rx_er else 0)
                      | (RXD_ERR.IPE if ipofl and ipv4 and not ip_ok else 0)
                      | (RXD_ERR.TCPE if tuofl and l4 and not l4_ok else 0))
            delivered = (body[:-4] if self.secrc and n >= 4 else body, status, errors)
        return Expected(counter, hurried and counter != "RXERRC" and counter != "RFC"
                        and counter != "RJC", delivered, hurried and keep)


@dataclass
class Expected:
    counter: str        # where SDM 13.7 counts the frame ("FILTERED": nowhere but TPR)
    or_filtered: bool   # ...or as filtered (a short frame, hurried)
    delivered: tuple    # (bytes, last descriptor's offload status bits, errors), else None
    optional: bool      # the delivery may not happen (hurried)


def _tally(expected):
    counts = {}
    for e in expected:
        key = e.counter + ("?" if e.or_filtered else "")
        counts[key] = counts.get(key, 0) + 1
    return counts


class Campaign:
    """Parameters
    ----------
    seed : int
    rounds : int
    backend : str
    progress : callable, optional
        ``progress(done, total, totals)`` after each round.
    """

    def __init__(self, *, seed, rounds, kinds=("rx", "tx", "fault"), backend="cxxrtl",
                 progress=None):
        self.seed = seed
        self.rounds = rounds
        self.kinds = kinds
        self.progress = progress
        self.totals = Totals()
        self.console = []
        self.machine = Machine(backend=backend, console=self.console.append, log=lambda _: None)
        self.failure = None         # (round, kind, message)

    def run(self):
        started = time.monotonic()
        self.machine.run(self._campaign)
        self.wall_s = time.monotonic() - started
        return self.failure is None

    def report(self):
        t = self.totals
        return {
            "seed": self.seed, "rounds": self.rounds, "rounds_by_kind": t.rounds,
            "rx_frames": t.rx_frames, "rx_delivered": t.rx_delivered, "rx_missed": t.rx_missed,
            "tx_frames": t.tx_frames, "tx_descriptors": t.tx_descriptors,
            "tx_segmented": t.tso_frames, "tx_tagged": t.tx_tagged, "resets": t.resets,
            "faults_injected": t.faults, "dma_faults_provoked": t.dma_faults,
            "cycles": t.cycles, "wall_s": round(getattr(self, "wall_s", 0.0), 1),
            "failures": 0 if self.failure is None else 1,
            "failure": None if self.failure is None else {
                "round": self.failure[0], "kind": self.failure[1], "message": self.failure[2]},
        }

    async def _campaign(self, world):
        self.world = world
        self.backend = world.backend
        self.nic = Nic(world.backend)
        self.region = world.host.dma_alloc(REGION, 4096)
        world.backend.set_bus_master(1)
        for i in range(self.rounds):
            rng = random.Random(f"{self.seed}:{i}")
            kind = rng.choices(("rx", "tx", "fault"), weights=(4, 3, 3))[0]
            if kind not in self.kinds:
                kind = self.kinds[i % len(self.kinds)]
            try:
                await getattr(self, f"_{kind}_round")(rng)
            except FuzzFailure as e:
                self.failure = (i, kind, str(e))
                return
            self.totals.rounds[kind] += 1
            self.totals.cycles = world.backend.now
            if self.progress:
                self.progress(i + 1, self.rounds, self.totals)

    async def _until(self, check, what):
        """Wait, in steps, until ``await check()`` returns (True, _); the second item marks
        progress, and a long wait without any is a hang."""
        last, marker = self.backend.now, None
        while True:
            done, now_marker = await check()
            if done:
                return
            if now_marker != marker:
                last, marker = self.backend.now, now_marker
            await self.backend.cycles(256)
            if self.backend.now - last > HANG_CYCLES:
                raise FuzzFailure(f"hang: {what}")

    def _check_memory(self, before, allowed):
        """Fail on a byte of the region that changed outside the ``allowed`` (start, end)
        ranges, all inside the region."""
        after = self.backend.mem_read(self.region, REGION)
        at = self.region
        for lo, hi in sorted(allowed) + [(self.region + REGION, self.region + REGION)]:
            if lo > at:
                a, b = at - self.region, lo - self.region
                if before[a:b] != after[a:b]:
                    stray = next(k for k in range(a, b) if before[k] != after[k])
                    raise FuzzFailure(f"stray DMA write at {self.region + stray:#x}, outside the "
                                      f"ring and the posted buffers")
            at = max(at, hi)

    # Receive.

    async def _rx_round(self, rng):
        nic, backend = self.nic, self.backend
        await nic.reset()
        self.totals.resets += 1
        bsex, bsize, size = rng.choice(_BUFFER_SIZES)
        count = min(rng.choice((8, 16, 32, 64)), (REGION - 4096) // (size + 16))
        count -= count % 8
        rctl = (reg.RCTL.EN.mask | reg.RCTL.BSIZE.put(bsize) | reg.RCTL.BSEX.put(bsex)
                | reg.RCTL.MO.put(rng.randrange(4)) | reg.RCTL.RDMTS.put(rng.randrange(3)))
        flags = {"LPE": 0.3, "SECRC": 0.5, "SBP": 0.1, "UPE": 0.1, "MPE": 0.1, "BAM": 0.7}
        for name, chance in flags.items():
            if rng.random() < chance:
                rctl |= getattr(reg.RCTL, name).mask
        setup = RxSetup(rctl=rctl, buffer=size, lpe=bool(rctl & reg.RCTL.LPE.mask),
                        secrc=bool(rctl & reg.RCTL.SECRC.mask),
                        sbp=bool(rctl & reg.RCTL.SBP.mask), mta=set(),
                        ra1=bytes([rng.randrange(256) & 0xFE] + [rng.randrange(256)
                                                                 for _ in range(5)]))
        for _ in range(rng.randrange(6)):
            setup.mta.add(rng.randrange(4096))
        for row in range(128):
            bits = sum(1 << (h & 31) for h in setup.mta if h >> 5 == row)
            if bits:
                await nic.write(reg.MTA, bits, n=row)
        await nic.write(reg.RAL, int.from_bytes(setup.ra1[:4], "little"), n=1)
        await nic.write(reg.RAH, int.from_bytes(setup.ra1[4:], "little") | reg.RAH.AV.mask, n=1)
        setup.rxcsum = rng.choice((0, reg.RXCSUM.TUOFL.mask, reg.RXCSUM.IPOFL.mask,
                                   reg.RXCSUM.IPOFL.mask | reg.RXCSUM.TUOFL.mask))
        await nic.write(reg.RXCSUM, setup.rxcsum)

        # The ring, then the buffers, each at a random byte offset in its slot.
        ring = self.region
        slot = size + 16
        addrs = [ring + 4096 + i * slot + rng.randrange(8) for i in range(count)]
        guard = bytes([rng.randrange(256)]) * (count * slot)
        backend.mem_write(ring + 4096, guard)
        before = backend.mem_read(self.region, REGION)
        rings = Rings(backend, nic, rx_ring=ring)
        give = rng.randrange(count)             # buffers posted at first: maybe none
        # The writes have landed when it returns: frames may come.
        await rings.rx_setup(count, rctl=rctl, buffer=size, give=give, addrs=addrs)

        frames = [self._rx_frame(rng, setup) for _ in range(rng.randrange(10, 80))]
        # Gaps: the minimum, a little more, or an idle stretch.
        expected = []
        sent = 0
        head = 0                  # the next descriptor software looks at
        tail = give
        pace = rng.choice((1, 4, 16, 64))       # descriptors handed back per check
        # Now and then software stops handing buffers back for a while: frames wait, the FIFO
        # fills, and some find no room.
        stall_until = backend.now + rng.choice((0, 0, 0, 30000, 150000))
        parts, delivered = [], []

        async def receive():
            nonlocal head, tail
            progressed = False
            while head != tail:
                status = rings.rx_status(head)
                if not status.status & RXD_STA.DD:
                    break
                n = status.length
                got = backend.mem_read(addrs[head], n)
                after = backend.mem_read(addrs[head] + n, min(16, size - n))
                if after != guard[:len(after)]:
                    raise FuzzFailure(f"descriptor {head}: bytes written past its length {n}")
                parts.append(got)
                if status.status & RXD_STA.EOP:
                    offload = status.status & (RXD_STA.IXSM | RXD_STA.IPCS | RXD_STA.TCPCS)
                    delivered.append((b"".join(parts), offload, status.errors))
                    parts.clear()
                backend.mem_write(addrs[head], guard[:size])
                rings.rx_reset(head)
                head = (head + 1) % count
                progressed = True
            # Hand back up to ``pace`` descriptors, keeping one slot empty.
            for _ in range(pace if backend.now >= stall_until else 0):
                if (tail + 1) % count == head:
                    break
                tail = (tail + 1) % count
            await nic.write(reg.RDT, tail)
            return progressed

        last, marker = backend.now, None
        while True:
            while sent < len(frames) and backend.send_room > len(frames[sent][0]) + 64 \
                    and backend.frames_queued < 64:
                body, rx_er, gap = frames[sent]
                expected.append(setup.verdict(body, rx_er, len(body) < 24))
                backend.send(PREAMBLE + body, rx_er=rx_er, not_before=backend.now + gap)
                sent += 1
            await backend.cycles(rng.choice((64, 256, 1024)))
            now_marker = (sent, backend.frames_queued)
            if await receive() or now_marker != marker:
                last, marker = backend.now, now_marker
            idle = sent == len(frames) and backend.frames_queued == 0
            last = max(last, stall_until)       # a stall is no hang
            if idle and backend.now - last > 20000:
                break
            if backend.now - last > HANG_CYCLES:
                raise FuzzFailure(f"hang: no frame delivered for {HANG_CYCLES} cycles")
        if parts:
            raise FuzzFailure(f"a frame left without EOP after {len(parts)} buffers")
        self._check_memory(before, [(ring, ring + 16 * count)]
                           + [(a, a + size) for a in addrs])
        names = ("RXERRC", "RFC", "RJC", "CRCERRS", "RUC", "ROC", "GPRC", "MPC", "TPR")
        counts = await nic.counters(*names)
        self._account(expected, delivered, counts)
        self.totals.rx_frames += len(frames)
        self.totals.rx_delivered += len(delivered)
        self.totals.rx_missed += counts["MPC"]

    def _rx_frame(self, rng, setup):
        """(bytes after the start delimiter, RX_ER, gap in cycles) of a random frame."""
        kind = rng.choices(
            ("ours", "broadcast", "mcast", "other", "ra1", "bad_fcs", "runt", "fragment",
             "giant", "jabber", "garbage", "rx_er", "jumbo", "ipv4", "ipv4_bad"),
            weights=(30, 6, 6, 6, 4, 5, 4, 6, 3, 2, 4, 3, 3 if setup.lpe else 1, 12, 6))[0]
        dest = DEFAULT_MAC
        if kind == "broadcast":
            dest = b"\xff" * 6
        elif kind == "mcast":
            dest = bytes([0x01, 0x00, 0x5E] + [rng.randrange(256) for _ in range(3)])
        elif kind == "other":
            dest = bytes([0x52, 0x54] + [rng.randrange(256) for _ in range(4)])
        elif kind == "ra1":
            dest = setup.ra1
        length = rng.randrange(60, 1515)
        if kind == "runt":
            length = rng.randrange(14, 60)
        elif kind in ("giant", "jabber"):
            length = rng.randrange(1519, 2100) if not setup.lpe or rng.random() < 0.3 \
                else rng.randrange(MAX_LONG_FRAME - 3, MAX_LONG_FRAME + 200)
        elif kind == "jumbo":
            length = rng.randrange(1515, 16125)
        head = dest + bytes.fromhex("52550a000202") + b"\x88\xb5"
        body = head + rng.randbytes(max(0, length - len(head)))
        body = body[:length] + _fcs(body[:length])
        if kind in ("bad_fcs", "jabber"):
            body = body[:-4] + bytes(b ^ 0x5A for b in body[-4:])
        elif kind == "fragment":
            body = body[:rng.randrange(1, 64)]
        elif kind == "garbage":
            body = rng.randbytes(rng.randrange(1, 200))
        elif kind.startswith("ipv4"):
            frame = ipv4_frame(rng, dest)
            if kind == "ipv4_bad":          # one bit wrong, in a header or the payload
                at = rng.randrange(14, len(frame))
                frame = frame[:at] + bytes([frame[at] ^ (1 << rng.randrange(8))]) + frame[at + 1:]
            frame += bytes(max(0, 60 - len(frame)))
            body = frame + _fcs(frame)
        gap = rng.choice((0, 0, 0, 1, 7, 40, 300))
        return body, kind == "rx_er", gap

    def _account(self, expected, delivered, counts):
        """Every frame delivered byte for byte, or counted where the SDM says, or filtered; a
        frame the FIFO had no room for is counted in MPC instead, whatever it was."""
        try:
            self._check_account(expected, delivered, counts)
        except FuzzFailure as e:
            raise FuzzFailure(f"{e} (counters {counts}; frames sent by where they count: "
                              f"{_tally(expected)}; {len(delivered)} delivered)") from None

    def _check_account(self, expected, delivered, counts):
        at, undelivered = 0, 0
        for e in expected:
            if e.delivered is None:
                continue
            if at < len(delivered) and delivered[at] == e.delivered:
                at += 1
            elif not e.optional:
                undelivered += 1
        if at != len(delivered):
            got, offload, errors = delivered[at]
            raise FuzzFailure(f"delivered frame {at} ({len(got)} bytes, status bits "
                              f"{offload:#x}, errors {errors:#x}) is not one that was sent with "
                              f"these, or came out of order")
        if counts["TPR"] != len(expected):
            raise FuzzFailure(f"TPR is {counts['TPR']}, {len(expected)} frames were sent")
        # Each counter holds its frames but for those missed, and for hurried ones counted as
        # filtered; filtered frames are what TPR has beyond the counters.
        named = ("RXERRC", "RFC", "RJC", "CRCERRS", "RUC", "ROC", "GPRC")
        filtered = counts["TPR"] - counts["MPC"] - sum(counts[n] for n in named)
        hurried_short = 0
        for name in named:
            own = [e for e in expected if e.counter == name]
            short = len(own) - counts[name]
            if short < 0:
                raise FuzzFailure(f"{name} is {counts[name]} for {len(own)} frames")
            hurried_short += min(short, sum(e.or_filtered for e in own))
        filtered_extra = filtered - sum(e.counter == "FILTERED" for e in expected)
        if filtered_extra > hurried_short:
            raise FuzzFailure(f"{filtered_extra} more frames filtered than expected")
        if counts["GPRC"] + undelivered < sum(e.counter == "GPRC" and not e.or_filtered
                                               for e in expected):
            raise FuzzFailure("good frames neither delivered nor missed")
        if undelivered > counts["MPC"]:
            raise FuzzFailure(f"{undelivered} frames not delivered, MPC is {counts['MPC']}")

    # Transmit.

    async def _tx_round(self, rng):
        nic, backend = self.nic, self.backend
        await nic.reset()
        self.totals.resets += 1
        count = rng.choice((8, 16, 64, 256))
        ring = self.region
        psp = rng.random() < 0.7
        tctl = (reg.TCTL.EN.mask | reg.TCTL.CT.put(0x10) | reg.TCTL.COLD.put(0x40)
                | (reg.TCTL.PSP.mask if psp else 0))
        if rng.random() < 0.1:
            await self._hostile_ring(rng, tctl)
            return
        await Rings(backend, nic, tx_ring=ring).tx_setup(count, tctl=tctl, flush=False)
        # VLAN insertion on in half the rounds; frames ask for tags in either.
        vme = rng.random() < 0.5
        if vme:
            await nic.write(reg.CTRL, await nic.read(reg.CTRL) | reg.CTRL.VME.mask)

        descs, wire = [], []          # (descriptor bytes, eop); expected (error, raw)

        def legacy(addr, length, cmd, **fields):
            d = TxDescriptor.const({"buffer_addr": addr, "length": length, "cmd": cmd, **fields})
            descs.append((d.as_bits().to_bytes(16, "little"), bool(cmd & TXD_CMD.EOP)))
        space = [ring + 4096, self.region + REGION]
        junk = ring + 4096
        backend.mem_write(junk, rng.randbytes(4096))
        space[0] += 4096
        outside = 0xC000_0000
        provoked = False
        for _ in range(rng.randrange(4, 40)):
            kind = rng.choices(("frame", "empty", "no_eop", "huge", "outside", "jumbo",
                                "offload", "tso"), weights=(20, 2, 2, 2, 1, 2, 10, 4))[0]
            if kind == "empty":
                legacy(junk, 0, TXD_CMD.EOP | TXD_CMD.RS)
            elif kind == "huge":
                legacy(junk, rng.randrange(MAX_FRAME_DATA + 1, 0x10000),
                       TXD_CMD.EOP | TXD_CMD.IFCS | TXD_CMD.RS)
            elif kind == "no_eop":
                n = rng.randrange(MAX_FRAME_DATA // 4096 + 1, 12)
                for _ in range(n):
                    legacy(junk, 4096, TXD_CMD.IFCS | TXD_CMD.RS)
                legacy(junk, rng.randrange(1, 200), TXD_CMD.EOP | TXD_CMD.IFCS | TXD_CMD.RS)
                junk_data = backend.mem_read(junk, 4096)
                cut = junk_data * (MAX_FRAME_DATA // 4096)
                wire.append((True, PREAMBLE + cut))
            elif kind == "tso":
                if not self._tso(rng, space, descs, wire, psp):
                    break
            else:
                size = rng.randrange(14, 1515) if kind != "jumbo" else rng.randrange(1515, 16125)
                if kind == "offload" and rng.random() < 0.1:
                    size = rng.randrange(1515, 16125)
                if space[0] + size + 64 > space[1]:
                    break
                frame = rng.randbytes(size)
                cuts = sorted(rng.randrange(size + 1) for _ in range(rng.randrange(4)))
                pieces = [frame[a:b] for a, b in zip([0] + cuts, cuts + [size])]
                sent = b""
                offload = (self._offload(rng, size, descs, legacy) if kind == "offload"
                           else None)
                # VLE and a tag in some descriptors: the last one's counts, with VME.
                tags = {} if kind == "outside" else {
                    k: rng.randrange(0x10000) for k in range(len(pieces)) if rng.random() < 0.3}
                for k, piece in enumerate(pieces):
                    at = space[0] + rng.randrange(8)
                    space[0] = at + len(piece) + 8
                    cmd = TXD_CMD.IFCS | TXD_CMD.RS | (TXD_CMD.EOP if k == len(pieces) - 1 else 0)
                    vlan = dict(special=tags[k]) if k in tags else {}
                    cmd |= TXD_CMD.VLE if k in tags else 0
                    if kind == "outside" and k == 0 and piece:
                        legacy(outside, len(piece), cmd)
                        sent += b"\xff" * len(piece)
                        provoked = True
                        continue
                    backend.mem_write(at, piece)
                    sent += piece
                    if offload is None:
                        legacy(at, len(piece), cmd, **vlan)
                    else:
                        offload.describe(k, at, len(piece), cmd, **vlan)
                if offload is not None:
                    sent = inserted(sent, **offload.work)
                if vme and len(pieces) - 1 in tags:
                    sent = vlan_tag(sent, tags[len(pieces) - 1])
                    self.totals.tx_tagged += 1
                padded = sent + bytes(max(0, 60 - len(sent))) if psp else sent
                wire.append((False, PREAMBLE + padded + _fcs(padded)))
        if not descs or not descs[-1][1]:
            legacy(junk, 0, TXD_CMD.EOP | TXD_CMD.RS)

        backend.faults_fatal = not provoked
        logged = len(backend.wire_log)
        before = backend.mem_read(self.region, REGION)
        handed = 0
        tail = 0

        async def progress():
            nonlocal handed, tail
            head = await nic.read(reg.TDH)
            while handed < len(descs) and (tail + 1) % count != head:
                backend.mem_write(ring + 16 * tail, descs[handed][0])
                tail = (tail + 1) % count
                handed += 1
            await nic.write(reg.TDT, tail)
            return handed == len(descs) and head == tail, (head, len(backend.wire_log))

        await self._until(progress, f"TDH did not reach TDT ({len(descs)} descriptors)")
        await backend.cycles(MAX_FRAME_DATA + 2000)
        if provoked:
            if await backend.take_fault() is None:
                raise FuzzFailure("a buffer outside host memory was never read")
            self.totals.dma_faults += 1
        backend.faults_fatal = True
        got = [(w.error, w.raw if not w.error else w.raw[:-4])
               for d, _, w in backend.wire_log[logged:] if d == "tx"]
        if got != wire:
            bad = next((k for k, (a, b) in enumerate(zip(got, wire)) if a != b),
                       min(len(got), len(wire)))
            raise FuzzFailure(f"transmit: {len(got)} frames on the wire, {len(wire)} expected; "
                              f"frame {bad} differs")
        # Every descriptor written back with DD; nothing else outside the ring changed.
        self._check_memory(before, [(ring, ring + 16 * count)])
        counts = await nic.counters("TPT", "GPTC")
        if counts != {"TPT": len(wire), "GPTC": sum(1 for e, _ in wire if not e)}:
            raise FuzzFailure(f"transmit counters {counts} for {len(wire)} frames")
        self.totals.tx_frames += len(wire)
        self.totals.tx_descriptors += len(descs)

    @staticmethod
    def _offload(rng, size, descs, legacy):
        """Checksum work for a frame of ``size`` bytes: a legacy IC (its fields in the first
        descriptor, any in the others ignored), or a context descriptor (whose offsets stay
        for later frames) and POPTS in the first data descriptor. Offsets are mostly inside the
        frame, some outside. Descriptors go into ``descs``; ``legacy`` appends a legacy one."""
        def offset(limit=0x100):
            return (rng.randrange(min(size + 2, limit)) if rng.random() < 0.9
                    else rng.randrange(limit))
        if rng.random() < 0.3:
            css, cso = offset(), offset()
            work = dict(tu=True, tucss=css, tucso=cso)

            def describe(k, addr, length, cmd, **fields):
                extra = dict(cso=cso, css=css) if k == 0 else dict(cso=offset(), css=offset())
                ic = TXD_CMD.IC if k == 0 or rng.random() < 0.5 else 0
                legacy(addr, length, cmd | ic, **extra, **fields)
            return _Offload(work, describe)
        ctx = dict(ipcss=offset(), ipcso=offset(), ipcse=rng.choice((0, offset(0x10000))),
                   tucss=offset(), tucso=offset(), tucse=rng.choice((0, 0, offset(0x10000))))
        tcp = rng.random() < 0.5
        popts = rng.randrange(4)
        descs.append((TxContextDescriptor.const({
            **ctx, "dtyp": TXD_DTYP.CONTEXT,
            "tucmd": TXD_TUCMD.DEXT | TXD_TUCMD.IP | (TXD_TUCMD.TCP if tcp else 0)
                     | rng.choice((0, TXD_TUCMD.RS))}).as_bits().to_bytes(16, "little"), False))
        work = dict(ip=bool(popts & TXD_POPTS.IXSM), tu=bool(popts & TXD_POPTS.TXSM),
                    udp=not tcp, **ctx)

        def describe(k, addr, length, cmd, **fields):
            d = TxDataDescriptor.const({
                "buffer_addr": addr, "length": length, "dtyp": TXD_DTYP.DATA,
                "dcmd": cmd | TXD_DCMD.DEXT, "popts": popts if k == 0 else rng.randrange(4),
                **fields})
            descs.append((d.as_bits().to_bytes(16, "little"), bool(cmd & TXD_CMD.EOP)))
        return _Offload(work, describe)

    def _tso(self, rng, space, descs, wire, psp):
        """A frame to segment: a context with TSE (a random header length, MSS, IPv4 and TCP
        offsets, TUCMD.IP and TCP, the data's own PAYLEN), and the frame in 1 to 4 data
        descriptors with TSE at any alignment; its segments go on ``wire``. Returns False when
        host memory is full."""
        backend = self.backend
        hdrlen = rng.randrange(1, 120)
        paylen = rng.randrange(1, 20000 if rng.random() < 0.2 else 3000)
        mss = rng.choice((rng.randrange(1, 64), rng.randrange(64, 1500), 1448, 8960))
        if len(wire) + -(-paylen // mss) > 60:
            mss = -(-paylen // 8)                   # a few segments, not hundreds
        size = hdrlen + paylen
        if space[0] + size + 64 * 4 > space[1]:
            return False
        ipcss, tucss = rng.randrange(hdrlen), rng.randrange(hdrlen)
        ipv4, tcp = rng.random() < 0.8, rng.random() < 0.8
        ctx = dict(ipcss=ipcss, ipcso=rng.randrange(hdrlen), ipcse=rng.choice((0, hdrlen - 1)),
                   tucss=tucss, tucso=rng.randrange(hdrlen), tucse=0)
        popts = rng.randrange(4)
        descs.append((TxContextDescriptor.const({
            **ctx, "dtyp": TXD_DTYP.CONTEXT, "paylen": paylen, "hdrlen": hdrlen, "mss": mss,
            "tucmd": TXD_TUCMD.DEXT | TXD_TUCMD.TSE | (TXD_TUCMD.IP if ipv4 else 0)
                     | (TXD_TUCMD.TCP if tcp else 0)}).as_bits().to_bytes(16, "little"), False))
        frame = rng.randbytes(size)
        cuts = sorted(rng.randrange(1, size) for _ in range(rng.randrange(4)))
        pieces = [frame[a:b] for a, b in zip([0] + cuts, cuts + [size])]
        for k, piece in enumerate(pieces):
            at = space[0] + rng.randrange(8)
            space[0] = at + len(piece) + 8
            backend.mem_write(at, piece)
            eop = k == len(pieces) - 1
            cmd = TXD_CMD.IFCS | TXD_CMD.RS | (TXD_CMD.EOP if eop else 0)
            descs.append((TxDataDescriptor.const({
                "buffer_addr": at, "length": len(piece), "dtyp": TXD_DTYP.DATA,
                "dcmd": cmd | TXD_DCMD.DEXT | TXD_DCMD.TSE,
                "popts": popts if k == 0 else rng.randrange(4)}).as_bits().to_bytes(16, "little"),
                eop))
        work = dict(ip=bool(popts & TXD_POPTS.IXSM), tu=bool(popts & TXD_POPTS.TXSM),
                    udp=not tcp, **ctx)
        for segment in segmented(frame, hdrlen=hdrlen, mss=mss, ipcss=ipcss, tucss=tucss,
                                 ipv4=ipv4, tcp=tcp, work=work):
            padded = segment + bytes(max(0, 60 - len(segment))) if psp else segment
            wire.append((False, PREAMBLE + padded + _fcs(padded)))
        self.totals.tso_frames += 1
        return True

    async def _hostile_ring(self, rng, tctl):
        """A ring outside host memory, of length 0, or with its head or tail past its end:
        nothing may hang, fault inside host memory or go on the wire."""
        nic, backend = self.nic, self.backend
        logged = len(backend.wire_log)
        case = rng.choice(("outside", "empty", "tail", "head"))
        before = backend.mem_read(self.region, REGION)
        backend.faults_fatal = False
        await nic.write(reg.TDBAL, 0xC000_0000 if case == "outside" else self.region)
        await nic.write(reg.TDLEN, 0 if case == "empty" else 16 * 8)
        await nic.write(reg.TDH, rng.randrange(8, 0x10000) if case == "head" else 0)
        await nic.write(reg.TDT, rng.randrange(8, 0x10000) if case == "tail" else 3)
        await nic.write(reg.TCTL, tctl)
        await backend.cycles(30000)
        fault = await backend.take_fault()
        backend.faults_fatal = True
        if case == "outside":
            # Descriptors of all ones: longer than any frame, so nothing is sent; their
            # write-backs go nowhere.
            if await nic.read(reg.TDH) != 3:
                raise FuzzFailure("descriptors read from outside host memory were not retired")
            if fault is None:
                raise FuzzFailure("a ring outside host memory was never read")
            self.totals.dma_faults += 1
            self.totals.tx_descriptors += 3
        elif fault is not None:
            raise FuzzFailure(f"a ring with {case} out of bounds was read from {fault:#x}")
        if len(backend.wire_log) != logged:
            raise FuzzFailure(f"a hostile ring ({case}) put a frame on the wire")
        self._check_memory(before, [])

    # Faults, through the driver.

    async def _fault_round(self, rng):
        world, backend = self.world, self.backend
        shell = world.shell
        for line in UP:
            if await shell.run(line):
                raise FuzzFailure(f"'{line}' failed before the fault:\n" + self._console())
        adapter = world.adapter()
        direction = rng.choice(("tx", "rx", "both"))
        if direction != "rx":
            frame = (b"\x52\x55\x0a\x00\x02\x02" + DEFAULT_MAC + b"\x08\x00"
                     + rng.randbytes(rng.randrange(46, 1500)))
            await adapter.netdev.ops.ndo_start_xmit(SkBuff(frame), adapter.netdev)
        if direction != "tx":
            for _ in range(rng.randrange(1, 4)):
                body = DEFAULT_MAC + bytes.fromhex("52550a000202") + b"\x88\xb5" \
                    + rng.randbytes(rng.randrange(46, 1500))
                backend.send(PREAMBLE + body + _fcs(body), not_before=backend.now)
        await backend.cycles(rng.randrange(4000))
        fault = rng.choice(("reset", "cable", "bus_master", "registers"))
        self.totals.faults[fault] = self.totals.faults.get(fault, 0) + 1
        backend.faults_fatal = False
        if fault == "reset":
            await backend.mmio(Space.MEM, reg.CTRL.offset, write=True, data=reg.CTRL.RST.mask)
            self.totals.resets += 1
        elif fault == "cable":
            backend.set_cable(0)
            await backend.cycles(rng.randrange(1, 5000))
            backend.set_cable(1)
        elif fault == "bus_master":
            backend.set_bus_master(0)
            await backend.cycles(rng.randrange(1, 5000))
            backend.set_bus_master(1)
        else:
            # Not MDIC: the PHY keeps what it is told through a device reset, as the real one
            # does, and the driver's bring-up does not reset it.
            plain = [r for r in REGISTERS if r not in STATS and r is not reg.MDIC]
            for _ in range(rng.randrange(1, 24)):
                r = rng.choice(plain)
                value = rng.getrandbits(32)
                if r is reg.CTRL:
                    value &= ~reg.CTRL.PHY_RST.mask
                n = rng.randrange(r.count) if r.count > 1 else 0
                await backend.mmio(Space.MEM, r.at(n), write=True, data=value)
        await backend.cycles(2000)
        # Whatever the fault left, the driver's own reset and bring-up must give a working
        # device.
        status = await shell.run("rmmod e1000")
        await backend.take_fault()
        backend.faults_fatal = True
        backend.set_bus_master(1)
        for line in [*UP, "ping -c 1 -W 1 10.0.2.2"]:
            status |= await shell.run(line)
        if status:
            raise FuzzFailure(f"no working device after {fault}:\n" + self._console())
        await shell.run("rmmod e1000")
        self.console.clear()

    def _console(self):
        return "\n".join(self.console[-30:])


def _progress_printer(stream):
    """A progress line on a terminal, a line every tenth of the way otherwise."""
    started = time.monotonic()
    tty = stream.isatty()
    last = [-1]

    def show(done, total, totals):
        elapsed = time.monotonic() - started
        text = (f"round {done}/{total}  rx {totals.rx_frames} frames  tx {totals.tx_frames} "
                f"frames  {totals.resets} resets  {elapsed:.0f} s")
        if tty:
            width = 24
            bar = "#" * (width * done // total)
            stream.write(f"\r[{bar:<{width}}] {text}")
            if done == total:
                stream.write("\n")
        elif 10 * done // total != last[0]:
            last[0] = 10 * done // total
            stream.write(text + "\n")
        stream.flush()
    return show


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sim.fuzz",
        description="The fault campaign: hostile traffic, hostile rings and injected faults "
                    "against the core; exits with status 1 on the first failure.")
    parser.add_argument("--seed", type=int, default=1, help="campaign seed (default 1)")
    parser.add_argument("--rounds", type=int, default=200, help="rounds to run (default 200)")
    parser.add_argument("--kinds", default="rx,tx,fault", metavar="LIST",
                        help="round kinds to run, of rx, tx and fault (default: all three)")
    parser.add_argument("--backend", default="cxxrtl", choices=("cxxrtl", "amaranth", "auto"),
                        help="simulator (default: cxxrtl, the compiled model)")
    parser.add_argument("--json", default="build/fuzz.json", metavar="PATH",
                        help="where the figures go (default build/fuzz.json; '' for nowhere)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    if not kinds or set(kinds) - {"rx", "tx", "fault"}:
        parser.error(f"--kinds takes rx, tx and fault, separated by commas, not {args.kinds!r}")
    try:
        if args.json:
            prepare(args.json, "--json")
    except OutputError as e:
        parser.exit(2, f"python -m sim.fuzz: error: {e}\n")
    campaign = Campaign(seed=args.seed, rounds=args.rounds, kinds=kinds, backend=args.backend,
                        progress=None if args.quiet else _progress_printer(sys.stderr))
    ok = campaign.run()
    report = campaign.report()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    t = campaign.totals
    print(f"fuzz: seed {args.seed}, {sum(t.rounds.values())} rounds: {t.rx_frames} frames "
          f"received ({t.rx_delivered} delivered, {t.rx_missed} missed), {t.tx_frames} sent "
          f"in {t.tx_descriptors} descriptors ({t.tso_frames} frames segmented, "
          f"{t.tx_tagged} tagged), "
          f"{t.resets} resets, faults {t.faults}, "
          f"{report['wall_s']} s")
    if not ok:
        r, kind, message = campaign.failure
        print(f"fuzz: FAILED in round {r} ({kind}): {message}")
        print(f"fuzz: reproduce with: python -m sim.fuzz --seed {args.seed} --rounds {r + 1}")
        return 1
    print("fuzz: 0 failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
