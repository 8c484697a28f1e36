"""The reference scenario end to end: busybox's output, and the capture read back by tshark."""

import re
import shutil
import subprocess

import pytest

from sim.__main__ import MAIN_SCENARIO
from sim.machine import Machine

from transcripts import PROBE

TIME = r"time=(\d+\.\d{3}) ms"


def ping_block(host, count=4):
    lines = [rf"/ # ping {re.escape(host)}", rf"PING {host} \({host}\): 56 data bytes"]
    lines += [rf"64 bytes from {re.escape(host)}: seq={n} ttl=255 {TIME}" for n in range(count)]
    lines += ["", rf"--- {re.escape(host)} ping statistics ---",
              rf"{count} packets transmitted, {count} packets received, 0% packet loss",
              r"round-trip min/avg/max = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms"]
    return lines


EXPECTED = PROBE + [
    r"/ # ip addr add 10\.0\.2\.15/255\.255\.255\.0 dev eth0",
    *ping_block("10.0.2.2"),
    r"/ # ping 192\.168\.0\.113",
    r"PING 192\.168\.0\.113 \(192\.168\.0\.113\): 56 data bytes",
    r"ping: sendto: Network is unreachable",
    r"/ # ip route add default via 10\.0\.2\.2",
    *ping_block("192.168.0.113"),
    *ping_block("110.242.68.66"),
]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    lines = []
    pcap = tmp_path_factory.mktemp("scenario") / "wire.pcapng"
    machine = Machine(console=lines.append, far_latency_us=20.0)
    status = machine.run_script(MAIN_SCENARIO, pcap=str(pcap))
    return status, lines, pcap, machine


def test_transcript(scenario):
    status, lines, _, _ = scenario
    assert status == 0
    assert len(lines) == len(EXPECTED), "\n".join(lines)
    for line, pattern in zip(lines, EXPECTED):
        assert re.fullmatch(pattern, line), f"{line!r} does not match {pattern!r}"


def test_round_trip_times_are_simulated_time(scenario):
    _, lines, _, _ = scenario
    times = [float(m.group(1)) for l in lines if (m := re.search(TIME, l))]
    near, far = times[:4], times[4:]
    assert all(0.002 < t < 0.05 for t in near)          # microseconds, not wall-clock
    assert all(t >= 0.020 for t in far)                 # the gateway's extra 20 us
    assert min(far) > max(near)


def test_frames_on_the_wire(scenario):
    _, _, _, machine = scenario
    frames = machine.wire_frames()
    kinds = [(d, f[12:14].hex(), len(f)) for _, f, d in frames]
    # ARP request and reply (padded to 60), then 12 echo requests and replies of 98 bytes.
    assert kinds[:2] == [("tx", "0806", 60), ("rx", "0806", 60)]
    assert kinds[2:] == [(d, "0800", 98) for _ in range(12) for d in ("tx", "rx")]
    for _, f, d in frames:
        assert f[0:6] in (b"\xff" * 6, bytes.fromhex("525400123456"), bytes.fromhex("52550a000202"))


@pytest.mark.skipif(shutil.which("tshark") is None,
                    reason="tshark is not installed (.ci/run installs it as root)")
def test_capture_reads_back_in_tshark(scenario):
    _, _, pcap, _ = scenario
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-o", "ip.check_checksum:TRUE", "-T", "fields",
         "-e", "frame.time_relative", "-e", "arp.opcode", "-e", "icmp.type", "-e", "ip.src",
         "-e", "ip.dst", "-e", "ip.ttl", "-e", "ip.checksum.status", "-e", "icmp.checksum.status",
         "-e", "frame.packet_flags_direction"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    rows = [line.split("\t") for line in out]
    assert [r[1] for r in rows[:2]] == ["1", "2"]       # ARP request, reply
    echoes = rows[2:]
    assert len(echoes) == 24
    assert [r[2] for r in echoes] == ["8", "0"] * 12
    hosts = ["10.0.2.2"] * 4 + ["192.168.0.113"] * 4 + ["110.242.68.66"] * 4
    assert [(r[3], r[4]) for r in echoes[0::2]] == [("10.0.2.15", h) for h in hosts]
    assert [(r[3], r[4], r[5]) for r in echoes[1::2]] == [(h, "10.0.2.15", "255") for h in hosts]
    assert all(r[6] == "1" and r[7] == "1" for r in echoes)   # good IP and ICMP checksums
    # Each frame's direction: requests leave the NIC (outbound), replies come in (inbound).
    assert [r[8] for r in rows] == ["0x00000002", "0x00000001"] * 13
    # Simulated time stamps: the whole exchange takes well under a millisecond.
    assert 0 < float(rows[-1][0]) < 0.001
