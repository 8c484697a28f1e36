"""The receive checksum checker on its own: frames built by scapy, right and wrong."""

import random
import zlib

from amaranth.sim import Simulator
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether

from hw.rxcsum import RxChecksum


def check(frames, *, gap=1):
    """Each frame (with its FCS) through the checker; (ipv4, ip_ok, l4, l4_ok) for each."""
    dut = RxChecksum()
    sim = Simulator(dut)
    sim.add_clock(8e-9)
    results = []

    async def tb(ctx):
        for frame in frames:
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            for byte in frame + zlib.crc32(frame).to_bytes(4, "little"):
                ctx.set(dut.valid, 1)
                ctx.set(dut.byte, byte)
                await ctx.tick()
                if gap > 1:                     # not a byte every cycle
                    ctx.set(dut.valid, 0)
                    await ctx.tick().repeat(gap - 1)
            ctx.set(dut.valid, 0)
            ctx.set(dut.done, 1)
            await ctx.tick()
            ctx.set(dut.done, 0)
            await ctx.tick().repeat(2)
            r = dut.result
            results.append((ctx.get(r.ipv4), ctx.get(r.ip_ok), ctx.get(r.l4), ctx.get(r.l4_ok)))
    sim.add_testbench(tb)
    sim.run()
    return results


ETH = Ether(src="52:55:0a:00:02:02", dst="52:54:00:12:34:56")
IPH = IP(src="10.0.2.2", dst="10.0.2.15")


def build(packet):
    return bytes(packet)


def corrupt(frame, offset):
    return frame[:offset] + bytes([frame[offset] ^ 0x01]) + frame[offset + 1:]


def test_right_and_wrong_checksums():
    tcp = build(ETH / IPH / TCP(sport=1234, dport=80, seq=7, flags="PA") / (b"x" * 333))
    udp = build(ETH / IPH / UDP(sport=53, dport=5353) / (b"y" * 101))
    frames = [
        tcp,                                            # right
        corrupt(tcp, 14 + 10),                          # IP checksum wrong
        corrupt(tcp, 14 + 20 + 16),                     # TCP checksum wrong
        corrupt(tcp, 14 + 20 + 40),                     # a payload byte changed
        udp,
        corrupt(udp, 14 + 20 + 8 + 5),
        udp[:14 + 20 + 6] + b"\0\0" + udp[14 + 20 + 8:],    # UDP without a checksum
    ]
    assert check(frames) == [(1, 1, 1, 1), (1, 0, 1, 1), (1, 1, 1, 0), (1, 1, 1, 0),
                             (1, 1, 1, 1), (1, 1, 1, 0), (1, 1, 0, 0)]


def test_what_is_not_checked():
    small = build(ETH / IPH / ICMP() / b"ping")         # padded to 60 bytes below
    small += bytes(60 - len(small))
    short_tcp = build(ETH / IPH / TCP(sport=1, dport=2) / b"abc")
    short_tcp += bytes(60 - len(short_tcp))             # padding after the datagram
    frames = [
        build(ETH / ARP(pdst="10.0.2.15")),             # not IP
        small,                                          # IP, no TCP/UDP
        short_tcp,                                      # TCP in a padded frame: checked
        build(ETH / IP(src="10.0.2.2", dst="10.0.2.15", flags="MF") / UDP() / b"frag"),
        build(ETH / IPH / TCP() / (b"z" * 100))[:14 + 20 + 40],    # cut short
        build(ETH / IP(src="10.0.2.2", dst="10.0.2.15", options=b"\x01\x01\x01\x00")
              / TCP(sport=5, dport=6) / b"options"),    # a 24-byte header
        build(Ether(src="52:55:0a:00:02:02", dst="52:54:00:12:34:56") / Dot1Q(vlan=5) / IPH
              / UDP(sport=7, dport=9) / b"tagged"),
    ]
    assert check(frames, gap=2) == [(0, 0, 0, 0), (1, 1, 0, 0), (1, 1, 1, 1), (1, 1, 0, 0),
                                     (1, 1, 0, 0), (1, 1, 1, 1), (1, 1, 1, 1)]


def _fold(total):
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _sum(pairs):
    """The 16-bit words of (position, byte) pairs: a byte at an even position is a high half."""
    return sum(byte << 8 if position % 2 == 0 else byte for position, byte in pairs)


