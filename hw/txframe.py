"""What the transmit path's blocks hand each other: frame data and checksum work, in frame order.

``TxWord`` is eight bytes of frame data as read from host memory, with the bytes of them that
belong to the frame, so that buffers need no alignment; on its way to the queue it travels as a
``TxTaggedWord``, with the 802.1Q tag its descriptor gave. ``TxOffload`` is the checksum work a
frame's descriptors asked for, ``TxSegmentation`` the TCP segmentation, ``TxWork`` both, as the
fetcher queues them, and ``TxChecksums`` the checksums worked out for a frame, with where they go, and ``TxTag`` the tag
it goes out with.
"""

from amaranth.lib import data


__all__ = ["TxWord", "TxTaggedWord", "TxOffload", "TxSegmentation", "TxWork", "TxChecksums",
           "TxTag"]


class TxWord(data.Struct):
    """Eight bytes of frame data as read from host memory, and which of them are the frame's."""
    data: 64
    first: 3            # first byte that belongs to the frame
    count: 4            # bytes that do, 1..8
    eop: 1              # the frame's last word
    ifcs: 1             # append the FCS to this frame
    desc_end: 1         # the last word of a descriptor
    abort: 1            # with eop: the frame was cut short, end it with an error
    csum: 1             # the frame asks for a checksum to be inserted
    skip: 1             # not frame data: a segmented frame's header as read, kept for desc_end
    tso_last: 1         # with eop: the last segment of a segmented frame
    vlan: 1             # with eop: the frame goes out with an 802.1Q tag (VLE)


class TxTaggedWord(data.Struct):
    """A word on its way to the transmit queue, with the tag control information of the
    descriptor it was read for (the queue keeps only that of each frame's last word)."""
    word: TxWord
    tci: 16


class TxOffload(data.Struct):
    """The checksums to insert into a frame: for each, the first and last byte it covers (an end
    of 0: the frame's last byte) and where it goes, as offsets from the frame's first byte."""
    ip: 1               # insert the IP header checksum
    ipcss: 8
    ipcso: 8
    ipcse: 16
    tu: 1               # insert the TCP/UDP checksum
    tucss: 8
    tucso: 8
    tucse: 16
    udp: 1              # a TCP/UDP checksum of 0 goes out as 0xFFFF (UDP's "no checksum" is 0)
    tu_init: 16         # added to the TCP/UDP sum as a 16-bit value (a segment's TCP length)


class TxSegmentation(data.Struct):
    """TCP segmentation (TSE): the first ``hdrlen`` bytes are the header, ``paylen`` bytes of
    payload follow, sent ``mss`` bytes a segment, each behind a copy of the header."""
    tse: 1
    ipv4: 1             # TUCMD.IP: the IPv4 total length and identification are updated
    tcp: 1              # TUCMD.TCP: the TCP sequence number and flags are updated
    hdrlen: 8
    mss: 16
    paylen: 20


class TxWork(data.Struct):
    """What the fetcher queues for each frame, ahead of its words."""
    offload: TxOffload
    tso: TxSegmentation


class TxChecksums(data.Struct):
    """A frame's checksums, ready to go into it at the offsets given."""
    ip: 1               # insert ``ip_sum`` at ``ipcso``, most significant byte first
    ipcso: 8
    ip_sum: 16
    tu: 1
    tucso: 8
    tu_sum: 16


class TxTag(data.Struct):
    """The 802.1Q tag a frame goes out with: VLE and the special field of the descriptor of its
    last byte."""
    vlan: 1
    tci: 16             # priority, CFI and VLAN ID
