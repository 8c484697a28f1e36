"""A gateway on the simulated wire that behaves like QEMU's user-mode network (slirp).

It is 10.0.2.2 (and the name server 10.0.2.3) at 52:55:0a:00:02:02 on 10.0.2.0/24. It answers
ARP requests for its addresses, learns the guest's MAC address from what the guest sends, and
answers ICMP echo requests to its own addresses at once and to any address beyond it after a
further delay, as if the host had forwarded them (QEMU's user network answers those through the
host). Replies have TTL 255, the addresses swapped and a recomputed checksum; ARP replies are
padded to 60 bytes. If it has to answer before it knows the guest's MAC address, it asks for it
with ARP first. Frames with a bad FCS are ignored, as a NIC would. No frame leaves the
simulation.

It is on every VLAN too: on VLAN n (1 to 254) it is 10.0.n.2 (and 10.0.n.3) on 10.0.n.0/24,
with the same MAC address, and it answers tagged frames with frames tagged for the same VLAN.
"""

import ipaddress
import struct

from driver.net import ETH_P_ARP, ETH_P_IP, checksum

from .ethernet import received, to_wire, vlan_tag, vlan_untag


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
        self.guest = {}             # (VLAN ID or None, IPv4Address) -> MAC
        self._waiting = []          # (guest IP, frame builder, cycle) until its MAC is known
        self._ident = 0
        self.ignored = 0            # frames with a bad FCS or from outside the network
        backend.tx_listeners.append(self.on_frame)

    def on_frame(self, wire_frame):
        frame = received(wire_frame)
        if frame is None:
            self.ignored += 1
            return
        frame, tci = vlan_untag(frame)
        vid = None if tci is None else tci & 0xFFF
        if len(frame) < 14 or (vid is not None and not 0 < vid < 255):
            return
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype == ETH_P_ARP:
            self._arp(vid, frame, wire_frame.end)
        elif ethertype == ETH_P_IP:
            self._ip(vid, frame, wire_frame.end)

    @staticmethod
    def addresses(vid):
        """The network, the gateway's address and the name server's on VLAN ``vid`` (None:
        untagged)."""
        if vid is None:
            return NETWORK, GATEWAY_IP, DNS_IP
        network = ipaddress.IPv4Network(f"10.0.{vid}.0/24")
        return network, network[2], network[3]

    def _send(self, vid, frame, when):
        if vid is not None:
            frame = vlan_tag(frame, vid)
        self.backend.send(to_wire(frame), not_before=when)

    def _arp(self, vid, frame, end):
        arp = frame[14:42]
        if len(arp) < 28:
            return
        htype, ptype, hlen, plen, op, sha, spa, tha, tpa = struct.unpack("!HHBBH6s4s6s4s", arp)
        sender, target = ipaddress.IPv4Address(spa), ipaddress.IPv4Address(tpa)
        network, gateway, dns = self.addresses(vid)
        if sender in network and sender not in (gateway, dns) and int(sender) != 0:
            self._learn((vid, sender), sha, end)
        if op == 1 and target in (gateway, dns):
            reply = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 2, GATEWAY_MAC, tpa, sha, spa)
            self._send(vid, sha + GATEWAY_MAC + struct.pack("!H", ETH_P_ARP) + reply,
                       end + self.latency)

    def _learn(self, guest, mac, end):
        self.guest[guest] = mac
        waiting, self._waiting = self._waiting, []
        for who, build, when in waiting:
            if who == guest:
                self._send(guest[0], build(mac), max(when, end + self.latency))
            else:
                self._waiting.append((who, build, when))

    def _ip(self, vid, frame, end):
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
        network, gateway, dns = self.addresses(vid)
        if source in network:
            self.guest.setdefault((vid, source), frame[6:12])
        icmp = packet[ihl:total]
        if packet[9] != 1 or len(icmp) < 8 or icmp[0] != 8 or checksum(icmp):
            return
        delay = self.latency if destination in (gateway, dns) else self.far_latency
        reply = bytes([0, 0, 0, 0]) + icmp[4:]
        reply = reply[:2] + struct.pack("!H", checksum(reply)) + reply[4:]
        self._ident = (self._ident + 1) & 0xFFFF
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(reply), self._ident, 0, 255, 1,
                             0, destination.packed, source.packed)
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]

        def build(mac):
            return mac + GATEWAY_MAC + struct.pack("!H", ETH_P_IP) + header + reply
        self._reply((vid, source), build, end + delay)

    def _reply(self, guest, build, when):
        vid, address = guest
        mac = self.guest.get(guest)
        if mac is not None:
            self._send(vid, build(mac), when)
            return
        self._waiting.append((guest, build, when))
        request = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 1, GATEWAY_MAC,
                              self.addresses(vid)[1].packed, bytes(6), address.packed)
        self._send(vid, b"\xff" * 6 + GATEWAY_MAC + struct.pack("!H", ETH_P_ARP) + request, when)
