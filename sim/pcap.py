"""Writing the frames that crossed the wire to a pcap file (nanosecond time stamps).

Frames are written as capture tools show them, without the preamble and without the FCS
(link type 1, Ethernet); time stamps are simulated time, from the cycle each frame started.
"""

import struct


__all__ = ["write_pcap"]

_MAGIC_NS = 0xA1B23C4D
_LINKTYPE_ETHERNET = 1


def write_pcap(path, records, *, clock_hz):
    """``records``: (start cycle, frame bytes without preamble and FCS), in any order."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", _MAGIC_NS, 2, 4, 0, 0, 65535, _LINKTYPE_ETHERNET))
        for cycle, frame in sorted(records, key=lambda r: r[0]):
            ns = cycle * 1_000_000_000 // clock_hz
            seconds, nanoseconds = divmod(ns, 1_000_000_000)
            f.write(struct.pack("<IIII", seconds, nanoseconds, len(frame), len(frame)))
            f.write(frame)
    return len(records)
