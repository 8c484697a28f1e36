"""Network devices as the stack sees them (``struct net_device`` and its operations).

Frames leave through the device's queue discipline, as in the kernel (``dev_queue_xmit``): a
first-in first-out queue of ``tx_queue_len`` frames in front of the driver. When the driver
refuses a frame with NETDEV_TX_BUSY (its ring is full) the frame goes back to the head of the
queue, and the queue runs again once the driver wakes it (``netif_wake_queue``, from its
transmit clean-up). A frame is dropped only when the queue is full or the interface is down,
and then it is counted (``tx_dropped`` in ``ip -s link``).

A frame travels as an ``SkBuff``: its bytes, and, when the stack leaves a checksum to the device
(``CHECKSUM_PARTIAL``, which it does when the device has the ``tx-checksumming`` feature on),
where that checksum starts and where it goes; and a TCP/IPv4 super-packet says the segment size
it is to be cut into (``gso_size``, GSO). The queue discipline cuts super-packets in software
(``SkBuff.gso_segment``) when the device has ``tcp-segmentation-offload`` (TSO) off, and cuts
them into smaller super-packets when they are larger than the device takes (``gso_max_size``).
A frame for a VLAN carries its 802.1Q tag beside its bytes (``vlan_tci``) down to a device with
``tx-vlan-offload``, which inserts it; for any other device the queue discipline cuts and
checksums the frame in software and puts the tag into the bytes (``vlan_insert``). On receive, a frame comes up with the tag the device took out
(``rx-vlan-offload``) or with the tag in its bytes, which ``netif_receive_skb`` takes out, and
goes to the VLAN device of its VLAN ID on the device (``vlans``); if there is none, it goes on
to the device's handler still tagged (the stack drops it, a bridge passes it on).
Features carry ethtool's names: a driver says which it can do (``hw_features``) and which are on
(``features``); ``ethtool -K`` turns them on and off.
"""

import struct
from collections import deque
from dataclasses import dataclass


__all__ = ["NetDevice", "NetDeviceOps", "RtnlLinkStats64", "SkBuff", "checksum", "format_mac",
           "NETDEV_TX_OK", "NETDEV_TX_BUSY", "NETIF_F_HW_CSUM", "NETIF_F_RXCSUM", "NETIF_F_TSO",
           "NETIF_F_HW_VLAN_CTAG_RX", "NETIF_F_HW_VLAN_CTAG_TX", "NETIF_F_HW_VLAN_CTAG_FILTER",
           "GSO_MAX_SIZE", "ETH_P_8021Q", "VLAN_HLEN", "VLAN_VID_MASK"]

def checksum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


# The features drivers here offer, by their ethtool names.
NETIF_F_HW_CSUM = "tx-checksumming"
NETIF_F_RXCSUM = "rx-checksumming"
NETIF_F_TSO = "tcp-segmentation-offload"
NETIF_F_HW_VLAN_CTAG_RX = "rx-vlan-offload"
NETIF_F_HW_VLAN_CTAG_TX = "tx-vlan-offload"
NETIF_F_HW_VLAN_CTAG_FILTER = "rx-vlan-filter"

ETH_P_8021Q = 0x8100
VLAN_HLEN = 4
VLAN_VID_MASK = 0x0FFF

GSO_MAX_SIZE = 65536

_ETH_HLEN = 14
_FIN, _PSH = 0x01, 0x08


