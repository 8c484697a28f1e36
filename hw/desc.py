"""Transmit and receive descriptors, declared once.

Reference: SDM 3.3.3 (legacy transmit descriptor), 3.3.5-3.3.7 (TCP/IP context and data
descriptors), 3.2.3 (receive descriptor).

Both are 16 bytes, little-endian; the struct field order is the byte order in memory, so a
descriptor read from host memory as two 64-bit beats is ``Cat(beat0, beat1)`` viewed through the
layout. The driver packs and unpacks descriptors with the same layouts
(``TxDescriptor.const({...}).as_bits()``, ``Layout.cast(RxDescriptor).from_bits(...)``).
"""

from amaranth.lib import data


__all__ = ["TxDescriptor", "TxContextDescriptor", "TxDataDescriptor", "RxDescriptor",
           "DESCRIPTOR_BYTES", "TXD_CMD", "TXD_DCMD", "TXD_TUCMD", "TXD_DTYP", "TXD_POPTS", "TXD_STA",
           "RXD_STA", "RXD_ERR"]


DESCRIPTOR_BYTES = 16


class TxDescriptor(data.Struct):
    buffer_addr: 64
    length: 16
    cso: 8          # checksum offset
    cmd: 8
    sta: 8
    css: 8          # checksum start
    special: 16


class TxContextDescriptor(data.Struct):
    """Sets the checksum and segmentation context for the data descriptors after it (DEXT set,
    DTYP 0). Offsets count from the frame's first byte; an end of 0 means the frame's end."""
    ipcss: 8        # IP checksum start
    ipcso: 8        # IP checksum offset
    ipcse: 16       # IP checksum end, inclusive
    tucss: 8        # TCP/UDP checksum start
    tucso: 8        # TCP/UDP checksum offset
    tucse: 16       # TCP/UDP checksum end, inclusive
    paylen: 20      # TSO: payload bytes after the header
    dtyp: 4
    tucmd: 8
    sta: 4
    _rsv: 4
    hdrlen: 8       # TSO: header bytes
    mss: 16         # TSO: payload bytes per segment


class TxDataDescriptor(data.Struct):
    """A buffer of frame data under the current context (DEXT set, DTYP 1)."""
    buffer_addr: 64
    length: 20      # DTALEN
    dtyp: 4
    dcmd: 8
    sta: 4
    _rsv: 4
    popts: 8        # checksums to insert, from the frame's first data descriptor
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


class TXD_DCMD:
    """The command byte of a data descriptor: ``TXD_CMD`` but for bit 2."""
    EOP = TXD_CMD.EOP
    IFCS = TXD_CMD.IFCS
    TSE = 0x04      # TCP segmentation
    RS = TXD_CMD.RS
    DEXT = TXD_CMD.DEXT
    VLE = TXD_CMD.VLE
    IDE = TXD_CMD.IDE


class TXD_TUCMD:
    """The command byte of a context descriptor."""
    TCP = 0x01      # TCP (else UDP)
    IP = 0x02       # IPv4 (else IPv6)
    TSE = 0x04
    RS = TXD_CMD.RS
    DEXT = TXD_CMD.DEXT
    IDE = TXD_CMD.IDE


class TXD_DTYP:
    CONTEXT = 0
    DATA = 1


class TXD_POPTS:
    IXSM = 0x01     # insert the IP header checksum
    TXSM = 0x02     # insert the TCP/UDP checksum


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


assert all(data.Layout.cast(layout).size == 8 * DESCRIPTOR_BYTES
           for layout in (TxDescriptor, TxContextDescriptor, TxDataDescriptor, RxDescriptor))
