"""The e1000 driver proper: probe, open, the interrupt handler, the link watchdog, stop, remove.

Shaped like the Linux driver's e1000_main.c. It talks to the device only through the PCI device
API (``driver.pci``) and to the rest of the system only through the kernel (``driver.kernel``).
"""

import errno

from amaranth.lib import data

from hw.desc import (DESCRIPTOR_BYTES, RXD_ERR, RXD_STA, TXD_CMD, TXD_DCMD, TXD_DTYP,
                     TXD_POPTS, TXD_STA, TXD_TUCMD, RxDescriptor, TxContextDescriptor,
                     TxDataDescriptor, TxDescriptor)
from hw.regmap import reg, rx_buffer_bits

from ..kernel import Napi
from ..netdev import (ETH_P_8021Q, GSO_MAX_SIZE, NETDEV_TX_BUSY, NETDEV_TX_OK,
                      NETIF_F_HW_CSUM, NETIF_F_HW_VLAN_CTAG_FILTER, NETIF_F_HW_VLAN_CTAG_RX,
                      NETIF_F_HW_VLAN_CTAG_TX, NETIF_F_RXCSUM, NETIF_F_TSO, VLAN_HLEN,
                      VLAN_VID_MASK, NetDevice, NetDeviceOps, RtnlLinkStats64, SkBuff,
                      checksum, format_mac)
from ..pci import IORESOURCE_IO, IORESOURCE_MEM, PciError
from .hw import FC_RX_PAUSE, FC_TX_PAUSE, E1000HW, EepromError, PhyError


__all__ = ["E1000Driver", "E1000Adapter", "ProbeError", "IMS_ENABLE_MASK"]


DRIVER_NAME = "e1000"
DRIVER_BANNER = "Intel(R) PRO/1000 Network Driver"
DRIVER_COPYRIGHT = "Copyright (c) 1999-2006 Intel Corporation."
ID_TABLE = {(0x8086, 0x100E)}           # 82540EM

# Causes the driver takes interrupts for.
IMS_ENABLE_MASK = (reg.IMS.TXDW.mask | reg.IMS.RXDMT0.mask | reg.IMS.RXSEQ.mask
                   | reg.IMS.LSC.mask | reg.IMS.RXT0.mask)


RX_BUFFER_SIZE = 2048
# A transmit descriptor carries at most this much (E1000_MAX_DATA_PER_TXD); a frame larger than
# that (a TSO super-packet) goes in several, each with its slot's buffer.
MAX_DATA_PER_TXD = 4096
TX_BUFFER_SIZE = MAX_DATA_PER_TXD
DEFAULT_RING_SIZE = 8
ETH_HLEN, ETH_FCS_LEN = 14, 4
# The largest frame the 82540EM takes, FCS included (MAX_JUMBO_FRAME_SIZE), and so the MTU.
MAX_JUMBO_FRAME_SIZE = 0x3F00
MAX_MTU = MAX_JUMBO_FRAME_SIZE - ETH_HLEN - ETH_FCS_LEN
# The receive errors that spoil a frame (E1000_RXD_ERR_FRAME_ERR_MASK); a wrong checksum does not.
RXD_ERR_FRAME_ERR_MASK = RXD_ERR.CE | RXD_ERR.SE | RXD_ERR.SEQ | RXD_ERR.RXE

_TX = data.Layout.cast(TxDescriptor)
_TX_CONTEXT = data.Layout.cast(TxContextDescriptor)
_TX_DATA = data.Layout.cast(TxDataDescriptor)
_RX = data.Layout.cast(RxDescriptor)

# RCTL: receiver on, broadcasts accepted, 2048-byte buffers, FCS stripped, threshold 1/2.
RCTL_OPEN = reg.RCTL.EN.mask | reg.RCTL.BAM.mask | reg.RCTL.SECRC.mask
# Receive buffer sizes (as e1000_change_mtu picks them) and how RCTL says them.
RX_BUFFER_SIZES = {size: rx_buffer_bits(size) for size in (2048, 4096)}
# TCTL: transmitter on, short frames padded, collision threshold 15, collision distance 64.
TCTL_OPEN = (reg.TCTL.EN.mask | reg.TCTL.PSP.mask | reg.TCTL.CT.put(0x0F)
             | reg.TCTL.COLD.put(0x40))