@dataclass
class SkBuff:
    """A frame to send, without FCS. With ``csum_start`` set (``CHECKSUM_PARTIAL``), the
    ones'-complement checksum of the bytes from ``csum_start`` to the end, over what the
    checksum field holds (the pseudo-header sum, or zero), is still to be stored at
    ``csum_start + csum_offset``."""
    data: bytes
    csum_start: int | None = None
    csum_offset: int = 0
    gso_size: int = 0       # a TCP/IPv4 super-packet: the payload bytes of each segment
    # Received: the device checked the TCP/UDP checksum and found it right
    # (CHECKSUM_UNNECESSARY).
    csum_unnecessary: bool = False
    # The 802.1Q tag control information, kept beside the bytes (``skb_vlan_tag_present``).
    vlan_tci: int | None = None

    def __len__(self):
        return len(self.data)

    def checksum_help(self):
        """Store the checksum still to do, in software (when the device will not)."""
        if self.csum_start is None:
            return
        data = bytearray(self.data)
        at = self.csum_start + self.csum_offset
        data[at:at + 2] = checksum(bytes(data[self.csum_start:])).to_bytes(2, "big")
        self.data, self.csum_start, self.csum_offset = bytes(data), None, 0

    def vlan_insert(self):
        """Put the tag kept beside the bytes into them, after the source address (the
        checksum still to do moves with the bytes)."""
        if self.vlan_tci is None:
            return
        tag = ETH_P_8021Q.to_bytes(2, "big") + self.vlan_tci.to_bytes(2, "big")
        self.data = self.data[:12] + tag + self.data[12:]
        if self.csum_start is not None:
            self.csum_start += VLAN_HLEN
        self.vlan_tci = None

    def vlan_untag(self):
        """Take a tag in the bytes out, to beside them (``skb_vlan_untag``; the checksum still
        to do moves with the bytes)."""
        if self.vlan_tci is None and len(self.data) >= 18 \
                and int.from_bytes(self.data[12:14], "big") == ETH_P_8021Q:
            self.vlan_tci = int.from_bytes(self.data[14:16], "big")
            self.data = self.data[:12] + self.data[16:]
            if self.csum_start is not None:
                self.csum_start -= VLAN_HLEN

    def header_length(self):
        """The bytes of a TCP/IPv4 frame's Ethernet, IP and TCP headers."""
        l4 = _ETH_HLEN + (self.data[_ETH_HLEN] & 0xF) * 4
        return l4 + (self.data[l4 + 12] >> 4) * 4

    def gso_segment(self, max_size=None):
        """A super-packet cut into its segments (``skb_gso_segment``), or, with ``max_size``,
        into super-packets of at most that many bytes. Each has the header with its own IPv4
        total length, identification (one more per segment) and header checksum, sequence
        number, and FIN and PSH only at the end; its TCP checksum is left to do
        (``CHECKSUM_PARTIAL``, the field seeded with the pseudo-header sum)."""
        data, mss = self.data, self.gso_size
        hlen = self.header_length()
        l4 = _ETH_HLEN + (data[_ETH_HLEN] & 0xF) * 4
        payload = data[hlen:]
        per = mss if max_size is None else max(1, (max_size - hlen) // mss) * mss
        ip_id = int.from_bytes(data[18:20], "big")
        seq = int.from_bytes(data[l4 + 4:l4 + 8], "big")
        out = []
        for at in range(0, len(payload), per):
            piece = payload[at:at + per]
            head = bytearray(data[:hlen])
            head[16:18] = (hlen - _ETH_HLEN + len(piece)).to_bytes(2, "big")
            head[18:20] = ((ip_id + at // mss) & 0xFFFF).to_bytes(2, "big")
            head[24:26] = bytes(2)
            head[24:26] = checksum(bytes(head[_ETH_HLEN:l4])).to_bytes(2, "big")
            head[l4 + 4:l4 + 8] = ((seq + at) & 0xFFFFFFFF).to_bytes(4, "big")
            if at + per < len(payload):
                head[l4 + 13] &= ~(_FIN | _PSH)
            length = hlen - l4 + len(piece)
            pseudo = bytes(head[26:34]) + bytes([0, 6]) + length.to_bytes(2, "big")
            head[l4 + 16:l4 + 18] = (~checksum(pseudo) & 0xFFFF).to_bytes(2, "big")
            out.append(SkBuff(bytes(head) + piece, csum_start=l4, csum_offset=16,
                              gso_size=0 if max_size is None else mss, vlan_tci=self.vlan_tci))
        return out


def format_mac(mac):
    return ":".join(f"{b:02x}" for b in mac)


@dataclass
class RtnlLinkStats64:
    rx_packets: int = 0
    tx_packets: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_errors: int = 0
    tx_errors: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0
    multicast: int = 0
    rx_crc_errors: int = 0
    rx_length_errors: int = 0
    rx_missed_errors: int = 0


NETDEV_TX_OK = 0
NETDEV_TX_BUSY = 1


class NetDeviceOps:
    """What a driver provides: ``ndo_open``, ``ndo_stop``, ``ndo_start_xmit``,
    ``ndo_get_stats64``, ``ndo_set_features``, ``ndo_change_mtu``, ``ndo_vlan_rx_add_vid``,
    ``ndo_vlan_rx_kill_vid``, ``get_ethtool_stats``."""

    async def ndo_open(self, netdev):
        raise NotImplementedError

    async def ndo_stop(self, netdev):
        raise NotImplementedError

    async def ndo_start_xmit(self, skb, netdev):
        raise NotImplementedError

    async def ndo_get_stats64(self, netdev):
        return RtnlLinkStats64()

    async def ndo_set_features(self, netdev, features):
        """Apply ``features`` (ethtool -K), before they go into ``netdev.features``."""

    async def get_ethtool_stats(self, netdev):
        """The driver's statistics for ``ethtool -S``: (name, value) pairs."""
        return []

    async def get_pauseparam(self, netdev):
        """``ethtool -a``: (autonegotiated, honours PAUSE, sends PAUSE), or None."""
        return None

    async def ndo_vlan_rx_add_vid(self, netdev, vid):
        """A VLAN device for ``vid`` was made on ``netdev``: let its frames in."""

    async def ndo_vlan_rx_kill_vid(self, netdev, vid):
        """...and went away."""

    async def ndo_change_mtu(self, netdev, mtu):
        """Take a new MTU, within ``netdev.min_mtu`` and ``max_mtu``; returns 0 or -errno."""
        netdev.mtu = mtu
        return 0


class NetDevice:
    def __init__(self, ops, *, mtu=1500):
        self.name = None
        self.ifindex = None
        self.ops = ops
        self.dev_addr = bytes(6)
        self.mtu = mtu
        self.min_mtu = 68           # ETH_MIN_MTU
        self.max_mtu = 1500         # the driver raises it for jumbo frames
        self.up = False             # IFF_UP: administratively up
        self.carrier = False        # IFF_LOWER_UP
        self.priv = None
        self.queue_stopped = False
        self.rx_handler = None      # the stack's receive function: rx_handler(netdev, frame)
        self.kernel = None          # set by register_netdev
        self.tx_queue_len = 1000
        self.qdisc = deque()
        self.tx_dropped = 0         # by the queue discipline: full, or the interface down
        self.requeues = 0           # frames the driver refused and the queue kept
        self.hw_features = set()    # what the driver can turn on (ethtool names)
        self.features = set()       # ...and what is on
        self.gso_max_size = GSO_MAX_SIZE    # the largest super-packet the driver takes
        self.vlans = {}             # VLAN ID -> the VLAN device on this one
        self.rx_dropped = 0         # by the stack: for a VLAN with no device here

    async def dev_queue_xmit(self, frame):
        """Queue ``frame`` (an ``SkBuff``, or the bytes of a frame with every checksum in
        place) for the driver and run the queue; returns whether it was queued."""
        if not isinstance(frame, SkBuff):
            frame = SkBuff(bytes(frame))
        if not self.up or len(self.qdisc) >= self.tx_queue_len:
            self.tx_dropped += 1
            return False
        self.qdisc.append(frame)
        await self.qdisc_run()
        return True

    async def qdisc_run(self):
        """Hand queued frames to the driver until it stops the queue or refuses one."""
        if not self.up:
            self.tx_dropped += len(self.qdisc)
            self.qdisc.clear()
            return
        while self.qdisc and not self.queue_stopped:
            frame = self.qdisc.popleft()
            # A tag the device will not insert goes into the bytes here, last: the frame is cut
            # and checksummed in software first, since the driver's offload descriptors read
            # the headers at an untagged frame's offsets.
            software_tag = frame.vlan_tci is not None \
                and NETIF_F_HW_VLAN_CTAG_TX not in self.features
            if frame.gso_size and (software_tag
                                   or not {NETIF_F_TSO, NETIF_F_HW_CSUM} <= self.features):
                self.qdisc.extendleft(reversed(frame.gso_segment()))
                continue
            if frame.gso_size and len(frame) > self.gso_max_size:
                self.qdisc.extendleft(reversed(frame.gso_segment(self.gso_max_size)))
                continue
            if NETIF_F_HW_CSUM not in self.features or software_tag:
                frame.checksum_help()       # turned off since the frame was built
            if software_tag:
                frame.vlan_insert()
            if await self.ops.ndo_start_xmit(frame, self) == NETDEV_TX_BUSY:
                self.qdisc.appendleft(frame)
                self.requeues += 1
                break

    def netif_receive_skb(self, skb):
        """Hand a received frame (an ``SkBuff``, without FCS) to the stack, or to the VLAN
        device its tag names."""
        skb.vlan_untag()
        if skb.vlan_tci is not None:
            vlan = self.vlans.get(skb.vlan_tci & VLAN_VID_MASK)
            if vlan is not None:
                skb.vlan_tci = None
                if vlan.up:
                    vlan.ops.receive(vlan, skb)
                else:
                    self.rx_dropped += 1
                return
            if not skb.vlan_tci & VLAN_VID_MASK:
                skb.vlan_tci = None     # priority-tagged (VLAN 0): the device's own
        # Still tagged: for a VLAN with no device here; the handler (the stack, which drops
        # it, or a bridge) decides.
        if self.rx_handler is not None:
            self.rx_handler(self, skb)

    def netif_stop_queue(self):
        self.queue_stopped = True

    def netif_wake_queue(self):
        self.queue_stopped = False
        if self.qdisc and self.kernel is not None:
            self.kernel.schedule_work(self.qdisc_run)     # the transmit softirq

    def netif_carrier_on(self):
        self.carrier = True

    def netif_carrier_off(self):
        self.carrier = False

    def flags(self):
        flags = ["BROADCAST", "MULTICAST"]
        if self.up:
            flags.append("UP")
        if self.up and self.carrier:
            flags.append("LOWER_UP")
        return flags