def reference(frame):
    """(ipv4, ip_ok, l4, l4_ok) for ``frame`` (its FCS included), as the module's contract
    says, worked out directly from the bytes."""
    start = 14
    if frame[12:14] == b"\x81\x00":
        start = 18
    if len(frame) < start or frame[start - 2:start] != b"\x08\x00" or len(frame) == start:
        return (0, 0, 0, 0)
    d = frame[start:]
    header = (d[0] & 0xF) * 4
    version_ok = d[0] >> 4 == 4 and header >= 20
    ipv4 = version_ok and len(d) >= header
    ip_ok = ipv4 and _fold(_sum(enumerate(d[:header]))) == 0xFFFF
    if not version_ok or len(d) < 5:
        return (int(ipv4), int(ip_ok), 0, 0)
    total = d[2] << 8 | d[3]
    if total < header or len(d) < total + 4:      # the frame does not hold it whole
        return (int(ipv4), int(ip_ok), 0, 0)
    proto = d[9]
    fragment = (d[6] & 0x3F) != 0 or d[7] != 0
    tcp = proto == 6 and total >= header + 20
    udp = proto == 17 and total >= header + 8 and d[header + 6:header + 8] != b"\0\0"
    l4 = not fragment and (tcp or udp)
    if not l4:
        return (int(ipv4), int(ip_ok), 0, 0)
    pseudo = [(9, d[9])] + [(i, d[i]) for i in range(12, 20)]
    payload = [(i, d[i]) for i in range(header, total)]
    l4_ok = _fold(_sum(pseudo) + _sum(payload) + total - header) == 0xFFFF
    return (int(ipv4), int(ip_ok), 1, int(l4_ok))


def _random_frame(rng):
    """A frame (without its FCS) near the edges of what the checker looks at."""
    payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 7, 20, 61, 300])))
    ip = IP(src="10.0.2.2", dst="10.0.2.15",
            options=rng.choice([b"", b"\x01\x01\x01\x00", b"\x01" * 8]),
            flags=rng.choice(["", "", "", "MF", "DF"]), frag=rng.choice([0, 0, 0, 0, 5]))
    inner = rng.choice([TCP(sport=1, dport=2, seq=rng.randrange(1 << 32), flags="PA"),
                        UDP(sport=3, dport=4), ICMP()])
    layers = ETH / Dot1Q(vlan=5) if rng.random() < 0.3 else ETH
    frame = bytearray(bytes(layers / ip / inner / payload))
    ip_at = 18 if frame[12:14] == b"\x81\x00" else 14
    mutation = rng.randrange(10)
    if mutation == 0:           # another header length or version
        frame[ip_at] = rng.choice([0x40, 0x44, 0x45, 0x46, 0x4F, 0x65, 0x35]) | 0
    elif mutation == 1:         # another total length
        total = rng.choice([0, 3, 19, 20, 27, 28, 39, 40, len(frame) - ip_at - 1,
                            len(frame) - ip_at + 1, 0xFFFF])
        frame[ip_at + 2:ip_at + 4] = total.to_bytes(2, "big")
    elif mutation == 2:         # another protocol
        frame[ip_at + 9] = rng.choice([6, 17, 1, 99])
    elif mutation == 3:         # a UDP datagram without a checksum, if it is one
        header = (frame[ip_at] & 0xF) * 4
        frame[ip_at + header + 6:ip_at + header + 8] = b"\0\0"
    elif mutation in (4, 5):    # one bit of one byte
        frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
    elif mutation == 6:         # cut short
        del frame[rng.randrange(12, len(frame)):]
    elif mutation == 7:         # another Ethernet type
        frame[12:14] = rng.choice([b"\x86\xdd", b"\x08\x06", b"\x81\x00"])
    if len(frame) < 60 and rng.random() < 0.7:
        frame += bytes(60 - len(frame))            # padding, as the MAC receives it
    return bytes(frame)


def test_against_a_reference_model():
    rng = random.Random(1071)
    frames = [_random_frame(rng) for _ in range(300)]
    with_fcs = [frame + zlib.crc32(frame).to_bytes(4, "little") for frame in frames]
    expected = [reference(frame) for frame in with_fcs]
    # The cases this covers: each outcome of each sum, many times over.
    assert {result for result in expected} >= {(0, 0, 0, 0), (1, 0, 0, 0), (1, 1, 0, 0),
                                               (1, 1, 1, 1), (1, 1, 1, 0), (1, 0, 1, 1)}
    assert check(frames) == expected