TIPG_COPPER = reg.TIPG.IPGT.put(8) | reg.TIPG.IPGR1.put(8) | reg.TIPG.IPGR2.put(6)


class ProbeError(Exception):
    pass


class Ring:
    """A descriptor ring in coherent DMA memory with one buffer per descriptor."""

    def __init__(self, pdev, count, buffer_size):
        if not 8 <= count <= 4096 or count % 8:
            raise ValueError(f"a ring has a multiple of 8 descriptors, 8 to 4096, not {count}")
        self.pdev = pdev
        self.count = count
        self.desc = pdev.dma_alloc_coherent(count * DESCRIPTOR_BYTES)
        self.buffers = []
        while self.desc is not None and len(self.buffers) < count:
            buffer = pdev.dma_alloc_coherent(buffer_size, align=64)
            if buffer is None:
                break
            self.buffers.append(buffer)
        if self.desc is None or len(self.buffers) < count:
            self.free()
            raise MemoryError("descriptor ring")
        self.next_to_use = 0
        self.next_to_clean = 0
        # For the first descriptor of each frame in flight: the index of its last one (whose
        # DD says the frame is done) and the frame's length.
        self.watch = [None] * count

    def free(self):
        """Give the descriptors and buffers back (the device must no longer use them)."""
        for buffer in self.buffers:
            self.pdev.dma_free_coherent(buffer)
        if self.desc is not None:
            self.pdev.dma_free_coherent(self.desc)
        self.buffers, self.desc = [], None

    def read(self, layout, i):
        return layout.from_bits(int.from_bytes(self.desc.read(i * DESCRIPTOR_BYTES,
                                                              DESCRIPTOR_BYTES), "little"))

    def write(self, layout, i, **fields):
        value = layout.const(fields).as_bits()
        self.desc.write(i * DESCRIPTOR_BYTES, value.to_bytes(DESCRIPTOR_BYTES, "little"))

    def unused(self):
        return (self.next_to_clean - self.next_to_use - 1) % self.count


