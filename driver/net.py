"""The guest's network stack: Ethernet, ARP, IPv4 with routes, and ICMP echo.

Small, but it behaves like the kernel's for what the reference scenario does: addresses on
interfaces make connected routes, a default route goes through a gateway, a destination with no
route fails with ENETUNREACH, next hops are resolved with ARP (packets wait in a queue until the
reply comes, and fail after three unanswered requests), the stack answers ARP requests and echo
requests for its own addresses, and echo replies go to the ping that is waiting for them.

Checksums of what it sends past the IP header are left to the device when the device has
``tx-checksumming`` on (``CHECKSUM_PARTIAL``); unlike Linux's stack, which computes ICMP's in
software, this one leaves ICMP's too, so that ping exercises the device's checksum insertion.
"""

import ipaddress
import struct
from dataclasses import dataclass, field

from .netdev import NETIF_F_HW_CSUM, SkBuff, checksum


__all__ = ["NetStack", "NetworkUnreachable", "checksum", "ETH_P_IP", "ETH_P_ARP"]

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6
ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
ARP_RETRIES = 3


class NetworkUnreachable(OSError):
    def __init__(self):
        super().__init__(101, "Network is unreachable")


class MessageTooLong(OSError):
    """A packet larger than its interface's MTU, which this stack does not fragment (every
    packet it sends has DF set)."""
    def __init__(self):
        super().__init__(90, "Message too long")


@dataclass
class Route:
    network: ipaddress.IPv4Network
    dev: object
    gateway: ipaddress.IPv4Address = None
    source: ipaddress.IPv4Address = None

    def __str__(self):
        if self.gateway is not None:
            return f"default via {self.gateway} dev {self.dev.name}" \
                if self.network.prefixlen == 0 else \
                f"{self.network} via {self.gateway} dev {self.dev.name}"
        return f"{self.network} dev {self.dev.name} scope link  src {self.source}"


@dataclass
class _Pending:
    packets: list = field(default_factory=list)
    tries: int = 0
    sent_at: float = 0.0


