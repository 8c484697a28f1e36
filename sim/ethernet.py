"""Ethernet frames as they go on the wire: padding, FCS, preamble and start delimiter."""

import zlib


__all__ = ["fcs", "to_wire", "check_fcs", "received", "vlan_tag", "vlan_untag", "PREAMBLE",
           "MIN_FRAME", "ETH_P_8021Q"]

PREAMBLE = b"\x55" * 7 + b"\xd5"
MIN_FRAME = 60              # without FCS
ETH_P_8021Q = 0x8100


def fcs(frame):
    """The frame check sequence of ``frame``, in the byte order it is sent."""
    return zlib.crc32(frame).to_bytes(4, "little")


def check_fcs(frame_with_fcs):
    return len(frame_with_fcs) >= 4 and fcs(frame_with_fcs[:-4]) == frame_with_fcs[-4:]


def to_wire(frame, *, pad=True):
    """Preamble, start delimiter, the frame (zero-padded to 60 bytes) and its FCS."""
    frame = bytes(frame)
    if pad and len(frame) < MIN_FRAME:
        frame += bytes(MIN_FRAME - len(frame))
    return PREAMBLE + frame + fcs(frame)


def received(wire_frame):
    """What a receiver keeps of a ``WireFrame``: the frame without its FCS, or None when the
    start delimiter is missing, the sender signalled an error or the FCS is wrong."""
    frame = wire_frame.frame
    if frame is None or wire_frame.error or not check_fcs(frame):
        return None
    return frame[:-4]


def vlan_tag(frame, tci, tpid=ETH_P_8021Q):
    """``frame`` with an 802.1Q tag (``tci``: priority, CFI and VLAN ID) after its source
    address."""
    frame = bytes(frame)
    return frame[:12] + tpid.to_bytes(2, "big") + tci.to_bytes(2, "big") + frame[12:]


def vlan_untag(frame, tpid=ETH_P_8021Q):
    """``(frame without its tag, tci)`` for a tagged frame, ``(frame, None)`` for any other."""
    frame = bytes(frame)
    if len(frame) < 18 or int.from_bytes(frame[12:14], "big") != tpid:
        return frame, None
    return frame[:12] + frame[16:], int.from_bytes(frame[14:16], "big")
