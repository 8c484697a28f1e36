"""Captures of the frames that crossed the wire, written as they cross it.

A capture is pcapng unless its name ends in ``.pcap``:

- **pcapng**: one interface (link type 1, Ethernet, nanosecond time stamps), and on each frame
  its direction: *inbound* for a frame the NIC received, *outbound* for one it sent, as Wireshark
  shows in ``frame.packet_flags_direction``. A frame sent with an error signal (TX_ER/RX_ER) is
  flagged as a symbol error, one without a start delimiter as a start frame delimiter error, one
  whose FCS does not match as a CRC error.
- **pcap** (libpcap, nanosecond time stamps): the same frames, without directions or flags, for
  tools that predate pcapng.

Frames are written as capture tools show them, without the preamble and without the FCS; time
stamps are simulated time, from the cycle each frame started. Each frame is flushed as it is
written, so that ``tail -c +1 -f build/wire.pcapng | wireshark -k -i -`` follows a run live.
Frames are written in the order their ends were seen: a frame received while a longer one was
being sent can come after it with an earlier time stamp.
"""

import struct
import zlib


__all__ = ["Capture", "INBOUND", "OUTBOUND"]

INBOUND, OUTBOUND = 1, 2                # pcapng's epb_flags direction codes

_LINKTYPE_ETHERNET = 1
_SNAPLEN = 0                            # pcapng: no limit
_PCAP_MAGIC_NS = 0xA1B23C4D
_PCAP_SNAPLEN = 65535

# pcapng block types and option codes (draft-ietf-opsawg-pcapng).
_SHB, _IDB, _EPB = 0x0A0D0D0A, 0x00000001, 0x00000006
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_OPT_END, _OPT_COMMENT = 0, 1
_SHB_USERAPPL = 4
_IF_NAME, _IF_DESCRIPTION, _IF_TSRESOL = 2, 3, 9
_EPB_FLAGS = 2
# Link-layer errors in the high byte of epb_flags.
_FLAG_SYMBOL_ERROR = 1 << 31
_FLAG_SFD_ERROR = 1 << 29
_FLAG_CRC_ERROR = 1 << 24


def _option(code, value):
    if isinstance(value, str):
        value = value.encode()
    pad = -len(value) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def _block(kind, body):
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


class Capture:
    """A capture file open for writing.

    Parameters
    ----------
    path : str
        The file; pcapng unless the name ends in ``.pcap``.
    clock_hz : int
        Cycles per second of simulated time.
    interface : str
        The interface's name in pcapng ("wire" is the one cable of the bench).
    description : str
        The interface's description in pcapng.
    """

    def __init__(self, path, *, clock_hz, interface="wire",
                 description="the simulated 82540EM's cable (inbound: to the NIC)"):
        self.path = path
        self.clock_hz = clock_hz
        self.pcapng = not str(path).endswith(".pcap")
        self.frames = 0
        self._file = open(path, "wb")
        if self.pcapng:
            self._file.write(_block(_SHB, struct.pack("<IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1)
                                    + _option(_SHB_USERAPPL, "e1000-cosim")
                                    + _option(_OPT_END, b"")))
            self._file.write(_block(_IDB, struct.pack("<HHI", _LINKTYPE_ETHERNET, 0, _SNAPLEN)
                                    + _option(_IF_NAME, interface)
                                    + _option(_IF_DESCRIPTION, description)
                                    + _option(_IF_TSRESOL, b"\x09")
                                    + _option(_OPT_END, b"")))
        else:
            self._file.write(struct.pack("<IHHiIII", _PCAP_MAGIC_NS, 2, 4, 0, 0, _PCAP_SNAPLEN,
                                         _LINKTYPE_ETHERNET))
        self._file.flush()

    def add(self, direction, start, wire_frame):
        """Write one frame: ``direction`` "rx" (to the NIC) or "tx" (from it), ``start`` its first
        cycle, ``wire_frame`` a ``sim.backend.WireFrame``."""
        frame = wire_frame.frame
        flags = INBOUND if direction == "rx" else OUTBOUND
        if wire_frame.error:
            flags |= _FLAG_SYMBOL_ERROR
        if frame is None:
            flags |= _FLAG_SFD_ERROR
            data = wire_frame.raw
        else:
            data = frame[:-4]
            if len(frame) < 4 or zlib.crc32(data) != int.from_bytes(frame[-4:], "little"):
                flags |= _FLAG_CRC_ERROR
        self.write(start, data, flags)

    def write(self, start, data, flags=0):
        """Write ``data`` (a frame without preamble and FCS) that began at cycle ``start``."""
        ns = start * 1_000_000_000 // self.clock_hz
        if self.pcapng:
            body = struct.pack("<IIIII", 0, ns >> 32, ns & 0xFFFFFFFF, len(data), len(data))
            body += data + b"\0" * (-len(data) % 4)
            if flags:
                body += _option(_EPB_FLAGS, struct.pack("<I", flags)) + _option(_OPT_END, b"")
            self._file.write(_block(_EPB, body))
        else:
            seconds, nanoseconds = divmod(ns, 1_000_000_000)
            size = min(len(data), _PCAP_SNAPLEN)
            self._file.write(struct.pack("<IIII", seconds, nanoseconds, size, len(data)))
            self._file.write(data[:size])
        self._file.flush()
        self.frames += 1

    def close(self):
        if not self._file.closed:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
