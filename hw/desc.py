"""Legacy transmit and receive descriptors, declared once.

Reference: SDM 3.3.3 (legacy transmit descriptor), 3.2.3 (receive descriptor).

Both are 16 bytes, little-endian; the struct field order is the byte order in memory, so a
descriptor read from host memory as two 64-bit beats is ``Cat(beat0, beat1)`` viewed through the
layout. The driver packs and unpacks descriptors with the same layouts
(``TxDescriptor.const({...}).as_bits()``, ``Layout.cast(RxDescriptor).from_bits(...)``).
"""

from amaranth.lib import data


__all__ = ["TxDescriptor", "RxDescriptor", "DESCRIPTOR_BYTES", "TXD_CMD", "TXD_STA", "RXD_STA",
           "RXD_ERR"]


DESCRIPTOR_BYTES = 16


class TxDescriptor(data.Struct):
    buffer_addr: 64
    length: 16
    cso: 8          # checksum offset
    cmd: 8
    sta: 8
    css: 8          # checksum start
    special: 16


class RxDescriptor(data.Struct):
    buffer_addr: 64
    length: 16
    csum: 16
    status: 8
    errors: 8
    special: 16


class TXD_CMD:
    EOP = 0x01      # end of packet
    IFCS = 0x02     # insert FCS
    IC = 0x04       # insert checksum
    RS = 0x08       # report status
    RPS = 0x10      # report packet sent
    DEXT = 0x20     # extension (0: legacy descriptor)
    VLE = 0x40      # VLAN enable
    IDE = 0x80      # interrupt delay enable


class TXD_STA:
    DD = 0x01       # descriptor done
    EC = 0x02       # excess collisions
    LC = 0x04       # late collision
    TU = 0x08       # transmit underrun


class RXD_STA:
    DD = 0x01       # descriptor done
    EOP = 0x02      # end of packet
    IXSM = 0x04     # ignore checksum indication (RXCSUM offloads both off)
    VP = 0x08       # 802.1Q packet
    TCPCS = 0x20    # TCP/UDP checksum checked
    IPCS = 0x40     # IPv4 header checksum checked


class RXD_ERR:
    CE = 0x01       # CRC or alignment error
    SE = 0x02       # symbol error
    SEQ = 0x04      # sequence error
    TCPE = 0x20     # TCP/UDP checksum wrong
    IPE = 0x40      # IPv4 header checksum wrong
    RXE = 0x80      # RX data error


assert data.Layout.cast(TxDescriptor).size == data.Layout.cast(RxDescriptor).size == 128
