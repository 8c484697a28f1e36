"""802.1Q VLAN: tag insertion on transmit, stripping and filtering on receive.

Transmit: with CTRL.VME, a frame whose last descriptor has VLE goes out with VET and the
descriptor's special field after its source address, with an FCS, padded to 60 bytes with the
tag; the checksums and segments the descriptors ask for are those of the untagged frame.
Receive: a frame whose type matches VET loses its tag into the descriptor's special field, with
VP, when CTRL.VME is set; RCTL.VFE drops tagged frames whose VLAN ID is clear in the VFTA, and
RCTL.CFIEN those whose CFI is not RCTL.CFI.
"""

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import ARP, Ether

from hw.desc import RXD_STA, TXD_CMD, TXD_POPTS, TXD_TUCMD
from hw.regmap import reg
from sim.ethernet import fcs, to_wire, vlan_tag

from harness import nic_run, send_ring
from test_tso import header, payload_of, segments, super_packet, tso
from test_txcsum import IPV4, TCP_AT, as_handed_over, ip_frame, split

EOP, IFCS, RS, VLE = TXD_CMD.EOP, TXD_CMD.IFCS, TXD_CMD.RS, TXD_CMD.VLE
VME = reg.CTRL.VME.mask
GUEST, GATEWAY = "52:54:00:12:34:56", "52:55:0a:00:02:02"
TCI = 0x6005                # priority 3, VLAN 5
RCTL = reg.RCTL
BASE_RCTL = RCTL.EN.mask | RCTL.SECRC.mask


def arp():
    return bytes(Ether(src=GUEST, dst="ff:ff:ff:ff:ff:ff") / ARP(
        hwsrc=GUEST, psrc="10.0.5.15", pdst="10.0.5.2"))


def ping(dst=GUEST, src=GATEWAY, size=56):
    return bytes(Ether(src=src, dst=dst) / IP(src="10.0.5.2", dst="10.0.5.15")
                 / ICMP(id=9, seq=1) / bytes(range(size)))


def transmit(ctrl):
    """Four frames: tagged in one descriptor; in two, with VLE and the tag only in the last (as
    the SDM asks); VLE only in the first of two (which the SDM ignores); tagged without IFCS."""
    a, p = arp(), ping(GATEWAY, GUEST)

    def plan(rings, put):
        rings.tx_legacy(0, put(a), len(a), EOP | IFCS | RS | VLE, special=TCI)
        head, tail = split(p, [20])
        rings.tx_legacy(1, put(head), len(head), IFCS, special=0)
        rings.tx_legacy(2, put(tail), len(tail), EOP | IFCS | RS | VLE, special=0x0FFF)
        rings.tx_legacy(3, put(head), len(head), IFCS | VLE, special=TCI)
        rings.tx_legacy(4, put(tail), len(tail), EOP | IFCS | RS)
        rings.tx_legacy(5, put(p), len(p), EOP | RS | VLE, special=0xE001)
        return 6

    wire, _, counters = send_ring(plan, ctrl=ctrl, counters=(reg.GPTC, reg.GOTCL))
    return [w.raw for w in wire], counters, a, p


def test_the_tag_goes_in_after_the_source_address_with_vme():
    wire, counters, a, p = transmit(VME)
    assert wire == [to_wire(vlan_tag(a, TCI)), to_wire(vlan_tag(p, 0x0FFF)), to_wire(p),
                    to_wire(vlan_tag(p, 0xE001))]
    # The ARP request is padded to 60 bytes with its tag: 64 on the wire.
    assert counters == {"GPTC": 4, "GOTCL": 64 + 2 * (len(p) + 8) + len(p) + 4}


def test_vle_is_ignored_without_vme():
    wire, _, a, p = transmit(0)
    # The last frame asked for no FCS.
    assert wire[:3] == [to_wire(a), to_wire(p), to_wire(p)]
    assert wire[3] == to_wire(p)[:-4]


def test_checksums_and_segments_count_their_offsets_without_the_tag():
    tcp = ip_frame(TCP(sport=40000, dport=80, seq=1234, flags="PA"), bytes(range(200)))
    head = header()
    payload = payload_of(3000)
    frame, hdrlen = super_packet(head, payload)

    def plan(rings, put):
        rings.tx_context(0, TXD_TUCMD.IP | TXD_TUCMD.TCP, **IPV4, **TCP_AT)
        parts = split(as_handed_over(tcp), [30])
        rings.tx_data(1, put(parts[0]), len(parts[0]), IFCS | VLE,
                      popts=TXD_POPTS.IXSM | TXD_POPTS.TXSM, special=TCI)
        rings.tx_data(2, put(parts[1]), len(parts[1]), EOP | IFCS | RS | VLE, special=TCI)
        # A super-packet, with VLE and the tag in every descriptor, as Linux writes them.
        return tso(rings, put, 3, frame, hdrlen, 1000, [40, 1500], dcmd=VLE, special=TCI)

    wire, _, _ = send_ring(plan, count=32, ctrl=VME)
    expected = [tcp] + segments(head, payload, 1000)
    assert [w.raw for w in wire] == [to_wire(vlan_tag(f, TCI)) for f in expected]