class NetStack:
    def __init__(self, kernel):
        self.kernel = kernel
        self.addresses = {}         # netdev name -> [IPv4Interface]
        self.routes = []
        self.arp = {}               # IPv4Address -> MAC
        self._pending = {}          # IPv4Address -> _Pending
        self._ident = 0
        self.echo_listeners = []    # called with (source, ttl, icmp bytes) of echo replies
        kernel.netdev_notifiers.append(self.netdev_event)

    # Configuration.

    def attach(self, netdev):
        netdev.rx_handler = self.receive

    def netdev_event(self, event, netdev):
        """A device went away: its addresses, the routes through it and the neighbours
        reached through it go too."""
        if event != "unregister":
            return
        gone = [route for route in self.routes if route.dev is netdev]
        for address in list(self.arp):
            if any(address in route.network for route in gone if route.gateway is None):
                del self.arp[address]
        for hop, pending in list(self._pending.items()):
            if any(dev is netdev for dev, _, _ in pending.packets):
                del self._pending[hop]
        self.routes = [route for route in self.routes if route.dev is not netdev]
        self.addresses.pop(netdev.name, None)

    def add_address(self, netdev, interface):
        self.attach(netdev)
        self.addresses.setdefault(netdev.name, []).append(interface)
        self.routes.append(Route(interface.network, netdev, source=interface.ip))

    def add_route(self, network, gateway, netdev=None):
        hop = self.lookup(gateway)
        if hop is None or hop.gateway is not None:
            raise NetworkUnreachable()
        self.routes.append(Route(network, netdev or hop.dev, gateway=gateway, source=hop.source))

    def lookup(self, destination):
        """The most specific route to ``destination`` whose interface is up, or None."""
        best = None
        for route in self.routes:
            if destination in route.network and route.dev.up:
                if best is None or route.network.prefixlen > best.network.prefixlen:
                    best = route
        return best

    def own(self, address):
        return any(i.ip == address for ifs in self.addresses.values() for i in ifs)

    # Sending.

    async def send_ip(self, destination, protocol, payload, *, ttl=64, csum_at=None):
        """Send ``payload`` in an IPv4 packet. With ``csum_at``, the checksum of the whole
        payload is still to be stored at that offset in it (the field holds what it starts
        from)."""
        route = self.lookup(destination)
        if route is None:
            raise NetworkUnreachable()
        if 20 + len(payload) > route.dev.mtu:
            raise MessageTooLong()
        self._ident = (self._ident + 1) & 0xFFFF
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), self._ident,
                             0x4000, ttl, protocol, 0, route.source.packed, destination.packed)
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        hop = route.gateway or destination
        csum = None if csum_at is None else (len(header), csum_at)
        await self._send_to_hop(route.dev, hop, header + payload, csum)

    async def _send_to_hop(self, dev, hop, packet, csum):
        mac = self.arp.get(hop)
        if mac is not None:
            await self._xmit(dev, mac, ETH_P_IP, packet, csum)
            return
        pending = self._pending.setdefault(hop, _Pending())
        pending.packets.append((dev, packet, csum))
        if pending.tries == 0:
            await self._arp_request(dev, hop)

    async def _arp_request(self, dev, hop):
        pending = self._pending[hop]
        pending.tries += 1
        pending.sent_at = self.kernel.platform.now_ns()
        source = self.lookup(hop).source
        arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 1, dev.dev_addr, source.packed,
                          bytes(6), hop.packed)
        await self._xmit(dev, BROADCAST, ETH_P_ARP, arp)

    async def retry_arp(self, timeout_ns):
        """Resend ARP requests unanswered for ``timeout_ns``; drop packets after three tries.
        Returns the number of packets dropped."""
        dropped = 0
        now = self.kernel.platform.now_ns()
        for hop, pending in list(self._pending.items()):
            if now - pending.sent_at < timeout_ns:
                continue
            if pending.tries >= ARP_RETRIES:
                dropped += len(pending.packets)
                del self._pending[hop]
            else:
                await self._arp_request(pending.packets[0][0], hop)
        return dropped

    async def _xmit(self, dev, destination, ethertype, payload, csum=None):
        """``csum``: (start, offset) in ``payload`` of a checksum still to do."""
        frame = destination + dev.dev_addr + struct.pack("!H", ethertype) + payload
        skb = SkBuff(frame)
        if csum is not None:
            skb.csum_start, skb.csum_offset = 14 + csum[0], csum[1]
            if NETIF_F_HW_CSUM not in dev.features:
                skb.checksum_help()
        await dev.dev_queue_xmit(skb)

    # Receiving.

    def receive(self, dev, skb):
        frame = skb.data
        if skb.vlan_tci is not None:
            dev.rx_dropped += 1         # for a VLAN this host has no device for
            return
        if len(frame) < 14:
            return
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype == ETH_P_ARP:
            self.kernel.defer(lambda: self._arp_in(dev, frame[14:]))
        elif ethertype == ETH_P_IP:
            self.kernel.defer(lambda: self._ip_in(dev, frame[14:]))

    async def _arp_in(self, dev, arp):
        if len(arp) < 28:
            return
        htype, ptype, hlen, plen, op, sha, spa, tha, tpa = struct.unpack("!HHBBH6s4s6s4s", arp[:28])
        if (htype, ptype, hlen, plen) != (1, ETH_P_IP, 6, 4):
            return
        sender, target = ipaddress.IPv4Address(spa), ipaddress.IPv4Address(tpa)
        if sender in self.arp or self.own(target):
            self.arp[sender] = sha
        pending = self._pending.pop(sender, None)
        if pending:
            for out_dev, packet, csum in pending.packets:
                await self._xmit(out_dev, sha, ETH_P_IP, packet, csum)
        if op == 1 and self.own(target):
            reply = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 2, dev.dev_addr, tpa, sha, spa)
            await self._xmit(dev, sha, ETH_P_ARP, reply)

    async def _ip_in(self, dev, packet):
        if len(packet) < 20 or packet[0] >> 4 != 4 or checksum(packet[:(packet[0] & 15) * 4]):
            return
        ihl = (packet[0] & 15) * 4
        total = struct.unpack("!H", packet[2:4])[0]
        ttl, protocol = packet[8], packet[9]
        source = ipaddress.IPv4Address(packet[12:16])
        destination = ipaddress.IPv4Address(packet[16:20])
        if not self.own(destination) or protocol != 1:
            return
        icmp = packet[ihl:total]
        if len(icmp) < 8 or checksum(icmp):
            return
        if icmp[0] == ICMP_ECHO_REQUEST:
            reply = bytes([ICMP_ECHO_REPLY, 0, 0, 0]) + icmp[4:]
            await self.send_ip(source, 1, reply, csum_at=2)
        elif icmp[0] == ICMP_ECHO_REPLY:
            for listener in self.echo_listeners:
                listener(source, ttl, icmp)
