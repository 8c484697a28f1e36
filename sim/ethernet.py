"""Ethernet frames as they go on the wire: padding, FCS, preamble and start delimiter."""

import zlib


__all__ = ["fcs", "to_wire", "check_fcs", "received", "PREAMBLE", "MIN_FRAME"]

PREAMBLE = b"\x55" * 7 + b"\xd5"
MIN_FRAME = 60              # without FCS


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
