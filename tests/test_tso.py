"""TCP segmentation (TSE): the segments on the wire against segments scapy builds.

The driver's side is what Linux's e1000_tso hands the hardware: a context descriptor with
TUCMD.TSE, HDRLEN, MSS and PAYLEN, and the super-packet in data descriptors with DCMD.TSE, its
IPv4 total length and header checksum zero and its TCP checksum seeded with the pseudo-header
sum without the length. Each segment on the wire must be, byte for byte, the frame scapy builds
from the same header and that segment's payload: identification one more per segment, sequence
number advanced by the payload before it, FIN and PSH only in the last, every checksum right.
"""

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from hw.desc import TXD_CMD, TXD_DCMD, TXD_POPTS, TXD_STA, TXD_TUCMD
from hw.regmap import reg
from sim.ethernet import to_wire

from harness import COMPILED, send_ring, sum16

EOP, IFCS, RS = TXD_CMD.EOP, TXD_CMD.IFCS, TXD_CMD.RS
TSE = TXD_DCMD.TSE
IXSM, TXSM = TXD_POPTS.IXSM, TXD_POPTS.TXSM
GUEST, GATEWAY = "52:54:00:12:34:56", "52:55:0a:00:02:02"
COUNTERS = (reg.GPTC, reg.TPT, reg.TSCTC, reg.TSCTFC)


def header(*, seq=1000, flags="PA", ip_id=300, options=()):
    return (Ether(src=GUEST, dst=GATEWAY) / IP(src="10.0.2.15", dst="10.0.2.2", id=ip_id)
            / TCP(sport=40000, dport=5001, seq=seq, ack=77, flags=flags, window=512,
                  options=list(options)))


