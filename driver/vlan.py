"""802.1Q VLAN devices on top of a network device (``net/8021q``).

``ip link add link eth0 name eth0.5 type vlan id 5`` makes one: a device with the address, MTU
and offloads of the one under it (its ``real_dev``), whose frames go down with the VLAN ID as
their tag (``SkBuff.vlan_tci``) and which receives the frames that come up tagged with its ID.
Adding it tells the driver under it the ID (``ndo_vlan_rx_add_vid``), so that a device filtering
VLANs in hardware lets them in; deleting it takes the ID back. It can be brought up only while
the device under it is up, as in Linux (ENETDOWN), and its carrier is that device's.
"""

import errno

from .netdev import (NETIF_F_HW_CSUM, NETIF_F_TSO, NETDEV_TX_OK, NetDevice, NetDeviceOps,
                     RtnlLinkStats64)


__all__ = ["VlanDevice", "register_vlan_device", "unregister_vlan_device"]

VLAN_N_VID = 4096


class _VlanOps(NetDeviceOps):
    def __init__(self, real_dev, vid):
        self.real_dev, self.vid = real_dev, vid
        self.stats = RtnlLinkStats64()

    async def ndo_open(self, netdev):
        if not self.real_dev.up:
            return -errno.ENETDOWN
        netdev.up = True
        return 0

    async def ndo_stop(self, netdev):
        netdev.up = False

    async def ndo_start_xmit(self, skb, netdev):
        skb.vlan_tci = self.vid
        self.stats.tx_packets += 1
        self.stats.tx_bytes += len(skb)
        await self.real_dev.dev_queue_xmit(skb)
        return NETDEV_TX_OK

    async def ndo_get_stats64(self, netdev):
        return self.stats

    def receive(self, netdev, skb):
        self.stats.rx_packets += 1
        self.stats.rx_bytes += len(skb)
        if netdev.rx_handler is not None:
            netdev.rx_handler(netdev, skb)


class VlanDevice(NetDevice):
    """A VLAN device: ``real_dev`` and ``vid`` say where it sits."""

    def __init__(self, real_dev, vid):
        super().__init__(_VlanOps(real_dev, vid), mtu=real_dev.mtu)
        self.real_dev, self.vid = real_dev, vid
        self.dev_addr = real_dev.dev_addr
        self.max_mtu = real_dev.mtu

    @property
    def features(self):
        """The offloads the device under it does for tagged frames too (its vlan_features)."""
        return self.real_dev.features & {NETIF_F_HW_CSUM, NETIF_F_TSO}

    @features.setter
    def features(self, value):
        pass

    @property
    def gso_max_size(self):
        return self.real_dev.gso_max_size

    @gso_max_size.setter
    def gso_max_size(self, value):
        pass

    @property
    def carrier(self):
        return self.real_dev.carrier

    @carrier.setter
    def carrier(self, value):
        pass                            # the device under it has the say

    def kind(self):
        return f"vlan protocol 802.1Q id {self.vid}"


async def register_vlan_device(kernel, real_dev, name, vid):
    """Make ``name`` for VLAN ``vid`` (1 to 4094; VLAN 0 frames are the device's own) on
    ``real_dev``; returns it, or raises OSError."""
    if not 0 < vid < VLAN_N_VID - 1:
        raise OSError(errno.ERANGE, "8021q: Invalid VLAN id.")
    if name in kernel.netdevs:
        raise OSError(errno.EEXIST, "File exists")
    if vid in real_dev.vlans:
        raise OSError(errno.EEXIST, "File exists")
    vlan = VlanDevice(real_dev, vid)
    kernel.register_netdev(vlan, name=name)
    real_dev.vlans[vid] = vlan
    await real_dev.ops.ndo_vlan_rx_add_vid(real_dev, vid)
    return vlan


async def unregister_vlan_device(kernel, vlan):
    real_dev = vlan.real_dev
    if real_dev.vlans.get(vlan.vid) is vlan:
        del real_dev.vlans[vlan.vid]
        await real_dev.ops.ndo_vlan_rx_kill_vid(real_dev, vlan.vid)
    vlan.up = False
    kernel.unregister_netdev(vlan)
