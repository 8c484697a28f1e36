"""The real Linux e1000 driver on the model: a Debian kernel under QEMU probes the core, brings
the link up, pings through it and unloads the driver.

Needs qemu-system-x86_64 (or root, to install it), apt-get for the kernel and busybox packages,
and a C++ compiler; CI runs as root on Debian and has all of them. Elsewhere the module is
skipped with the reason ``python -m sim qemu`` would give.
"""

import os
import re
import subprocess
import sys

import pytest

from sim.mpqemu import BAR, CONFIG, HEADER, SYSMEM, Command, Message
from sim.pci import PM_CAPABILITY, PciFunction
from sim.qemu import REFERENCE, requirements

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_wire_format_sizes_and_decoding():
    # The sizes QEMU 7.2's structures have on x86-64: a mismatch would misread every message.
    assert (HEADER.size, CONFIG.size, BAR.size, SYSMEM.size) == (16, 12, 24, 192)
    bar = Message(Command.BAR_WRITE, BAR.pack(0xFEBC_00D0, 0x9D, 4, 1), [])
    assert (bar.address, bar.value, bar.size, bar.memory) == (0xFEBC_00D0, 0x9D, 4, True)
    sysmem = Message(Command.SYNC_SYSMEM, SYSMEM.pack(*([0, 0x100000] + [0] * 6),
                                                      *([0xA0000, 0x7F00000] + [0] * 6),
                                                      *([0, 0x100000] + [0] * 6)), [7, 8])
    assert sysmem.regions == [(0, 0xA0000, 0, 7), (0x100000, 0x7F00000, 0x100000, 8)]


def test_power_management_capability_is_listed_and_moves_between_d0_and_d3hot():
    f = PciFunction()
    assert f.read(0x06, 2) & 0x10                           # capabilities list
    assert f.read(0x34, 1) == PM_CAPABILITY
    assert f.read(PM_CAPABILITY, 1) == 0x01                 # power management
    assert f.read(PM_CAPABILITY + 1, 1) == 0                # the last capability
    f.write(PM_CAPABILITY + 4, 2, 3)
    assert f.read(PM_CAPABILITY + 4, 2) & 3 == 3
    f.write(PM_CAPABILITY + 4, 2, 1)                        # D1: not supported, ignored
    assert f.read(PM_CAPABILITY + 4, 2) & 3 == 3
    f.write(PM_CAPABILITY + 4, 2, 0)
    assert f.read(PM_CAPABILITY + 4, 2) & 3 == 0


missing = requirements()


@pytest.mark.skipif(missing is not None, reason=missing or "")
def test_linux_e1000_probes_links_pings_and_unloads(tmp_path):
    pcap = tmp_path / "qemu.pcap"
    trace = tmp_path / "mmio.csv"
    result = subprocess.run([sys.executable, "-m", "sim", "qemu", "--pcap", str(pcap),
                             "--trace-mmio", str(trace), "--timeout", "400"],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, out + err
    for command in REFERENCE:
        assert f"/ # {command}\n" in out

    # The kernel's own driver: its banner, the EEPROM's MAC address, the link.
    assert "e1000: Intel(R) PRO/1000 Network Driver" in out
    assert re.search(r"e1000 0000:00:\w\w\.0 eth0: \(PCI:33MHz:32-bit\) 52:54:00:12:34:56", out)
    assert re.search(r"e1000 0000:00:\w\w\.0 eth0: Intel\(R\) PRO/1000 Network Connection", out)
    assert "e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex" in out
    for trouble in ("Detected Tx Unit Hang", "EEPROM Checksum Is Not Valid", "Call Trace",
                    "BUG:", "WARNING:", "Reset adapter", "probe of", "nobody cared"):
        assert trouble not in out, trouble

    # busybox's ping, through the core and the built-in gateway.
    assert out.count("4 packets transmitted, 4 packets received, 0% packet loss") == 2, out
    for seq in range(4):
        assert re.search(rf"64 bytes from 10\.0\.2\.2: seq={seq} ttl=255", out)
        assert re.search(rf"64 bytes from 192\.168\.0\.113: seq={seq} ttl=255", out)
    assert "ping: sendto: Network is unreachable" in out

    # Interrupts reached the guest's handler through the IOAPIC.
    irqs = re.search(r"^\s*(\d+):\s+(\d+)\s+IO-APIC\s+\S+\s+eth0$", out, re.MULTILINE)
    assert irqs and int(irqs.group(2)) >= 10, out

    # rmmod ran to the next mark and the machine powered off by itself.
    assert "powered off" in err
    assert re.search(r"rmmod e1000\s+[\d.]+ s\s+[\d,]+ accesses", err), err

    # The probe reads the EEPROM bit by bit through EECD: thousands of accesses, each named.
    rows = trace.read_text().splitlines()
    assert rows[0].startswith("seq,")
    eecd = sum(1 for r in rows[1:] if r.endswith(",EECD"))
    assert eecd > 5000, eecd
    assert any(r.endswith(",MDIC") for r in rows)

    # Every echo and reply crossed the wire (ARP, 8 requests, 8 replies at the least).
    assert pcap.stat().st_size > 24 + 18 * (16 + 60)


@pytest.mark.skipif(missing is not None, reason=missing or "")
def test_real_kernels_at_both_ends_and_a_waveform_window(tmp_path):
    from sim.tap import PREFIX, requirements as tap_requirements
    if tap_requirements() is not None:
        pytest.skip(tap_requirements())
    vcd = tmp_path / "boot.vcd"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "qemu", "--tap", "--pcap", str(tmp_path / "w.pcap"),
         "--vcd", str(vcd), "--trace-start", "2ms", "--trace-end", "2.2ms",
         "-c", "insmod e1000.ko", "-c", "ip link set eth0 up",
         "-c", "ip addr add 10.0.2.15/24 dev eth0", "-c", "ping -c 2 10.0.2.2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, out + err
    # TTL 64: the gateway namespace's kernel answered, not the built-in gateway (255).
    assert "2 packets transmitted, 2 packets received, 0% packet loss" in out, out
    assert re.search(r"64 bytes from 10\.0\.2\.2: seq=1 ttl=64", out), out
    assert re.search(r"gateway namespace: got \d+ frames, sent [1-9]", err), err
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert [n for n in names.split() if n.startswith(PREFIX) and n.endswith(f"-{proc.pid}")] == []
    # The window: the VCD's time stamps (ns) lie within 2 ms to 2.2 ms of simulated time.
    text = vcd.read_text()
    stamps = [int(line[1:]) for line in text.splitlines() if line.startswith("#")]
    assert stamps and 2_000_000 <= stamps[0] and stamps[-1] <= 2_200_000 + 8, stamps[:3]
    assert "$var" in text and (tmp_path / "boot.gtkw").exists()


@pytest.mark.skipif(missing is not None, reason=missing or "")
def test_a_bad_eeprom_checksum_is_what_the_real_driver_reports():
    result = subprocess.run([sys.executable, "-m", "sim", "qemu", "--bad-eeprom-checksum",
                             "-c", "insmod e1000.ko"],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    out, err = result.stdout, result.stderr
    assert result.returncode == 3, out + err
    assert "The EEPROM Checksum Is Not Valid" in out
    assert "Invalid MAC Address" in out
    assert re.search(r"the guest's e1000 driver found fault with the device \(e1000 \S+ \S+ "
                     r"\(uninitialized\): The EEPROM Checksum Is Not Valid\)", err), err
