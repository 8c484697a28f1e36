"""A gateway on the simulated wire that behaves like QEMU's user-mode network (slirp).

It is 10.0.2.2 (and the name server 10.0.2.3) at 52:55:0a:00:02:02 on 10.0.2.0/24. It answers
ARP requests for its addresses, learns the guest's MAC address from what the guest sends, and
answers ICMP echo requests to its own addresses at once and to any address beyond it after a
further delay, as if the host had forwarded them (QEMU's user network answers those through the
host). Replies have TTL 255, the addresses swapped and a recomputed checksum; ARP replies are
padded to 60 bytes. If it has to answer before it knows the guest's MAC address, it asks for it
with ARP first. Frames with a bad FCS are ignored, as a NIC would. No frame leaves the
simulation.
"""

import ipaddress
import struct

from driver.net import ETH_P_ARP, ETH_P_IP, checksum

from .ethernet import received, to_wire


__all__ = ["Gateway"]

GATEWAY_MAC = bytes.fromhex("52550a000202")
GATEWAY_IP = ipaddress.IPv4Address("10.0.2.2")
DNS_IP = ipaddress.IPv4Address("10.0.2.3")
NETWORK = ipaddress.IPv4Network("10.0.2.0/24")


class Gateway:
    """Parameters
    ----------
    backend : sim.bench.Backend
    latency_us : float
        Time to answer for its own addresses.
    far_latency_us : float
        Time to answer echo requests to addresses beyond it.
    """

    def __init__(self, backend, *, latency_us=2.0, far_latency_us=20.0):
        self.backend = backend
        self.latency = backend.cycles_for_ns(latency_us * 1000)
        self.far_latency = backend.cycles_for_ns(far_latency_us * 1000)
        self.guest = {}             # IPv4Address -> MAC
        self._waiting = []          # (guest IP, frame builder, cycle) until its MAC is known
        self._ident = 0
        self.ignored = 0            # frames with a bad FCS or from outside the network
        backend.tx_listeners.append(self.on_frame)

    def on_frame(self, wire_frame):
        frame = received(wire_frame)
        if frame is None:
            self.ignored += 1
            return
        if len(frame) < 14:
            return
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype == ETH_P_ARP:
            self._arp(frame, wire_frame.end)
        elif ethertype == ETH_P_IP:
            self._ip(frame, wire_frame.end)

    def _send(self, frame, when):
        self.backend.send(to_wire(frame), not_before=when)

    def _arp(self, frame, end):
        arp = frame[14:42]
        if len(arp) < 28:
            return
        htype, ptype, hlen, plen, op, sha, spa, tha, tpa = struct.unpack("!HHBBH6s4s6s4s", arp)
        sender, target = ipaddress.IPv4Address(spa), ipaddress.IPv4Address(tpa)
        if sender in NETWORK and sender not in (GATEWAY_IP, DNS_IP) and int(sender) != 0:
            self._learn(sender, sha, end)
        if op == 1 and target in (GATEWAY_IP, DNS_IP):
            reply = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 2, GATEWAY_MAC, tpa, sha, spa)
            self._send(sha + GATEWAY_MAC + struct.pack("!H", ETH_P_ARP) + reply, end + self.latency)

    def _learn(self, address, mac, end):
        self.guest[address] = mac
        waiting, self._waiting = self._waiting, []
        for ip, build, when in waiting:
            if ip == address:
                self._send(build(mac), max(when, end + self.latency))
            else:
                self._waiting.append((ip, build, when))

    def _ip(self, frame, end):
        packet = frame[14:]
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return
        ihl = (packet[0] & 15) * 4
        if checksum(packet[:ihl]):
            self.ignored += 1
            return
        total = struct.unpack("!H", packet[2:4])[0]
        source = ipaddress.IPv4Address(packet[12:16])
        destination = ipaddress.IPv4Address(packet[16:20])
        if source in NETWORK:
            self.guest.setdefault(source, frame[6:12])
        icmp = packet[ihl:total]
        if packet[9] != 1 or len(icmp) < 8 or icmp[0] != 8 or checksum(icmp):
            return
        delay = self.latency if destination in (GATEWAY_IP, DNS_IP) else self.far_latency
        reply = bytes([0, 0, 0, 0]) + icmp[4:]
        reply = reply[:2] + struct.pack("!H", checksum(reply)) + reply[4:]
        self._ident = (self._ident + 1) & 0xFFFF
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(reply), self._ident, 0, 255, 1,
                             0, destination.packed, source.packed)
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]

        def build(mac):
            return mac + GATEWAY_MAC + struct.pack("!H", ETH_P_IP) + header + reply
        self._reply(source, build, end + delay)

    def _reply(self, guest, build, when):
        mac = self.guest.get(guest)
        if mac is not None:
            self._send(build(mac), when)
            return
        self._waiting.append((guest, build, when))
        request = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 1, GATEWAY_MAC,
                              GATEWAY_IP.packed, bytes(6), guest.packed)
        self._send(b"\xff" * 6 + GATEWAY_MAC + struct.pack("!H", ETH_P_ARP) + request, when)
