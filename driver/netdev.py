"""Network devices as the stack sees them (``struct net_device`` and its operations).

Frames leave through the device's queue discipline, as in the kernel (``dev_queue_xmit``): a
first-in first-out queue of ``tx_queue_len`` frames in front of the driver. When the driver
refuses a frame with NETDEV_TX_BUSY (its ring is full) the frame goes back to the head of the
queue, and the queue runs again once the driver wakes it (``netif_wake_queue``, from its
transmit clean-up). A frame is dropped only when the queue is full or the interface is down,
and then it is counted (``tx_dropped`` in ``ip -s link``).

A frame travels as an ``SkBuff``: its bytes, and, when the stack leaves a checksum to the device
(``CHECKSUM_PARTIAL``, which it does when the device has the ``tx-checksumming`` feature on),
where that checksum starts and where it goes. Features carry ethtool's names: a driver says
which it can do (``hw_features``) and which are on (``features``); ``ethtool -K`` turns them on
and off.
"""

import struct
from collections import deque
from dataclasses import dataclass


__all__ = ["NetDevice", "NetDeviceOps", "RtnlLinkStats64", "SkBuff", "checksum", "format_mac",
           "NETDEV_TX_OK", "NETDEV_TX_BUSY", "NETIF_F_HW_CSUM", "NETIF_F_RXCSUM"]

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


@dataclass
class SkBuff:
    """A frame to send, without FCS. With ``csum_start`` set (``CHECKSUM_PARTIAL``), the
    ones'-complement checksum of the bytes from ``csum_start`` to the end, over what the
    checksum field holds (the pseudo-header sum, or zero), is still to be stored at
    ``csum_start + csum_offset``."""
    data: bytes
    csum_start: int | None = None
    csum_offset: int = 0

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
    ``ndo_get_stats64``."""

    async def ndo_open(self, netdev):
        raise NotImplementedError

    async def ndo_stop(self, netdev):
        raise NotImplementedError

    async def ndo_start_xmit(self, skb, netdev):
        raise NotImplementedError

    async def ndo_get_stats64(self, netdev):
        return RtnlLinkStats64()


class NetDevice:
    def __init__(self, ops, *, mtu=1500):
        self.name = None
        self.ifindex = None
        self.ops = ops
        self.dev_addr = bytes(6)
        self.mtu = mtu
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
            if NETIF_F_HW_CSUM not in self.features:
                frame.checksum_help()       # turned off since the frame was built
            if await self.ops.ndo_start_xmit(frame, self) == NETDEV_TX_BUSY:
                self.qdisc.appendleft(frame)
                self.requeues += 1
                break

    def netif_receive_skb(self, frame):
        """Hand a received frame (without FCS) to the stack."""
        if self.rx_handler is not None:
            self.rx_handler(self, frame)

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
