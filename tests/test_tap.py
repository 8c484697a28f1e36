"""Real Linux at both ends: the kernel's ip and ping over the simulated NIC, through TAPs.

These need root and /dev/net/tun (CI runs as root and installs ping); elsewhere they are skipped
with the reason ``python -m sim tap`` gives.
"""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from sim.tap import PREFIX, requirements

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

missing = requirements(need_ping=True)
pytestmark = pytest.mark.skipif(missing is not None, reason=missing or "")


def left_behind(pid):
    """Namespaces the run with process id ``pid`` made that are still there (their TAPs live
    and die with them; nothing is made outside them)."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [n for n in names.split() if n.startswith(PREFIX) and n.endswith(f"-{pid}")]


def tap(*args, timeout=300):
    proc = subprocess.Popen([sys.executable, "-m", "sim", "tap", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=timeout)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    result.pid = proc.pid
    return result


def test_reference_commands_with_the_kernels_ping(tmp_path):
    result = tap("--pcap", str(tmp_path / "tap.pcap"))
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "/ # ping -c 4 10.0.2.2" in out and "/ # ip route add default via 10.0.2.2" in out
    assert out.count("4 packets transmitted, 4 received, 0% packet loss") == 2, out
    for seq in range(1, 5):
        assert re.search(rf"64 bytes from 10\.0\.2\.2: icmp_seq={seq} ttl=64 time=[\d.]+ ms", out)
        assert re.search(rf"64 bytes from 192\.168\.0\.113: icmp_seq={seq} ttl=64", out)
    # Before the route: the guest kernel refuses, nothing reaches the model.
    assert "ping: connect: Network is unreachable" in result.stderr
    assert re.search(r"simulated echo round trips .* over 8", result.stderr)
    assert (tmp_path / "tap.pcap").stat().st_size > 24 + 16 * 16
    assert left_behind(result.pid) == []


def test_gateway_pings_the_guest_with_payloads_up_to_the_mtu():
    result = tap("--up", "--gateway", "ping -c 2 -i 0.2 -W 5 10.0.2.15",
                 "--gateway", "ping -c 1 -W 5 -M do -s 1472 10.0.2.15",
                 "--gateway", "ping -c 1 -W 5 -s 0 10.0.2.15")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 packets transmitted, 2 received, 0% packet loss" in result.stdout
    assert "1480 bytes from 10.0.2.15" in result.stdout          # 1500-byte IP packets
    assert "8 bytes from 10.0.2.15" in result.stdout
    assert left_behind(result.pid) == []


def test_any_command_and_its_status():
    result = tap("--up", "--", "sh", "-c", "ip link show eth0; ip -br addr show eth0; exit 3")
    assert result.returncode == 3
    # The carrier follows the simulated link, which the driver has brought up.
    assert re.search(r"eth0: <[A-Z,]*\bLOWER_UP\b", result.stdout), result.stdout
    assert "link/ether 52:54:00:12:34:56" in result.stdout
    assert re.search(r"eth0\s+\S+\s+10\.0\.2\.15/24", result.stdout), result.stdout
    assert left_behind(result.pid) == []


def _default_sigint():
    # A shell without job control starts background commands with SIGINT ignored, and a
    # process keeps that through exec: the run under test must take Ctrl-C however the test
    # suite itself was started.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupt_cleans_up():
    proc = subprocess.Popen([sys.executable, "-m", "sim", "tap", "--up", "--", "sleep", "60"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    deadline = time.monotonic() + 240      # a fresh machine builds the model first
    while len(left_behind(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(left_behind(proc.pid)) == 2, "the namespaces never appeared"
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "cleaning up" in err
    assert left_behind(proc.pid) == []


def test_without_root_it_says_what_it_needs(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "needs root" in requirements()


SERVER = """
import hashlib, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.2.2", 5001))
s.listen(1)
s.settimeout(120)
c, _ = s.accept()
c.settimeout(120)
data = bytearray()
while chunk := c.recv(65536):
    data += chunk