def receive(ctrl, rctl, frames, *, vfta=(), rxcsum=0):
    """The frames' descriptors (status, special, data) and GPRC, after sending ``frames``."""
    async def tb(backend, regs, rings):
        await regs.write(reg.CTRL, await regs.read(reg.CTRL) | ctrl)
        for word, value in vfta:
            await regs.write(reg.VFTA, value, n=word)
        await regs.write(reg.RXCSUM, rxcsum)
        await rings.rx_setup(rctl=rctl)
        for f in frames:
            backend.send(to_wire(f))
        await rings.settle(1500 + 300 * len(frames))
        got = []
        for i in range(8):
            desc = rings.rx_status(i)
            if desc.status & RXD_STA.DD:
                got.append((desc.status, desc.special, rings.rx_data(i)))
        return got, await regs.read(reg.GPRC)
    return nic_run(tb)


DD_EOP = RXD_STA.DD | RXD_STA.EOP | RXD_STA.IXSM


def test_the_tag_is_stripped_into_the_descriptor_with_vme():
    p, a = ping(), bytes(Ether(src=GATEWAY, dst=GUEST) / ARP(op=2, psrc="10.0.5.2"))
    frames = [vlan_tag(p, TCI), p, vlan_tag(a, 0x0FFF)]
    got, gprc = receive(VME, BASE_RCTL, frames)
    # The ARP reply, padded to 60 bytes with its tag, leaves 56.
    a_padded = (vlan_tag(a, 0x0FFF) + bytes(60))[:60]
    assert got == [(DD_EOP | RXD_STA.VP, TCI, p), (DD_EOP, 0, p),
                   (DD_EOP | RXD_STA.VP, 0x0FFF, a_padded[:12] + a_padded[16:])]
    assert gprc == 3
    # Kept FCS: that of the frame as it came, tag and all.
    got, _ = receive(VME, RCTL.EN.mask, frames[:1])
    assert got == [(DD_EOP | RXD_STA.VP, TCI, p + fcs(vlan_tag(p, TCI)))]


def test_without_vme_the_tag_stays_in_the_data():
    got, _ = receive(0, BASE_RCTL, [vlan_tag(ping(), TCI)])
    assert got == [(DD_EOP, 0, vlan_tag(ping(), TCI))]


def test_receive_checksums_of_a_tagged_frame():
    got, _ = receive(VME, BASE_RCTL, [vlan_tag(ping(), TCI)],
                     rxcsum=reg.RXCSUM.IPOFL.mask | reg.RXCSUM.TUOFL.mask)
    assert got == [(RXD_STA.DD | RXD_STA.EOP | RXD_STA.IPCS | RXD_STA.VP, TCI, ping())]


def test_the_vlan_filter_table_and_cfi():
    p = ping()
    # VLAN 5 and 37 share bit 5 of different words; only word 0's is set.
    frames = [vlan_tag(p, 5), vlan_tag(p, 6), vlan_tag(p, 37), p, vlan_tag(p, 0x1005)]
    got, gprc = receive(VME, BASE_RCTL | RCTL.VFE.mask, frames, vfta=[(0, 1 << 5)])
    assert [(s & RXD_STA.VP, tci) for s, tci, _ in got] == [(RXD_STA.VP, 5), (0, 0),
                                                            (RXD_STA.VP, 0x1005)]
    assert gprc == 3
    # CFIEN: the CFI bit must be RCTL.CFI (0 here).
    got, gprc = receive(VME, BASE_RCTL | RCTL.VFE.mask | RCTL.CFIEN.mask, frames,
                        vfta=[(0, 1 << 5)])
    assert [tci for _, tci, _ in got] == [5, 0] and gprc == 2
    # Without VFE every VLAN passes; the filter works on the tag without VME as well.
    got, _ = receive(0, BASE_RCTL, frames)
    assert len(got) == 5
    got, _ = receive(0, BASE_RCTL | RCTL.VFE.mask, frames, vfta=[(1, 1 << 5)])
    assert [data for _, _, data in got] == [vlan_tag(p, 37), p]


def test_a_checksum_across_the_tags_place_is_that_of_the_untagged_frame():
    # A legacy checksum at offset 11 (its second byte where the tag goes) and one at 12 (the
    # tag's first place): both are worked out and placed in the frame as queued, and the tag
    # goes in whole after its twelfth byte.
    from sim.fuzz import inserted
    p = ping(GATEWAY, GUEST)

    def plan(rings, put):
        rings.tx_legacy(0, put(p), len(p), EOP | IFCS | RS | VLE | TXD_CMD.IC, special=TCI,
                        css=14, cso=11)
        rings.tx_legacy(1, put(p), len(p), EOP | IFCS | RS | VLE | TXD_CMD.IC, special=TCI,
                        css=14, cso=12)
        return 2

    wire, _, _ = send_ring(plan, ctrl=VME)
    assert [w.raw for w in wire] == [
        to_wire(vlan_tag(inserted(p, tu=True, tucss=14, tucso=cso), TCI)) for cso in (11, 12)]