def payload_of(size, salt=0):
    return bytes((i * 7 + i // 251 + salt) & 0xFF for i in range(size))


def super_packet(head, payload):
    """The super-packet as the driver hands it over, and its header's length."""
    frame = bytearray(bytes(head / payload))
    hdrlen = 14 + (frame[14] & 0xF) * 4 + (frame[46] >> 4) * 4
    frame[16:18] = bytes(2)             # IPv4 total length
    frame[24:26] = bytes(2)             # IPv4 header checksum
    seed = sum16(frame[26:34] + bytes([0, 6, 0, 0]))
    frame[50:52] = seed.to_bytes(2, "big")
    return bytes(frame), hdrlen


def segments(head, payload, mss):
    """The frames a segmenting NIC sends, built by scapy."""
    flags = int(head[TCP].flags)
    out = []
    for k, at in enumerate(range(0, len(payload), mss)):
        last = at + mss >= len(payload)
        seg = head.copy()
        seg[IP].id = (head[IP].id + k) & 0xFFFF
        seg[TCP].seq = (head[TCP].seq + at) & 0xFFFFFFFF
        seg[TCP].flags = flags if last else flags & ~0x09
        out.append(bytes(seg / payload[at:at + mss]))
    return out


def split(frame, cuts):
    cuts = [0, *cuts, len(frame)]
    return [frame[a:b] for a, b in zip(cuts, cuts[1:])]


def send(plan, **kwargs):
    """The wire as (error, raw) pairs, the status bytes and the counters, once the ring is
    done (see ``harness.send_ring``)."""
    wire, status, counters = send_ring(plan, count=64, counters=COUNTERS, **kwargs)
    return [(w.error, w.raw) for w in wire], status, counters


def tso(rings, put, at, frame, hdrlen, mss, cuts, *, paylen=None, tucmd=0, dcmd=0, special=0):
    """Descriptors for one super-packet from slot ``at``, split at ``cuts``, as e1000_tso and
    e1000_tx_map write them (``dcmd`` and ``special`` in each data descriptor); returns the next
    free slot."""
    rings.tx_context(at, TXD_TUCMD.IP | TXD_TUCMD.TCP | TXD_TUCMD.TSE | tucmd,
                     ipcss=14, ipcso=24, ipcse=33, tucss=34, tucso=50, tucse=0,
                     paylen=len(frame) - hdrlen if paylen is None else paylen,
                     hdrlen=hdrlen, mss=mss)
    parts = split(frame, cuts)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        rings.tx_data(at + 1 + i, put(part), len(part),
                      TSE | IFCS | dcmd | (EOP | RS if last else 0), popts=IXSM | TXSM,
                      special=special)
    return at + 1 + len(parts)


def test_segments_are_scapys_with_the_header_split_across_descriptors():
    # 5,000 bytes in MSS 1448: three full segments and one of 656. The header comes in two
    # descriptors (20 bytes, then the rest with the first 100 payload bytes), the payload in
    # pieces of up to 4 KiB, all at odd addresses.
    head, payload = header(), payload_of(5000)
    frame, hdrlen = super_packet(head, payload)
    assert hdrlen == 54

    def plan(rings, put):
        return tso(rings, put, 0, frame, hdrlen, 1448, [20, 154, 2000, 4096])

    wire, status, counters = send(plan)
    assert wire == [(0, to_wire(s)) for s in segments(head, payload, 1448)]
    assert [s & TXD_STA.DD for s in status] == [0, 0, 0, 0, 0, 1]
    assert counters == {"GPTC": 4, "TPT": 4, "TSCTC": 1, "TSCTFC": 0}


def test_fin_and_psh_only_in_the_last_segment_with_tcp_options():
    # A 66-byte header (timestamps), a payload of exactly three MSS of 536, FIN|PSH|ACK; and
    # a header alone in its descriptor.
    head = header(flags="FPA", seq=0xFFFFFF00, ip_id=0xFFFF,
                  options=[("NOP", None), ("NOP", None), ("Timestamp", (1, 2))])
    payload = payload_of(3 * 536, salt=5)
    frame, hdrlen = super_packet(head, payload)
    assert hdrlen == 66
    expected = segments(head, payload, 536)
    assert [e[47] for e in expected] == [0x10, 0x10, 0x19]      # ACK, ACK, FIN|PSH|ACK

    def plan(rings, put):
        return tso(rings, put, 0, frame, hdrlen, 536, [66])

    wire, _, counters = send(plan)
    assert wire == [(0, to_wire(s)) for s in expected]
    assert counters == {"GPTC": 3, "TPT": 3, "TSCTC": 1, "TSCTFC": 0}


def test_segmented_and_plain_frames_interleave_and_the_context_changes():
    # A super-packet, a plain frame with checksums, another super-packet with another MSS: each
    # frame keeps its own work.
    head1, pay1 = header(seq=1), payload_of(3000, salt=1)
    head2, pay2 = header(seq=2, ip_id=9), payload_of(777, salt=2)
    frame1, h1 = super_packet(head1, pay1)
    frame2, h2 = super_packet(head2, pay2)
    plain = bytes(Ether(src=GUEST, dst=GATEWAY) / IP(src="10.0.2.15", dst="10.0.2.2")
                  / TCP(sport=1, dport=2) / b"plain")

    def plan(rings, put):
        at = tso(rings, put, 0, frame1, h1, 1000, [54])
        rings.tx_context(at, TXD_TUCMD.IP | TXD_TUCMD.TCP, ipcss=14, ipcso=24, ipcse=33,
                         tucss=34, tucso=50, tucse=0)
        rings.tx_data(at + 1, put(plain), len(plain), EOP | IFCS)
        return tso(rings, put, at + 2, frame2, h2, 500, [])

    wire, _, counters = send(plan)
    expected = segments(head1, pay1, 1000) + [plain] + segments(head2, pay2, 500)
    assert wire == [(0, to_wire(s)) for s in expected]
    assert counters == {"GPTC": 6, "TPT": 6, "TSCTC": 2, "TSCTFC": 0}


@pytest.mark.parametrize("size, mss, count", [
    (65000, 1448, 45),      # 64 KiB, four times the transmit queue: segments leave as the rest
                            # is read
    (20000, 8960, 3),       # MTU 9000
])
def test_large_super_packets(size, mss, count):
    head, payload = header(seq=size), payload_of(size, salt=3)
    frame, hdrlen = super_packet(head, payload)

    def plan(rings, put):
        return tso(rings, put, 0, frame, hdrlen, mss, range(4096, len(frame), 4096))

    wire, _, counters = send(plan, backend=COMPILED)
    expected = segments(head, payload, mss)
    assert len(expected) == count
    assert wire == [(0, to_wire(s)) for s in expected]
    assert counters == {"GPTC": count, "TPT": count, "TSCTC": 1, "TSCTFC": 0}


def test_contexts_that_do_not_match_their_data_fail_and_the_ring_goes_on():
    # PAYLEN more than the data (the last segment is cut: aborted), PAYLEN less than the data
    # (the segment that reaches it is aborted, the rest skipped), MSS 0 and a frame that ends
    # in its header (one aborted frame each); then a good super-packet.
    head, payload = header(), payload_of(2500)
    frame, hdrlen = super_packet(head, payload)

    def plan(rings, put):
        at = tso(rings, put, 0, frame, hdrlen, 1000, [54], paylen=2600)
        at = tso(rings, put, at, frame, hdrlen, 1000, [54, 600], paylen=1800)
        rings.tx_context(at, TXD_TUCMD.IP | TXD_TUCMD.TCP | TXD_TUCMD.TSE, ipcss=14, ipcso=24,
                         ipcse=33, tucss=34, tucso=50, paylen=2500, hdrlen=54, mss=0)
        rings.tx_data(at + 1, put(frame), len(frame), TSE | IFCS | EOP, popts=IXSM | TXSM)
        at = tso(rings, put, at + 2, frame[:40], hdrlen, 1000, [], paylen=2500)
        return tso(rings, put, at, frame, hdrlen, 1000, [])

    wire, status, counters = send(plan)
    good = segments(head, payload, 1000)
    errors = [error for error, _ in wire]
    # First context: two good segments, the third (500 of 600 bytes) aborted. Second: the
    # first segment good, the second reaches PAYLEN with data left: aborted. MSS 0: one aborted
    # frame. A header cut short: one aborted frame. Then three good segments.
    assert errors == [0, 0, 1, 0, 1, 1, 1, 0, 0, 0]
    assert [wire[i][1] for i in (0, 1, 3, 7, 8, 9)] == [to_wire(good[i]) for i in
                                                        (0, 1, 0, 0, 1, 2)]
    assert counters == {"GPTC": 6, "TPT": 10, "TSCTC": 1, "TSCTFC": 4}
    assert status[-1] & TXD_STA.DD
