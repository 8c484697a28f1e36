"""Captures: pcapng with each frame's direction and link-layer errors, or classic pcap; every
frame on disk as soon as it is written, so that a capture can be followed live."""

import shutil
import struct
import subprocess
import zlib

import pytest

from sim.backend import WireFrame
from sim.pcap import Capture

PREAMBLE = b"\x55" * 7 + b"\xd5"


def wire(frame, *, fcs=None, error=False, preamble=PREAMBLE):
    if fcs is None:
        fcs = zlib.crc32(frame).to_bytes(4, "little")
    return WireFrame(preamble + frame + fcs, None, error)


def frame(n):
    return bytes(range(6)) + bytes([2, 0, 0, 0, 0, n]) + b"\x08\x00" + bytes([n]) * 50


def blocks(raw):
    """(type, body) of each pcapng block."""
    at = 0
    while at < len(raw):
        kind, length = struct.unpack_from("<II", raw, at)
        assert struct.unpack_from("<I", raw, at + length - 4)[0] == length
        yield kind, raw[at + 8:at + length - 4]
        at += length


def test_pcapng_has_directions_and_errors_and_each_frame_is_on_disk_at_once(tmp_path):
    path = tmp_path / "w.pcapng"
    with Capture(str(path), clock_hz=125_000_000) as capture:
        capture.add("tx", 125, wire(frame(1)))
        written = path.read_bytes()
        capture.add("rx", 250, wire(frame(2)))
        capture.add("rx", 375, wire(frame(3), fcs=b"\0\0\0\0"))
        capture.add("tx", 500, wire(frame(4), error=True))
        capture.add("rx", 625, wire(frame(5), preamble=b"\x55\x55"))
    kinds = [kind for kind, _ in blocks(written)]
    assert kinds == [0x0A0D0D0A, 1, 6]              # section, interface, the first frame
    packets = [body for kind, body in blocks(path.read_bytes()) if kind == 6]
    assert len(packets) == 5
    stamps, datas, flags = [], [], []
    for body in packets:
        interface, high, low, captured, length = struct.unpack_from("<IIIII", body)
        assert interface == 0 and captured == length
        stamps.append(high << 32 | low)
        datas.append(body[20:20 + captured])
        options = body[20 + captured + (-captured % 4):]
        code, size = struct.unpack_from("<HH", options)
        assert code == 2 and size == 4
        flags.append(struct.unpack_from("<I", options, 4)[0])
    assert stamps == [1000, 2000, 3000, 4000, 5000]         # ns at 125 MHz
    assert datas[:4] == [frame(n) for n in (1, 2, 3, 4)]    # no preamble, no FCS
    assert datas[4] == b"\x55\x55" + frame(5) + zlib.crc32(frame(5)).to_bytes(4, "little")
    assert flags == [2, 1, 1 | 1 << 24, 2 | 1 << 31, 1 | 1 << 29]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_wireshark_reads_the_directions(tmp_path):
    path = tmp_path / "w.pcapng"
    with Capture(str(path), clock_hz=125_000_000) as capture:
        capture.add("tx", 0, wire(frame(1)))
        capture.add("rx", 200, wire(frame(2)))
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e",
                          "frame.packet_flags_direction", "-e", "frame.interface_name"],
                         capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["0x00000002\twire", "0x00000001\twire"]


def test_a_name_ending_in_pcap_is_classic_pcap(tmp_path):
    path = tmp_path / "w.pcap"
    with Capture(str(path), clock_hz=125_000_000) as capture:
        capture.add("tx", 125_000_000 + 125, wire(frame(1)))
    raw = path.read_bytes()
    assert struct.unpack_from("<IHHiIII", raw) == (0xA1B23C4D, 2, 4, 0, 0, 65535, 1)
    assert struct.unpack_from("<IIII", raw, 24) == (1, 1000, 64, 64)
    assert raw[40:] == frame(1)
