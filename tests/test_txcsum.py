"""Transmit checksum insertion: context and data descriptors, and legacy IC, against scapy.

The driver's side is what Linux's e1000_tx_csum hands the hardware for CHECKSUM_PARTIAL: the
IPv4 header checksum zero (for IXSM) and the TCP/UDP checksum field seeded with the
pseudo-header sum. What comes out on the wire must be the frame scapy builds with every checksum
computed, byte for byte.
"""


from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether

from hw.desc import TXD_CMD, TXD_POPTS, TXD_STA, TXD_TUCMD
from hw.regmap import reg
from sim.ethernet import received, to_wire

from harness import COMPILED, send_ring, sum16

EOP, IFCS, RS, IC = TXD_CMD.EOP, TXD_CMD.IFCS, TXD_CMD.RS, TXD_CMD.IC
IXSM, TXSM = TXD_POPTS.IXSM, TXD_POPTS.TXSM
GUEST, GATEWAY = "52:54:00:12:34:56", "52:55:0a:00:02:02"
# Where the checksums of an Ethernet + IPv4 (20 bytes) frame are.
IPV4 = dict(ipcss=14, ipcso=24, ipcse=33)
TCP_AT = dict(tucss=34, tucso=50, tucse=0)
UDP_AT = dict(tucss=34, tucso=40, tucse=0)


def ip_frame(l4, payload):
    return bytes(Ether(src=GUEST, dst=GATEWAY) / IP(src="10.0.2.15", dst="10.0.2.2", id=77)
                 / l4 / payload)


def as_handed_over(frame, *, zero_ip=True):
    """``frame`` (built with every checksum right) as the driver hands it over."""
    b = bytearray(frame)
    proto = b[23]
    l4 = 14 + (b[14] & 0xF) * 4
    if zero_ip:
        b[24:26] = bytes(2)
    if proto in (6, 17):
        at = l4 + (16 if proto == 6 else 6)
        seed = sum16(b[26:34] + bytes([0, proto]) + (len(b) - l4).to_bytes(2, "big"))
        b[at:at + 2] = seed.to_bytes(2, "big")
    elif proto == 1:
        b[l4 + 2:l4 + 4] = bytes(2)
    return bytes(b)


def split(frame, cuts):
    cuts = [0, *cuts, len(frame)]
    return [frame[a:b] for a, b in zip(cuts, cuts[1:])]


def send(plan, *, count=16, settle=3000, **kwargs):
    return send_ring(plan, count=count, settle=settle, counters=(reg.GPTC, reg.TPT), **kwargs)


def test_context_checksums_are_scapys_across_descriptors_and_alignments():
    tcp = ip_frame(TCP(sport=40000, dport=80, seq=1234, flags="PA"), bytes(range(251)) * 4)
    udp = ip_frame(UDP(sport=5353, dport=53), b"odd length payload!")
    frames = [tcp, udp]

    def plan(rings, put):
        rings.tx_context(0, TXD_TUCMD.IP | TXD_TUCMD.TCP | TXD_TUCMD.RS, **IPV4, **TCP_AT)
        parts = split(as_handed_over(tcp), [13, 40, 41, 600])
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            rings.tx_data(1 + i, put(part), len(part), (EOP | RS if last else 0) | IFCS,
                          popts=IXSM | TXSM if i == 0 else 0)
        rings.tx_context(6, TXD_TUCMD.IP, **IPV4, **UDP_AT)
        parts = split(as_handed_over(udp), [35])
        rings.tx_data(7, put(parts[0]), len(parts[0]), IFCS, popts=IXSM | TXSM)
        rings.tx_data(8, put(parts[1]), len(parts[1]), EOP | IFCS | RS)
        return 9

    wire, status, counters = send(plan)
    assert [w.raw for w in wire] == [to_wire(f) for f in frames]
    assert [s & TXD_STA.DD for s in status] == [1, 0, 0, 0, 0, 1, 0, 0, 1]
    assert counters == {"GPTC": 2, "TPT": 2}


