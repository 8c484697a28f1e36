"""The receive checksum checker on its own: frames built by scapy, right and wrong."""

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