print("received", len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""

CLIENT = """
import hashlib, socket, time
data = bytes((i * 7 + i // 251) & 255 for i in range(120000))
for attempt in range(200):
    try:
        c = socket.create_connection(("10.0.2.2", 5001), timeout=60)
        break
    except OSError:
        time.sleep(0.1)
c.sendall(data)
c.close()
print("sent", len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""


def test_tcp_from_the_guest_kernel_with_checksums_and_segmentation_left_to_the_model():
    # The guest kernel leaves its TCP checksums and segmentation to the device (its TAP offers
    # checksum offload and TSO); the model cuts the super-packets and inserts the checksums,
    # and the gateway's kernel, which drops any segment with a wrong checksum, gets every byte.
    result = tap("--up", "--gateway", f"{sys.executable} -c '{SERVER}'", "--",
                 sys.executable, "-c", CLIENT)
    out = result.stdout
    sent = re.search(r"^sent (\d+) (\w+)$", out, re.M)
    got = re.search(r"^received (\d+) (\w+)$", out, re.M)
    assert sent and got, out + result.stderr
    assert got.groups() == sent.groups() and sent.group(1) == "120000"
    counted = re.search(r"(\d+) of the guest's frames left their checksum to the device",
                        result.stderr)
    assert counted and int(counted.group(1)) >= 3, result.stderr
    # ...and handed it super-packets (the TAP offers TSO), which the model cut into segments.
    supers = re.search(r"(\d+) were TCP super-packets for it to segment", result.stderr)
    assert supers and int(supers.group(1)) >= 1, result.stderr
    assert left_behind(result.pid) == []


def test_jumbo_frames_with_real_kernels():
    # MTU 9000 at both ends and in the model's driver: pings of 9,000-byte IP packets with DF
    # set both ways, and TCP with segments of 8,948 bytes, which the model cuts from the guest
    # kernel's super-packets.
    result = tap("--up", "--mtu", "9000", "--gateway", f"{sys.executable} -c '{SERVER}'", "--",
                 "sh", "-c", f"ping -c 2 -M do -s 8972 10.0.2.2 && {sys.executable} -c '{CLIENT}'")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "2 packets transmitted, 2 received, 0% packet loss" in out
    assert "8980 bytes from 10.0.2.2" in out
    sent = re.search(r"^sent (\d+) (\w+)$", out, re.M)
    got = re.search(r"^received (\d+) (\w+)$", out, re.M)
    assert sent and got and got.groups() == sent.groups(), out + result.stderr
    assert re.search(r"(\d+) were TCP super-packets for it to segment", result.stderr)
    assert left_behind(result.pid) == []


def test_an_mtu_the_device_cannot_take_is_refused_in_one_line():
    result = tap("--mtu", "16111", "--", "true")
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: --mtu 16111: the 82540EM takes an MTU from 68 "
                                     "to 16110")


def test_vlan_ping_between_the_kernels_where_they_have_802_1q():
    # Both kernels make eth0.5 on VLAN 5; the guest's tagged frames get their tag from the
    # model (the bridge hands it over beside the frame), and the model strips the gateway's.
    from sim.tap import vlan_support
    missing_vlan = vlan_support()
    if missing_vlan:
        pytest.skip(missing_vlan)
    vlan = ("ip link add link eth0 name eth0.5 type vlan id 5 && ip addr add {}/24 dev eth0.5 "
            "&& ip link set eth0.5 up")
    result = tap("--up", "--gateway", vlan.format("10.0.5.2"), "--", "sh", "-c",
                 vlan.format("10.0.5.15") + " && ping -c 2 -W 5 10.0.5.2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 packets transmitted, 2 received, 0% packet loss" in result.stdout
    assert re.search(r"(\d+) had an 802.1Q tag for it to insert", result.stderr)
    assert left_behind(result.pid) == []