def test_a_context_holds_for_the_frames_after_it_and_popts_picks_the_checksums():
    # One context for three frames: both checksums, only TCP's, none (the fields stay as handed
    # over).
    frames = [ip_frame(TCP(sport=1, dport=2, seq=n), bytes([n]) * (100 + n)) for n in range(3)]
    popts = [IXSM | TXSM, TXSM, 0]

    def plan(rings, put):
        rings.tx_context(0, TXD_TUCMD.IP | TXD_TUCMD.TCP, **IPV4, **TCP_AT)
        for i, (frame, p) in enumerate(zip(frames, popts)):
            data = as_handed_over(frame, zero_ip=p & IXSM)
            rings.tx_data(1 + i, put(data), len(data), EOP | IFCS, popts=p)
        return 4

    wire, _, _ = send(plan)
    assert [w.raw for w in wire] == [to_wire(frames[0]), to_wire(frames[1]),
                                     to_wire(as_handed_over(frames[2], zero_ip=False))]


def test_a_udp_checksum_of_zero_goes_out_as_ffff():
    # The payload's last two bytes make the sum 0xFFFF, whose complement is 0: UDP sends 0xFFFF
    # (0 means "no checksum"), as scapy does.
    def udp_with(tail):
        return ip_frame(UDP(sport=7, dport=7), b"abcdefgh" + tail)
    handed = as_handed_over(udp_with(bytes(2)))
    tail = (~sum16(handed[34:]) & 0xFFFF).to_bytes(2, "big")
    frame = udp_with(tail)
    assert frame[40:42] == b"\xff\xff"

    def plan(rings, put):
        rings.tx_context(0, TXD_TUCMD.IP, **IPV4, **UDP_AT)
        data = as_handed_over(frame)
        rings.tx_data(1, put(data), len(data), EOP | IFCS, popts=IXSM | TXSM)
        return 2

    wire, _, _ = send(plan)
    assert [w.raw for w in wire] == [to_wire(frame)]


def test_legacy_descriptors_insert_one_checksum_from_css_to_the_end():
    # Any ones'-complement checksum: ICMP's (no pseudo-header), and UDP's at an odd start
    # (a UDP header after 21 bytes of link-layer header: the sum's bytes are swapped), in a
    # frame of three descriptors with IC and CSS/CSO in the first.
    icmp = ip_frame(ICMP(id=5, seq=9), bytes(range(57)))
    udp = ip_frame(UDP(sport=9, dport=9), b"0123456789")
    odd = b"\x01" * 7 + udp
    odd_handed = b"\x01" * 7 + as_handed_over(udp, zero_ip=False)

    # And one at the frame's very start, over the rest of it.
    first = bytearray(icmp)
    first[:2] = (~sum16(icmp[2:]) & 0xFFFF).to_bytes(2, "big")

    def plan(rings, put):
        data = as_handed_over(icmp, zero_ip=False)
        rings.tx_legacy(0, put(data), len(data), EOP | IFCS | IC, css=34, cso=36)
        parts = split(odd_handed, [20, 45])
        rings.tx_legacy(1, put(parts[0]), len(parts[0]), IFCS | IC, css=41, cso=47)
        rings.tx_legacy(2, put(parts[1]), len(parts[1]), IFCS)
        rings.tx_legacy(3, put(parts[2]), len(parts[2]), EOP | IFCS)
        rings.tx_legacy(4, put(icmp), len(icmp), EOP | IFCS | IC, css=2, cso=0)
        return 5

    wire, _, _ = send(plan)
    assert [w.raw for w in wire] == [to_wire(icmp), to_wire(odd), to_wire(bytes(first))]


