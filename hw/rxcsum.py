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

from types import SimpleNamespace

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
        s = self._state()
        # Each byte is the high half of a 16-bit word at an even position in the datagram (the
        # header and the payload both start at even positions), the low half at an odd one.
        word = Mux(s.odd, byte, byte << 8)
        # At the datagram's fourth byte: total - header, and a borrow when total < header (the
        # header's length is its bytes still to come plus the three so far).
        difference = Signal(17)
        m.d.comb += difference.eq(Cat(byte, s.total_hi) - (s.header_left + 3))

        with m.If(start):
            m.d.sync += [s.k.eq(0), s.vlan.eq(0), s.skip.eq(0), s.begins.eq(0), s.in_ip.eq(0),
                         s.pos.eq(0), s.odd.eq(0), s.version_ok.eq(0), s.header_left.eq(0),
                         s.left.eq(0xFFFF), s.after.eq(0), s.fragment.eq(0), s.proto.eq(0),
                         s.udp_zero.eq(1), s.ip_sum.eq(0), s.l4_sum.eq(0), s.sane.eq(0)]
        with m.Elif(valid & s.begins):
            # The header's length in bytes less this first one.
            m.d.sync += [s.begins.eq(0), s.in_ip.eq(1), s.pos.eq(1), s.odd.eq(1),
                         s.ip_sum.eq(word),
                         s.version_ok.eq((byte[4:] == 4) & at_least(byte[:4], 5)),
                         s.header_left.eq((byte[:4] << 2) - 1)]
        with m.Elif(valid & ~s.in_ip & ~s.skip):
            self._ethernet(m, s, byte)
        with m.Elif(valid & s.in_ip):
            self._datagram(m, s, byte, word, difference)
        self._verdict(m, s, start, done)
        return m

    def _state(self):
        """What the checker keeps of a frame as it passes."""
        s = SimpleNamespace()
        # Before the IPv4 header: the byte count, up to the end of an 802.1Q tag.
        s.k = Signal(5)
        s.type_hi = Signal(8)
        s.vlan = Signal()
        s.skip = Signal()           # not IPv4: nothing more to look at
        s.begins = Signal()         # the next byte is the IPv4 header's first
        # In the datagram. Where a byte is comes from counters rather than from comparisons
        # of a 16-bit position: the header's fields from a position that stops at 20, the
        # header's end from what is left of it, the datagram's end from what is left of it.
        s.in_ip = Signal()
        s.pos = Signal(range(21))   # datagram bytes so far, up to 20
        s.odd = Signal()            # the next byte is at an odd position
        s.header_left = Signal(6)   # header bytes still to come
        # Datagram bytes still to come from the fifth on, plus 4 (the FCS): loaded with the
        # total length at the fourth byte, counted down to 0 (then the frame holds the
        # datagram whole, up to its FCS); more than 4 while the datagram's own bytes pass.
        s.left = Signal(16, init=0xFFFF)
        s.after = Signal(range(9))  # bytes after the header, up to 8
        s.total_hi = Signal(8)
        s.version_ok = Signal()
        s.fragment = Signal()
        s.proto = Signal(8)
        s.udp_zero = Signal()       # the UDP checksum field reads zero so far
        # Worked out from the header and total lengths at the fourth byte.
        s.payload = Signal(16)      # total - header: the pseudo-header's length
        s.sane = Signal()           # total >= header
        s.tcp_fits = Signal()       # room for a TCP header
        s.udp_fits = Signal()       # room for a UDP header
        # One's-complement sums, the carry out of 16 bits added back in the next cycle: 17 bits.
        s.ip_sum = Signal(17)
        s.l4_sum = Signal(17)
        s.in_header = s.header_left != 0
        return s

    def _ethernet(self, m, s, byte):
        """A byte before the datagram: the Ethernet type, after one 802.1Q tag at most."""
        ethertype = Cat(byte, s.type_hi)
        m.d.sync += s.k.eq(s.k + 1)
        with m.If((s.k == 12) | (s.k == 16)):
            m.d.sync += s.type_hi.eq(byte)
        with m.If((s.k == 13) & (ethertype == _VLAN)):
            m.d.sync += s.vlan.eq(1)
        with m.Elif(((s.k == 13) | (s.k == 17)) & (ethertype == _IPV4)):
            m.d.sync += s.begins.eq(1)
        with m.Elif((s.k == 13) | (s.k == 17)):
            m.d.sync += s.skip.eq(1)

    def _datagram(self, m, s, byte, word, difference):
        """A byte of the datagram after its first (or of the FCS after it)."""
        pos = s.pos
        in_payload = ~s.in_header & at_least(s.left, 5)
        pseudo = (pos[2:] == 3) | (pos[2:] == 4) | (pos == 9)    # the addresses, the protocol
        m.d.sync += [s.odd.eq(~s.odd), pos.eq(Mux(pos == 20, 20, pos + 1))]
        with m.If(s.in_header):
            m.d.sync += [s.header_left.eq(s.header_left - 1),
                         s.ip_sum.eq(s.ip_sum[:16] + s.ip_sum[16] + word)]
        with m.Elif(s.after != 8):
            m.d.sync += s.after.eq(s.after + 1)
        with m.If(s.left != 0):
            m.d.sync += s.left.eq(s.left - 1)
        # The pseudo-header's length goes in with the fifth byte, which is in no sum.
        with m.If(pseudo | in_payload | (pos == 4)):
            m.d.sync += s.l4_sum.eq(s.l4_sum[:16] + s.l4_sum[16] + Mux(pos == 4, s.payload, word))
        # Whether the payload has room for a TCP or UDP header, a cycle after its length:
        # registered from registers, not after the subtraction. A frame that ends with the
        # length's byte is not whole, so its verdict never needs them.
        m.d.sync += [s.tcp_fits.eq(s.sane & at_least(s.payload, 20)),
                     s.udp_fits.eq(s.sane & at_least(s.payload, 8))]
        with m.Switch(pos):
            with m.Case(2):
                m.d.sync += s.total_hi.eq(byte)
            with m.Case(3):
                m.d.sync += [s.left.eq(Cat(byte, s.total_hi)), s.payload.eq(difference[:16]),
                             s.sane.eq(~difference[16])]
            with m.Case(6):
                m.d.sync += s.fragment.eq(byte[5] | (byte[:5] != 0))     # MF, offset
            with m.Case(7):
                m.d.sync += s.fragment.eq(s.fragment | (byte != 0))
            with m.Case(9):
                m.d.sync += s.proto.eq(byte)
        with m.If(~s.in_header & ((s.after == 6) | (s.after == 7)) & (byte != 0)):
            m.d.sync += s.udp_zero.eq(0)

    def _verdict(self, m, s, start, done):
        """The verdict, registered in two steps after the frame. A sum folds to 0xFFFF (its 16
        bits plus its carry) exactly when it is 0x0FFFF or 0x1FFFE: no adder is needed."""
        def right(total):
            return (total == 0x0FFFF) | (total == 0x1FFFE)
        ip_ok = Signal()
        l4_ok = Signal()
        checked = Signal()      # a TCP or UDP checksum to check
        ipv4 = Signal()
        verdict = Signal()
        m.d.sync += verdict.eq(done)
        with m.If(done):
            whole = s.in_ip & s.version_ok & (s.left == 0) & s.sane
            m.d.sync += [
                ipv4.eq(s.in_ip & s.version_ok & ~s.in_header),
                ip_ok.eq(right(s.ip_sum)),
                checked.eq(whole & ~s.fragment
                           & (((s.proto == _TCP) & s.tcp_fits)
                              | ((s.proto == _UDP) & s.udp_fits & ~s.udp_zero))),
                l4_ok.eq(right(s.l4_sum)),
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