class E1000Adapter(NetDeviceOps):
    """The driver's private state for one device (``struct e1000_adapter``)."""

    def __init__(self, kernel, pdev, *, eeprom_access="eerd", ring_size=DEFAULT_RING_SIZE):
        self.kernel = kernel
        self.pdev = pdev
        self.eeprom_access = eeprom_access
        self.ring_size = ring_size
        self.netdev = NetDevice(self)
        self.netdev.priv = self
        self.netdev.max_mtu = MAX_MTU
        self.rx_buffer_len = RX_BUFFER_SIZE
        # As e1000_probe: checksums both ways, TCP segmentation and VLAN tags in hardware, on
        # unless ethtool turns them off (tag insertion follows tag stripping; VLAN filtering
        # stays on).
        self.netdev.hw_features = {NETIF_F_HW_CSUM, NETIF_F_TSO, NETIF_F_RXCSUM,
                                   NETIF_F_HW_VLAN_CTAG_RX}
        self.netdev.features = self.netdev.hw_features | {NETIF_F_HW_VLAN_CTAG_TX,
                                                          NETIF_F_HW_VLAN_CTAG_FILTER}
        self.active_vlans = set()       # VLAN IDs with a device on this one
        self.hw = None
        self.irq_registered = False
        self.interrupts = 0
        self.polls = 0
        self.most_per_poll = 0          # the most frames one NAPI poll took
        self.napi = Napi(self.poll)
        self.tx_ring = self.rx_ring = None
        self.stats = RtnlLinkStats64()
        self.rx_errors_phy = 0          # RXERRC, for rx_errors
        self.hw_csum_err = 0            # frames with a TCP/UDP checksum the device found wrong
        self.hw_csum_good = 0           # ...and right
        self.rx_no_buffer_count = 0     # RNBC, as ethtool -S shows it
        self.tx_tcp_seg_good = 0        # TSCTC
        self.tx_tcp_seg_failed = 0      # TSCTFC
        self._rx_partial = b""

    # Messages, as dev_info()/netdev_info() print them.

    def dev_info(self, message):
        self.kernel.printk(f"{DRIVER_NAME} {self.pdev.slot_name}: {message}")

    def netdev_info(self, message):
        self.kernel.printk(f"{DRIVER_NAME} {self.pdev.slot_name} {self.netdev.name}: {message}")

    def dev_err(self, message):
        self.dev_info(message)

    def netdev_err(self, message):
        self.netdev_info(message)

    # Probe and remove.

    async def probe(self):
        pdev = self.pdev
        await pdev.enable_device()
        bars = [bar for bar in range(6) if pdev.resource_flags(bar)]
        mem_bar = next((b for b in bars if pdev.resource_flags(b) & IORESOURCE_MEM), None)
        io_bar = next((b for b in bars if pdev.resource_flags(b) & IORESOURCE_IO), None)
        if mem_bar is None:
            raise ProbeError("no memory BAR")
        await pdev.set_master()
        pdev.set_dma_mask(32)

        self.hw = E1000HW(self.kernel, pdev.iomap(mem_bar),
                          pdev.iomap(io_bar) if io_bar is not None else None,
                          eeprom_access=self.eeprom_access)
        hw = self.hw
        await hw.reset_hw()

        try:
            await hw.validate_eeprom_checksum()
        except EepromError as e:
            self.dev_err(str(e))
            await pdev.disable_device()
            raise ProbeError(str(e)) from None
        mac = await hw.read_mac_addr()
        if mac[0] & 1 or not any(mac):
            self.dev_err(f"Invalid MAC Address {format_mac(mac)}")
            await pdev.disable_device()
            raise ProbeError("invalid MAC address")
        self.netdev.dev_addr = mac
        await hw.rar_set(mac, 0)
        for n in range(reg.MTA.count):
            await hw.ew32(reg.MTA, 0, n)

        try:
            phy_id = await hw.detect_gig_phy()
            await hw.setup_link(self.max_frame_size())
        except PhyError as e:
            self.dev_err(str(e))
            await pdev.disable_device()
            raise ProbeError(str(e)) from None
        self.dev_info(f"PHY {phy_id:#010x} (M88E1011) at address 1, autonegotiation restarted")

        self.kernel.register_netdev(self.netdev)
        self.netdev.netif_carrier_off()
        self.netdev_info(f"({await hw.bus_info()}) {format_mac(mac)}")
        self.netdev_info("Intel(R) PRO/1000 Network Connection")

    async def remove(self):
        if self.netdev.up:
            await self.ndo_stop(self.netdev)
        self.kernel.unregister_netdev(self.netdev)
        await self.hw.reset_hw()
        await self.pdev.disable_device()

    # Open and stop.

    async def ndo_open(self, netdev):
        hw = self.hw
        try:
            self.tx_ring = Ring(self.pdev, self.ring_size, TX_BUFFER_SIZE)
        except MemoryError:
            self.netdev_err("Unable to allocate memory for the Tx descriptor ring")
            return -errno.ENOMEM
        try:
            self.rx_ring = Ring(self.pdev, self.ring_size, self.rx_buffer_len)
        except MemoryError:
            self.netdev_err("Unable to allocate memory for the Rx descriptor ring")
            self.tx_ring.free()
            self.tx_ring = None
            return -errno.ENOMEM
        # A super-packet must fit the ring: its context and data descriptors, and the slot
        # that stays empty (the stack cuts larger ones).
        netdev.gso_max_size = min(GSO_MAX_SIZE, (self.ring_size - 2) * MAX_DATA_PER_TXD)
        await self.configure_tx()
        await self.configure_rx()
        self.kernel.request_irq(self.pdev.irq, self.intr, netdev.name)
        self.irq_registered = True
        netdev.up = True
        netdev.netif_wake_queue()
        await self.irq_enable()
        # Raise a link status change so that the watchdog looks at the link straight away.
        await hw.ew32(reg.ICS, reg.ICS.LSC.mask)

    async def configure_tx(self):
        hw, ring = self.hw, self.tx_ring
        for i in range(ring.count):
            ring.write(_TX, i, buffer_addr=ring.buffers[i].dma_handle)
        handle = ring.desc.dma_handle
        await hw.ew32(reg.TDBAL, handle & 0xFFFFFFFF)
        await hw.ew32(reg.TDBAH, handle >> 32)
        await hw.ew32(reg.TDLEN, ring.count * DESCRIPTOR_BYTES)
        await hw.ew32(reg.TDH, 0)
        await hw.ew32(reg.TDT, 0)
        await hw.ew32(reg.TIPG, TIPG_COPPER)
        await hw.ew32(reg.TIDV, 0)
        await hw.ew32(reg.TCTL, TCTL_OPEN)

    async def configure_rx(self):
        hw, ring = self.hw, self.rx_ring
        for i in range(ring.count):
            ring.write(_RX, i, buffer_addr=ring.buffers[i].dma_handle)
        handle = ring.desc.dma_handle
        await hw.ew32(reg.RDTR, 0)
        await hw.ew32(reg.RADV, 0)
        await hw.ew32(reg.RDBAL, handle & 0xFFFFFFFF)
        await hw.ew32(reg.RDBAH, handle >> 32)
        await hw.ew32(reg.RDLEN, ring.count * DESCRIPTOR_BYTES)
        await hw.ew32(reg.RDH, 0)
        # Every buffer but one goes to the hardware; one slot always stays empty.
        await hw.ew32(reg.RDT, ring.count - 1)
        await self.configure_rx_csum(self.netdev.features)
        await self.restore_vlan()
        # Long frames (LPE) above the standard MTU, which then span several buffers.
        lpe = reg.RCTL.LPE.mask if self.netdev.mtu > 1500 else 0
        await hw.ew32(reg.RCTL, RCTL_OPEN | RX_BUFFER_SIZES[self.rx_buffer_len] | lpe
                      | (reg.RCTL.VFE.mask if self.active_vlans else 0))

    async def ndo_change_mtu(self, netdev, mtu):
        """As e1000_change_mtu: 2048-byte receive buffers while a frame fits one, else 4 KiB;
        a running interface is brought down and up again with them."""
        max_frame = mtu + ETH_HLEN + ETH_FCS_LEN
        running = netdev.up
        if running:
            await self.ndo_stop(netdev)
        netdev.mtu = mtu
        self.rx_buffer_len = RX_BUFFER_SIZE if max_frame <= RX_BUFFER_SIZE else 4096
        await self.hw.set_water_marks(max_frame)
        if running:
            return await self.ndo_open(netdev) or 0
        return 0

    def max_frame_size(self):
        return self.netdev.mtu + ETH_HLEN + ETH_FCS_LEN

    async def configure_rx_csum(self, features):
        """As e1000_configure_rx: the device checks TCP/UDP checksums (RXCSUM.TUOFL) while
        rx-checksumming is on."""
        tuofl = reg.RXCSUM.TUOFL.mask
        await self.hw.update32(reg.RXCSUM, clear=tuofl,
                               set=tuofl if NETIF_F_RXCSUM in features else 0)

    async def ndo_set_features(self, netdev, features):
        # As e1000_fix_features: there is one switch for tags both ways (CTRL.VME).
        if NETIF_F_HW_VLAN_CTAG_RX in features:
            features.add(NETIF_F_HW_VLAN_CTAG_TX)
        else:
            features.discard(NETIF_F_HW_VLAN_CTAG_TX)
        if netdev.up and (NETIF_F_RXCSUM in features) != (NETIF_F_RXCSUM in netdev.features):
            await self.configure_rx_csum(features)
        if NETIF_F_HW_VLAN_CTAG_RX in features ^ netdev.features:
            await self.vlan_mode(features)

    # VLANs.

    async def vlan_mode(self, features):
        """As e1000_vlan_mode: the device inserts and strips tags (CTRL.VME) while
        rx-vlan-offload is on."""
        vme = reg.CTRL.VME.mask
        await self.hw.update32(reg.CTRL, clear=vme,
                               set=vme if NETIF_F_HW_VLAN_CTAG_RX in features else 0)

    async def vlan_filter_on_off(self, on):
        """As e1000_vlan_filter_on_off: the VLAN filter table (RCTL.VFE) is used while there
        are VLANs, without the CFI check."""
        vfe = reg.RCTL.VFE.mask
        await self.hw.update32(reg.RCTL, clear=reg.RCTL.CFIEN.mask | vfe, set=vfe if on else 0)

    async def write_vfta(self, vid, on):
        index, bit = (vid >> 5) & 0x7F, 1 << (vid & 0x1F)
        await self.hw.update32(reg.VFTA, clear=bit, set=bit if on else 0, n=index)

    async def ndo_vlan_rx_add_vid(self, netdev, vid):
        if not self.active_vlans:
            await self.vlan_filter_on_off(True)
        self.active_vlans.add(vid)
        await self.write_vfta(vid, True)

    async def ndo_vlan_rx_kill_vid(self, netdev, vid):
        self.active_vlans.discard(vid)
        await self.write_vfta(vid, False)
        if not self.active_vlans:
            await self.vlan_filter_on_off(False)

    async def restore_vlan(self):
        """As e1000_restore_vlan, when the interface opens: the tag mode and the filter
        table's bits."""
        await self.vlan_mode(self.netdev.features)
        for vid in self.active_vlans:
            await self.write_vfta(vid, True)

    async def irq_enable(self):
        await self.hw.ew32(reg.IMS, IMS_ENABLE_MASK)

    async def irq_disable(self):
        await self.hw.ew32(reg.IMC, 0xFFFFFFFF)
        await self.hw.write_flush()

    async def ndo_stop(self, netdev):
        hw = self.hw
        netdev.up = False
        netdev.netif_stop_queue()
        await self.irq_disable()
        await hw.ew32(reg.RCTL, 0)
        await hw.ew32(reg.TCTL, 0)
        await hw.write_flush()
        if self.irq_registered:
            self.kernel.free_irq(self.pdev.irq, self.intr)
            self.irq_registered = False
        await hw.er32(reg.ICR)
        await self.update_stats()
        netdev.netif_carrier_off()
        for ring in (self.tx_ring, self.rx_ring):
            ring.free()
        self.tx_ring = self.rx_ring = None

    # Transmit.

    async def ndo_start_xmit(self, skb, netdev):
        ring = self.tx_ring
        frame = skb.data
        tagged = frame[12:14] == ETH_P_8021Q.to_bytes(2, "big")
        max_frame = netdev.mtu + ETH_HLEN + (VLAN_HLEN if tagged else 0)
        if (not skb.gso_size and len(frame) > max_frame) or len(frame) < ETH_HLEN \
                or len(frame) > (ring.count - 2) * MAX_DATA_PER_TXD:
            self.stats.tx_dropped += 1
            return NETDEV_TX_OK
        # As e1000_xmit_frame: room for the context descriptor and the data's, and one slot
        # that stays empty.
        pieces = -(-len(frame) // MAX_DATA_PER_TXD)
        if ring.unused() < pieces + 1:
            netdev.netif_stop_queue()
            return NETDEV_TX_BUSY
        first = i = ring.next_to_use
        segments = 1
        if skb.gso_size:
            frame, segments = self.tso(ring, i, skb)
            dcmd, popts = TXD_DCMD.TSE, TXD_POPTS.IXSM | TXD_POPTS.TXSM
        elif self.tx_csum(ring, i, skb):
            dcmd, popts = 0, TXD_POPTS.TXSM
        else:
            dcmd = popts = None
        if dcmd is not None:
            i = (i + 1) % ring.count
        # As e1000_tx_map and e1000_tx_queue: the frame in pieces of at most 4 KiB, EOP and RS
        # on the last; a tag to insert in every one (VLE and the special field).
        vle, special = (TXD_CMD.VLE, skb.vlan_tci) if skb.vlan_tci is not None else (0, 0)
        for at in range(0, len(frame), MAX_DATA_PER_TXD):
            piece = frame[at:at + MAX_DATA_PER_TXD]
            ring.buffers[i].write(0, piece)
            cmd = TXD_CMD.IFCS | vle
            if at + MAX_DATA_PER_TXD >= len(frame):
                cmd |= TXD_CMD.EOP | TXD_CMD.RS
            if dcmd is None:
                ring.write(_TX, i, buffer_addr=ring.buffers[i].dma_handle, length=len(piece),
                           cmd=cmd, special=special)
            else:
                ring.write(_TX_DATA, i, buffer_addr=ring.buffers[i].dma_handle,
                           length=len(piece), dtyp=TXD_DTYP.DATA,
                           dcmd=cmd | dcmd | TXD_DCMD.DEXT, popts=popts, special=special)
            last = i
            i = (i + 1) % ring.count
        # What the wire will carry: every segment with its own copy of the header (and tag).
        wire_bytes = len(frame) + (segments - 1) * skb.header_length() if skb.gso_size \
            else len(frame)
        wire_bytes += VLAN_HLEN * segments if vle else 0
        ring.watch[first] = (last, wire_bytes, segments)
        ring.next_to_use = i
        await self.hw.ew32(reg.TDT, ring.next_to_use)
        return NETDEV_TX_OK

    def tso(self, ring, i, skb):
        """The context descriptor at ``i`` for a TCP/IPv4 super-packet, as e1000_tso writes it,
        and the frame as the device is to get it: IPv4 total length and header checksum zero,
        the TCP checksum field seeded with the pseudo-header sum without the length (the device
        adds each segment's). Returns the frame and the number of segments."""
        frame = bytearray(skb.data)
        hdr_len = skb.header_length()
        l4 = 14 + (frame[14] & 0xF) * 4
        frame[16:18] = bytes(2)
        frame[24:26] = bytes(2)
        pseudo = bytes(frame[26:34]) + bytes([0, 6, 0, 0])
        frame[l4 + 16:l4 + 18] = (~checksum(pseudo) & 0xFFFF).to_bytes(2, "big")
        payload = len(frame) - hdr_len
        ring.write(_TX_CONTEXT, i, ipcss=14, ipcso=24, ipcse=l4 - 1, tucss=l4, tucso=l4 + 16,
                   tucse=0, paylen=payload, dtyp=TXD_DTYP.CONTEXT, hdrlen=hdr_len,
                   mss=skb.gso_size,
                   tucmd=TXD_TUCMD.DEXT | TXD_TUCMD.TSE | TXD_TUCMD.IP | TXD_TUCMD.TCP)
        return bytes(frame), max(1, -(-payload // skb.gso_size))

    def tx_csum(self, ring, i, skb):
        """A context descriptor at ``i`` for a frame whose checksum the stack left to the
        device, as e1000_tx_csum writes it: the checksum from ``csum_start`` to the frame's end,
        TCP's when it is TCP over IPv4 (for the UDP rule on a sum of zero). Returns whether it
        wrote one."""
        if skb.csum_start is None:
            return False
        frame = skb.data
        tucmd = TXD_TUCMD.DEXT
        if frame[12:14] == b"\x08\x00" and len(frame) > 23 and frame[23] == 6:
            tucmd |= TXD_TUCMD.TCP
        ring.write(_TX_CONTEXT, i, tucss=skb.csum_start,
                   tucso=skb.csum_start + skb.csum_offset, tucse=0, dtyp=TXD_DTYP.CONTEXT,
                   tucmd=tucmd)
        return True

    def clean_tx(self):
        ring = self.tx_ring
        cleaned = 0
        while ring.next_to_clean != ring.next_to_use:
            i = ring.next_to_clean
            last, length, segments = ring.watch[i]
            if not ring.read(_TX, last).sta & TXD_STA.DD:
                break
            self.stats.tx_packets += segments
            self.stats.tx_bytes += length
            ring.watch[i] = None
            while True:
                ring.write(_TX, i, buffer_addr=ring.buffers[i].dma_handle)
                cleaned += 1
                if i == last:
                    break
                i = (i + 1) % ring.count
            ring.next_to_clean = (last + 1) % ring.count
        if cleaned and self.netdev.queue_stopped and self.netdev.up:
            self.netdev.netif_wake_queue()
        return cleaned

    # Receive.

    def rx_checksum(self, desc):
        """As e1000_rx_checksum: whether the device found the frame's TCP/UDP checksum right.
        A wrong one is counted, and the frame still goes to the stack, which checks again."""
        if desc.status & RXD_STA.IXSM or NETIF_F_RXCSUM not in self.netdev.features:
            return False
        if desc.errors & (RXD_ERR.TCPE | RXD_ERR.IPE):
            self.hw_csum_err += 1
            return False
        if desc.status & RXD_STA.TCPCS:
            self.hw_csum_good += 1
            return True
        return False

    async def clean_rx(self, budget):
        ring = self.rx_ring
        work = 0
        cleaned = None
        while work < budget:
            i = ring.next_to_clean
            desc = ring.read(_RX, i)
            if not desc.status & RXD_STA.DD:
                break
            data_ = ring.buffers[i].read(0, desc.length)
            ring.write(_RX, i, buffer_addr=ring.buffers[i].dma_handle)
            cleaned = i
            ring.next_to_clean = (i + 1) % ring.count
            if desc.errors & RXD_ERR_FRAME_ERR_MASK:
                self.stats.rx_errors += 1
                self._rx_partial = b""
                continue
            if not desc.status & RXD_STA.EOP:
                self._rx_partial += data_
                continue
            frame, self._rx_partial = self._rx_partial + data_, b""
            work += 1
            self.stats.rx_packets += 1
            self.stats.rx_bytes += len(frame)
            skb = SkBuff(frame, csum_unnecessary=self.rx_checksum(desc))
            # As e1000_receive_skb: a tag the device took out goes up beside the frame.
            if desc.status & RXD_STA.VP and NETIF_F_HW_VLAN_CTAG_RX in self.netdev.features:
                skb.vlan_tci = desc.special & VLAN_VID_MASK
            self.netdev.netif_receive_skb(skb)
        if cleaned is not None:
            # Give the cleaned buffers back: the hardware owns up to, not including, RDT.
            await self.hw.ew32(reg.RDT, cleaned)
        return work

    async def poll(self, budget):
        """The NAPI poll: reclaim transmitted descriptors, take received frames."""
        if self.tx_ring is None:            # scheduled before the interface went down
            return 0
        self.clean_tx()
        work = await self.clean_rx(budget)
        self.polls += 1
        self.most_per_poll = max(self.most_per_poll, work)
        if work < budget:
            self.kernel.napi_complete_done(self.napi, work)
            if self.netdev.up:
                await self.irq_enable()
        return work

    # Statistics.

    async def update_stats(self):
        """Accumulate the hardware counters (they clear when read)."""
        hw, st = self.hw, self.stats
        # As e1000_update_stats: RNBC counts frames that waited for buffers (they were not lost),
        # so it is kept for itself, not added to the dropped ones.
        st.rx_crc_errors += await hw.er32(reg.CRCERRS)
        st.rx_missed_errors += await hw.er32(reg.MPC)
        st.rx_length_errors += await hw.er32(reg.RUC) + await hw.er32(reg.ROC)
        st.multicast += await hw.er32(reg.MPRC)
        self.rx_errors_phy += await hw.er32(reg.RXERRC)
        self.rx_no_buffer_count += await hw.er32(reg.RNBC)
        self.tx_tcp_seg_good += await hw.er32(reg.TSCTC)
        self.tx_tcp_seg_failed += await hw.er32(reg.TSCTFC)
        st.rx_errors = st.rx_crc_errors + st.rx_length_errors + self.rx_errors_phy
        return st

    async def get_ethtool_stats(self, netdev):
        """Some of e1000_gstrings_stats, by their names there."""
        st = await self.update_stats()
        return [("rx_packets", st.rx_packets), ("tx_packets", st.tx_packets),
                ("rx_bytes", st.rx_bytes), ("tx_bytes", st.tx_bytes),
                ("rx_errors", st.rx_errors), ("tx_dropped", st.tx_dropped),
                ("multicast", st.multicast), ("rx_crc_errors", st.rx_crc_errors),
                ("rx_length_errors", st.rx_length_errors),
                ("rx_missed_errors", st.rx_missed_errors),
                ("rx_no_buffer_count", self.rx_no_buffer_count),
                ("tx_tcp_seg_good", self.tx_tcp_seg_good),
                ("tx_tcp_seg_failed", self.tx_tcp_seg_failed),
                ("rx_csum_offload_good", self.hw_csum_good),
                ("rx_csum_offload_errors", self.hw_csum_err)]

    async def get_pauseparam(self, netdev):
        """As e1000_get_pauseparam: flow control is autonegotiated; what it resolved to."""
        fc = self.hw.fc
        return True, bool(fc & FC_RX_PAUSE), bool(fc & FC_TX_PAUSE)

    async def ndo_get_stats64(self, netdev):
        await self.update_stats()
        return self.stats

    # Interrupts.

    async def intr(self, irq):
        icr = await self.hw.er32(reg.ICR)
        if not icr:
            return 0                    # not ours (shared line)
        self.interrupts += 1
        if icr & (reg.ICR.LSC.mask | reg.ICR.RXSEQ.mask):
            self.kernel.schedule_work(self.watchdog)
        if self.netdev.up and icr & ~(reg.ICR.LSC.mask | reg.ICR.MDAC.mask):
            # Quiet the device and leave the rest to the poll, which unmasks again.
            await self.irq_disable()
            self.kernel.napi_schedule(self.napi)
        return 1

    async def watchdog(self):
        """Report link changes and follow them with the carrier."""
        hw = self.hw
        netdev = self.netdev
        link = await hw.check_for_link()
        if link and not netdev.carrier:
            await hw.config_fc_after_link_up()
            speed, duplex = await hw.get_speed_and_duplex()
            flow = await hw.flow_control()
            self.kernel.printk(f"{DRIVER_NAME}: {netdev.name} NIC Link is Up {speed} Mbps "
                               f"{duplex} Duplex, Flow Control: {flow}")
            netdev.netif_carrier_on()
        elif not link and netdev.carrier:
            self.kernel.printk(f"{DRIVER_NAME}: {netdev.name} NIC Link is Down")
            netdev.netif_carrier_off()


class E1000Driver:
    """The PCI driver: binds to every 82540EM on the bus (``module_init``)."""

    name = DRIVER_NAME

    def __init__(self, kernel, **params):
        self.kernel = kernel
        self.params = params
        self.adapters = []

    async def init(self, devices):
        self.kernel.printk(f"{DRIVER_NAME}: {DRIVER_BANNER}")
        self.kernel.printk(f"{DRIVER_NAME}: {DRIVER_COPYRIGHT}")
        for pdev in devices:
            if (pdev.vendor, pdev.device) not in ID_TABLE:
                continue
            adapter = E1000Adapter(self.kernel, pdev, **self.params)
            try:
                await adapter.probe()
            except (ProbeError, PciError) as e:
                self.kernel.printk(f"{DRIVER_NAME}: probe of {pdev.slot_name} failed: {e}")
                continue
            self.adapters.append(adapter)
        return self.adapters

    async def exit(self):
        for adapter in self.adapters:
            await adapter.remove()
        self.adapters = []