def test_checksums_out_of_the_frame_are_not_inserted():
    # IC is ignored when CSS or CSO is out of the frame (SDM 3.3.3.1); so is a context whose
    # offsets are.
    frame = ip_frame(UDP(sport=1, dport=1), b"x" * 30)
    handed = as_handed_over(frame, zero_ip=False)
    n = len(handed)

    def plan(rings, put):
        addr = put(handed)
        rings.tx_legacy(0, addr, n, EOP | IFCS | IC, css=34, cso=n - 1)     # its second byte out
        rings.tx_legacy(1, addr, n, EOP | IFCS | IC, css=n, cso=40)         # start out
        rings.tx_legacy(2, addr, n, EOP | IFCS | IC, css=34, cso=n - 2)     # in: the last two
        rings.tx_context(3, TXD_TUCMD.IP, ipcss=14, ipcso=n, ipcse=33, **UDP_AT)
        rings.tx_data(4, addr, n, EOP | IFCS, popts=IXSM)
        return 5

    wire, _, _ = send(plan)
    last = bytearray(handed)
    last[n - 2:] = (~sum16(handed[34:]) & 0xFFFF).to_bytes(2, "big")
    assert [w.raw for w in wire] == [to_wire(handed)] * 2 + [to_wire(last), to_wire(handed)]


def test_jumbo_frames_in_4k_buffers_get_their_checksums():
    # The largest frame, 16,124 bytes (16,128 with the FCS), and one of 9014, as Linux maps them
    # (buffers of at most 4 KiB, here at odd addresses): all of each is queued before the MAC
    # starts, so their checksums go in.
    def jumbo(size):
        payload = bytes((i * 13 + i // 256) & 0xFF for i in range(size - 54))
        return ip_frame(TCP(sport=5001, dport=5001, seq=size), payload)
    frames = [jumbo(16124), jumbo(9014)]

    def plan(rings, put):
        rings.tx_context(0, TXD_TUCMD.IP | TXD_TUCMD.TCP, **IPV4, **TCP_AT)
        i = 1
        for frame in frames:
            parts = split(as_handed_over(frame), range(4096, len(frame), 4096))
            for k, part in enumerate(parts):
                rings.tx_data(i, put(part), len(part),
                              IFCS | (EOP if k == len(parts) - 1 else 0), popts=IXSM | TXSM)
                i += 1
        return i

    wire, _, counters = send(plan, settle=45000, backend=COMPILED)
    assert [len(w.raw) for w in wire] == [8 + 16128, 8 + 9018]
    assert [w.raw for w in wire] == [to_wire(f) for f in frames]
    assert counters == {"GPTC": 2, "TPT": 2}


def test_a_frame_the_mac_starts_before_its_end_is_queued_cannot_have_checksums():
    # More descriptors than the engine keeps track of at once: the MAC starts the frame before
    # its end is queued, so the checksums are not known at the insertion offset. Asked for, the
    # frame goes out with an error and a wrong FCS (counted as sent, not as good); not asked
    # for, it goes out whole.
    frame = ip_frame(UDP(sport=3, dport=3), bytes(range(256)) * 9)
    parts = split(as_handed_over(frame), range(64, len(frame), 64))
    assert len(parts) > 32

    def plan(rings, put):
        addrs = [put(part) for part in parts]
        for offload, base in ((True, 0), (False, 1 + len(parts))):
            if offload:
                rings.tx_context(0, TXD_TUCMD.IP, **IPV4, **UDP_AT)
            for i, (addr, part) in enumerate(zip(addrs, parts)):
                last = i == len(parts) - 1
                rings.tx_data(base + 1 + i if offload else base + i, addr, len(part),
                              IFCS | (EOP if last else 0),
                              popts=(IXSM | TXSM) if offload and i == 0 else 0)
        return 1 + 2 * len(parts)

    wire, _, counters = send(plan, count=128, settle=8000, backend=COMPILED)
    handed = as_handed_over(frame)
    assert len(wire) == 2
    assert wire[0].error and received(wire[0]) is None
    assert wire[0].raw[8:-4] == handed
    assert (wire[1].error, wire[1].raw) == (False, to_wire(handed))
    assert counters == {"GPTC": 1, "TPT": 2}
