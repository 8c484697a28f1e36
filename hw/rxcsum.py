"""Receive checksum offload: a frame's IPv4 header and TCP/UDP checksums, checked as it arrives.

Reference: SDM 3.2.9 (receive checksum offloading), 13.4.31 (RXCSUM); RFC 791 (IPv4), 793 (TCP),
768 (UDP), 1071 (the Internet checksum).

Contract: bytes come in one a cycle at most (``valid``, ``byte``), in frame order from the
destination address, after a ``start`` pulse; ``done`` pulses in the cycle after the frame's last
byte (its FCS included). ``result`` is current three cycles after ``done`` and holds until the
next ``start``. No back-pressure: it takes whatever the MAC receives.

The Ethernet type (after one 802.1Q tag at most) says IPv4; the header's version must be 4 and its
length at least 20 bytes. Its checksum is summed over the header as it passes. The TCP or UDP
checksum is summed over the datagram's payload and the pseudo-header (the addresses and protocol
as they pass, the payload length at the end), for a datagram that is not a fragment and that the
frame holds whole (frames are padded to 64 bytes: what follows the IPv4 total length is left
out). A UDP datagram whose checksum field is zero carries no checksum: it is not checked. Each
sum is right when its one's-complement fold is 0xFFFF.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .compare import at_least


__all__ = ["RxChecksum", "RxChecksumResult"]

_IPV4, _VLAN = 0x0800, 0x8100
_TCP, _UDP = 6, 17


class RxChecksumResult(data.Struct):
    ipv4: 1         # an IPv4 header was found whole
    ip_ok: 1        # ...and its checksum is right (zero without ipv4)
    l4: 1           # a TCP or UDP checksum was checked
    l4_ok: 1        # ...and is right (zero without l4)


class RxChecksum(wiring.Component):
    """Bytes in one a cycle at most after ``start``, no back-pressure; ``done`` a cycle after the
    frame's last byte; ``result`` current three cycles after ``done``, held until the next
    ``start`` (see the module's contract).

    Members
    -------
    start : In(1)
        A frame begins.
    valid, byte : In(1), In(8)
        One byte of the frame.
    done : In(1)
        The frame has ended.
    result : Out(RxChecksumResult)
    """
    start: In(1)
    valid: In(1)
    byte: In(8)
    done: In(1)
    result: Out(RxChecksumResult)

    def elaborate(self, platform):
        m = Module()
        # Timing: the inputs are registered first (they come from the MAC's state machine and
        # its GMII input register, which fan out widely).
        start, valid, byte, done = Signal(), Signal(), Signal(8), Signal()
        m.d.sync += [start.eq(self.start), valid.eq(self.valid), byte.eq(self.byte),
                     done.eq(self.done)]

        # Before the IPv4 header: the byte count, up to the end of an 802.1Q tag.
        k = Signal(5)
        type_hi = Signal(8)
        vlan = Signal()
        skip = Signal()             # not IPv4: nothing more to look at
        begins = Signal()           # the next byte is the IPv4 header's first
        # In the datagram. Where a byte is comes from counters rather than from comparisons
        # of a 16-bit position: the header's fields from a position that stops at 20, the
        # header's end from what is left of it, the datagram's end from what is left of it.
        in_ip = Signal()
        pos = Signal(range(21))     # datagram bytes so far, up to 20
        odd = Signal()              # the next byte is at an odd position
        header_left = Signal(6)     # header bytes still to come
        # Datagram bytes still to come from the fifth on, plus 4 (the FCS): loaded with the
        # total length at the fourth byte, counted down to 0 (then the frame holds the
        # datagram whole, up to its FCS); more than 4 while the datagram's own bytes pass.
        left = Signal(16, init=0xFFFF)
        after = Signal(range(9))    # bytes after the header, up to 8
        total_hi = Signal(8)
        version_ok = Signal()
        fragment = Signal()
        proto = Signal(8)
        udp_zero = Signal()         # the UDP checksum field reads zero so far
        # Worked out from the header and total lengths at the fourth byte.
        payload = Signal(16)        # total - header: the pseudo-header's length
        sane = Signal()             # total >= header
        tcp_fits = Signal()         # room for a TCP header
        udp_fits = Signal()         # room for a UDP header
        # One's-complement sums, the carry out of 16 bits added back in the next cycle: 17 bits.
        ip_sum = Signal(17)
        l4_sum = Signal(17)

        # Each byte is the high half of a 16-bit word at an even position in the datagram (the
        # header and the payload both start at even positions), the low half at an odd one.
        word = Mux(odd, byte, byte << 8)
        in_header = header_left != 0
        in_payload = ~in_header & at_least(left, 5)
        pseudo = (pos[2:] == 3) | (pos[2:] == 4) | (pos == 9)    # the addresses, the protocol
        ethertype = Cat(byte, type_hi)
        difference = Signal(17)     # total - header, and a borrow when total < header
        m.d.comb += difference.eq(Cat(byte, total_hi) - (header_left + 3))

        with m.If(start):
            m.d.sync += [k.eq(0), vlan.eq(0), skip.eq(0), begins.eq(0), in_ip.eq(0), pos.eq(0),
                         odd.eq(0), version_ok.eq(0), header_left.eq(0), left.eq(0xFFFF),
                         after.eq(0), fragment.eq(0), proto.eq(0), udp_zero.eq(1),
                         ip_sum.eq(0), l4_sum.eq(0), sane.eq(0), tcp_fits.eq(0),
                         udp_fits.eq(0)]
        with m.Elif(valid & begins):
            # The header's length in bytes less this first one.
            m.d.sync += [begins.eq(0), in_ip.eq(1), pos.eq(1), odd.eq(1), ip_sum.eq(word),
                         version_ok.eq((byte[4:] == 4) & at_least(byte[:4], 5)),
                         header_left.eq((byte[:4] << 2) - 1)]
        with m.Elif(valid & ~in_ip & ~skip):
            m.d.sync += k.eq(k + 1)
            with m.If((k == 12) | (k == 16)):
                m.d.sync += type_hi.eq(byte)
            with m.If((k == 13) & (ethertype == _VLAN)):
                m.d.sync += vlan.eq(1)
            with m.Elif(((k == 13) | (k == 17)) & (ethertype == _IPV4)):
                m.d.sync += begins.eq(1)
            with m.Elif((k == 13) | (k == 17)):
                m.d.sync += skip.eq(1)
        with m.Elif(valid & in_ip):
            m.d.sync += [odd.eq(~odd), pos.eq(Mux(pos == 20, 20, pos + 1))]
            with m.If(in_header):
                m.d.sync += [header_left.eq(header_left - 1),
                             ip_sum.eq(ip_sum[:16] + ip_sum[16] + word)]
            with m.Elif(after != 8):
                m.d.sync += after.eq(after + 1)
            with m.If(left != 0):
                m.d.sync += left.eq(left - 1)
            # The pseudo-header's length goes in with the fifth byte, which is in no sum.
            with m.If(pseudo | in_payload | (pos == 4)):
                m.d.sync += l4_sum.eq(l4_sum[:16] + l4_sum[16] + Mux(pos == 4, payload, word))
            with m.Switch(pos):
                with m.Case(2):
                    m.d.sync += total_hi.eq(byte)
                with m.Case(3):
                    # The header's length is its bytes still to come plus the three so far.
                    m.d.sync += [left.eq(Cat(byte, total_hi)), payload.eq(difference[:16]),
                                 sane.eq(~difference[16]),
                                 tcp_fits.eq(~difference[16] & at_least(difference[:16], 20)),
                                 udp_fits.eq(~difference[16] & at_least(difference[:16], 8))]
                with m.Case(6):
                    m.d.sync += fragment.eq(byte[5] | (byte[:5] != 0))     # MF, offset
                with m.Case(7):
                    m.d.sync += fragment.eq(fragment | (byte != 0))
                with m.Case(9):
                    m.d.sync += proto.eq(byte)
            with m.If(~in_header & ((after == 6) | (after == 7)) & (byte != 0)):
                m.d.sync += udp_zero.eq(0)

        # The verdict, registered in two steps after the frame. A sum folds to 0xFFFF (its
        # 16 bits plus its carry) exactly when it is 0x0FFFF or 0x1FFFE: no adder is needed.
        def right(total):
            return (total == 0x0FFFF) | (total == 0x1FFFE)
        ip_ok = Signal()
        l4_ok = Signal()
        checked = Signal()      # a TCP or UDP checksum to check
        ipv4 = Signal()
        verdict = Signal()
        m.d.sync += verdict.eq(done)
        with m.If(done):
            whole = in_ip & version_ok & (left == 0) & sane
            m.d.sync += [
                ipv4.eq(in_ip & version_ok & ~in_header),
                ip_ok.eq(right(ip_sum)),
                checked.eq(whole & ~fragment
                           & (((proto == _TCP) & tcp_fits)
                              | ((proto == _UDP) & udp_fits & ~udp_zero))),
                l4_ok.eq(right(l4_sum)),
            ]
        with m.If(start):
            m.d.sync += self.result.eq(0)
        with m.Elif(verdict):
            m.d.sync += [
                self.result.ipv4.eq(ipv4),
                self.result.ip_ok.eq(ipv4 & ip_ok),
                self.result.l4.eq(checked),
                self.result.l4_ok.eq(checked & l4_ok),
            ]
        return m
